"""Key paths into raw spec data: ``arch.units.array2d.rows``, ``arch.memory.global_buffer.capacity_bytes``,
``mapping.groups[0].loops[4][1]``.

A path is dot-separated keys with ``[i]`` list indices. In a list of named items (``memory: [{name: dram, ...}]``)
a key selects the item whose ``name`` is that key. Paths work on the plain data a YAML file loads to (dicts and
lists), never on spec dataclasses, so any key of any spec can be swept.
"""

from __future__ import annotations

import re

__all__ = ["KeyPathError", "parse_key_path", "format_key_path", "get_path", "set_path"]

_INDEX = re.compile(r"\[(-?\d+)\]")
_KEY = re.compile(r"[^.\[\]]+")


class KeyPathError(ValueError):
    """A key path that is malformed or does not lead anywhere in the data."""


def parse_key_path(text: str) -> tuple:
    """``"groups[0].loops[2][1]"`` -> ``("groups", 0, "loops", 2, 1)``; KeyPathError if malformed."""
    if not isinstance(text, str) or not text:
        raise KeyPathError(f"a key path must be a non-empty string like 'arch.units.array2d.rows', not {text!r}")
    parts: list = []
    pos = 0
    while pos < len(text):
        if parts and text[pos] == "[":
            m = _INDEX.match(text, pos)
        elif parts and text[pos] != ".":
            m = None
        else:
            pos += bool(parts)
            m = _KEY.match(text, pos)
        if m is None:
            raise KeyPathError(f"cannot parse key path {text!r} at character {pos + 1}: write keys joined by '.' "
                               f"and list indices as [i], e.g. 'mapping.groups[0].loops[2][1]'")
        parts.append(int(m.group(1)) if m.re is _INDEX else m.group())
        pos = m.end()
    return tuple(parts)


def format_key_path(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else ("." if out else "") + str(p)
    return out


def _step(node, key, where: tuple):
    """The child of ``node`` at ``key``; KeyPathError naming the valid choices if there is none."""
    here = format_key_path(where) or "<top>"
    if isinstance(node, dict):
        if key in node:
            return node[key]
        raise KeyPathError(f"{here} has no key {key!r}; keys: {', '.join(map(str, node))}")
    if isinstance(node, list):
        if isinstance(key, int):
            if -len(node) <= key < len(node):
                return node[key]
            raise KeyPathError(f"{here} has {len(node)} items; index {key} is out of range")
        named = [x.get("name") for x in node if isinstance(x, dict)]
        for item in node:
            if isinstance(item, dict) and item.get("name") == key:
                return item
        hint = f"names: {', '.join(map(str, named))}" if any(named) else "its items have no names; use [i]"
        raise KeyPathError(f"{here} is a list with no item named {key!r}; {hint}")
    raise KeyPathError(f"{here} is a {type(node).__name__} ({node!r}), not a mapping or a list")


def get_path(data, path: tuple):
    """The value at ``path``; KeyPathError if the path does not exist."""
    node = data
    for i, key in enumerate(path):
        node = _step(node, key, path[:i])
    return node


def set_path(data, path: tuple, value) -> None:
    """Set the value at ``path`` in place. The parent must exist; a dict may gain a new last key."""
    if not path:
        raise KeyPathError("cannot set the empty key path")
    parent = get_path(data, path[:-1])
    key = path[-1]
    if isinstance(parent, dict):
        parent[key] = value
    elif isinstance(parent, list) and isinstance(key, int):
        _step(parent, key, path[:-1])
        parent[key] = value
    else:
        raise KeyPathError(f"{format_key_path(path[:-1]) or '<top>'} is a {type(parent).__name__}: cannot set "
                           f"{key!r} in it")

"""Safe YAML loading that remembers the line of every key, finds duplicate keys, and checks key sets."""

from __future__ import annotations

from pathlib import Path

import yaml

from .errors import ErrorList, SpecError, SpecIssue

__all__ = ["Doc", "load_doc", "doc_from_text", "check_keys", "suggest"]


class Doc:
    """Plain Python data of a YAML file plus the source line of each key path."""

    def __init__(self, data, lines: dict, file: str):
        self.data = data
        self._lines = lines
        self.file = file

    def line(self, path: tuple) -> int | None:
        """Line of ``path``, or of its nearest ancestor that has one (1-based)."""
        path = tuple(path)
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return self._lines.get((), None)

    def errors(self) -> ErrorList:
        return ErrorList(self.file, self.line)


_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "seq", "map")}


def _convert(node, path, lines, errors: ErrorList):
    lines.setdefault(path, node.start_mark.line + 1)
    if node.tag not in _PLAIN_TAGS:
        errors.add(path, f"YAML tag {node.tag!r} is not allowed: spec files hold plain data (strings, numbers, "
                         f"lists, mappings)", line=node.start_mark.line + 1)
        return None
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = yaml.SafeLoader.construct_object(_LOADER, key_node, deep=True) if not isinstance(
                key_node, yaml.ScalarNode) else _scalar(key_node)
            if isinstance(key, list):
                key = tuple(key)
            kpath = path + (key,)
            if key in out:
                errors.add(kpath, f"key {key!r} appears twice (lines {lines[kpath]} and "
                                  f"{key_node.start_mark.line + 1}); a key must have one value",
                           line=key_node.start_mark.line + 1)
                continue
            lines[kpath] = key_node.start_mark.line + 1
            out[key] = _convert(value_node, kpath, lines, errors)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, path + (i,), lines, errors) for i, item in enumerate(node.value)]
    return _scalar(node)


class _Loader(yaml.SafeLoader):
    pass


_LOADER = _Loader("")


def _scalar(node):
    return _LOADER.construct_object(node, deep=True)


def doc_from_text(text: str, file: str = "<string>") -> Doc:
    """Parse YAML text safely (no object construction); raise SpecError on syntax errors or duplicate keys."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError([SpecIssue(file, line, "<yaml>", f"YAML syntax error: {problem}")]) from None
    lines: dict = {}
    errors = ErrorList(file, lambda p: lines.get(tuple(p)))
    if node is None:
        return Doc({}, {(): 1}, file)
    try:
        data = _convert(node, (), lines, errors)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SpecError([SpecIssue(file, mark.line + 1 if mark else None, "<yaml>",
                                   f"YAML error: {getattr(exc, 'problem', exc)}")]) from None
    errors.raise_if_any()
    return Doc(data, lines, file)


def load_doc(path) -> Doc:
    """Read and parse a YAML spec file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError([SpecIssue(str(path), None, "<file>", f"cannot read file: {exc.strerror}")]) from None
    except UnicodeDecodeError:
        raise SpecError([SpecIssue(str(path), None, "<file>", "file is not UTF-8 text")]) from None
    return doc_from_text(text, str(path))


def suggest(word: str, choices) -> str:
    """A ' (did you mean X?)' hint, or ''."""
    import difflib

    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_keys(errors: ErrorList, path: tuple, mapping, *, required=(), optional=()) -> bool:
    """Check that ``mapping`` is a dict with all ``required`` keys and no keys outside required+optional."""
    if not isinstance(mapping, dict):
        errors.add(path, f"must be a mapping with keys {sorted(set(required) | set(optional))}, "
                         f"not {type(mapping).__name__} {mapping!r}")
        return False
    ok = True
    allowed = set(required) | set(optional)
    for key in mapping:
        if key not in allowed:
            errors.add(path + (key,), f"unknown key {key!r}{suggest(key, allowed)}; valid keys: "
                                      f"{', '.join(sorted(map(str, allowed)))}")
            ok = False
    for key in required:
        if key not in mapping:
            errors.add(path, f"missing required key {key!r}")
            ok = False
    return ok

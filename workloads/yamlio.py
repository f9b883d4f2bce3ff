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
#: limits that refuse YAML bombs: nesting deeper than MAX_DEPTH, or aliases expanding past MAX_VALUES values
MAX_DEPTH = 64
MAX_VALUES = 200_000
MAX_CHARS = 4_000_000
#: the largest integer a spec value may hold (the simulator counts in 64-bit integers) and the largest float
MAX_INT = 2 ** 62
MAX_FLOAT = 1e30


class _Bomb(Exception):
    """The document is nested too deep, expands too far, or contains itself; message and line are for the user."""

    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def _check_depth(text: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH before composing (PyYAML's composer recurses once per level)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _Bomb(event.start_mark.line + 1, f"YAML nested deeper than {MAX_DEPTH} levels; spec files are "
                                                       f"a few levels deep: flatten this value")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


class _Walk:
    """State of one conversion: lines by path, errors, values made so far, the nodes on the current branch."""

    def __init__(self, lines, errors: ErrorList):
        self.lines, self.errors, self.values, self.open = lines, errors, 0, set()


def _convert(node, path, walk: _Walk):
    line = node.start_mark.line + 1
    walk.lines.setdefault(path, line)
    walk.values += 1
    if walk.values > MAX_VALUES:
        raise _Bomb(line, f"YAML expands to more than {MAX_VALUES:,} values (aliases repeat their anchor's content: "
                          f"a 'billion laughs' file); write the values out or use fewer aliases")
    if len(path) > MAX_DEPTH:
        raise _Bomb(line, f"YAML nested deeper than {MAX_DEPTH} levels once aliases are expanded; flatten this value")
    if node.tag not in _PLAIN_TAGS:
        walk.errors.add(path, f"YAML tag {node.tag!r} is not allowed: spec files hold plain data (strings, numbers, "
                              f"lists, mappings)", line=line)
        return None
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    if id(node) in walk.open:
        raise _Bomb(line, "recursive alias: this value contains itself (an alias inside its own anchor); spec files "
                          "hold finite data")
    walk.open.add(id(node))
    try:
        if isinstance(node, yaml.MappingNode):
            return _mapping(node, path, walk)
        return [_convert(item, path + (i,), walk) for i, item in enumerate(node.value)]
    finally:
        walk.open.discard(id(node))


def _mapping(node, path, walk: _Walk) -> dict:
    out = {}
    for key_node, value_node in node.value:
        kline = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            kind = "mapping" if isinstance(key_node, yaml.MappingNode) else "list"
            walk.errors.add(path, f"a key must be a plain value (a name or a number), not a {kind}", line=kline)
            continue
        key = _scalar(key_node)
        kpath = path + (key,)
        if key in out:
            walk.errors.add(kpath, f"key {key!r} appears twice (lines {walk.lines[kpath]} and {kline}); a key must "
                                   f"have one value", line=kline)
            continue
        walk.lines[kpath] = kline
        out[key] = _convert(value_node, kpath, walk)
    return out


class _Loader(yaml.SafeLoader):
    pass


_LOADER = _Loader("")


def _scalar(node):
    try:
        return _LOADER.construct_object(node, deep=True)
    except ValueError as exc:  # e.g. an integer of more digits than Python converts (sys.int_info)
        raise _Bomb(node.start_mark.line + 1, f"cannot read value {node.value[:20]!r}...: {exc}") from None


def doc_from_text(text: str, file: str = "<string>") -> Doc:
    """Parse YAML text safely (no object construction); raise SpecError on syntax errors or duplicate keys."""
    if len(text) > MAX_CHARS:
        raise SpecError([SpecIssue(file, None, "<file>", f"a spec file must be under {MAX_CHARS:,} characters, not "
                                                         f"{len(text):,}")])
    try:
        _check_depth(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except _Bomb as bomb:
        raise SpecError([SpecIssue(file, bomb.line, "<yaml>", bomb.message)]) from None
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
        data = _convert(node, (), _Walk(lines, errors))
    except _Bomb as bomb:
        raise SpecError([SpecIssue(file, bomb.line, "<yaml>", bomb.message)]) from None
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

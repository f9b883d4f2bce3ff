"""One validation layer for every spec kind: a pydantic v2 model declares a file's keys, types and ranges; every
violation in the file comes back at once as ``file:line key.path: must be Y, not X``.

A loader declares its file as a :class:`SpecModel` (strict types, unknown keys forbidden) built from the project's
field types below (:data:`PosInt`, :data:`PosNum`, :data:`Name`, ``Literal[...]`` for choices, ...), then calls
:func:`check` on the :class:`~einsim.workloads.yamlio.Doc` before building any dataclass::

    class Level(SpecModel):
        name: Name
        capacity_bytes: PosInt

    spec = check(doc, Level)          # SpecError listing every issue; line numbers from the YAML nodes

Semantic checks that need more than one value (a name that must refer to another entry) stay in the loader and run
on the validated model. pydantic's messages are rewritten into the project's phrasing, with the choices of a
``Literal`` listed and close matches suggested for unknown keys and choices.
"""

from __future__ import annotations

import math
import re
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Discriminator, Field, PlainValidator, Tag, ValidationError
from pydantic_core import PydanticCustomError

from .errors import ErrorList, SpecError, SpecIssue, format_path
from .yamlio import MAX_FLOAT, MAX_INT, Doc, suggest

__all__ = ["SpecModel", "check", "validate", "validate_data", "spec_fail", "show", "literal_choices", "PosInt",
           "NonNegInt", "PosNum", "NonNegNum", "Name", "Ident", "NonEmptyList", "Number", "positive_int", "nonneg_int",
           "int_in", "shaped", "word", "MAX_INT", "MAX_FLOAT"]


class SpecModel(BaseModel):
    """Base of every spec schema: strict types (no silent ``'1024'`` -> 1024), unknown keys are errors, frozen."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, populate_by_name=False)


# ----- the project's field types ---------------------------------------------------------------------------------
def show(value) -> str:
    """``repr`` of a found value, shortened for messages."""
    text = repr(value)
    if isinstance(value, dict):
        text = f"a mapping {text}"
    elif isinstance(value, list):
        text = f"a list {text}"
    return text if len(text) <= 60 else text[:56] + " ..." + text[-1]


def spec_fail(expected: str, value, hint: str = ""):
    """Raise the validation error ``must be {expected}, not {value}{hint}`` from inside a field validator."""
    raise PydanticCustomError("spec", "{message}", {"message": f"must be {expected}, not {show(value)}{hint}",
                                                     "expected": expected})


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(v):
    """A finite int/float; YAML 1.1 reads ``1e9`` (no dot) as a string, so such a numeric string counts too."""
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            return None
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    if isinstance(v, float) and not math.isfinite(v) or abs(v) > MAX_FLOAT:
        return None
    return v


def _too_big(v) -> str | None:
    """The bound ``v`` breaks, if it is a number past MAX_INT / MAX_FLOAT."""
    if _is_int(v) and abs(v) > MAX_INT:
        return f"at most 2**62 = {MAX_INT} (the simulator counts in 64-bit integers)"
    if isinstance(v, float) and math.isfinite(v) and abs(v) > MAX_FLOAT:
        return f"a number of magnitude at most {MAX_FLOAT:g}"
    return None


def _validator(expected: str, ok: Callable[[Any], Any], hint: str = "") -> PlainValidator:
    def run(v):
        bound = _too_big(v)
        if bound:
            spec_fail(bound, v)
        out = ok(v)
        if out is None:
            spec_fail(expected, v, hint)
        return out

    return PlainValidator(run)


def positive_int(hint: str = ""):
    """:data:`PosInt` whose message ends with ``hint`` (e.g. how else the value may be given)."""
    return Annotated[int, _validator("a positive integer", lambda v: v if _is_int(v) and v > 0 else None, hint)]


def nonneg_int(hint: str = ""):
    """:data:`NonNegInt` whose message ends with ``hint``."""
    return Annotated[int, _validator("an integer >= 0", lambda v: v if _is_int(v) and v >= 0 else None, hint)]


def int_in(low: int, high: int | None = None, *, name: str = ""):
    """An integer in ``[low, high]``; with ``name`` the message reads ``{name} must be ...`` (tables of fields)."""
    lead = f"{name} must be " if name else "must be "

    def run(v):
        bound = _too_big(v)
        if not _is_int(v) or v < low or bound:
            what = "a positive integer" if low == 1 else f"an integer >= {low}"
            _fail(f"{lead}{bound or what}, not {show(v)}")
        if high is not None and v > high:
            _fail(f"{lead}at most {high}, not {show(v)}")
        return v

    return Annotated[int, PlainValidator(run)]


def word(*choices: str, expected: str):
    """One of the words ``choices`` (e.g. ``'all'`` beside a number in :func:`shaped`); the message says
    ``must be {expected}`` (all the value's forms, not just the words)."""

    def run(v):
        if v not in choices:
            spec_fail(expected, v, suggest(v, choices) if isinstance(v, str) else "")
        return v

    return Annotated[str, PlainValidator(run)]


def _fail(message: str):
    raise PydanticCustomError("spec", "{message}", {"message": message, "expected": message})


def shaped(expected: str, **members):
    """The type of a value whose YAML shape picks the type it must have: ``mapping=``, ``list=``, ``string=`` and
    ``other=`` (any other scalar) name the member per shape, and only that member's problems are reported; a shape
    with no member is ``must be {expected}, not X``. E.g. a tile is a positive integer or ``{best_of: [...]}``."""
    shapes = {"mapping": dict, "list": list, "string": str}
    other = members.pop("other", None)
    if other is None:
        other = Annotated[Any, _validator(expected, lambda v: None)]

    def pick(v):
        for k, tp in shapes.items():
            if isinstance(v, tp) and k in members:
                return f"<{k}>"
        return "<other>"

    choices = [Annotated[tp, Tag(f"<{k}>")] for k, tp in members.items()] + [Annotated[other, Tag("<other>")]]
    return Annotated[typing.Union[tuple(choices)], Discriminator(pick)]  # noqa: UP007 - built at run time


PosInt = Annotated[int, _validator("a positive integer", lambda v: v if _is_int(v) and v > 0 else None)]
NonNegInt = Annotated[int, _validator("an integer >= 0", lambda v: v if _is_int(v) and v >= 0 else None)]
Number = Annotated[float, _validator("a finite number", _number)]
PosNum = Annotated[float, _validator("a positive number", lambda v: n if (n := _number(v)) is not None and n > 0
                                      else None)]
NonNegNum = Annotated[float, _validator("a number >= 0", lambda v: n if (n := _number(v)) is not None and n >= 0
                                         else None)]
Name = Annotated[str, _validator("a non-empty string", lambda v: v if isinstance(v, str) and v.strip() else None)]
Ident = Annotated[str, _validator("a name (letters, digits, _; not starting with a digit)",
                                  lambda v: v if isinstance(v, str) and v.isidentifier() else None)]
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
NonEmptyList = Annotated[list[T], Field(min_length=1)]


# ----- validation ------------------------------------------------------------------------------------------------
def check(doc: Doc, model: type[M], *, data=None, path: tuple = ()) -> M:
    """Validate ``doc.data`` (or ``data`` at ``path`` of the doc) against ``model``; SpecError with all issues."""
    return validate_data(doc.data if data is None else data, model, file=doc.file, line_of=doc.line, path=path)


def validate(doc: Doc, model: type[M], errors: ErrorList, *, data=None, path: tuple = ()) -> M | None:
    """Validate like :func:`check`, adding the issues to ``errors``. Returns the model when the file is usable for
    the loader's semantic checks (valid, or wrong only by unknown keys, which are then set aside), else None."""
    data = doc.data if data is None else data
    try:
        return validate_data(data, model, file=doc.file, line_of=doc.line, path=path)
    except SpecError as exc:
        errors.extend(exc)
    try:
        model.model_validate(data)
    except ValidationError as exc:
        extra = [e["loc"] for e in exc.errors() if e["type"] == "extra_forbidden"]
        if len(extra) != exc.error_count():
            return None
    try:
        return model.model_validate(_without(data, extra))
    except ValidationError:
        return None


def _without(data, locs):
    """A copy of ``data`` without the keys at ``locs`` (pydantic error locations)."""
    drop = {tuple(loc) for loc in locs}

    def walk(value, path):
        if isinstance(value, dict):
            return {k: walk(v, path + (k,)) for k, v in value.items() if path + (k,) not in drop}
        if isinstance(value, list):
            return [walk(v, path + (i,)) for i, v in enumerate(value)]
        return value

    return walk(data, ())


def validate_data(data, model: type[M], *, file: str,
                  line_of: Callable[[tuple], int | None] | None = None, path: tuple = ()) -> M:
    """Validate plain data against ``model``; SpecError listing each problem as ``file:line key.path: message``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        issues = []
        for p, message in _messages(exc.errors(include_url=False), data, model):
            full = path + p
            issues.append(SpecIssue(file, line_of(full) if line_of else None, format_path(full), message))
        issues.sort(key=lambda i: i.line or 0)
        raise SpecError(issues) from None


_TYPE_WORDS = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number", "finite_number": "a finite number",
    "bool_type": "true or false", "bool_parsing": "true or false", "string_type": "a string",
    "list_type": "a list", "tuple_type": "a list", "set_type": "a list", "dict_type": "a mapping",
    "model_type": "a mapping", "model_attributes_type": "a mapping", "none_required": "null",
}


def _data_path(loc, data, missing=False):
    """(path into the data, index in ``loc`` of the first union tag or None): loc steps that are not keys or
    indices of the data are pydantic's union-member tags and are skipped."""
    path, cur, tag_at = [], data, None
    for i, step in enumerate(loc):
        if step == "[key]":
            break
        if isinstance(cur, dict) and step in cur:
            path.append(step)
            cur = cur[step]
        elif isinstance(cur, list) and isinstance(step, int) and 0 <= step < len(cur):
            path.append(step)
            cur = cur[step]
        elif missing and i == len(loc) - 1 and isinstance(cur, dict):
            path.append(step)   # a missing key
        elif tag_at is None:
            tag_at = i
    return tuple(path), tag_at


def _messages(errors: list[dict], data, model) -> list[tuple[tuple, str]]:
    """Turn pydantic's errors into (data path, message); union members' errors merged into one per value."""
    plain, unions = [], {}
    for err in errors:
        path, tag_at = _data_path(err["loc"], data, missing=err["type"] == "missing")
        if tag_at is None:
            plain.append((path, err))
        else:
            site = tuple(err["loc"][:tag_at])
            unions.setdefault(site, {}).setdefault(err["loc"][tag_at], []).append((path, err))
    out = [_message(path, err, model) for path, err in plain]
    for site, members in unions.items():
        site_path = _data_path(site, data)[0]
        if len(members) == 1:   # a shaped value: its shape picked one member
            out += [_message(p, e, model) for p, e in next(iter(members.values()))]
            continue
        deep = [errs for errs in members.values()
                if any(p != site_path or e["type"] not in _TYPE_WORDS and e["type"] != "spec" for p, e in errs)]
        if deep:   # the value has the shape of one member: report that member's problems
            out += [_message(p, e, model) for p, e in deep[0]]
        else:
            words = []
            for errs in members.values():
                for _p, e in errs:
                    w = e.get("ctx", {}).get("expected") if e["type"] == "spec" else _TYPE_WORDS[e["type"]]
                    if w not in words:
                        words.append(w)
            value = next(iter(members.values()))[0][1]["input"]
            out.append((site_path, f"must be {' or '.join(words)}, not {show(value)}"))
    return out


def _message(path: tuple, err: dict, model) -> tuple[tuple, str]:
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    loc = err["loc"]
    if kind == "spec":
        key = loc and loc[-1] == "[key]" and not isinstance(value, str)   # a key the path cannot show
        return path, ("a key " if key else "") + ctx["message"]
    if kind == "missing":
        return path[:-1], f"missing required key {loc[-1]!r}"
    if kind == "extra_forbidden":
        keys = _keys_at(model, loc[:-1])
        return path, (f"unknown key {loc[-1]!r}{suggest(loc[-1], keys)}; valid keys: {', '.join(keys)}"
                      if keys else f"unknown key {loc[-1]!r}")
    if loc and loc[-1] == "[key]" and kind == "literal_error":
        choices = re.findall(r"'((?:[^'\\]|\\.)*)'", ctx.get("expected", ""))
        return path, (f"must be one of {', '.join(choices)}, not {show(value)}"
                      f"{suggest(value, choices) if isinstance(value, str) else ''}")
    if loc and loc[-1] == "[key]":
        return path, f"key {value!r} must be a string (a name), not {type(value).__name__}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        keys = _keys_at(model, loc) if kind != "dict_type" else []
        return path, f"must be a mapping{' with keys ' + ', '.join(keys) if keys else ''}, not {show(value)}"
    if kind in _TYPE_WORDS:
        return path, f"must be {_TYPE_WORDS[kind]}, not {show(value)}"
    if kind == "literal_error":
        choices = re.findall(r"'((?:[^'\\]|\\.)*)'", ctx.get("expected", ""))
        return path, (f"must be one of {', '.join(choices)}, not {show(value)}"
                      f"{suggest(value, choices) if isinstance(value, str) else ''}")
    if kind == "union_tag_invalid":   # a discriminated union: the tag key names the member
        choices = re.findall(r"'((?:[^'\\]|\\.)*)'", ctx.get("expected_tags", ""))
        tag = ctx.get("discriminator", "").strip("'")
        return path + (tag,), (f"must be one of {', '.join(choices)}, not {show(ctx.get('tag'))}"
                               f"{suggest(ctx.get('tag'), choices)}")
    if kind == "union_tag_not_found":
        return path, f"missing required key {ctx.get('discriminator', '').strip(chr(39))!r}"
    if kind == "too_short":
        n = ctx.get("min_length", 1)
        noun = "mapping" if isinstance(value, dict) else "list"
        what = f"a non-empty {noun}" if n == 1 else f"a {noun} of at least {n} items"
        return path, f"must be {what}, not {show(value)}"
    if kind == "too_long":
        return path, f"must have at most {ctx.get('max_length')} items, not {len(value)}"
    bounds = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}
    if kind in bounds:
        limit = next(iter(ctx.values()))
        return path, f"must be {bounds[kind]} {limit}, not {show(value)}"
    if kind in ("value_error", "assertion_error"):
        return path, re.sub(r"^(Value|Assertion) error, ", "", err["msg"])
    msg = err["msg"]
    return path, f"{msg[:1].lower()}{msg[1:]}, not {show(value)}"


# ----- the model a loc points at (for the valid keys of a mapping) -----------------------------------------------
def _strip(tp):
    while typing.get_origin(tp) is Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _optional(tp):
    """``X`` of ``X | None`` (pydantic's locations have no step for it), else ``tp``."""
    tp = _strip(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        real = [m for m in typing.get_args(tp) if m is not type(None)]
        if len(real) == 1:
            return _strip(real[0])
    return tp


def _resolve(tp, loc):
    for step in loc:
        tp = _optional(tp)
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            fields = {f.alias or n: f for n, f in tp.model_fields.items()}
            if step in fields:
                tp = fields[step].annotation
        elif origin in (list, tuple, set, frozenset) or origin is typing.Sequence:
            tp = typing.get_args(tp)[0] if typing.get_args(tp) else Any
        elif origin is dict or origin is typing.Mapping:
            tp = typing.get_args(tp)[1] if typing.get_args(tp) else Any
        elif origin in (typing.Union, types.UnionType):
            members = [m for m in typing.get_args(tp) if getattr(_strip(m), "__name__", None) == step
                       or step in _tags(_strip(m)) or _tag_of(m) == step]
            if members:
                tp = members[0]
    return _optional(tp)


def _tag_of(tp):
    """The ``Tag`` of a union member of :func:`shaped`, or None."""
    if typing.get_origin(tp) is Annotated:
        return next((m.tag for m in tp.__metadata__ if isinstance(m, Tag)), None)
    return None


def _tags(tp) -> tuple:
    """Values of the Literal fields of a model (a discriminated union names its member by one of them)."""
    if not (isinstance(tp, type) and issubclass(tp, BaseModel)):
        return ()
    return tuple(v for f in tp.model_fields.values() for v in literal_choices(f.annotation))


def _keys_at(model, loc) -> list[str]:
    tp = _resolve(model, loc)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [f.alias or n for n, f in tp.model_fields.items()]
    return []


def literal_choices(tp) -> tuple:
    """The values of a ``Literal[...]`` type (for messages and CLI choices)."""
    tp = _strip(tp)
    return typing.get_args(tp) if typing.get_origin(tp) is Literal else ()

"""Sweep specs: a base point, axes over spec key paths, a design, constraints and objectives, read from YAML.

```yaml
name: gemm_array
base:
  workload: {cascade: gemm, sizes: {M: 1024, K: 1024, N: 1024}}
  # or {model: bert, layer: attention, seq_len: 4096, cascade: attention_1pass} (cascade replaces the layer's)
  arch: fusemax              # preset name or YAML path (relative to this file)
  mapping: gemm              # preset name or YAML path; or a resolver: search, {search: {...}}
engine: analytical           # or event
axes:
  - name: size               # linked: every path gets the same value
    paths: [arch.units.array2d.rows, arch.units.array2d.cols]
    values: [64, 128, 256]
  - path: arch.memory.global_buffer.capacity_bytes
    range: {low: 1048576, high: 67108864, scale: log, n: 7, round: pow2}
design: grid                 # or {kind: random | latin_hypercube, n: 100, seed: 1}
constraints: [area_mm2 <= 400]
objectives: [latency_s, energy_pj, area_mm2]
```

Axis paths start at ``workload``, ``arch`` or ``mapping`` and address the raw YAML data (see
:mod:`einsim.analysis.keypath`). A path of just ``arch`` or ``mapping`` swaps the whole spec (values are preset names
or files); it applies before the axes that edit keys inside it. Every mistake is reported at once as
``file:line key.path: message``.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import operator
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import PlainValidator, ValidationError

from einsim.workloads.errors import ErrorList, SpecError
from einsim.workloads.schema import (
    Name,
    NonEmptyList,
    NonNegInt,
    Number,
    PosInt,
    PosNum,
    SpecModel,
    int_in,
    positive_int,
    shaped,
    spec_fail,
    validate,
)
from einsim.workloads.yamlio import Doc, check_keys, doc_from_text, load_doc, suggest

from .designs import DESIGN_KINDS, ROUNDINGS, SCALES, Axis, Design, Range, design_points
from .keypath import KeyPathError, get_path, parse_key_path
from .resolvers import RESOLVERS, spec_file

__all__ = ["SweepSpec", "Constraint", "load_sweep", "sweep_from_text", "arch_data", "ENGINES", "KEY_COLUMNS",
           "RESULT_COLUMNS", "ARCH_COLUMNS", "SWEEP_DIR", "design_points"]

SWEEP_DIR = Path(__file__).parent / "sweeps"
ENGINES = ("analytical", "event")
ROOTS = ("workload", "arch", "mapping")
#: columns every stored row has besides axes and results
KEY_COLUMNS = ("hash", "sweep", "point", "status", "ok", "reason", "run", "worker", "seconds")
#: result columns of every evaluated point (plus util_<unit>, busy_<unit>, energy_<component>_pj, tile_<choice>)
RESULT_COLUMNS = ("cycles", "latency_s", "energy_pj", "dram_bytes", "dram_read_bytes", "dram_write_bytes",
                  "buffer_read_bytes", "buffer_write_bytes", "peak_buffer_bytes", "dram_util", "edp_pj_s", "ops",
                  "ops_per_dram_byte", "attained_ops_per_s")
#: columns known before evaluation, from the point's architecture (constraints may use them)
ARCH_COLUMNS = ("area_mm2", "peak_ops_per_s", "dram_bytes_per_s")
_PREFIXES = ("util_", "busy_", "energy_", "tile_")
#: the most points a design may have: its points are drawn into memory up front (a dict per point) and each is a
#: simulation; a grid past this is a mistake (a range's ``n`` typed with extra digits), not a study
MAX_POINTS = 1_000_000
_CMP = {ast.LtE: operator.le, ast.Lt: operator.lt, ast.GtE: operator.ge, ast.Gt: operator.gt, ast.Eq: operator.eq,
        ast.NotEq: operator.ne}
_ARITH = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
          ast.Pow: operator.pow}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Constraint:
    """A comparison over architecture columns and axis values, e.g. ``area_mm2 <= 400``."""

    text: str
    names: tuple[str, ...]
    tree: ast.expr = dataclasses.field(repr=False, compare=False)

    def holds(self, env: dict) -> bool:
        return bool(_arith(self.tree, env))


def _arith(node, env):
    if isinstance(node, ast.Compare):
        return _CMP[type(node.ops[0])](_arith(node.left, env), _arith(node.comparators[0], env))
    if isinstance(node, ast.BinOp):
        return _ARITH[type(node.op)](_arith(node.left, env), _arith(node.right, env))
    if isinstance(node, ast.UnaryOp):
        return -_arith(node.operand, env)
    if isinstance(node, ast.Name):
        return env[node.id]
    return node.value


@dataclasses.dataclass(frozen=True, kw_only=True)
class SweepSpec:
    """A validated sweep. ``base`` is the raw data axes edit: ``{"workload": {...}, "arch": {...}, "mapping": ...}``
    (the arch and mapping YAML data as loaded); ``resolver`` names how points get their mapping."""

    name: str
    description: str
    file: str
    folder: Path
    text: str
    base: dict
    resolver: str
    engine: str
    axes: tuple[Axis, ...]
    design: Design
    constraints: tuple[Constraint, ...]
    objectives: tuple[str, ...]
    batch_size: int
    doc: Doc = dataclasses.field(repr=False, compare=False)

    def points(self) -> list[dict]:
        """The design's points as ``{axis name: value}`` dicts."""
        return design_points(self.axes, self.design)

    def axis_line(self, name: str) -> int | None:
        i = next(i for i, a in enumerate(self.axes) if a.name == name)
        return self.doc.line(("axes", i))


def load_sweep(name_or_path) -> SweepSpec:
    """A sweep spec from a YAML path, or by name from ``analysis/sweeps/``; SpecError listing every mistake."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml") and not path.exists():
        path = SWEEP_DIR / f"{name_or_path}.yaml"
    doc = load_doc(path)
    return _build(doc, path.read_text(encoding="utf-8"), path.parent)


def sweep_from_text(text: str, file: str = "<string>", folder: Path | str = ".") -> SweepSpec:
    return _build(doc_from_text(text, file), text, Path(folder))


# ----- the file's schema ---------------------------------------------------------------------------------------
def _scalar(v):
    if not isinstance(v, bool | int | float | str):
        spec_fail("a number, a string or true/false", v)
    return v


class _WorkloadBase(SpecModel):
    cascade: Name | None = None
    sizes: dict[Name, PosInt] | None = None
    model: Name | None = None
    layer: Name | None = None
    seq_len: PosInt | None = None


_MAPPING_WORDS = "a mapping preset name, a mapping YAML path, a resolver name or {resolver: options}"


class _Base(SpecModel):
    workload: _WorkloadBase
    arch: Name
    mapping: shaped(_MAPPING_WORDS, string=Name, mapping=dict[Name, Any])


class _RangeFile(SpecModel):
    low: Number
    high: Number
    scale: Literal[SCALES] = "linear"
    n: int_in(1, MAX_POINTS) | None = None
    round: Literal[ROUNDINGS] = "none"
    multiple_of: PosNum | None = None


class _AxisFile(SpecModel):
    name: str | None = None
    path: Name | None = None
    paths: NonEmptyList[Name] | None = None
    values: NonEmptyList[Annotated[Any, PlainValidator(_scalar)]] | None = None
    range: _RangeFile | None = None


class _DesignFile(SpecModel):
    kind: Literal[DESIGN_KINDS]
    n: int_in(1, MAX_POINTS) | None = None
    seed: NonNegInt = 0


class SweepFile(SpecModel):
    """The keys and types of a sweep file; the loader checks what its key paths, names and columns refer to."""

    name: Name
    description: str = ""
    base: _Base
    engine: Literal[ENGINES] = "analytical"
    axes: NonEmptyList[_AxisFile]
    design: shaped("grid, random, latin_hypercube or {kind, n, seed}", string=Literal[DESIGN_KINDS],
                   mapping=_DesignFile) = "grid"
    constraints: list[Name] = []
    objectives: NonEmptyList[Name] = ["latency_s", "energy_pj", "area_mm2"]
    batch_size: positive_int(" (points per Parquet part file)") = 25


# ----- building -------------------------------------------------------------------------------------------------
def _build(doc: Doc, text: str, folder: Path) -> SweepSpec:
    e = doc.errors()
    spec = validate(doc, SweepFile, e)
    if spec is None and any(i.path in ("<top>", "base", "axes") for i in e.issues):
        e.raise_if_any()
    flagged = [i.path for i in e.issues]
    d = doc.data
    base, resolver, cascade_ranks = _base(e, d["base"], folder)
    if base is None or None in base.values():
        _raise(e, flagged)
    axes = _axes(e, d["axes"], base, cascade_ranks)
    design = _design(e, d.get("design", "grid"), axes)
    unit_names = tuple(base["arch"].get("units") or {}) if isinstance(base["arch"], dict) else ()
    constraints = _constraints(e, d.get("constraints", []), axes)
    objectives = _objectives(e, d.get("objectives", ["latency_s", "energy_pj", "area_mm2"]), axes, unit_names)
    _raise(e, flagged)
    return SweepSpec(name=spec.name, description=spec.description, file=doc.file, folder=folder, text=text,
                     base=base, resolver=resolver, engine=spec.engine, axes=axes, design=design,
                     constraints=constraints, objectives=objectives, batch_size=spec.batch_size, doc=doc)


def _raise(e: ErrorList, flagged: list[str]) -> None:
    """Raise the issues, if any; a later check's issue at or under a key the schema already flagged is left out
    (it is the same mistake, said twice)."""
    n = len(flagged)

    def under(path: str) -> bool:
        return any(path == f or path.startswith((f + ".", f + "[")) for f in flagged)

    e.issues[n:] = [i for i in e.issues[n:] if not under(i.path)]
    e.raise_if_any()


def _base(e: ErrorList, b, folder: Path):
    """(base data, resolver name, rank names of the base cascade) after checking ``base``."""
    if not check_keys(e, ("base",), b, required=("workload", "arch", "mapping")):
        return None, None, ()
    workload, ranks = _workload(e, b["workload"], folder)
    arch = arch_data(e, b["arch"], folder)
    resolver, value = _mapping_choice(e, b["mapping"])
    mapping = RESOLVERS[resolver].load(value, e, ("base", "mapping"), folder) if resolver else None
    return {"workload": workload, "arch": arch, "mapping": mapping}, resolver, ranks


def _mapping_choice(e: ErrorList, m):
    """(resolver name, its value) from ``base.mapping``."""
    if isinstance(m, str) and m in RESOLVERS and m != "preset":
        return m, None
    if isinstance(m, str):
        return "preset", m
    if isinstance(m, dict) and len(m) == 1 and next(iter(m)) in RESOLVERS:
        return next(iter(m.items()))
    e.add(("base", "mapping"), f"must be a mapping preset name, a mapping YAML path, a resolver name "
                               f"({', '.join(r for r in RESOLVERS if r != 'preset')}) or {{resolver: options}} "
                               f"with a resolver of {', '.join(RESOLVERS)}, not {m!r}")
    return None, None


def arch_data(e: ErrorList, value, folder: Path, at: tuple = ("base", "arch")):
    """The YAML data of an architecture preset name or file (checked with the arch loader), or None (issues in e)."""
    from einsim.arch.loader import PRESET_DIR, load_arch, preset_names

    if not isinstance(value, str) or not value:
        e.add(at, f"must be an architecture preset name or a YAML path, not {value!r}")
        return None
    file = spec_file(value, folder, PRESET_DIR)
    if not file.exists():
        e.add(at, f"must be an architecture preset ({', '.join(preset_names())}) or a YAML path, not {value!r}")
        return None
    try:
        load_arch(file)
    except SpecError as exc:
        e.extend(exc)
        return None
    return load_doc(file).data


def _workload(e: ErrorList, w, folder: Path):
    """The normalised workload data (``sizes`` always present) and the base cascade's rank names."""
    from einsim.workloads import load_model

    path = ("base", "workload")
    if not check_keys(e, path, w, optional=("cascade", "sizes", "model", "layer", "seq_len")):
        return None, ()
    out = dict(w)
    out["sizes"] = dict(w["sizes"]) if isinstance(w.get("sizes"), dict) else {}
    if "model" in w:
        for k in ("layer", "seq_len"):
            if k not in w:
                e.add(path, f"a model workload needs key {k!r} (e.g. layer: attention, seq_len: 4096)")
        if "layer" not in w or _typed(_WorkloadBase, w) is None:
            return None, ()
        for k, words in (("model", "a model name or path"), ("layer", "a layer name or role"),
                         ("seq_len", "a positive sequence length")):
            if w[k] is None:
                e.add(path + (k,), f"must be {words}, not null")
        if any(w[k] is None for k in ("model", "layer", "seq_len")):
            return None, ()
        try:
            layers = load_model(_local(w["model"], folder)).instantiate(seq_len=w["seq_len"])
        except SpecError as exc:
            e.extend(exc)
            return None, ()
        layer = next((L for L in layers if w["layer"] in (L.name, L.role)), None)
        if layer is None:
            e.add(path + ("layer",), f"must name a layer (by name or role) of model {w['model']!r}: "
                                     f"{', '.join(L.name for L in layers)}, not {w['layer']!r}")
            return None, ()
        out.setdefault("cascade", layer.cascade)
    elif "cascade" not in w or "sizes" not in w:
        e.add(path, "must give a cascade and its sizes ({cascade: gemm, sizes: {M: 1024, ...}}) or a model layer "
                    "({model: bert, layer: attention, seq_len: 4096})")
        return None, ()
    ranks = _cascade_ranks(e, path + ("cascade",), out["cascade"], folder)
    for r in out["sizes"]:
        if ranks and r not in ranks:
            e.add(path + ("sizes", r), f"must be a rank of cascade {out['cascade']!r} ({', '.join(ranks)}), "
                                       f"not {r!r}{suggest(r, ranks)}")
    return out, ranks


def _local(value, folder: Path):
    """A file name relative to the sweep's folder when it exists there, else the value as given."""
    p = folder / str(value)
    return p if Path(str(value)).suffix and p.exists() else value


def _cascade_ranks(e: ErrorList, path, value, folder: Path) -> tuple:
    from einsim.workloads import load_cascade

    if not isinstance(value, str) or not value:
        e.add(path, f"must be a library cascade name or a cascade YAML path, not {value!r}")
        return ()
    try:
        return tuple(load_cascade(_local(value, folder)).all_ranks)
    except SpecError as exc:
        e.extend(exc)
        return ()


def _axes(e: ErrorList, raw, base: dict, ranks: tuple) -> tuple[Axis, ...]:
    if not isinstance(raw, list) or not raw:
        e.add(("axes",), f"must be a non-empty list of axes ({{path: ..., values: [...]}}), not {raw!r}")
        return ()
    axes = []
    for i, a in enumerate(raw):
        axis = _axis(e, ("axes", i), a, base, ranks)
        if axis is None:
            continue
        if axis.name in {x.name for x in axes}:
            e.add(("axes", i, "name"), f"axis names must be unique, not {axis.name!r} twice")
        axes.append(axis)
    return tuple(axes)


def _axis(e: ErrorList, at: tuple, a, base: dict, ranks: tuple) -> Axis | None:
    if not check_keys(e, at, a, optional=("name", "path", "paths", "values", "range")):
        return None
    if ("path" in a) == ("paths" in a):
        e.add(at, "must have exactly one of 'path' (one key path) or 'paths' (linked key paths, one value)")
        return None
    texts = [a["path"]] if "path" in a else a["paths"]
    key = "path" if "path" in a else "paths"
    if not isinstance(texts, list) or not texts:
        e.add(at + (key,), f"must be a non-empty list of key paths, not {texts!r}")
        return None
    paths = []
    for j, t in enumerate(texts):
        where = at + ((key,) if key == "path" else (key, j))
        p = _target(e, where, t, base, ranks)
        if p is not None:
            paths.append(t)
    name = a.get("name", parse_key_path(paths[0])[-1] if paths else None)
    if not _column_name_ok(e, at + ("name",), name):
        return None
    if ("values" in a) == ("range" in a):
        e.add(at, "must have exactly one of 'values' (a list) or 'range' ({low, high, ...})")
        return None
    values = _values(e, at + ("values",), a["values"]) if "values" in a else None
    rng = _range(e, at + ("range",), a["range"]) if "range" in a else None
    if len(paths) != len(texts) or (values is None and rng is None):
        return None
    return Axis(name=str(name), paths=tuple(paths), values=values, range=rng)


def _column_name_ok(e: ErrorList, at: tuple, name) -> bool:
    if not isinstance(name, str) or not name.isidentifier():
        e.add(at, f"must be an identifier (letters, digits, _), not {name!r}; name linked or indexed axes")
        return False
    taken = KEY_COLUMNS + RESULT_COLUMNS + ARCH_COLUMNS
    if name in taken or name.startswith(_PREFIXES):
        e.add(at, f"{name!r} is a result column; pick another axis name")
        return False
    return True


def _target(e: ErrorList, at: tuple, text, base: dict, ranks: tuple):
    """The parsed key path if it addresses the base data, else None (with an issue)."""
    try:
        path = parse_key_path(text)
    except KeyPathError as exc:
        e.add(at, str(exc))
        return None
    if path[0] not in ROOTS:
        e.add(at, f"must start with one of {', '.join(ROOTS)}, not {path[0]!r}{suggest(path[0], ROOTS)}")
        return None
    if path in (("arch",), ("mapping",)):  # whole-spec axis: values name presets or files
        return path
    if path[0] == "workload" and path[1:2] == ("sizes",):
        if len(path) != 3 or path[2] not in ranks:
            e.add(at, f"workload.sizes.<rank> must name a rank of the cascade ({', '.join(ranks)}), not {text!r}")
            return None
        return path
    try:
        parent = get_path(base, path[:-1])
        if not isinstance(parent, dict) or path[0] == "workload":
            get_path(base, path)
    except KeyPathError as exc:
        e.add(at, f"{text!r} does not address the base point: {exc}")
        return None
    return path


def _values(e: ErrorList, at: tuple, v) -> tuple | None:
    if not isinstance(v, list) or not v:
        e.add(at, f"must be a non-empty list of values, not {v!r}")
        return None
    kinds = {bool if isinstance(x, bool) else (float if isinstance(x, int | float) else type(x)) for x in v}
    if not kinds <= {bool, float, str} or len(kinds) != 1:
        e.add(at, f"must be all numbers, all strings or all booleans, not {v!r}")
        return None
    if len(set(v)) != len(v):
        e.add(at, f"must not repeat a value, not {v!r}")
        return None
    return tuple(v)


def _typed(model, value):
    """``value`` as ``model`` if it is valid, else None (the schema has reported it)."""
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


def _range(e: ErrorList, at: tuple, r) -> Range | None:
    r = _typed(_RangeFile, r)
    if r is None:
        return None
    n0 = len(e.issues)
    if r.scale == "log" and r.low <= 0:
        e.add(at + ("low",), f"must be a positive number, not {r.low!r}")
    if r.low > r.high:
        e.add(at, f"low must be <= high, not low={r.low!r} > high={r.high!r}")
    if r.round == "pow2" and (r.multiple_of is not None or r.low <= 0):
        e.add(at + ("round",), "pow2 rounding needs low > 0 and no multiple_of")
    if len(e.issues) > n0:
        return None
    rng = Range(low=r.low, high=r.high, scale=r.scale, n=r.n, round=r.round, multiple_of=r.multiple_of)
    lo, hi = rng.bounds()
    if lo > hi:
        e.add(at, f"holds no value after rounding ({r.round}, multiple_of={r.multiple_of}) between {r.low} and "
                  f"{r.high}; widen the range")
        return None
    return rng


def _design(e: ErrorList, d, axes) -> Design:
    at = ("design",)
    d = _typed(_DesignFile, {"kind": d} if isinstance(d, str) else d)
    if d is None:
        return Design()
    if d.kind == "grid":
        for i, a in enumerate(axes):
            if a.range is not None and a.range.n is None:
                e.add(("axes", i, "range"), "a grid needs the number of levels of a range: add n (e.g. n: 8)")
        if d.n is not None:
            e.add(at + ("n",), "a grid's size is the product of the axes' levels; remove n (or use random or "
                               "latin_hypercube)")
        size = math.prod(len(a.values) if a.values is not None else a.range.n or 1 for a in axes)
        if size > MAX_POINTS:
            e.add(at, f"a grid of {size:,} points is more than the {MAX_POINTS:,} a sweep may have; use fewer "
                      f"levels, or a random or latin_hypercube design of n points")
        return Design(kind="grid")
    if d.n is None:
        e.add(at, f"a {d.kind} design needs n, the number of points")
    return Design(kind=d.kind, n=d.n or 1, seed=d.seed)


def _constraints(e: ErrorList, raw, axes) -> tuple[Constraint, ...]:
    if not isinstance(raw, list):
        e.add(("constraints",), f"must be a list of comparisons like 'area_mm2 <= 400', not {raw!r}")
        return ()
    known = ARCH_COLUMNS + tuple(a.name for a in axes if a.values is None or isinstance(a.values[0], int | float))
    out = []
    for i, text in enumerate(raw):
        at = ("constraints", i)
        try:
            tree = ast.parse(str(text), mode="eval").body
        except SyntaxError:
            tree = None
        bad = tree is None or not isinstance(tree, ast.Compare) or len(tree.ops) != 1 or type(tree.ops[0]) not in _CMP
        nodes = [] if tree is None else list(ast.walk(tree))
        allowed = (ast.Compare, ast.BinOp, ast.UnaryOp, ast.USub, ast.Name, ast.Load, ast.Constant,
                   *_CMP, *_ARITH)
        if bad or not isinstance(text, str) or any(not isinstance(x, allowed) for x in nodes) or any(
                isinstance(x, ast.Constant) and not isinstance(x.value, int | float) for x in nodes):
            e.add(at, f"must be one comparison (<=, <, >=, >, ==, !=) of arithmetic over numbers and names, like "
                      f"'area_mm2 <= 400', not {text!r}")
            continue
        names = tuple(sorted({x.id for x in nodes if isinstance(x, ast.Name)}))
        for nm in names:
            if nm not in known:
                e.add(at, f"unknown name {nm!r}{suggest(nm, known)}; constraints may use {', '.join(known)}")
        out.append(Constraint(text=text, names=names, tree=tree))
    return tuple(out)


def _objectives(e: ErrorList, raw, axes, units: tuple) -> tuple[str, ...]:
    known = RESULT_COLUMNS + ARCH_COLUMNS + tuple(a.name for a in axes)
    if not isinstance(raw, list) or not raw:
        e.add(("objectives",), f"must be a non-empty list of columns to minimise, not {raw!r}")
        return ()
    for i, c in enumerate(raw):
        per_unit = isinstance(c, str) and c.startswith(("util_", "busy_")) and c.split("_", 1)[1] in units
        per_comp = isinstance(c, str) and c.startswith("energy_") and c.endswith("_pj")
        if c not in known and not per_unit and not per_comp:
            e.add(("objectives", i), f"must be a result column to minimise ({', '.join(known)}, util_<unit>, "
                                     f"energy_<component>_pj), not {c!r}{suggest(c, known)}")
    return tuple(raw)


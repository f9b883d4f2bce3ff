"""Constraints on a mapspace, in YAML (in the spirit of Timeloop's constraints), with the line of every key kept so
that a constraint that empties the space is named: ``constraints.yaml:7 loops.order: no loop order of group 0
(SQ .. AV) satisfies it: ...``.

```yaml
partitions: {M0: [128, 256]}        # size of a partition's inner rank: a value or candidates
binding: {BQK: array2d, default: [array1d, array2d]}   # Einsum (or default) -> unit or candidate units
fusion: any                         # any | all | unfused | [[SQ, QK], [GM, SN, SD, A], [AV]]
max_buffer_bytes: {global_buffer: 8388608}   # bytes a level may hold (per instance of a private level)
# rules for every group (top level) and for the group holding an Einsum (groups: {EINSUM: rules}):
loops: {order: [B, H, P, M1, P], prefix: [B, H], ranks: [B, H, P, M1], max: 6, max_per_rank: 2}
tiles: {P: 256, "P@2": [1024, 4096], B: {min: 1, max: 8}}   # innermost loop over a rank, or loop i: value/list/range
spatial: {array2d: {rows: M0, cols: P}}
pipeline: interleave                # or a list of candidates
instances: [1, all]
on_chip: all                        # all | none (intermediates kept on chip)
in_pe: max                          # max (every intermediate that may stay in the PEs) | none
spill: true
stream: [K, V]                      # these DRAM inputs are re-read at each use
groups: {BQK: {tiles: {M1: 1}}}
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from einsim.arch._check import choice, pos_int
from einsim.workloads.errors import SpecError, SpecIssue, format_path
from einsim.workloads.yamlio import Doc, check_keys, doc_from_text, load_doc

from .spec import PIPELINES

__all__ = ["Constraints", "GroupRules", "TileRule", "load_constraints", "constraints_from_text", "NO_CONSTRAINTS"]

_RULE_KEYS = ("loops", "tiles", "spatial", "pipeline", "instances", "on_chip", "in_pe", "spill", "stream")


@dataclass(frozen=True, kw_only=True)
class TileRule:
    """Allowed tiles of one loop: ``values`` (None: any) within ``[low, high]``."""

    values: frozenset | None = None
    low: int = 1
    high: int | None = None

    def allows(self, t: int) -> bool:
        return (self.values is None or t in self.values) and self.low <= t and (self.high is None or t <= self.high)


@dataclass(frozen=True, kw_only=True)
class GroupRules:
    """Rules for the groups they apply to (``applies_to``: 'all' or an Einsum the group holds); ``path`` is the
    key path of the rules in the file."""

    applies_to: str
    path: tuple
    order: tuple[str, ...] | None = None
    prefix: tuple[str, ...] = ()
    ranks: tuple[str, ...] | None = None                # ranks loops may be over
    max_loops: int | None = None
    max_per_rank: int | None = None
    tiles: Mapping = field(default_factory=dict)        # rank or (rank, loop index) -> TileRule
    spatial: Mapping = field(default_factory=dict)      # unit -> {dimension: rank}
    pipeline: tuple[str, ...] | None = None
    instances: tuple | None = None                      # ints and None (all)
    on_chip: bool | None = None
    in_pe: bool | None = None
    spill: bool | None = None
    stream: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class Constraints:
    """Loaded constraints (see the module docstring); ``error(path, message)`` names the constraint's line."""

    file: str = "<none>"
    partitions: Mapping = field(default_factory=dict)   # inner partition rank -> tuple of sizes
    binding: Mapping = field(default_factory=dict)      # Einsum or 'default' -> tuple of units
    fusion: object = "any"                              # 'any' | 'all' | 'unfused' | tuple of tuples of Einsums
    max_buffer_bytes: Mapping = field(default_factory=dict)
    rules: tuple[GroupRules, ...] = ()
    lines: Mapping = field(default_factory=dict)

    def __post_init__(self):
        for name in ("partitions", "binding", "max_buffer_bytes", "lines"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def line(self, path: tuple) -> int | None:
        """Line of ``path`` or of its nearest ancestor in the file."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None

    def error(self, path: tuple, message: str) -> SpecError:
        """A SpecError naming the constraint at ``path``: ``file:line key.path: message``."""
        return SpecError([SpecIssue(self.file, self.line(path), format_path(tuple(path)), message)])

    def rules_for(self, members) -> list[GroupRules]:
        """The rules that apply to a group holding ``members`` (the file's 'all' rules first)."""
        return [r for r in self.rules if r.applies_to == "all" or r.applies_to in members]


NO_CONSTRAINTS = Constraints()


def load_constraints(path) -> Constraints:
    return _build(load_doc(path))


def constraints_from_text(text: str, file: str = "<string>") -> Constraints:
    return _build(doc_from_text(text, file))


def _names(e, path, v, what, allow_str=True):
    if allow_str and isinstance(v, str):
        return (v,)
    if not isinstance(v, list) or not v or not all(isinstance(x, str) for x in v):
        e.add(path, f"must be a {what} name or a non-empty list of them, not {v!r}" if allow_str else
              f"must be a non-empty list of {what} names, not {v!r}")
        return None
    return tuple(v)


def _build(doc: Doc) -> Constraints:
    e = doc.errors()
    d = doc.data if doc.data is not None else {}
    if not check_keys(e, (), d, optional=("partitions", "binding", "fusion", "max_buffer_bytes", "groups")
                      + _RULE_KEYS):
        e.raise_if_any()
    parts = {}
    for k, v in (_mapping(e, ("partitions",), d.get("partitions"), "partition rank -> size or sizes")).items():
        vals = v if isinstance(v, list) else [v]
        ok = [pos_int(e, ("partitions", k), x) for x in vals]
        if vals and None not in ok:
            parts[str(k)] = tuple(ok)
    binding = {}
    for k, v in _mapping(e, ("binding",), d.get("binding"), "Einsum (or default) -> unit or units").items():
        units = _names(e, ("binding", k), v, "unit")
        if units:
            binding[str(k)] = units
    fusion = _fusion(e, d.get("fusion", "any"))
    limits = {}
    for k, v in _mapping(e, ("max_buffer_bytes",), d.get("max_buffer_bytes"), "level -> bytes").items():
        if pos_int(e, ("max_buffer_bytes", k), v) is not None:
            limits[str(k)] = v
    rules = [_rules(e, (), {k: d[k] for k in _RULE_KEYS if k in d}, "all")] if any(k in d for k in _RULE_KEYS) else []
    for k, v in _mapping(e, ("groups",), d.get("groups"), "Einsum -> rules for the group holding it").items():
        if check_keys(e, ("groups", k), v, optional=_RULE_KEYS):
            rules.append(_rules(e, ("groups", k), v, str(k)))
    e.raise_if_any()
    return Constraints(file=doc.file, partitions=parts, binding=binding, fusion=fusion, max_buffer_bytes=limits,
                       rules=tuple(rules), lines=dict(doc._lines))


def _mapping(e, path, v, what) -> dict:
    if v is None:
        return {}
    if not isinstance(v, dict):
        e.add(path, f"must map {what}, not {v!r}")
        return {}
    return v


def _fusion(e, v):
    if v in ("any", "all", "unfused"):
        return v
    if isinstance(v, list) and v and all(isinstance(g, list) and g and all(isinstance(x, str) for x in g) for g in v):
        return tuple(tuple(g) for g in v)
    e.add(("fusion",), f"must be any, all, unfused or a list of groups (lists of Einsum names), not {v!r}")
    return "any"


def _rules(e, path, d, applies_to) -> GroupRules:
    out: dict = {}
    loops = d.get("loops")
    if loops is not None and check_keys(e, path + ("loops",), loops, optional=("order", "prefix", "ranks",
                                                                                 "max", "max_per_rank")):
        if "order" in loops:
            out["order"] = _names(e, path + ("loops", "order"), loops["order"], "rank", allow_str=False)
        for key in ("prefix", "ranks"):
            if key in loops:
                out[key] = _names(e, path + ("loops", key), loops[key], "rank", allow_str=False) or ()
        for key, name in (("max", "max_loops"), ("max_per_rank", "max_per_rank")):
            if key in loops:
                out[name] = pos_int(e, path + ("loops", key), loops[key])
    tiles = {}
    for k, v in _mapping(e, path + ("tiles",), d.get("tiles"), "rank or rank@loop -> tile, list or {min, max}").items():
        key = _tile_key(e, path + ("tiles", k), k)
        rule = _tile_rule(e, path + ("tiles", k), v)
        if key is not None and rule is not None:
            tiles[key] = rule
    out["tiles"] = tiles
    spatial = {}
    for u, dims in _mapping(e, path + ("spatial",), d.get("spatial"), "unit -> {dimension: rank}").items():
        if not isinstance(dims, dict) or not all(isinstance(x, str) for x in dims.values()):
            e.add(path + ("spatial", u), f"must map a unit dimension (rows, cols, pes, lanes) -> rank, not {dims!r}")
            continue
        spatial[str(u)] = dict(dims)
    out["spatial"] = spatial
    if "pipeline" in d:
        names = _names(e, path + ("pipeline",), d["pipeline"], "pipeline")
        if names and all(choice(e, path + ("pipeline",), p, PIPELINES) for p in names):
            out["pipeline"] = names
    if "instances" in d:
        out["instances"] = _instances(e, path + ("instances",), d["instances"])
    for key, words in (("on_chip", ("all", "none")), ("in_pe", ("max", "none"))):
        if key in d and choice(e, path + (key,), d[key], words):
            out[key] = d[key] == words[0]
    if "spill" in d:
        if isinstance(d["spill"], bool):
            out["spill"] = d["spill"]
        else:
            e.add(path + ("spill",), f"must be true or false, not {d['spill']!r}")
    if "stream" in d:
        out["stream"] = _names(e, path + ("stream",), d["stream"], "tensor") if d["stream"] != [] else ()
    return GroupRules(applies_to=applies_to, path=path, **{k: v for k, v in out.items() if v is not None})


def _tile_key(e, path, k):
    if not isinstance(k, str) or not k:
        e.add(path, f"must be a rank (its innermost loop) or rank@loop index, not {k!r}")
        return None
    if "@" not in k:
        return k
    rank, _, idx = k.partition("@")
    if not rank or not idx.isdigit():
        e.add(path, f"must be a rank (its innermost loop) or rank@loop index like P@2, not {k!r}")
        return None
    return (rank, int(idx))


def _tile_rule(e, path, v):
    if isinstance(v, dict):
        if not check_keys(e, path, v, optional=("min", "max")):
            return None
        low = pos_int(e, path + ("min",), v.get("min", 1))
        high = pos_int(e, path + ("max",), v["max"]) if "max" in v else None
        if low is not None and high is not None and low > high:
            e.add(path, f"min must not exceed max, not {low} > {high}")
            return None
        return TileRule(low=low or 1, high=high)
    vals = v if isinstance(v, list) else [v]
    ok = [pos_int(e, path, x, " (a tile, a list of tiles or {min, max})") for x in vals]
    if not vals or None in ok:
        return None
    return TileRule(values=frozenset(ok))


def _instances(e, path, v):
    vals = v if isinstance(v, list) else [v]
    out = []
    for x in vals:
        if x == "all":
            out.append(None)
        elif pos_int(e, path, x, " or 'all'") is not None:
            out.append(x)
    return tuple(out) or None

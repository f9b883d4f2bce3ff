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
from typing import Annotated, Any, Literal

from pydantic import PlainValidator, model_validator

from einsim.workloads.errors import SpecError, SpecIssue, format_path
from einsim.workloads.schema import (
    Name,
    NonEmptyList,
    PosInt,
    SpecModel,
    check,
    positive_int,
    shaped,
    spec_fail,
    word,
)
from einsim.workloads.yamlio import Doc, doc_from_text, load_doc

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


# ----- the file's schema ---------------------------------------------------------------------------------------
def _tile_key(k):
    """A ``tiles`` key: a rank (its innermost loop) or ``rank@i`` (loop i over the rank) -> rank or (rank, i)."""
    rank, at, idx = k.partition("@") if isinstance(k, str) else ("", "", "")
    if not rank or (at and not idx.isdigit()):
        spec_fail("a rank (its innermost loop) or rank@loop index like P@2", k)
    return (rank, int(idx)) if at else rank


class _Range(SpecModel):
    min: PosInt = 1
    max: PosInt | None = None

    @model_validator(mode="after")
    def _ordered(self):
        if self.max is not None and self.min > self.max:
            raise ValueError(f"min must not exceed max, not {self.min} > {self.max}")
        return self


_TILE_HINT = " (a tile, a list of tiles or {min, max})"
_Tile = shaped("a tile, a list of tiles or {min, max}", mapping=_Range, list=NonEmptyList[positive_int(_TILE_HINT)],
               other=positive_int(_TILE_HINT))
_Instance = shaped("a positive integer or 'all'", string=word("all", expected="a positive integer or 'all'"),
                   other=positive_int(" or 'all'"))
_Pipeline = Literal[PIPELINES]


def _name_list(what: str):
    return shaped(f"a non-empty list of {what} names", list=NonEmptyList[Name])


def _name_or_list(what: str, *, empty: bool = False):
    return shaped(f"a {what} name or a non-empty list of them", string=Name,
                  list=list[Name] if empty else NonEmptyList[Name])


class _LoopRules(SpecModel):
    order: _name_list("rank") | None = None
    prefix: _name_list("rank") | None = None
    ranks: _name_list("rank") | None = None
    max: PosInt | None = None
    max_per_rank: PosInt | None = None


class RulesFile(SpecModel):
    """Rules for groups: at the top level (every group) or under ``groups: {EINSUM: ...}``."""

    loops: _LoopRules | None = None
    tiles: dict[Annotated[Any, PlainValidator(_tile_key)], _Tile] | None = None
    spatial: dict[Name, dict[Name, Name]] | None = None
    pipeline: shaped("a pipeline or a non-empty list of them", string=_Pipeline,
                     list=NonEmptyList[_Pipeline]) | None = None
    instances: shaped("a positive integer, 'all' or a list of them", list=list[_Instance],
                      other=_Instance) | None = None
    on_chip: Literal["all", "none"] | None = None
    in_pe: Literal["max", "none"] | None = None
    spill: bool | None = None
    stream: _name_or_list("tensor", empty=True) | None = None


_FUSIONS = ("any", "all", "unfused")
_FUSION_WORDS = "any, all, unfused or a list of groups (lists of Einsum names)"


class ConstraintsFile(RulesFile):
    """The keys and types of a constraints file."""

    partitions: dict[Name, shaped("a size or a non-empty list of sizes", list=NonEmptyList[PosInt],
                                  other=PosInt)] | None = None
    binding: dict[Name, _name_or_list("unit")] | None = None
    fusion: shaped(_FUSION_WORDS, string=Annotated[str, PlainValidator(
        lambda v: v if v in _FUSIONS else spec_fail(_FUSION_WORDS, v))],
        list=NonEmptyList[NonEmptyList[Name]]) = "any"
    max_buffer_bytes: dict[Name, PosInt] | None = None
    groups: dict[Name, RulesFile] | None = None


# ----- building ---------------------------------------------------------------------------------------------------
def _tuple(v) -> tuple:
    return tuple(v) if isinstance(v, list) else (v,)


def _build(doc: Doc) -> Constraints:
    d = check(doc, ConstraintsFile, data=doc.data if doc.data is not None else {})
    rules = [_rules((), d, "all")] if any(getattr(d, k) is not None for k in _RULE_KEYS) else []
    rules += [_rules(("groups", k), r, k) for k, r in (d.groups or {}).items()]
    fusion = d.fusion if isinstance(d.fusion, str) else tuple(tuple(g) for g in d.fusion)
    return Constraints(file=doc.file, partitions={k: _tuple(v) for k, v in (d.partitions or {}).items()},
                       binding={k: _tuple(v) for k, v in (d.binding or {}).items()}, fusion=fusion,
                       max_buffer_bytes=dict(d.max_buffer_bytes or {}), rules=tuple(rules), lines=dict(doc._lines))


def _rules(path: tuple, r: RulesFile, applies_to: str) -> GroupRules:
    out: dict = {}
    if r.loops is not None:
        lp = r.loops
        out.update(order=None if lp.order is None else tuple(lp.order), max_loops=lp.max,
                   max_per_rank=lp.max_per_rank)
        for key in ("prefix", "ranks"):
            if getattr(lp, key) is not None:
                out[key] = tuple(getattr(lp, key))
    out["tiles"] = {k: TileRule(low=v.min, high=v.max) if isinstance(v, _Range) else TileRule(
        values=frozenset(_tuple(v))) for k, v in (r.tiles or {}).items()}
    out["spatial"] = {u: dict(dims) for u, dims in (r.spatial or {}).items()}
    if r.pipeline is not None:
        out["pipeline"] = _tuple(r.pipeline)
    if r.instances is not None:
        out["instances"] = tuple(None if x == "all" else x for x in _tuple(r.instances)) or None
    if r.on_chip is not None:
        out["on_chip"] = r.on_chip == "all"
    if r.in_pe is not None:
        out["in_pe"] = r.in_pe == "max"
    out["spill"] = r.spill
    if r.stream is not None:
        out["stream"] = _tuple(r.stream)
    return GroupRules(applies_to=applies_to, path=path, **{k: v for k, v in out.items() if v is not None})

"""Load a mapping YAML (a preset name or a path) into a :class:`mappings.spec.MappingSpec`, reporting all errors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, Strict

from einsim.workloads.errors import SpecError, SpecIssue
from einsim.workloads.schema import (
    Name,
    NonEmptyList,
    PosInt,
    SpecModel,
    nonneg_int,
    positive_int,
    shaped,
    validate,
    word,
)
from einsim.workloads.yamlio import Doc, doc_from_text, load_doc

from .spec import PIPELINES, Group, Loop, MappingSpec

__all__ = ["load_mapping", "mapping_from_text", "preset_names", "PRESET_DIR", "MappingFile", "GroupFile"]

PRESET_DIR = Path(__file__).parent / "presets"


def preset_names() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in PRESET_DIR.glob("*.yaml")))


def load_mapping(name_or_path) -> MappingSpec:
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml") and "/" not in str(name_or_path):
        path = PRESET_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            raise SpecError([SpecIssue(str(name_or_path), None, "<name>",
                                       f"mapping must be a preset name or a YAML path, not {name_or_path!r}; "
                                       f"presets: {', '.join(preset_names())}")])
    return _build(load_doc(path))


def mapping_from_text(text: str, file: str = "<string>") -> MappingSpec:
    return _build(doc_from_text(text, file))


class _BestOf(SpecModel):
    best_of: NonEmptyList[PosInt]


#: 'all' or a list of names (Einsums, tensors)
_Names = shaped("'all' or a list of names", string=word("all", expected="'all' or a list of names"), list=list[Name])
_Tile = shaped("a tile size", mapping=_BestOf, other=positive_int(" (or {best_of: [...]} to let the mapper pick)"))
_Loop = shaped("a [rank, tile] pair like [P, 256]", list=Annotated[tuple[Name, _Tile], Strict(False)])
_Dimension = Literal["rows", "cols", "pes", "lanes"]


class GroupFile(SpecModel):
    """One fusion group of a mapping file (see :class:`einsim.mappings.spec.Group`)."""

    einsums: _Names
    loops: list[_Loop]
    spatial: dict[Name, dict[_Dimension, Name]] | None = None
    on_chip: _Names = "all"
    in_pe: _Names = []
    stream: _Names = []
    bypass: _Names = []
    hold: dict[Name, nonneg_int(" (a loop depth: the number of loops outside the hold)")] | None = None
    levels: dict[Name, Name] | None = None
    instances: shaped("a positive integer or 'all'", string=word("all", expected="a positive integer or 'all'"),
                      other=positive_int(" or 'all' (unit instances the outermost loop spreads over)")) = 1
    spill: bool = False
    pipeline: Literal[PIPELINES] = "in_order"
    window: positive_int(" (innermost tiles in flight at once; 1: one at a time)") | None = None
    run_at: dict[Name, nonneg_int(" (a loop depth: the number of loops outside it)")] | None = None


class MappingFile(SpecModel):
    """The keys and types of a mapping file; the names it uses are checked against a workload and an architecture
    by :mod:`einsim.mappings.crosscheck`."""

    name: Name
    description: str = ""
    cascade: Name | None = None
    partitions: dict[Name, PosInt] | None = None
    binding: Annotated[dict[Name, Name], Field(min_length=1)]
    groups: NonEmptyList[GroupFile]


def _build(doc: Doc) -> MappingSpec:
    e = doc.errors()
    spec = validate(doc, MappingFile, e)
    if spec is None:
        e.raise_if_any()
    groups = tuple(_group(e, ("groups", gi), g) for gi, g in enumerate(spec.groups))
    if sum(1 for g in groups if g.einsums is None) > 1:
        e.add(("groups",), "at most one group may take 'einsums: all' (the Einsums no other group lists)")
    e.raise_if_any()
    return MappingSpec(name=spec.name, description=spec.description, cascade=spec.cascade,
                       partitions=dict(spec.partitions or {}), binding=dict(spec.binding), groups=groups,
                       source=doc.file)


def _names(value) -> tuple[str, ...] | None:
    return None if value == "all" else tuple(value)


def _loops(g: GroupFile) -> tuple[Loop, ...]:
    """The group's loops, a ``{best_of: [...]}`` tile as its candidates, largest first."""
    return tuple(Loop(rank=rank, tile=None, candidates=tuple(sorted(set(tile.best_of), reverse=True)))
                 if isinstance(tile, _BestOf) else Loop(rank=rank, tile=tile) for rank, tile in g.loops)


def _group(e, path, g: GroupFile) -> Group:
    if g.window is not None and g.pipeline != "interleave":
        e.add(path + ("window",), f"is honoured by 'pipeline: interleave' groups, not {g.pipeline!r} ones; "
                                  "use interleave with the window, or 'serial' for one tile at a time")
    return Group(einsums=_names(g.einsums), loops=_loops(g), spatial={k: dict(v) for k, v in (g.spatial or {}).items()},
                 on_chip=_names(g.on_chip), in_pe=_names(g.in_pe) or (), stream=_names(g.stream) or (),
                 hold=dict(g.hold or {}), levels=dict(g.levels or {}),
                 instances=None if g.instances == "all" else g.instances, spill=g.spill, pipeline=g.pipeline,
                 window=g.window, run_at=dict(g.run_at or {}), bypass=_names(g.bypass) or ())

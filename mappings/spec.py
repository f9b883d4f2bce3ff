"""Mapping specs: how a cascade runs on an architecture.

A mapping fixes partition sizes (``M0``), a binding (Einsum -> unit), and fusion groups run one after another.
A group shares a loop nest over tiles (outermost first; a rank may be split several times, each loop taking
blocks of ``tile`` of what its outer loops over that rank left), keeps chosen intermediates on chip, maps each
Einsum's tile onto its unit's spatial dimensions (the rest of the tile is temporal), and says how tiles overlap:

- ``serial``: one tile at a time, nothing overlaps across tiles;
- ``in_order``: each unit and DRAM run their tasks in program order, so tile i+1 may start on a unit once that unit
  has finished tile i (double-buffered DRAM transfers overlap compute);
- ``interleave``: units interleave tasks of different tiles freely (FuseMax's binding), limited only by true
  dependencies and each resource's occupancy.

Memory: a tensor's tiles live in the outermost on-chip level that serves the unit using them, unless ``levels``
names another (an NPU's accumulator SRAM for partial sums); ``in_pe`` keeps an intermediate in the PEs' register
files. Unit instances: ``instances: N`` spreads the iterations of the group's outermost loop over N instances of every
unit the group uses (N NPU cores; ``all``: every instance the group's units have), each running its share of the
group on its own private levels while sharing DRAM.

A tile factor may be a list of candidates (``{best_of: [..]}``); the mapper (:mod:`mappings.mapper`) picks the
feasible candidate with the fewest cycles, the largest on ties.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

__all__ = ["Loop", "Group", "MappingSpec", "PIPELINES"]

PIPELINES = ("serial", "in_order", "interleave")


@dataclass(frozen=True, kw_only=True)
class Loop:
    """One shared tile loop: iterate over blocks of ``tile`` along ``rank``; ``candidates`` when the mapper picks."""

    rank: str
    tile: int | None
    candidates: tuple[int, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Group:
    """A fusion group: Einsums sharing ``loops`` and keeping ``on_chip`` intermediates in the global buffer."""

    einsums: tuple[str, ...] | None            # None: every Einsum not in another group
    loops: tuple[Loop, ...]
    spatial: Mapping[str, Mapping[str, str]]   # unit or Einsum name -> {unit dimension: rank}
    on_chip: tuple[str, ...] | None            # None: all intermediates of the group
    in_pe: tuple[str, ...] = ()                # intermediates that stay in the PEs' register files (no buffer)
    stream: tuple[str, ...] = ()               # DRAM inputs re-read at each use instead of held
    hold: Mapping[str, int] = field(default_factory=dict)  # DRAM input -> loop depth it is held at (0 = whole run)
    levels: Mapping[str, str] = field(default_factory=dict)  # tensor -> on-chip level its tiles live in
    instances: int | None = 1                  # unit instances the outermost loop spreads over (None: all of them)
    spill: bool = False                        # overflowing intermediates spill to DRAM instead of failing
    pipeline: str = "in_order"

    def __post_init__(self):
        object.__setattr__(self, "spatial", MappingProxyType({k: MappingProxyType(dict(v))
                                                              for k, v in self.spatial.items()}))
        object.__setattr__(self, "hold", MappingProxyType(dict(self.hold)))
        object.__setattr__(self, "levels", MappingProxyType(dict(self.levels)))


@dataclass(frozen=True, kw_only=True)
class MappingSpec:
    name: str
    description: str = ""
    cascade: str | None = None
    partitions: Mapping[str, int] = field(default_factory=dict)
    binding: Mapping[str, str] = field(default_factory=dict)  # Einsum -> unit; key "default" for the rest
    groups: tuple[Group, ...] = ()
    source: str = "<code>"

    def __post_init__(self):
        object.__setattr__(self, "partitions", MappingProxyType(dict(self.partitions)))
        object.__setattr__(self, "binding", MappingProxyType(dict(self.binding)))

    def unit_of(self, einsum: str) -> str | None:
        return self.binding.get(einsum, self.binding.get("default"))

    @property
    def choices(self) -> tuple[tuple[int, int], ...]:
        """(group index, loop index) of every loop whose tile the mapper picks."""
        return tuple((g, i) for g, grp in enumerate(self.groups) for i, lp in enumerate(grp.loops)
                     if lp.tile is None)

    def with_tiles(self, tiles: Mapping[tuple[int, int], int]) -> MappingSpec:
        """A copy with the chosen tiles filled in."""
        groups = list(self.groups)
        for (g, i), t in tiles.items():
            loops = list(groups[g].loops)
            loops[i] = replace(loops[i], tile=t)
            groups[g] = replace(groups[g], loops=tuple(loops))
        return replace(self, groups=tuple(groups))

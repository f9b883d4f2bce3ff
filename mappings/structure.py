"""One fusion group's mapping without its tile sizes (a *structure*), and what it implies before any tile is chosen.

A :class:`GroupStructure` fixes a group's members and their units, its loop ranks (outermost first), the spatial
mapping of each unit, pipelining, instances, what stays on chip or in the PEs, how DRAM inputs are held, and where
tensors live. Its tile rows (:mod:`einsim.mappings.tilespace`) complete it into a :class:`einsim.mappings.spec.Group`.

:class:`GroupGeometry` is what the lowering (:mod:`einsim.sim.movement`, :mod:`einsim.sim.occupancy`) will derive from
the structure, computed without tiles: each Einsum's loop level, where each tensor lives, which DRAM tiles are loaded
at which depth and kept resident, which outputs are stored, which intermediates occupy the buffer. With a
:class:`~einsim.mappings.tilespace.RowNest` it gives per tile row the bytes each on-chip level must hold (a lower
bound: resident DRAM tiles plus the iterated intermediates plus the largest other one) and the DRAM bytes moved
(a lower bound: loads, stores and reloads, no spills), so rows that cannot fit are dropped before evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from einsim.arch.spec import ArchSpec
from einsim.workloads import Cascade

from .spec import Group, Loop
from .tilespace import RowNest

__all__ = ["GroupStructure", "GroupGeometry", "STREAM", "IN_PE", "loop_levels"]

#: ``GroupStructure.inputs`` value: the DRAM input is re-read at each use
STREAM = -1
#: placement of a tensor kept in the PEs' register files
IN_PE = "<pe>"


@dataclass(frozen=True, kw_only=True)
class GroupStructure:
    """A fusion group without tiles. ``spatial`` holds ``(unit, dimension, rank, fallback)``: the rank mapped onto
    the dimension, and the rank used instead by an Einsum on that unit that does not index it ('' for none).
    ``inputs`` holds ``(DRAM input, STREAM or hold depth)`` for inputs not held the default way; ``overrides`` give
    an Einsum its own spatial mapping (from a template mapping)."""

    members: tuple[str, ...]
    units: tuple[str, ...]
    loops: tuple[str, ...]
    spatial: tuple[tuple[str, str, str, str], ...] = ()
    pipeline: str = "in_order"
    instances: int | None = 1
    on_chip: bool | tuple[str, ...] = True       # True: every intermediate; else those listed
    in_pe: tuple[str, ...] = ()
    spill: bool = False
    inputs: tuple[tuple[str, int], ...] = ()
    levels: tuple[tuple[str, str], ...] = ()
    overrides: tuple[tuple[str, str, str], ...] = ()   # (Einsum, dimension, rank): an Einsum's own spatial mapping

    def unit_of(self, einsum: str) -> str:
        return self.units[self.members.index(einsum)]

    def spatial_of(self, cascade: Cascade, einsum: str) -> dict:
        """{dimension: rank} of ``einsum`` on its unit: the unit's rank, else the fallback, if the Einsum indexes it."""
        own = [(d, r) for e, d, r in self.overrides if e == einsum]
        if own:
            return dict(own)
        unit = self.unit_of(einsum)
        idx = set(cascade.einsum(einsum).indices)
        out, used = {}, set()
        for u, dim, rank, fallback in self.spatial:
            if u != unit:
                continue
            for r in (rank, fallback):
                if r and r in idx and r not in used:
                    out[dim] = r
                    used.add(r)
                    break
        return out

    def group(self, cascade: Cascade, tiles=None) -> Group:
        """The mapping's Group: loops with ``tiles`` (None: left to choose, one column per loop)."""
        loops = tuple(Loop(rank=r, tile=None if tiles is None else int(tiles[j])) for j, r in enumerate(self.loops))
        spatial: dict = {}
        for u, dim, rank, _ in self.spatial:
            if rank:
                spatial.setdefault(u, {})[dim] = rank
        for e in self.members:
            want = self.spatial_of(cascade, e)
            unit = self.unit_of(e)
            idx = cascade.einsum(e).indices
            plain = {d: r for d, r in spatial.get(unit, {}).items() if r in idx}
            if want != plain:
                spatial[e] = want
        hold = {t: d for t, d in self.inputs if d != STREAM}
        on_chip = None if self.on_chip is True else tuple(self.on_chip or ())
        return Group(einsums=self.members, loops=loops, spatial=spatial, on_chip=on_chip, in_pe=self.in_pe,
                     stream=tuple(t for t, d in self.inputs if d == STREAM), hold=hold,
                     levels=dict(self.levels), instances=self.instances, spill=self.spill, pipeline=self.pipeline)


def loop_levels(cascade: Cascade, members, loops) -> dict:
    """Einsum -> its loop level: inside the longest prefix of loops over ranks it indexes."""
    out = {}
    for m in members:
        idx = cascade.einsum(m).indices
        k = 0
        while k < len(loops) and loops[k] in idx:
            k += 1
        out[m] = k
    return out


def _indexes(cascade: Cascade, ranks, loop_rank: str) -> bool:
    return loop_rank in ranks or any(loop_rank in cascade.partitions.get(r, ()) for r in ranks)


@dataclass(kw_only=True)
class GroupGeometry:
    """See the module docstring. Lists hold ``(tensor, loop level, carried rank or None)``; ``loads`` add whether
    the tile stays resident; ``inter`` adds bytes per element (two words for an iterated tensor)."""

    level: dict
    place: dict
    loads: list = field(default_factory=list)
    stores: list = field(default_factory=list)
    reloads: list = field(default_factory=list)
    inter: list = field(default_factory=list)
    double: int = 2

    @staticmethod
    def build(cascade: Cascade, arch: ArchSpec, s: GroupStructure, needed_later) -> GroupGeometry:
        level = loop_levels(cascade, s.members, s.loops)
        einsums = [cascade.einsum(m) for m in s.members]
        produced = {e.output.tensor: e.name for e in einsums}
        geo = GroupGeometry(level=level, place=_placement(arch, s, einsums), double=1 if s.pipeline == "serial" else 2)
        on_chip = (set(produced) if s.on_chip is True else set(s.on_chip or ()) & set(produced)) | set(s.in_pe)
        hold = dict(s.inputs)
        seen = set()
        for e in einsums:
            k = level[e.name]
            for op in e.inputs:
                t = op.tensor
                src = produced.get(t)
                if src is None:
                    if geo.place[t] == arch.dram.name:
                        continue        # read in place by a PIM unit: no load
                    h = _hold_depth(cascade, s.loops, t, k, hold.get(t))
                    if (t, h) not in seen:
                        seen.add((t, h))
                        geo.loads.append((t, h, hold.get(t) != STREAM))
                elif t not in on_chip and src != e.name and (t, k) not in seen:
                    seen.add((t, k))    # consumers at one loop level share a reload (at most one per phase)
                    geo.reloads.append((t, k, cascade.iterated.get(t)))
            out = e.output.tensor
            if out in cascade.outputs or out in needed_later or out not in on_chip:
                geo.stores.append((out, _store_depth(cascade, s.loops, out, k), cascade.iterated.get(out)))
        for t in sorted(on_chip, key=list(produced).index):
            if geo.place.get(t) == IN_PE:
                continue
            cons = [level[e.name] for e in einsums if e.name != produced[t] and any(op.tensor == t for op in e.inputs)]
            k = min([level[produced[t]]] + cons)
            geo.inter.append((t, k, cascade.iterated.get(t), 2 if t in cascade.iterated else 1))
        return geo

    def level_bytes(self, cascade: Cascade, arch: ArchSpec, nest: RowNest) -> dict:
        """On-chip level -> (resident DRAM tiles, lower bound of the peak, whether intermediates live there), bytes
        per row and per unit instance."""
        word = arch.word_bytes
        out = {}
        for lvl in arch.on_chip_levels:
            held = np.zeros(nest.n_rows)
            for t, h, resident in self.loads:
                if resident and self.place[t] == lvl.name:
                    held = held + nest.footprint(cascade.tensor_ranks(t), h) * word * (self.double if h > 0 else 1)
            carried = np.zeros(nest.n_rows)
            largest = np.zeros(nest.n_rows)
            has_inter = False
            for t, k, rank, factor in self.inter:
                if self.place[t] != lvl.name:
                    continue
                has_inter = True
                b = nest.footprint(cascade.tensor_ranks(t), k, rank) * word * factor
                if factor == 2:
                    carried = carried + b
                else:
                    largest = np.maximum(largest, b)
            out[lvl.name] = (held, held + carried + largest, has_inter)
        return out

    def fits(self, cascade: Cascade, arch: ArchSpec, nest: RowNest, spill: bool, limits: Mapping | None = None):
        """Rows whose tiles may fit every on-chip level (False: the lowering would report an overflow); ``limits``
        caps a level's usable bytes below its capacity (a constraint)."""
        ok = np.ones(nest.n_rows, dtype=bool)
        for lvl in arch.on_chip_levels:
            held, peak, has_inter = self.level_bytes(cascade, arch, nest)[lvl.name]
            cap = min(lvl.capacity_bytes, (limits or {}).get(lvl.name, lvl.capacity_bytes))
            cap = cap / (1 if lvl.private else nest.concurrent)
            overflow = peak > cap
            if spill and has_inter:
                overflow &= held >= cap
            ok &= ~overflow
        return ok

    def dram_bytes(self, cascade: Cascade, arch: ArchSpec, nest: RowNest) -> np.ndarray:
        """DRAM bytes moved per row (all instances): loads, stores and reloads; spills not counted (a lower bound)."""
        total = np.zeros(nest.n_rows)
        for t, h, _ in self.loads:
            total = total + nest.count(h) * nest.footprint(cascade.tensor_ranks(t), h)
        for t, k, rank in self.stores + self.reloads:
            total = total + nest.count(k) * nest.footprint(cascade.tensor_ranks(t), k, rank)
        return total * arch.word_bytes * nest.copies


def _placement(arch: ArchSpec, s: GroupStructure, einsums) -> dict:
    """tensor -> on-chip level (or IN_PE), as :func:`einsim.sim.movement.placement` places it."""
    place = {}
    levels = dict(s.levels)
    for e in einsums:
        for t in [op.tensor for op in e.inputs] + [e.output.tensor]:
            if t in place:
                continue
            if t in s.in_pe:
                place[t] = IN_PE
            elif t in levels:
                place[t] = levels[t]
            else:
                place[t] = arch.home_level(s.unit_of(e.name)).name
    return place


def _hold_depth(cascade: Cascade, loops, tensor: str, k: int, hold: int | None) -> int:
    if hold == STREAM:
        return k
    if hold is not None:
        return min(hold, k)
    ranks = cascade.tensor_ranks(tensor)
    return max((j + 1 for j in range(k) if _indexes(cascade, ranks, loops[j])), default=0)


def _store_depth(cascade: Cascade, loops, tensor: str, k: int) -> int:
    ranks = cascade.tensor_ranks(tensor)
    ko = 0
    while ko < k and _indexes(cascade, ranks, loops[ko]):
        ko += 1
    return ko

"""Lower bounds on cycles: of a whole workload on an architecture, and of each tile row of one group structure.

Workload (:func:`workload_lower_bound`), the larger of

- *compute*: each Einsum's work on a unit is at least its points x the cycles per point of one PE (the busiest
  pipeline's initiation interval; a systolic array one MAC per PE per cycle) over the unit's PEs (all instances);
  units run in parallel and each Einsum runs on one of the units that support it, so the bound is the least, over
  bindings, of the busiest unit's work (every binding enumerated when there are at most 2^16, else the weaker
  bound ``max(largest single Einsum, total / units)`` over each Einsum's fastest unit); the least over the
  partition sizes the mapspace allows (they change the op counts of recurrences);
- *bandwidth*: every cascade input is read from DRAM and every output written once: their bytes over the DRAM
  bandwidth per cycle.

Groups run one after another, so each unit's busy time over all groups is at most the total cycles, and so is
DRAM's: no mapping evaluates below the bound (a hypothesis test checks it).

Rows (:func:`row_bounds`): a group's cycles are at least each unit's busy time (per unit instance: the tasks'
executions x their occupancy, from the same tile-timing rules the lowering uses, :mod:`einsim.sim.unit_work`) and
DRAM's (the bytes the group must move at least, :class:`einsim.mappings.structure.GroupGeometry`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from einsim.arch.spec import ArchSpec
from einsim.mappings.mapspace import Mapspace
from einsim.mappings.structure import GroupGeometry, GroupStructure
from einsim.mappings.tilespace import RowNest
from einsim.workloads import Cascade

from .errors import Infeasible
from .unit_work import TILE_TIMING, _initiation_interval, native_ops_per_point, pipelined_tile

__all__ = ["LowerBound", "workload_lower_bound", "einsum_unit_cycles", "RowBounds", "row_bounds", "unit_time",
           "pipelined_cycles"]

#: unit kinds timed by :func:`einsim.sim.unit_work.pipelined_tile` (vectorized here by :func:`pipelined_cycles`)
PIPELINED = {kind for kind, rule in TILE_TIMING.items() if rule is pipelined_tile}


@dataclass(frozen=True, kw_only=True)
class LowerBound:
    """``cycles`` = max(``compute_cycles``, ``dram_cycles``) for the partition sizes and binding that give it."""

    cycles: float
    compute_cycles: float
    dram_cycles: float
    partitions: dict
    binding: dict


def einsum_unit_cycles(cascade: Cascade, arch: ArchSpec, sizes, einsum: str, unit: str) -> float:
    """Least cycles ``einsum`` can take on every instance of ``unit`` together (inf if it cannot run there)."""
    e = cascade.einsum(einsum)
    u = arch.unit(unit)
    try:
        native = native_ops_per_point(e, u, sizes, arch.name)
    except Infeasible:
        return math.inf
    per_point = 1.0 if u.kind == "systolic_array" else _initiation_interval(u, native)
    return e.points(sizes) * per_point / (u.pes * u.instances)


def _best_binding(times: dict[str, dict[str, float]]) -> tuple[float, dict]:
    """Least over bindings of the busiest unit's total (see the module docstring)."""
    names = list(times)
    options = [[(u, t) for u, t in times[n].items() if math.isfinite(t)] for n in names]
    if any(not o for o in options):
        return math.inf, {}
    if math.prod(len(o) for o in options) <= 1 << 16:
        best, pick = math.inf, {}
        for combo in itertools.product(*options):
            load: dict = {}
            for u, t in combo:
                load[u] = load.get(u, 0.0) + t
            if max(load.values()) < best:
                best, pick = max(load.values()), {n: u for n, (u, _) in zip(names, combo, strict=True)}
        return best, pick
    fastest = [min(t for _, t in o) for o in options]
    units = {u for o in options for u, _ in o}
    return max(max(fastest), sum(fastest) / len(units)), {}


def workload_lower_bound(space: Mapspace) -> LowerBound:
    """The workload's lower bound over the partition sizes and bindings ``space`` allows."""
    c, arch = space.cascade, space.arch
    bpc = arch.dram.bytes_per_cycle(arch.clock_hz)
    best = None
    for parts in space.partition_options:
        sizes = space.bind(parts)
        compulsory = sum(c.tensor_elements(t, sizes) for t in c.inputs + c.outputs) * arch.word_bytes
        times = {n: {u: einsum_unit_cycles(c, arch, sizes, n, u) for u in space.eligible[n]} for n in space.names}
        compute, binding = _best_binding(times)
        lb = LowerBound(cycles=max(compute, compulsory / bpc), compute_cycles=compute, dram_cycles=compulsory / bpc,
                        partitions=dict(parts), binding=binding)
        if best is None or lb.cycles < best.cycles:
            best = lb
    return best


@dataclass(frozen=True, kw_only=True)
class RowBounds:
    """Per tile row: ``cycles`` lower bound, ``busy`` per unit (per instance), ``dram_bytes`` at least moved."""

    cycles: np.ndarray
    busy: dict
    dram_bytes: np.ndarray


_NATIVE: dict = {}


def _native(cascade: Cascade, arch: ArchSpec, sizes, einsum: str, unit: str):
    """Native ops per point of ``einsum`` on ``unit`` (None if it cannot run there), remembered per process."""
    key = (id(cascade), id(arch), einsum, unit, tuple(sorted(sizes.items())))
    if key not in _NATIVE:
        if len(_NATIVE) > 100_000:
            _NATIVE.clear()
        try:
            native = native_ops_per_point(cascade.einsum(einsum), arch.unit(unit), sizes, arch.name)
        except Infeasible:
            native = None
        _NATIVE[key] = (native, cascade, arch)   # the specs kept alive so their ids stay theirs
    return _NATIVE[key][0]


def unit_time(cascade: Cascade, arch: ArchSpec, sizes, einsum: str, unit: str, spatial: dict, ext) -> float:
    """Occupancy of one tile of ``einsum`` with extents ``ext`` on ``unit`` (inf if the unit cannot run it)."""
    e = cascade.einsum(einsum)
    u = arch.unit(unit)
    native = _native(cascade, arch, sizes, einsum, unit)
    if native is None:
        return math.inf
    try:
        return float(TILE_TIMING[u.kind](e, u, native, {r: int(x) for r, x in ext.items()}, spatial, "bound").cycles)
    except Infeasible:
        return math.inf


def pipelined_cycles(cascade: Cascade, arch: ArchSpec, sizes, einsum: str, unit: str, spatial: dict,
                     ext: dict) -> np.ndarray:
    """:func:`einsim.sim.unit_work.pipelined_tile`'s occupancy for many tiles at once (``ext``: rank -> extents
    per row): ceil(extent / dimension) steps per mapped rank (first use of a rank), the other ranks' extents, times
    the initiation interval."""
    u = arch.unit(unit)
    native = _native(cascade, arch, sizes, einsum, unit)
    n = len(next(iter(ext.values()))) if ext else 1
    if native is None or any(dim not in u.dims for dim in spatial):
        return np.full(n, math.inf)
    steps = np.ones(n, dtype=np.float64)
    used = set()
    for dim, rank in spatial.items():
        if rank in ext and rank not in used:
            used.add(rank)
            steps = steps * np.ceil(ext[rank] / u.dims[dim])
    for r, x in ext.items():
        if r not in used:
            steps = steps * x
    return steps * _initiation_interval(u, native)


def row_bounds(cascade: Cascade, arch: ArchSpec, sizes, s: GroupStructure, geo: GroupGeometry,
               nest: RowNest) -> RowBounds:
    """Lower bounds of every row of ``nest`` (the tile rows of ``s``), see the module docstring."""
    g = s.group(cascade)
    busy: dict = {}
    for m, u in zip(s.members, s.units, strict=True):
        e = cascade.einsum(m)
        k = geo.level[m]
        spatial = g.spatial.get(m, g.spatial.get(u, {}))
        if arch.unit(u).kind in PIPELINED:
            cyc = pipelined_cycles(cascade, arch, sizes, m, u, spatial, {r: nest.extent(r, k) for r in e.indices})
        else:
            ext = np.stack([nest.extent(r, k) for r in e.indices], axis=1)
            uniq, inv = np.unique(ext, axis=0, return_inverse=True)
            cyc = np.array([unit_time(cascade, arch, sizes, m, u, spatial, dict(zip(e.indices, row, strict=True)))
                            for row in uniq])[inv.reshape(-1)]
        busy[u] = busy.get(u, 0.0) + nest.count(k) * cyc
    dram = geo.dram_bytes(cascade, arch, nest)
    bound = dram / arch.dram.bytes_per_cycle(arch.clock_hz)
    for b in busy.values():
        bound = np.maximum(bound, b)
    return RowBounds(cycles=bound, busy=busy, dram_bytes=dram)

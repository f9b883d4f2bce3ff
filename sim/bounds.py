"""Lower bounds on cycles: of a whole workload on an architecture, and of each tile row of one group structure.

Workload (:func:`workload_lower_bound`), the larger of

- *compute*: each Einsum's work on a unit is at least its points x the cycles per point of one PE (the busiest
  pipeline's initiation interval; a systolic array one MAC per PE per cycle) over the unit's PEs (all instances;
  a unit kind without such a rate, a PIM channel, counts as 0);
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
DRAM's (the bytes the group must move at least, :class:`einsim.mappings.structure.GroupGeometry`). The tile
occupancies are the lowering's own tile rules (:data:`einsim.sim.unit_work.TILE_TIMING`), called on the rows' tiles.
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

__all__ = ["LowerBound", "workload_lower_bound", "einsum_unit_cycles", "RowBounds", "row_bounds", "unit_time"]

#: unit kinds timed by :func:`einsim.sim.unit_work.pipelined_tile` (a closed form over arrays of tiles)
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
    if u.kind not in PIPELINED and u.kind != "systolic_array":
        return 0.0      # no per-PE rate known for this kind (a PIM channel's timing is its command model): no bound
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


def _tile_cycles(cascade: Cascade, arch: ArchSpec, sizes, einsum: str, unit: str, spatial: dict,
                 ext: dict) -> np.ndarray:
    """Occupancy of tiles of ``einsum`` with extents ``ext`` (rank -> array over tiles) on ``unit``, by the
    lowering's tile rule for the unit's kind (inf where the unit cannot run it)."""
    n = len(next(iter(ext.values()))) if ext else 1
    native = _native(cascade, arch, sizes, einsum, unit)
    if native is None:
        return np.full(n, math.inf)
    u = arch.unit(unit)
    ext = {r: np.asarray(x, dtype=np.int64) for r, x in ext.items()}
    try:
        return np.asarray(TILE_TIMING[u.kind](cascade.einsum(einsum), u, native, ext, spatial, "bound").cycles,
                          dtype=np.float64) * np.ones(n)
    except Infeasible:
        return np.full(n, math.inf)


_UNIT_TIME: dict = {}


def unit_time(cascade: Cascade, arch: ArchSpec, sizes, einsum: str, unit: str, spatial: dict, ext) -> float:
    """Occupancy of one tile of ``einsum`` with extents ``ext`` (rank -> int) on ``unit`` (inf if it cannot run),
    remembered per process (the seeds ask for the same tiles many times)."""
    key = (id(cascade), id(arch), tuple(sorted(sizes.items())), einsum, unit, tuple(spatial.items()),
           tuple((r, int(x)) for r, x in ext.items()))
    if key not in _UNIT_TIME:
        if len(_UNIT_TIME) > 500_000:
            _UNIT_TIME.clear()
        _native(cascade, arch, sizes, einsum, unit)     # keeps the specs alive while their ids are keys
        _UNIT_TIME[key] = float(_tile_cycles(cascade, arch, sizes, einsum, unit, spatial,
                                             {r: np.array([int(x)]) for r, x in ext.items()})[0])
    return _UNIT_TIME[key]


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
            cyc = _tile_cycles(cascade, arch, sizes, m, u, spatial, {r: nest.extent(r, k) for r in e.indices})
        else:   # rules that loop over tiles: each distinct tile once
            ext = np.stack([nest.extent(r, k) for r in e.indices], axis=1)
            uniq, inv = np.unique(ext, axis=0, return_inverse=True)
            cyc = _tile_cycles(cascade, arch, sizes, m, u, spatial,
                               {r: uniq[:, i] for i, r in enumerate(e.indices)})[inv.reshape(-1)]
        busy[u] = busy.get(u, 0.0) + nest.count(k) * cyc
    dram = geo.dram_bytes(cascade, arch, nest)
    bound = dram / arch.dram.bytes_per_cycle(arch.clock_hz)
    for b in busy.values():
        bound = np.maximum(bound, b)
    return RowBounds(cycles=bound, busy=busy, dram_bytes=dram)

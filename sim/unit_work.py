"""Step 2 of lowering: the work of one Einsum's tile on its unit (native ops, occupancy, latency, PE-cycles).

How long a tile occupies a unit is a rule of the unit's kind, looked up in ``TILE_TIMING``:

- PE arrays and vector units (``pe_array_2d``, ``pe_array_1d``, ``vector``): ranks mapped onto the unit's spatial
  dimensions run in parallel (a rank of extent X on a dimension of D PEs takes ceil(X / D) steps), the rest of the
  tile is temporal; each step takes the initiation interval of the busiest pipeline (ops per point x cycles per op).
  The result is ready after the drain of any reduction across a spatial dimension (``spatial_reduction``) and the
  deepest op pipeline used (``op_latency``).
- ``systolic_array``: the tile is a GEMM (m x k times k x n) whose occupancy and drain come from the closed form of the
  array's microarchitecture (:mod:`einsim.sim.systolic_timing`); which ranks play m, k and n follows the dataflow:
  WS rows = k, cols = n, streamed = m; OS rows = m, cols = n, streamed = k; IS rows = k, cols = m, streamed = n.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from einsim.arch.spec import UnitSpec
from einsim.workloads import einsum_ops
from einsim.workloads.cascade import Einsum

from .errors import Infeasible
from .nest import Nest

__all__ = ["UnitWork", "unit_work", "TILE_TIMING"]


@dataclass(frozen=True, kw_only=True)
class UnitWork:
    """One tile of an Einsum on one unit instance: ``native`` ops per point, ``points`` of the tile, ``cycles`` the
    unit is occupied, ``latency`` further cycles until the result is ready, ``busy`` PE-cycles of work."""

    native: dict
    points: int
    cycles: float
    latency: float
    busy: float


def native_ops_per_point(e: Einsum, unit: UnitSpec, sizes: dict, arch_name: str) -> dict[str, float]:
    """Native ops per point of ``e`` on ``unit`` (composite ops expanded); Infeasible if the unit lacks one."""
    pts = e.points(sizes)
    native: dict[str, float] = {}
    for op, cnt in einsum_ops(e, sizes).items():
        try:
            for nop, c in unit.expand(op, cnt / pts).items():
                native[nop] = native.get(nop, 0.0) + c
        except KeyError:
            raise Infeasible(f"Einsum {e.name!r} needs op {op!r}, which unit {unit.name!r} of {arch_name!r} lacks "
                             f"(it has {', '.join(unit.supported_ops)}); bind it to another unit") from None
    return native


def _initiation_interval(unit: UnitSpec, native: dict) -> float:
    """Cycles per point on one PE: the busiest pipeline's ops per point times cycles per op."""
    nat = unit.native_ops
    load: dict[str, float] = {}
    for nop, c in native.items():
        pipe, cyc = nat[nop]
        load[pipe] = load.get(pipe, 0.0) + c * cyc
    return max(load.values(), default=0.0)


def _spatial_extents(e: Einsum, unit: UnitSpec, spatial: dict, ext: dict, where: str) -> dict:
    """{dimension: (rank, extent)} of the ranks of ``e`` mapped onto ``unit``'s dimensions (first use of a rank)."""
    out, used = {}, set()
    for dim, rank in spatial.items():
        if dim not in unit.dims:
            raise Infeasible(f"{where} maps {e.name} onto dimension {dim!r} of {unit.name!r}, which has "
                             f"{', '.join(unit.dims)}")
        if rank in ext and rank not in used:
            used.add(rank)
            out[dim] = (rank, ext[rank])
    return out


def pipelined_tile(e: Einsum, unit: UnitSpec, native: dict, ext: dict, spatial: dict, where: str) -> UnitWork:
    """A tile on a PE array or vector unit (see the module docstring)."""
    ii = _initiation_interval(unit, native)
    mapped = _spatial_extents(e, unit, spatial, ext, where)
    steps = 1
    lat = 0.0
    for dim, (rank, x) in mapped.items():
        steps *= math.ceil(x / unit.dims[dim])
        if rank in e.reduced:
            lat += unit.reduction_latency(min(x, unit.dims[dim]), e.reduce_op)
    used = {rank for rank, _ in mapped.values()}
    steps *= math.prod(v for r, v in ext.items() if r not in used)
    lat += max((unit.op_latency.get(op, 0) for op in native), default=0)
    pts = math.prod(ext.values())
    return UnitWork(native=native, points=pts, cycles=steps * ii, latency=lat, busy=pts * ii)


_GEMM_ROLES = {"ws": ("k", "n", "m"), "os": ("m", "n", "k"), "is": ("k", "m", "n")}   # rows, cols, streamed


def systolic_tile(e: Einsum, unit: UnitSpec, native: dict, ext: dict, spatial: dict, where: str) -> UnitWork:
    """A GEMM tile on a systolic array: occupancy and drain from the microarchitecture's closed form."""
    from einsim.arch.systolic import SystolicArraySpec

    from .systolic_timing import tile_timing  # imported here: the register-level model is heavy to import

    if set(native) != {"mac"} or native["mac"] != 1:
        raise Infeasible(f"{where}: a systolic array runs sums of products (one MAC per point); {e.name} needs "
                         f"{native}; bind it to a vector unit")
    mapped = _spatial_extents(e, unit, spatial, ext, where)
    roles = dict(zip(("rows", "cols", "streamed"), _GEMM_ROLES[unit.systolic.get("dataflow", "ws")], strict=True))
    used = {rank for rank, _ in mapped.values()}
    size = {roles[d]: x for d, (_, x) in mapped.items()}
    size[roles["streamed"]] = math.prod(v for r, v in ext.items() if r not in used)
    for d in ("rows", "cols"):
        size.setdefault(roles[d], 1)
    reduced_dim = next((d for d, (rank, _) in mapped.items() if rank in e.reduced), "streamed")
    if roles[reduced_dim] != "k" or any(rank in e.reduced for d, (rank, _) in mapped.items() if roles[d] != "k"):
        raise Infeasible(f"{where}: on a {unit.systolic.get('dataflow', 'ws')} systolic array the reduced rank of "
                         f"{e.name} must run along its {'rows' if roles['rows'] == 'k' else 'streamed operand'}; "
                         f"map the spatial dimensions accordingly")
    spec = SystolicArraySpec(rows=unit.dims["rows"], cols=unit.dims["cols"], **dict(unit.systolic))
    t = tile_timing(spec, size["m"], size["k"], size["n"])
    pts = math.prod(ext.values())
    return UnitWork(native=native, points=pts, cycles=float(t.occupancy), latency=float(t.latency), busy=float(pts))


#: unit kind -> the rule that times one tile on it
TILE_TIMING = {"pe_array_2d": pipelined_tile, "pe_array_1d": pipelined_tile, "vector": pipelined_tile,
               "systolic_array": systolic_tile}


def unit_work(e: Einsum, unit: UnitSpec, nest: Nest, spatial: dict, arch_name: str) -> UnitWork:
    """The work of one tile of ``e`` (at its loop level in ``nest``) on one instance of ``unit`` of ``arch_name``."""
    native = native_ops_per_point(e, unit, nest.sizes, arch_name)
    k = nest.level[e.name]
    ext = {r: nest.extent(r, k) for r in e.indices}
    return TILE_TIMING[unit.kind](e, unit, native, ext, spatial, nest.name)

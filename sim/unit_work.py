"""Step 2 of lowering: the work of one Einsum's tile on its unit (native ops, occupancy, latency, PE-cycles).

How long a tile occupies a unit is a rule of the unit's kind, looked up in ``TILE_TIMING``:

- PE arrays and vector units (``pe_array_2d``, ``pe_array_1d``, ``vector``): ranks mapped onto the unit's spatial
  dimensions run in parallel (a rank of extent X on a dimension of D PEs takes ceil(X / D) steps), the rest of the
  tile is temporal; each step takes the initiation interval of the busiest pipeline (ops per point x cycles per op).
  The result is ready after the drain of any reduction across a spatial dimension (``spatial_reduction``) and the
  deepest op pipeline used (``op_latency``).
- ``systolic_array``: the tile is a GEMM (m x k times k x n) whose occupancy and drain come from the closed form of the
  array's microarchitecture (:mod:`einsim.sim.systolic_timing`); which ranks play m, k and n follows the dataflow:
  WS rows = k, cols = n, streamed = m; OS rows = m, cols = n, streamed = k; IS rows = k, cols = m, streamed = n. A
  tile whose last result leaves before the array takes the next tile (a negative drain) counts no drain.
- ``pim``: the tile is GEMVs on one DRAM channel's banks, each timed by the command-level model of the unit's DRAM
  device (:func:`pim_tile`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from einsim.arch.spec import UnitSpec
from einsim.workloads import einsum_ops
from einsim.workloads.cascade import Einsum

from .errors import Infeasible
from .nest import Nest, prod

__all__ = ["UnitWork", "unit_work", "TILE_TIMING"]


@dataclass(frozen=True, kw_only=True)
class UnitWork:
    """One tile of an Einsum on one unit instance, per row (see :mod:`einsim.sim.nest`): ``native`` ops per point,
    ``points`` of the tile, ``cycles`` the unit is occupied, ``latency`` further cycles until the result is ready,
    ``busy`` PE-cycles of work."""

    native: dict
    points: np.ndarray
    cycles: np.ndarray
    latency: np.ndarray
    busy: np.ndarray


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


def reduction_latency(unit: UnitSpec, extent: np.ndarray) -> np.ndarray:
    """Cycles for a reduction spread across ``extent`` PEs of one spatial dimension to drain, per row (see
    :meth:`einsim.arch.spec.UnitSpec.reduction_latency`)."""
    extent = np.asarray(extent, dtype=np.int64)
    if unit.spatial_reduction == "tree":
        drain = np.ceil(np.log2(np.maximum(extent, 1))).astype(np.int64)
    else:
        drain = extent
    return np.where(extent <= 1, 0, drain)


def pipelined_tile(e: Einsum, unit: UnitSpec, native: dict, ext: dict, spatial: dict, where: str) -> UnitWork:
    """A tile on a PE array or vector unit (see the module docstring)."""
    ii = _initiation_interval(unit, native)
    mapped = _spatial_extents(e, unit, spatial, ext, where)
    rows = len(next(iter(ext.values())))
    steps = np.ones(rows, dtype=np.int64)
    lat = np.zeros(rows)
    for dim, (rank, x) in mapped.items():
        steps = steps * -(-x // unit.dims[dim])
        if rank in e.reduced:
            lat = lat + reduction_latency(unit, np.minimum(x, unit.dims[dim]))
    used = {rank for rank, _ in mapped.values()}
    steps = steps * prod((v for r, v in ext.items() if r not in used), rows)
    lat = lat + max((unit.op_latency.get(op, 0) for op in native), default=0)
    pts = prod(ext.values(), rows)
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
    rows = len(next(iter(ext.values())))
    size = {roles[d]: x for d, (_, x) in mapped.items()}
    size[roles["streamed"]] = prod((v for r, v in ext.items() if r not in used), rows)
    for d in ("rows", "cols"):
        size.setdefault(roles[d], np.ones(rows, dtype=np.int64))
    reduced_dim = next((d for d, (rank, _) in mapped.items() if rank in e.reduced), "streamed")
    if roles[reduced_dim] != "k" or any(rank in e.reduced for d, (rank, _) in mapped.items() if roles[d] != "k"):
        raise Infeasible(f"{where}: on a {unit.systolic.get('dataflow', 'ws')} systolic array the reduced rank of "
                         f"{e.name} must run along its {'rows' if roles['rows'] == 'k' else 'streamed operand'}; "
                         f"map the spatial dimensions accordingly")
    spec = SystolicArraySpec(rows=unit.dims["rows"], cols=unit.dims["cols"], **dict(unit.systolic))
    timing = [tile_timing(spec, int(m), int(k), int(n)) for m, k, n in zip(size["m"], size["k"], size["n"],
                                                                             strict=True)]
    pts = prod(ext.values(), rows)
    return UnitWork(native=native, points=pts, cycles=np.array([float(t.occupancy) for t in timing]),
                    latency=np.array([float(max(t.latency, 0)) for t in timing]), busy=pts.astype(np.float64))


def _gemv_roles(e: Einsum, where: str, ext: dict):
    """(matrix operand, vector operand) of a GEMV-shaped Einsum: the matrix holds an output rank the vector lacks;
    if both do (GQA's SN V: the probabilities of several query heads against one V), the larger tile is the
    matrix."""
    if len(e.inputs) != 2 or not e.reduced:
        raise Infeasible(f"{where}: a pim unit computes matrix-vector products (two operands, a sum over a rank); "
                         f"{e.name} is not one; bind it to another unit")
    out = set(e.output.ranks)
    pairs = [(mat, vec) for mat, vec in (e.inputs, e.inputs[::-1]) if (set(mat.ranks) & out) - set(vec.ranks)]
    if not pairs:
        raise Infeasible(f"{where}: {e.name} has no matrix operand (an input with an output rank the other lacks)")
    rows = len(next(iter(ext.values())))
    return max(pairs, key=lambda mv: float(np.max(prod((ext[r] for r in mv[0].ranks), rows))))


@lru_cache(maxsize=64)
def _device(name: str):
    """A DRAM device preset or file, read once (a GEMV tile is timed many times per evaluation)."""
    from einsim.arch.dram import load_dram

    return load_dram(name)


def pim_tile(e: Einsum, unit: UnitSpec, native: dict, ext: dict, spatial: dict, where: str) -> UnitWork:
    """A GEMV tile on one PIM channel: the command-level model's GEMV cycles
    (:func:`einsim.sim.dram_timing.pim_gemv_cycles`) with the matrix's output ranks as its rows and the reduced
    ranks as its columns. Ranks of the tile that the matrix, the vector and the output share (a batched GEMV: the
    heads of a request's K cache) lie side by side along the DRAM row, one dot product (READRES) per value of them
    per row: NeuPIMs' K-cache layout (sim.pim_gemv.k_cache_program); a tile that keeps them in loops outside it
    runs one GEMV per value. Ranks only the vector has (the query heads sharing a K in GQA) repeat the GEMV; the
    GEMVs of a tile run one after the other on the channel."""
    from .dram_timing import pim_gemv_cycles

    if set(native) != {"mac"}:
        raise Infeasible(f"{where}: a pim unit runs sums of products (MACs); {e.name} needs {native}")
    mat, vec = _gemv_roles(e, where, ext)
    rows_n = len(next(iter(ext.values())))
    out_only = [r for r in e.output.ranks if r in mat.ranks and r not in vec.ranks]
    shared = [r for r in e.output.ranks if r in mat.ranks and r in vec.ranks]
    gemv_rows = prod((ext[r] for r in out_only), rows_n)
    segment = prod((ext[r] for r in e.reduced), rows_n)
    side = prod((ext[r] for r in shared), rows_n)
    repeats = prod((v for r, v in ext.items() if r not in out_only and r not in e.reduced and r not in shared),
                   rows_n)
    device = _device(unit.device)
    per = {}

    def gemv(m, s, n):
        return per.setdefault((m, s, n), pim_gemv_cycles(device, m, s * n, segment=s if n > 1 else None,
                                                         row_buffers=unit.row_buffers))

    cycles = np.array([float(rep) * gemv(int(m), int(s), int(n))
                       for rep, m, s, n in zip(repeats, gemv_rows, segment, side, strict=True)])
    pts = prod(ext.values(), rows_n)
    return UnitWork(native=native, points=pts, cycles=cycles, latency=np.zeros(rows_n), busy=pts.astype(np.float64))


#: unit kind -> the rule that times one tile on it
TILE_TIMING = {"pe_array_2d": pipelined_tile, "pe_array_1d": pipelined_tile, "vector": pipelined_tile,
               "systolic_array": systolic_tile, "pim": pim_tile}


def unit_work(e: Einsum, unit: UnitSpec, nest: Nest, spatial: dict, arch_name: str) -> UnitWork:
    """The work of one tile of ``e`` (at its loop level in ``nest``) on one instance of ``unit`` of ``arch_name``."""
    native = native_ops_per_point(e, unit, nest.sizes, arch_name)
    k = nest.level[e.name]
    ext = {r: nest.extent(r, k) for r in e.indices}
    return TILE_TIMING[unit.kind](e, unit, native, ext, spatial, nest.name)

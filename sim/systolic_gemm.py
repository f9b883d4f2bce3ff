"""GEMM on one systolic array: tile C[M,N] = A[M,K] @ B[K,N] into folds and run them on the register-level kernel.

Folds (SCALE-Sim's mapping, edge folds zero padded):
- OS: one fold per (R-row block of M, C-col block of N), T = K; folds in M-block-major order.
- WS: one fold per (R-row block of K, C-col block of N), T = M, stationary B block; partial sums of the K blocks are
  added in the accumulator buffer; N-block-major order.
- IS: one fold per (R-row block of K, C-col block of M), T = N, stationary A block (transposed); as WS on C^T.

Two modes, reported in :attr:`GemmRun.mode`:
- ``exact``: every fold runs through the cycle-by-cycle kernel, in one sequence.
- ``fast``: folds 0 and 1 run as a sequence through the kernel (the first fold and the steady state of the fold
  pipeline), plus the first fold of every other distinct (rows used, cols used) shape. Fold timing does not depend on
  the data or on the fold's occupancy (padded edges are streamed like full ones), so fold f >= 1 starts at
  s_1 + (f - 1) * (s_1 - s_0) and its outputs keep the simulated fold's offsets; counters of a fold equal those of
  its shape's representative. The simulated folds are planned as the sub-GEMM holding just them and run in a worker
  thread (the kernels release the GIL) while the values of every fold are computed per fold, as the array does:
  each fold's block product (BLAS, on the fold's blocks) added into its accumulator slot, in fold order for floats;
  integer folds are batched a few per matmul call, their exact sums being order-free. Once it has simulated, the
  worker takes a share of the remaining slots. The simulated folds' values are checked against their per-fold
  products. Integer results are exact; float sums inside a fold follow BLAS order.
"""

from __future__ import annotations

import itertools
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from einsim.arch.systolic import SystolicArraySpec
from einsim.sim.kernels.systolic import COUNTERS, fold_lead, kernel_parameters, os_kernel, ws_kernel

__all__ = ["GemmRun", "FoldPlan", "plan_folds", "assemble_output", "simulate_gemm", "scalesim_cycles"]


def scalesim_cycles(spec: SystolicArraySpec, m: int, k: int, n: int) -> int:
    """SCALE-Sim stall-free compute cycles of the GEMM (DESIGN.md), for folds that do not overlap (OS: in place)."""
    R, C = spec.rows, spec.cols
    if spec.dataflow == "os":
        sr, sc, fill = m, n, R + C + k - 2          # T = K
    elif spec.dataflow == "ws":
        sr, sc, fill = k, n, 2 * R + C + m - 2      # T = M
    else:
        sr, sc, fill = k, m, 2 * R + C + n - 2      # T = N
    return fill * math.ceil(sr / R) * math.ceil(sc / C)


@dataclass(frozen=True)
class FoldPlan:
    """The kernel's operands for a GEMM: padded blocks plus per-fold indices (see the kernels' docstrings)."""

    dataflow: str
    stationary: np.ndarray | None  # WS/IS (F, R, C)
    stream: np.ndarray             # WS/IS (S, T, R); OS: left (SL, T, R)
    fold_stream: np.ndarray
    top: np.ndarray | None         # OS (ST, T, C)
    fold_top: np.ndarray | None
    fold_out: np.ndarray           # WS/IS accumulator slot; OS = fold index
    n_out: int
    rows_used: np.ndarray
    cols_used: np.ndarray

    @property
    def folds(self) -> int:
        return len(self.rows_used)


def _blocks(x: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Split ``x`` along ``axis`` into zero-padded blocks of ``size``: returns (blocks, ...) with that axis = size."""
    n = x.shape[axis]
    nb = math.ceil(n / size)
    if nb * size == n:
        xp = x
    else:
        pad = [(0, 0)] * x.ndim
        pad[axis] = (0, nb * size - n)
        xp = np.pad(x, pad)
    shape = list(xp.shape)
    shape[axis:axis + 1] = [nb, size]
    return np.moveaxis(xp.reshape(shape), axis, 0)


def plan_folds(spec: SystolicArraySpec, a: np.ndarray, b: np.ndarray) -> FoldPlan:
    """Tile A (M x K) @ B (K x N) into folds for ``spec``'s dataflow."""
    R, C = spec.rows, spec.cols
    m, k = a.shape
    n = b.shape[1]
    if spec.dataflow == "os":
        nm, nn = math.ceil(m / R), math.ceil(n / C)
        left = np.ascontiguousarray(_blocks(a.T, R, 1))  # (nm, K, R)
        top = np.ascontiguousarray(_blocks(b, C, 1))     # (nn, K, C)
        mi, ni = np.divmod(np.arange(nm * nn), nn)
        return FoldPlan(dataflow="os", stationary=None, stream=left, fold_stream=mi.astype(np.int64), top=top,
                        fold_top=ni.astype(np.int64), fold_out=np.arange(nm * nn, dtype=np.int64), n_out=nm * nn,
                        rows_used=np.minimum(R, m - mi * R).astype(np.int64),
                        cols_used=np.minimum(C, n - ni * C).astype(np.int64))
    if spec.dataflow == "ws":
        stat_src, stream_src, sc = b, a, n      # stationary K x N, stream M x K
    else:
        stat_src, stream_src, sc = a.T, b.T, m  # stationary K x M, stream N x K
    nk, nc = math.ceil(k / R), math.ceil(sc / C)
    stream = np.ascontiguousarray(_blocks(stream_src, R, 1))            # (nk, T, R)
    kb = _blocks(stat_src, R, 0)                                         # (nk, R, sc)
    stat = _blocks(kb, C, 2)                                             # (nc, nk, R, C)
    stationary = np.ascontiguousarray(stat.reshape(nc * nk, R, C))
    ci, ki = np.divmod(np.arange(nc * nk), nk)
    return FoldPlan(dataflow=spec.dataflow, stationary=stationary, stream=stream, fold_stream=ki.astype(np.int64),
                    top=None, fold_top=None, fold_out=ci.astype(np.int64), n_out=nc,
                    rows_used=np.minimum(R, k - ki * R).astype(np.int64),
                    cols_used=np.minimum(C, sc - ci * C).astype(np.int64))


@dataclass(frozen=True)
class GemmRun:
    """Result of :func:`simulate_gemm`. ``cycles`` is the cycle the last output is valid (see the kernel), counted
    from the cycle the first operand enters the array; ``first_output`` the cycle the first result is valid."""

    out: np.ndarray             # (M, N)
    out_cycle: np.ndarray       # (M, N) cycle each final output is valid
    cycles: int
    first_output: int
    folds: int
    simulated_folds: int
    mode: str                   # "exact" | "fast"
    counters: dict
    pe_cycles: int              # PE-cycle updates the kernel performed (rows * cols * simulated cycles)
    kernel_seconds: float       # simulated folds, including load_seconds
    load_seconds: float = 0.0   # fast mode: Numba's one-time process setup and cache loading (first compiled call)

    def utilization(self, spec: SystolicArraySpec) -> float:
        """Useful MACs / (PEs x cycles)."""
        return self.counters["macs"] / (spec.pes * self.cycles)


def _run_kernel(spec, plan: FoldPlan, folds):
    """Run ``folds`` (indices into the plan) as one back-to-back sequence; outputs go to local slots."""
    folds = np.asarray(folds, dtype=np.int64)
    ru, cu = plan.rows_used[folds], plan.cols_used[folds]
    ua = kernel_parameters(spec)
    if plan.dataflow == "os":
        return os_kernel(ua, plan.stream, plan.fold_stream[folds], plan.top, plan.fold_top[folds], ru, cu)
    slots, local = np.unique(plan.fold_out[folds], return_inverse=True)
    return ws_kernel(ua, plan.stationary[folds], plan.stream, plan.fold_stream[folds], len(slots),
                     local.astype(np.int64), ru, cu)


def assemble_output(spec, plan: FoldPlan, slots: np.ndarray, m: int, n: int) -> np.ndarray:
    """Scatter accumulator slots back into the (M, N) result (WS/IS slots past the stream's T steps are padding)."""
    R, C = spec.rows, spec.cols
    if plan.dataflow == "os":
        nn = math.ceil(n / C)
        nm = plan.n_out // nn
        full = slots.reshape(nm, nn, R, C).transpose(0, 2, 1, 3).reshape(nm * R, nn * C)
        return full[:m, :n]
    t_len = plan.stream.shape[1]
    full = slots[:, :t_len].transpose(1, 0, 2).reshape(t_len, plan.n_out * C)
    if plan.dataflow == "ws":
        return full[:, :n]
    return full[:, :m].T


def simulate_gemm(spec: SystolicArraySpec, a: np.ndarray, b: np.ndarray, *, exact: bool = False) -> GemmRun:
    """Run A @ B on the array cycle by cycle (``exact``) or with per-shape fold simulation (fast; see module doc)."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"operands must be M x K and K x N matrices, not {a.shape} and {b.shape}")
    dtype = np.result_type(a.dtype, b.dtype)
    if dtype.kind not in "iuf":
        raise ValueError(f"operands must be integer or float, not {dtype}")
    dtype = np.dtype(np.float64) if dtype.kind == "f" else np.dtype(np.int64)
    m, k, n = a.shape[0], a.shape[1], b.shape[1]
    (eo, so), (ei, si) = _fold_grid(spec, m, k, n)
    if exact or math.ceil(eo / so) * math.ceil(ei / si) <= 2:
        plan = plan_folds(spec, a.astype(dtype, copy=False), b.astype(dtype, copy=False))
        return _simulate_exact(spec, plan, m, n)
    return _simulate_fast(spec, a, b, dtype)


def _counter_dict(values) -> dict:
    return dict(zip(COUNTERS, (int(v) for v in values), strict=True))


def _simulate_exact(spec, plan: FoldPlan, m: int, n: int) -> GemmRun:
    t0 = time.perf_counter()
    slots, cycle_slots, _, total, counters, first = _run_kernel(spec, plan, np.arange(plan.folds))
    seconds = time.perf_counter() - t0
    return GemmRun(out=assemble_output(spec, plan, slots, m, n),
                   out_cycle=assemble_output(spec, plan, cycle_slots, m, n),
                   cycles=int(total), first_output=int(first), folds=plan.folds, simulated_folds=plan.folds,
                   mode="exact",
                   counters=_counter_dict(counters.sum(axis=0)), pe_cycles=spec.pes * int(total),
                   kernel_seconds=seconds)


def _fold_grid(spec, m: int, k: int, n: int):
    """Fold f is (outer block f // n_inner, inner block f % n_inner); returns (extent, block size) of each axis.

    OS: outer = R-row blocks of M, inner = C-col blocks of N. WS: outer = C-col blocks of N, inner = R-row blocks of
    K. IS: outer = C-col blocks of M, inner = R-row blocks of K (the fold order of :func:`plan_folds`).
    """
    R, C = spec.rows, spec.cols
    if spec.dataflow == "os":
        return (m, R), (n, C)
    return ((n, C) if spec.dataflow == "ws" else (m, C)), (k, R)


def _sub_gemm(spec, a, b, outer: range, inner: range):
    """Operands of the GEMM whose :func:`plan_folds` is exactly the folds in ``outer`` x ``inner`` blocks."""
    (_, so), (_, si) = _fold_grid(spec, a.shape[0], a.shape[1], b.shape[1])
    o = slice(outer.start * so, outer.stop * so)
    i = slice(inner.start * si, inner.stop * si)
    if spec.dataflow == "os":
        return a[o, :], b[:, i]
    if spec.dataflow == "ws":
        return a[:, i], b[i, o]
    return a[o, i], b[i, :]


def _product_dtype(spec, a, b, dtype):
    """Dtype in which every fold's block product is exact (integers) or computed (floats).

    Integer blocks go through floating-point BLAS when that is exact: float32 if a fold's sums stay below 2**24,
    float64 if the accumulator slot's sums (the whole K) stay below 2**53; else integer matmul.
    """
    if dtype.kind == "f":
        return dtype
    k = a.shape[1]
    peak = max(-int(a.min(initial=0)), int(a.max(initial=0))) * max(-int(b.min(initial=0)), int(b.max(initial=0)))
    depth = k if spec.dataflow == "os" else min(spec.rows, k)
    if peak * depth < 2 ** 24 and peak * k < 2 ** 53:
        return np.dtype(np.float32)
    return np.dtype(np.float64) if peak * k < 2 ** 53 else dtype


def _value_operands(spec, a, b, dtype):
    """(A, B) in the product dtype of :func:`_product_dtype` and the (M, N) result array to fill."""
    pdt = _product_dtype(spec, a, b, dtype)
    return a.astype(pdt, copy=False), b.astype(pdt, copy=False), np.empty((a.shape[0], b.shape[1]), dtype)


def _slot_values(spec, ap, bp, out, dtype, next_slot) -> None:
    """Fill accumulator slots of ``out`` taken from ``next_slot()`` (until it passes the last) from every fold's block
    product, added into the slot in fold order.

    One matrix product per fold, on the fold's (unpadded) blocks: padding only adds zeros. WS slots are C-column
    blocks of the output, IS slots C-row blocks (C^T in the array), OS slots R x C tiles (one fold each). Several
    threads may call this with one shared ``next_slot``: each slot is done whole by one of them.
    """
    m, k, n = ap.shape[0], ap.shape[1], bp.shape[1]
    (eo, so), (ei, si) = _fold_grid(spec, m, k, n)
    n_inner = math.ceil(ei / si)
    if spec.dataflow == "os":
        f = next_slot()
        while f < math.ceil(eo / so) * n_inner:
            o, i = divmod(f, n_inner)
            out[o * so:(o + 1) * so, i * si:(i + 1) * si] = ap[o * so:(o + 1) * so] @ bp[:, i * si:(i + 1) * si]
            f = next_slot()
        return
    pdt = ap.dtype
    acc_dtype = np.dtype(np.float64) if pdt.kind == "f" else dtype
    ws = spec.dataflow == "ws"
    width = min(so, n if ws else m)
    acc = np.empty((m, width) if ws else (width, n), acc_dtype)
    # Integer sums are exact in any order, so up to `batch` folds' products go through one (GIL-free) matmul call
    # and are summed together; float slots add one fold's product at a time, in fold order.
    full = k // si
    batch = max(1, (1 << 20) // acc.size) if dtype.kind == "i" else 1
    prods = np.empty((min(batch, max(full, 1)),) + acc.shape, pdt)
    o = next_slot()
    while o < math.ceil(eo / so):
        lo, hi = o * so, min((o + 1) * so, eo)
        slot = acc[:, :hi - lo] if ws else acc[:hi - lo]
        slot[...] = 0
        for i0 in range(0, full, batch):
            i1 = min(i0 + batch, full)
            ks = slice(i0 * si, i1 * si)
            if ws:   # fold i: A[:, K block i] @ B[K block i, lo:hi]
                left = ap[:, ks].reshape(m, i1 - i0, si).transpose(1, 0, 2)
                right = bp[ks, lo:hi].reshape(i1 - i0, si, hi - lo)
                part = prods[:i1 - i0, :, :hi - lo]
            else:    # fold i: A[lo:hi, K block i] @ B[K block i, :]
                left = ap[lo:hi, ks].reshape(hi - lo, i1 - i0, si).transpose(1, 0, 2)
                right = bp[ks].reshape(i1 - i0, si, n)
                part = prods[:i1 - i0, :hi - lo]
            np.matmul(left, right, out=part)
            if i1 - i0 == 1:
                slot += part[0]
            else:
                slot += np.add.reduce(part, axis=0, dtype=acc_dtype)
        if full * si < k:  # the zero-padded edge fold of the K blocks comes last
            ks = slice(full * si, k)
            slot += ap[:, ks] @ bp[ks, lo:hi] if ws else ap[lo:hi, ks] @ bp[ks]
        if ws:
            out[:, lo:hi] = slot
        else:
            out[lo:hi] = slot
        o = next_slot()


def _simulate_folds(spec, a, b, dtype):
    """The cycle-by-cycle part of fast mode: folds 0 and 1 as a sequence, then the first fold of each other shape.

    Returns (sequence plan, its kernel results, {fold: (single-fold plan, its kernel results)}, {shape: fold
    simulated for it}, rows used and cols used per fold, seconds in all, seconds of the first compiled call).
    """
    t0 = time.perf_counter()
    fold_lead(kernel_parameters(spec), True)  # the process's first compiled call: Numba's setup and cache loading
    load = time.perf_counter() - t0
    m, k, n = a.shape[0], a.shape[1], b.shape[1]
    (eo, so), (ei, si) = _fold_grid(spec, m, k, n)
    n_inner = math.ceil(ei / si)
    used_o = np.minimum(so, eo - so * np.arange(math.ceil(eo / so)))
    used_i = np.minimum(si, ei - si * np.arange(n_inner))
    fo, fi = np.divmod(np.arange(len(used_o) * n_inner), n_inner)
    rows_used, cols_used = (used_o[fo], used_i[fi]) if spec.dataflow == "os" else (used_i[fi], used_o[fo])

    def plan_of(outer, inner):
        sa, sb = _sub_gemm(spec, a, b, outer, inner)
        return plan_folds(spec, sa.astype(dtype, copy=False), sb.astype(dtype, copy=False))

    pair = plan_of(range(0, 1), range(0, 2)) if n_inner >= 2 else plan_of(range(0, 2), range(0, 1))
    sequence = _run_kernel(spec, pair, [0, 1])
    runs = {}
    shapes = {}
    for f in (0, 1):
        shapes.setdefault((int(rows_used[f]), int(cols_used[f])), f)
    code = rows_used * (max(spec.rows, spec.cols) + 1) + cols_used
    for f in np.sort(np.unique(code, return_index=True)[1]).tolist():
        shape = (int(rows_used[f]), int(cols_used[f]))
        if shape not in shapes:
            shapes[shape] = f
            single = plan_of(range(f // n_inner, f // n_inner + 1), range(f % n_inner, f % n_inner + 1))
            runs[f] = (single, _run_kernel(spec, single, [0]))
    return pair, sequence, runs, shapes, rows_used, cols_used, time.perf_counter() - t0, load


def _fold_cycles(spec, m: int, k: int, n: int, pair: FoldPlan, sequence) -> np.ndarray:
    """(M, N) cycle each output is valid: its slot's last fold start plus fold 1's (steady-state) output offsets."""
    _, seq_cycle, starts, _, _, _ = sequence
    period = int(starts[1] - starts[0])
    local = np.unique(pair.fold_out, return_inverse=True)[1]
    offsets = seq_cycle[local[1]] - starts[1]          # WS/IS (T_e, C) of the slot, OS (R, C)
    if spec.dataflow != "os":
        offsets = offsets[:pair.stream.shape[1]]       # the padded steps past T hold no output
    (eo, so), (ei, si) = _fold_grid(spec, m, k, n)
    n_inner = math.ceil(ei / si)
    out_cycle = np.empty((m, n), np.int64)
    for o in range(math.ceil(eo / so)):
        lo, hi = o * so, min((o + 1) * so, eo)
        if spec.dataflow == "os":
            for i in range(n_inner):
                cols = slice(i * si, min((i + 1) * si, ei))
                start = int(starts[0]) + (o * n_inner + i) * period
                out_cycle[lo:hi, cols] = start + offsets[:hi - lo, :cols.stop - cols.start]
            continue
        start = int(starts[0]) + (o * n_inner + n_inner - 1) * period
        if spec.dataflow == "ws":
            out_cycle[:, lo:hi] = start + offsets[:, :hi - lo]
        else:
            out_cycle[lo:hi] = (start + offsets[:, :hi - lo]).T
    return out_cycle


def _simulate_fast(spec, a, b, dtype) -> GemmRun:
    """Fast mode (module doc). A worker thread simulates the folds and times the outputs while this thread computes
    the values; then the worker takes a share of the remaining value slots."""
    m, k, n = a.shape[0], a.shape[1], b.shape[1]

    def simulate():
        folds = _simulate_folds(spec, a, b, dtype)
        return folds, _fold_cycles(spec, m, k, n, folds[0], folds[1])

    slots = itertools.count()
    with ThreadPoolExecutor(max_workers=1) as pool:
        simulated = pool.submit(simulate)
        ap, bp, out = _value_operands(spec, a, b, dtype)
        shared = pool.submit(_slot_values, spec, ap, bp, out, dtype, slots.__next__)  # after simulate()
        _slot_values(spec, ap, bp, out, dtype, slots.__next__)
        shared.result()
        (pair, sequence, runs, shapes, rows_used, cols_used, seconds, load), out_cycle = simulated.result()
    seq_slots, _, starts, seq_total, seq_counters, first = sequence
    _check_simulated(pair, seq_slots, runs)
    n_folds = len(rows_used)
    total = int(seq_total) + (n_folds - 2) * int(starts[1] - starts[0])
    pe_cycles = spec.pes * (int(seq_total) + sum(int(run[3]) for _, run in runs.values()))
    counters = np.zeros(len(COUNTERS), np.int64)
    code = rows_used * (max(spec.rows, spec.cols) + 1) + cols_used
    for shape, f in shapes.items():
        count = int(np.count_nonzero(code == shape[0] * (max(spec.rows, spec.cols) + 1) + shape[1]))
        counters += count * (seq_counters[f] if f < 2 else runs[f][1][4][0])
    return GemmRun(out=out, out_cycle=out_cycle, cycles=total, first_output=int(first), folds=n_folds,
                   simulated_folds=2 + len(runs), mode="fast", counters=_counter_dict(counters), pe_cycles=pe_cycles,
                   kernel_seconds=seconds,
                   load_seconds=load)


def _fold_product(plan: FoldPlan, f: int) -> np.ndarray:
    if plan.dataflow == "os":
        return plan.stream[plan.fold_stream[f]].T @ plan.top[plan.fold_top[f]]
    return plan.stream[plan.fold_stream[f]] @ plan.stationary[f]


def _check_simulated(pair: FoldPlan, seq_slots, runs: dict) -> None:
    """Values the cycle-level kernel computed must equal the per-fold products of the same folds."""
    expect = {}
    local = np.unique(pair.fold_out, return_inverse=True)[1]
    for f in (0, 1):
        expect[int(local[f])] = expect.get(int(local[f]), 0) + _fold_product(pair, f)
    pairs = [(seq_slots[s], e) for s, e in expect.items()]
    pairs += [(run[0][0], _fold_product(single, 0)) for single, run in runs.values()]
    for got, want in pairs:
        got = got[:want.shape[0]]  # WS/IS slots hold padded steps past T
        same = np.array_equal(got, want) if got.dtype.kind == "i" else np.allclose(got, want, rtol=1e-9, atol=1e-9)
        if not same:
            raise AssertionError("the cycle-level kernel and the per-fold products disagree")

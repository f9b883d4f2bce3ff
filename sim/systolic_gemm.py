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
  its shape's representative. The values of every fold are still computed per fold, as the array does (each fold's
  block product added into the accumulator slots in fold order), with one matrix product per fold; the simulated
  folds' values are checked against it. Integer results are exact; float sums inside a fold follow BLAS order.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from arch.systolic import SystolicArraySpec
from sim.kernels.systolic import COUNTERS, os_kernel, ws_kernel

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
    """Result of :func:`simulate_gemm`. ``cycles`` is the cycle the last output is valid (see the kernel)."""

    out: np.ndarray             # (M, N)
    out_cycle: np.ndarray       # (M, N) cycle each final output is valid
    cycles: int
    folds: int
    simulated_folds: int
    mode: str                   # "exact" | "fast"
    counters: dict
    pe_cycles: int              # PE-cycle updates the kernel performed (rows * cols * simulated cycles)
    kernel_seconds: float

    def utilization(self, spec: SystolicArraySpec) -> float:
        """Useful MACs / (PEs x cycles)."""
        return self.counters["macs"] / (spec.pes * self.cycles)


def _run_kernel(spec, plan: FoldPlan, folds):
    """Run ``folds`` (indices into the plan) as one back-to-back sequence; outputs go to local slots."""
    folds = np.asarray(folds, dtype=np.int64)
    ru, cu = plan.rows_used[folds], plan.cols_used[folds]
    if plan.dataflow == "os":
        return os_kernel(spec.rows, spec.cols, spec.double_buffer, spec.drain == "shift", plan.stream,
                         plan.fold_stream[folds], plan.top, plan.fold_top[folds], ru, cu)
    slots, local = np.unique(plan.fold_out[folds], return_inverse=True)
    return ws_kernel(spec.rows, spec.cols, spec.double_buffer, plan.stationary[folds], plan.stream,
                     plan.fold_stream[folds], len(slots), local.astype(np.int64), ru, cu)


def _fold_products(plan: FoldPlan, dtype) -> np.ndarray:
    """Every fold's block product, accumulated per output slot in fold order (the accumulator buffer).

    Integer blocks are multiplied in floating point (BLAS) when that is exact: float32 if every fold's sums stay
    below 2**24, float64 if below 2**53; the slots accumulate in float64 (exact while below 2**53) or int64.
    """
    second = plan.top if plan.dataflow == "os" else plan.stationary
    depth = plan.stream.shape[1] if plan.dataflow == "os" else plan.stream.shape[2]
    stream, acc_dtype = plan.stream, dtype
    if dtype.kind == "i":
        bound = float(np.abs(stream).max(initial=0)) * float(np.abs(second).max(initial=0)) * depth
        slot_bound = bound * max(1, plan.folds // max(1, plan.n_out))
        if bound < 2.0 ** 24 and slot_bound < 2.0 ** 53:
            stream, second, acc_dtype = stream.astype(np.float32), second.astype(np.float32), np.float64
        elif slot_bound < 2.0 ** 53:
            stream, second, acc_dtype = stream.astype(np.float64), second.astype(np.float64), np.float64
    if plan.dataflow == "os":
        out = np.empty((plan.n_out, stream.shape[2], second.shape[2]), acc_dtype)
        for f in range(plan.folds):
            out[f] = stream[plan.fold_stream[f]].T @ second[plan.fold_top[f]]
    else:
        out = np.zeros((plan.n_out, stream.shape[1], second.shape[2]), acc_dtype)
        for f in range(plan.folds):
            out[plan.fold_out[f]] += stream[plan.fold_stream[f]] @ second[f]
    return out.astype(dtype, copy=False)


def assemble_output(spec, plan: FoldPlan, slots: np.ndarray, m: int, n: int) -> np.ndarray:
    """Scatter accumulator slots back into the (M, N) result."""
    R, C = spec.rows, spec.cols
    if plan.dataflow == "os":
        nn = math.ceil(n / C)
        nm = plan.n_out // nn
        full = slots.reshape(nm, nn, R, C).transpose(0, 2, 1, 3).reshape(nm * R, nn * C)
        return full[:m, :n]
    t_len = slots.shape[1]
    full = slots.transpose(1, 0, 2).reshape(t_len, plan.n_out * C)
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
    m, n = a.shape[0], b.shape[1]
    plan = plan_folds(spec, a.astype(dtype, copy=False), b.astype(dtype, copy=False))
    if exact or plan.folds <= 2:
        return _simulate_exact(spec, plan, m, n)
    return _simulate_fast(spec, plan, m, n)


def _counter_dict(values) -> dict:
    return dict(zip(COUNTERS, (int(v) for v in values), strict=True))


def _simulate_exact(spec, plan: FoldPlan, m: int, n: int) -> GemmRun:
    t0 = time.perf_counter()
    slots, cycle_slots, _, total, counters = _run_kernel(spec, plan, np.arange(plan.folds))
    seconds = time.perf_counter() - t0
    return GemmRun(out=assemble_output(spec, plan, slots, m, n),
                   out_cycle=assemble_output(spec, plan, cycle_slots, m, n),
                   cycles=int(total), folds=plan.folds, simulated_folds=plan.folds, mode="exact",
                   counters=_counter_dict(counters.sum(axis=0)), pe_cycles=spec.pes * int(total),
                   kernel_seconds=seconds)


def _simulate_fast(spec, plan: FoldPlan, m: int, n: int) -> GemmRun:
    n_folds = plan.folds
    t0 = time.perf_counter()
    # Folds 0 and 1 back to back: the first fold and the fold pipeline's steady state.
    seq_slots, seq_cycle, starts, seq_total, seq_counters = _run_kernel(spec, plan, [0, 1])
    pe_cycles = spec.pes * int(seq_total)
    period = int(starts[1] - starts[0])
    total = int(seq_total) + (n_folds - 2) * period
    shape_of = list(zip(plan.rows_used.tolist(), plan.cols_used.tolist(), strict=True))
    shape_counters = {}
    for f in (0, 1):
        shape_counters.setdefault(shape_of[f], seq_counters[f])
    representatives = {}
    for f in range(2, n_folds):
        if shape_of[f] not in shape_counters:
            f_slots, _, _, f_total, f_counters = _run_kernel(spec, plan, [f])
            pe_cycles += spec.pes * int(f_total)
            shape_counters[shape_of[f]] = f_counters[0]
            representatives[f] = f_slots[0]
    counters = np.sum([shape_counters[s] for s in shape_of], axis=0)
    seconds = time.perf_counter() - t0

    slots = _fold_products(plan, plan.stream.dtype)
    _check_simulated(plan, seq_slots, representatives)
    # A slot's final value is valid at its last fold's start plus fold 1's (steady-state) output offsets.
    local = np.unique(plan.fold_out[[0, 1]], return_inverse=True)[1]
    offsets = seq_cycle[local[1]] - starts[1]
    last_fold = np.zeros(plan.n_out, np.int64)
    last_fold[plan.fold_out] = np.arange(n_folds)
    fold_start = starts[0] + np.arange(n_folds, dtype=np.int64) * period
    cycle_slots = fold_start[last_fold][:, None, None] + offsets[None]
    return GemmRun(out=assemble_output(spec, plan, slots, m, n),
                   out_cycle=assemble_output(spec, plan, cycle_slots, m, n),
                   cycles=total, folds=n_folds, simulated_folds=2 + len(representatives), mode="fast",
                   counters=_counter_dict(counters), pe_cycles=pe_cycles, kernel_seconds=seconds)


def _fold_product(plan: FoldPlan, f: int) -> np.ndarray:
    if plan.dataflow == "os":
        return plan.stream[plan.fold_stream[f]].T @ plan.top[plan.fold_top[f]]
    return plan.stream[plan.fold_stream[f]] @ plan.stationary[f]


def _check_simulated(plan: FoldPlan, seq_slots, representatives: dict) -> None:
    """Values the cycle-level kernel computed must equal the per-fold products of the same folds."""
    expect = {}
    local = np.unique(plan.fold_out[[0, 1]], return_inverse=True)[1]
    for f in (0, 1):
        expect[int(local[f])] = expect.get(int(local[f]), 0) + _fold_product(plan, f)
    pairs = [(seq_slots[s], e) for s, e in expect.items()]
    pairs += [(got, _fold_product(plan, f)) for f, got in representatives.items()]
    for got, want in pairs:
        same = np.array_equal(got, want) if got.dtype.kind == "i" else np.allclose(got, want, rtol=1e-9, atol=1e-9)
        if not same:
            raise AssertionError("the cycle-level kernel and the per-fold products disagree")

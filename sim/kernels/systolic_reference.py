"""Plain-Python reference for sim/kernels/systolic.py: same signatures, same results, written from the dataflow.

Instead of stepping registers it writes down when each result leaves the array (ml = mac_latency, al =
acc_latency, s_f = the fold's first stream cycle from the closed form in sim/systolic_timing.py):
- WS/IS: step m's partial sum of column j crosses R rows of al cycles each after an ml - 1 cycle multiplier and
  leaves in s_f + m + R * al + ml - 1 + j (``edge`` skew: all columns with column C - 1).
- OS: PE (i, j)'s last step (issued in s_f + (T_e - 1) * al) meets it i + j cycles later and lands ml - 1 + al
  cycles after that: d = s_f + T_e * al + ml - 1 + i + j; ``in_place`` reads it then, ``parallel`` reads every PE
  with PE (R-1, C-1), the shifting drains show row R-1 of column j in d and row i R - 1 - i cycles later.
Values are summed in the order the hardware sums them (down the column for WS, over k for OS, accumulator slots in
fold order), so floats agree bit for bit with the kernel.
"""

from __future__ import annotations

import numpy as np

from einsim.arch.systolic import DRAINS, SKEWS, WEIGHT_PATHS, SystolicArraySpec
from einsim.sim import systolic_timing as timing
from einsim.sim.kernels.systolic import (
    UA_ACC,
    UA_COLS,
    UA_DB,
    UA_DRAIN,
    UA_MAC,
    UA_MIN_INT,
    UA_PERIOD,
    UA_ROWS,
    UA_SKEW,
    UA_WLOAD,
    UA_WPATH,
)

__all__ = ["ws_kernel", "os_kernel", "fold_starts"]


def _spec(ua, dataflow: str) -> SystolicArraySpec:
    return SystolicArraySpec(rows=int(ua[UA_ROWS]), cols=int(ua[UA_COLS]), dataflow=dataflow,
                             double_buffer=bool(ua[UA_DB]), drain=DRAINS[ua[UA_DRAIN]],
                             mac_latency=int(ua[UA_MAC]), acc_latency=int(ua[UA_ACC]), skew=SKEWS[ua[UA_SKEW]],
                             weight_load_cycles=int(ua[UA_WLOAD]), weight_path=WEIGHT_PATHS[ua[UA_WPATH]],
                             min_interval=int(ua[UA_MIN_INT]))


def fold_starts(spec: SystolicArraySpec, t_len: int, n_folds: int, period: int = 0) -> np.ndarray:
    """First stream cycle of every fold: the lead, then one fold period apart (``period`` > 0 overrides it)."""
    gap = period if period > 0 else timing.fold_period(spec, t_len)
    return np.array([timing.fold_lead(spec) + f * gap for f in range(n_folds)], dtype=np.int64)


def ws_kernel(ua, stationary, stream, fold_stream, n_out, fold_out, rows_used, cols_used):
    """Reference of :func:`einsim.sim.kernels.systolic.ws_kernel`."""
    spec = _spec(ua, "ws")
    n_folds, t_len = stationary.shape[0], stream.shape[1]
    R, C, ml, al, wl = spec.rows, spec.cols, spec.mac_latency, spec.acc_latency, spec.weight_load_cycles
    te = timing.stream_steps(spec, t_len)
    starts = fold_starts(spec, t_len, n_folds, int(ua[UA_PERIOD]))
    out = np.zeros((n_out, te, C), stream.dtype)
    out_cycle = np.full((n_out, te, C), -1, np.int64)
    counters = np.zeros((n_folds, 5), np.int64)
    column = R * al + ml - 1  # cycles from a step leaving the port to its sum leaving column 0
    for f in range(n_folds):
        ru, cu = int(rows_used[f]), int(cols_used[f])
        x, w, slot = stream[fold_stream[f]], stationary[f], fold_out[f]
        for m in range(te):
            for j in range(C):
                psum = stream.dtype.type(0)
                for i in range(R):
                    psum = psum + (x[m, i] if m < t_len else stream.dtype.type(0)) * w[i, j]
                out[slot, m, j] += psum
                out_cycle[slot, m, j] = starts[f] + m + column + (C - 1 if spec.skew == "edge" else j)
        pe = ru * cu
        pipe = (ml - 1 + al - 1) * t_len * pe
        copy = pe if spec.double_buffer else 0
        deskew = t_len * sum(C - 1 - j for j in range(cu)) if spec.skew == "edge" else 0
        if spec.weight_path == "chain":
            load_reads = load_writes = R * pe             # R shifts of every used PE's weight register
        else:
            load_reads = wl * ru * (ru - 1) // 2 * cu     # row r's word passes r * wl pipeline registers
            load_writes = load_reads + pe                 # and is captured by its row
        counters[f] = (
            t_len * pe,                                                    # MACs
            3 * t_len * pe + pipe + load_reads + copy + deskew,            # reads: a, w, psum per MAC, ...
            2 * t_len * pe + pipe + load_writes + copy + deskew,           # writes: a, psum per MAC, ...
            ru * cu + t_len * ru,                                          # weight elements + stream elements
            t_len * cu,                                                    # partial sums to the accumulator buffer
        )
    total = int(out_cycle.max())
    first = int(starts[0]) + timing.first_output_offset(spec, t_len)
    return out, out_cycle, starts, total, counters, first


def _os_valid_cycle(spec, start, te, i, j) -> int:
    """Cycle PE (i, j)'s result of a fold starting in ``start`` is valid at its output port."""
    R, C = spec.rows, spec.cols
    done = start + te * spec.acc_latency + spec.mac_latency - 1 + i + j  # the last add has landed
    if spec.drain == "in_place":
        return done
    if spec.drain == "parallel":
        return start + te * spec.acc_latency + spec.mac_latency - 1 + R - 1 + C - 1
    bottom = done + (R - 1 - i)  # row R-1 of column j is done; the column then shifts one row per cycle
    return bottom + (R - 1 - i) + (C - 1 - j if spec.skew == "edge" else 0)


def os_kernel(ua, left, fold_left, top, fold_top, rows_used, cols_used):
    """Reference of :func:`einsim.sim.kernels.systolic.os_kernel`."""
    spec = _spec(ua, "os")
    n_folds, t_len = len(fold_left), left.shape[1]
    R, C, ml, al = spec.rows, spec.cols, spec.mac_latency, spec.acc_latency
    te = timing.stream_steps(spec, t_len)
    starts = fold_starts(spec, t_len, n_folds, int(ua[UA_PERIOD]))
    zero = left.dtype.type(0)
    out = np.zeros((n_folds, R, C), left.dtype)
    out_cycle = np.full((n_folds, R, C), -1, np.int64)
    counters = np.zeros((n_folds, 5), np.int64)
    for f in range(n_folds):
        ru, cu = int(rows_used[f]), int(cols_used[f])
        a, b = left[fold_left[f]], top[fold_top[f]]
        for i in range(R):
            for j in range(C):
                acc = a[0, i] * b[0, j] if t_len else zero
                for k in range(1, te):
                    acc = acc + (a[k, i] * b[k, j] if k < t_len else zero * zero)
                out[f, i, j] = acc
                out_cycle[f, i, j] = _os_valid_cycle(spec, int(starts[f]), te, i, j)
        pe = ru * cu
        extra = (3 + ml - 1 + al - 1) * t_len * pe
        reads = writes = 0
        if spec.drain in ("shift", "shadow_shift"):
            reads = writes = sum(R - 1 - i for i in range(ru)) * cu      # hops down the column
            if spec.skew == "edge":
                reads += ru * sum(C - 1 - j for j in range(cu))           # de-skew registers
                writes += ru * sum(C - 1 - j for j in range(cu))
        if spec.drain in ("shadow_shift", "parallel"):
            writes += pe                                                  # the last add's copy
        if spec.drain == "parallel":
            reads += pe                                                   # the parallel read
        counters[f] = (t_len * pe, extra + reads, extra + writes, t_len * (ru + cu), pe)
    total = int(out_cycle[-1].max())  # the last fold's last output
    first = int(starts[0]) + timing.first_output_offset(spec, t_len)
    return out, out_cycle, starts, total, counters, first

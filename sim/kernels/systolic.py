"""Register-level, cycle-by-cycle kernels of an R x C systolic array (WS/IS and OS datapaths), Numba-compiled.

They model, register for register, rtl/systolic_array/hdl/systolic_array.v; the plain-Python reference with the same
signatures and results is sim/kernels/systolic_reference.py.

Cycle convention (identical in the RTL bench). Cycle 0 is the first cycle after ``start`` is sampled. In cycle t the
controller reads one buffer word per port; row i of the array sees the left-edge word of cycle t - i (skew delay
line of i registers) and column j sees the top-edge word of cycle t - j. A PE computes in the cycle its operands
arrive; its registers show the result from cycle t + 1, which is when an output is *valid* at the array boundary
(WS/IS: bottom of column j; OS: the PE itself, read out in place, or the bottom of column j with the shift drain).
``total_cycles`` is the cycle in which the last output becomes valid, i.e. the number of cycles from start until
the last result can be read.

Fold schedule (the controller). A fold is one stationary block (WS/IS) or one output block (OS) with T stream steps.
- WS/IS: fold f streams from s_f = R + f*P; its R weight rows are shifted in (column-skewed, one row per cycle,
  column-broadcast enable) during [s_f - R, s_f). P = 2R + C + T - 2 without double buffering (the next fold starts
  when the last partial sum has left the array: SCALE-Sim), P = max(T, 2R - 1) with it (the shadow register of
  row R-1 must be copied by the skewed first-operand flag before the next preload overwrites it).
- OS: fold f streams from s_f = f*P, P = R + C + T - 2 without double buffering, P = T with it (the first-operand
  flag clears each accumulator as the next fold arrives, and the result is read in the cycle it is valid).
Hence total = s_{F-1} + R + C + T - 2 and, with no overlap, F * (2R + C + T - 2) (WS/IS) or F * (R + C + T - 2) (OS).

OS drain styles. ``in_place``: every PE is an output port, PE (i, j) of fold f is valid in cycle s_f + T + i + j.
``shift``: one output port per column, at the bottom edge (row R-1's drain register). PE (i, j) does its last MAC
in cycle s_f + T - 1 + i + j; when row R-1 of column j has done its last MAC (cycle L = s_f + T + R + j - 2) the
column's drain registers shift down one row per cycle for R - 1 cycles (L + 1 .. L + R - 1), so the port shows
row R-1 in cycle L + 1, row R-2 in L + 2, ..., row 0 in L + R: PE (i, j) is valid in cycle s_f + T + 2R + j - 2 - i.
The fold's last output (row 0, column C-1) is valid in s_f + 2R + C + T - 3, R - 1 cycles after in place.
- Without double buffering the drain registers are the accumulators (one bank) and folds run strictly one after
  the other: P = 2R + C + T - 3.
- With it, a PE's last MAC also writes its result into a second (drain) register bank, so the accumulators take
  the next fold while this one shifts out. No shift of the column may follow the next fold's first capture (row
  0, cycle L - R + 1 + P) or it would move it; the capture may share the last shift's cycle (L + R - 1), in which
  row 0 would only take the zero above it, and a capture takes the register before a shift: P = max(T, 2R - 2).
  (The port is then free too: the next fold's first output is valid in L + P + 1 > L + R.)
Hence total = s_{F-1} + 2R + C + T - 3. Drain shifts cost one RF read and one RF write per hop of a used output
(output of row i: R - 1 - i hops); the double-buffered capture costs one RF write per used PE.

Counters per fold (only PEs in the fold's used rows/cols are clocked; edge folds are zero padded):
MACS, RF_READS, RF_WRITES (PE operand registers), BUF_READS (operand elements read from the buffers), BUF_WRITES
(output or partial-sum elements written to the output/accumulator buffer).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["COUNTERS", "MACS", "RF_READS", "RF_WRITES", "BUF_READS", "BUF_WRITES",
           "fold_period", "fold_latency", "first_stream_cycle", "ws_kernel", "os_kernel"]

COUNTERS = ("macs", "rf_reads", "rf_writes", "buf_reads", "buf_writes")
MACS, RF_READS, RF_WRITES, BUF_READS, BUF_WRITES = range(5)

_VALID, _FIRST, _LAST = 1, 2, 4


@njit(cache=True)
def fold_period(rows, cols, t, stationary, double_buffer, shift_drain):
    """Cycles between the stream starts of successive folds (stationary=True for WS/IS, False for OS).

    shift_drain (OS only): the accumulators shift out through the bottom edge instead of being read in place.
    """
    if stationary:
        return max(t, 2 * rows - 1) if double_buffer else 2 * rows + cols + t - 2
    if shift_drain:
        return max(t, 2 * rows - 2) if double_buffer else 2 * rows + cols + t - 3
    return t if double_buffer else rows + cols + t - 2


@njit(cache=True)
def fold_latency(rows, cols, t, stationary, shift_drain):
    """Cycles from a fold's first stream step to its last output being valid."""
    if stationary:
        return 2 * rows + cols + t - 2 - rows  # the R preload cycles come before the first stream step
    if shift_drain:
        return 2 * rows + cols + t - 3
    return rows + cols + t - 2


@njit(cache=True)
def first_stream_cycle(rows, stationary):
    """Cycle of fold 0's first stream step (after the first R-cycle weight preload for WS/IS)."""
    return rows if stationary else 0


@njit(cache=True, nogil=True)
def ws_kernel(rows, cols, double_buffer, stationary, stream, fold_stream, n_out, fold_out, rows_used, cols_used):
    """Weight-stationary array (also IS, with the operands' roles swapped), simulated cycle by cycle.

    stationary (F, R, C): fold f's stationary block; stream (S, T, R): stream blocks, fold f uses
    stream[fold_stream[f]]; partial sums of fold f are added into out[fold_out[f]] (the accumulator buffer, n_out
    slots). Returns out (n_out, T, C), out_cycle (n_out, T, C) = cycle the last contribution is valid, fold_start (F,)
    = first stream cycle per fold, total_cycles, counters (F, 5).
    """
    n_folds = stationary.shape[0]
    t_len = stream.shape[1]
    R = rows
    C = cols
    period = fold_period(R, C, t_len, True, double_buffer, False)
    fold_start = np.empty(n_folds, np.int64)
    for f in range(n_folds):
        fold_start[f] = R + f * period
    total = fold_start[n_folds - 1] + fold_latency(R, C, t_len, True, False)

    # Controller: what each port emits in each cycle (-1 = idle).
    ld_fold = np.full(total, -1, np.int64)
    ld_row = np.zeros(total, np.int64)
    st_fold = np.full(total, -1, np.int64)
    st_m = np.zeros(total, np.int64)
    counters = np.zeros((n_folds, 5), np.int64)
    for f in range(n_folds):
        ru = rows_used[f]
        cu = cols_used[f]
        for r in range(R):
            tc = fold_start[f] - R + r
            ld_fold[tc] = f
            ld_row[tc] = R - 1 - r  # the deepest row's weights enter first
            if R - 1 - r < ru:
                counters[f, BUF_READS] += cu
            counters[f, RF_READS] += ru * cu  # every used PE shifts its weight register once per step
            counters[f, RF_WRITES] += ru * cu
        for m in range(t_len):
            tc = fold_start[f] + m
            st_fold[tc] = f
            st_m[tc] = m
            counters[f, BUF_READS] += ru

    dt = stream.dtype
    out = np.zeros((n_out, t_len, C), dt)
    out_cycle = np.full((n_out, t_len, C), -1, np.int64)
    a_q = np.zeros((R, C), dt)          # operand forwarded to the right
    fl_q = np.zeros((R, C), np.int8)    # valid/first/last flags travelling with it
    ps_q = np.zeros((R + 1, C), dt)     # ps_q[i + 1] = partial sum register of row i; ps_q[0] stays 0
    wl = np.zeros((R, C), dt)           # weight shift chain (the active weight when not double-buffered)
    wa = np.zeros((R, C), dt)           # active weight (double-buffered only)

    # loads_by[t] = weight words the load port emitted before cycle t: a word read in cycle tl reaches column j
    # in cycle tl + j, so no weight register shifts in cycle t unless a word was read in cycles t - C + 1 .. t
    loads_by = np.zeros(total + 1, np.int64)
    for t in range(total):
        loads_by[t + 1] = loads_by[t] + (1 if ld_fold[t] >= 0 else 0)

    zero = stream[0, 0, 0] * 0
    for t in range(total):
        loading = loads_by[t + 1] > loads_by[max(0, t - C + 1)]
        for i in range(R - 1, -1, -1):
            te = t - i
            a_left = zero
            fl_left = 0
            if te >= 0 and st_fold[te] >= 0:
                f = st_fold[te]
                m = st_m[te]
                a_left = stream[fold_stream[f], m, i]
                fl_left = _VALID | (_FIRST if m == 0 else 0) | (_LAST if m == t_len - 1 else 0)
                if i < rows_used[f]:  # this operand visits the row's used PEs in the next cols_used cycles
                    cu = cols_used[f]
                    counters[f, MACS] += cu
                    counters[f, RF_READS] += 3 * cu
                    counters[f, RF_WRITES] += 2 * cu
                    if double_buffer and m == 0:  # shadow -> active copy on the first operand
                        counters[f, RF_READS] += cu
                        counters[f, RF_WRITES] += cu
            if not loading and i < R - 1:  # no weight shifts, no output port: the operand and partial-sum path only
                for j in range(C - 1, 0, -1):
                    a_in = a_q[i, j - 1]
                    fl = fl_q[i, j - 1]
                    if fl & _VALID:
                        if double_buffer:
                            if fl & _FIRST:
                                wa[i, j] = wl[i, j]
                            w = wa[i, j]
                        else:
                            w = wl[i, j]
                        ps_q[i + 1, j] = ps_q[i, j] + a_in * w
                    a_q[i, j] = a_in
                    fl_q[i, j] = fl
                if fl_left & _VALID:
                    if double_buffer:
                        if fl_left & _FIRST:
                            wa[i, 0] = wl[i, 0]
                        w = wa[i, 0]
                    else:
                        w = wl[i, 0]
                    ps_q[i + 1, 0] = ps_q[i, 0] + a_left * w
                a_q[i, 0] = a_left
                fl_q[i, 0] = fl_left
                continue
            for j in range(C - 1, -1, -1):
                if j == 0:
                    a_in = a_left
                    fl = fl_left
                else:
                    a_in = a_q[i, j - 1]
                    fl = fl_q[i, j - 1]
                if fl & _VALID:
                    if double_buffer:
                        if fl & _FIRST:
                            wa[i, j] = wl[i, j]
                        w = wa[i, j]
                    else:
                        w = wl[i, j]
                    ps_q[i + 1, j] = ps_q[i, j] + a_in * w
                    if i == R - 1:
                        f = st_fold[t - i - j]
                        slot = fold_out[f]
                        m = st_m[t - i - j]
                        out[slot, m, j] += ps_q[i + 1, j]
                        out_cycle[slot, m, j] = t + 1
                        if j < cols_used[f]:
                            counters[f, BUF_WRITES] += 1
                tl = t - j
                if loading and tl >= 0 and ld_fold[tl] >= 0:
                    if i == 0:
                        wl[i, j] = stationary[ld_fold[tl], ld_row[tl], j]
                    else:
                        wl[i, j] = wl[i - 1, j]
                a_q[i, j] = a_in
                fl_q[i, j] = fl
    return out, out_cycle, fold_start, total, counters


@njit(cache=True, nogil=True)
def os_kernel(rows, cols, double_buffer, shift_drain, left, fold_left, top, fold_top, rows_used, cols_used):
    """Output-stationary array, simulated cycle by cycle.

    shift_drain: False reads every PE in place, True shifts each column's results out through the bottom edge (see
    the module doc). left (SL, T, R): left-edge blocks (A transposed: step k holds A[rows, k]), fold f uses
    left[fold_left[f]]; top (ST, T, C): top-edge blocks (step k holds B[k, cols]), fold f uses top[fold_top[f]].
    Returns out (F, R, C), out_cycle (F, R, C), fold_start (F,), total_cycles, counters (F, 5).
    """
    n_folds = fold_left.shape[0]
    t_len = left.shape[1]
    R = rows
    C = cols
    period = fold_period(R, C, t_len, False, double_buffer, shift_drain)
    fold_start = np.empty(n_folds, np.int64)
    for f in range(n_folds):
        fold_start[f] = f * period
    total = fold_start[n_folds - 1] + fold_latency(R, C, t_len, False, shift_drain)

    st_fold = np.full(total, -1, np.int64)
    st_k = np.zeros(total, np.int64)
    counters = np.zeros((n_folds, 5), np.int64)
    for f in range(n_folds):
        for k in range(t_len):
            tc = fold_start[f] + k
            st_fold[tc] = f
            st_k[tc] = k
            counters[f, BUF_READS] += rows_used[f] + cols_used[f]

    dt = left.dtype
    out = np.zeros((n_folds, R, C), dt)
    out_cycle = np.full((n_folds, R, C), -1, np.int64)
    a_q = np.zeros((R, C), dt)
    fl_q = np.zeros((R, C), np.int8)
    b_q = np.zeros((R, C), dt)
    acc = np.zeros((R, C), dt)
    zero = left[0, 0, 0] * 0
    # shift drain: the drain chain (acc itself without double buffering), the (fold, row) each drain register holds,
    # the shifts left per column and the bottom port's valid flag
    dr = np.zeros((R, C), dt)
    tag_f = np.full((R, C), -1, np.int64)
    tag_r = np.full((R, C), -1, np.int64)
    shifts = np.zeros(C, np.int64)
    shift_en = np.zeros(C, np.bool_)
    port_v = np.zeros(C, np.bool_)

    for t in range(total):
        if shift_drain:
            for j in range(C):
                shift_en[j] = shifts[j] > 0
                port_v[j] = shift_en[j]
                if shifts[j] > 0:
                    shifts[j] -= 1
        for i in range(R - 1, -1, -1):
            te = t - i
            a_left = zero
            fl_left = 0
            if te >= 0 and st_fold[te] >= 0:
                f = st_fold[te]
                k = st_k[te]
                a_left = left[fold_left[f], k, i]
                fl_left = _VALID | (_FIRST if k == 0 else 0) | (_LAST if k == t_len - 1 else 0)
                if i < rows_used[f]:  # this operand visits the row's used PEs in the next cols_used cycles
                    cu = cols_used[f]
                    counters[f, MACS] += cu
                    counters[f, RF_READS] += 3 * cu
                    counters[f, RF_WRITES] += 3 * cu
            for j in range(C - 1, -1, -1):
                if j == 0:
                    a_in = a_left
                    fl = fl_left
                else:
                    a_in = a_q[i, j - 1]
                    fl = fl_q[i, j - 1]
                if i == 0:
                    b_in = zero
                    tt = t - j
                    if tt >= 0 and st_fold[tt] >= 0:
                        b_in = top[fold_top[st_fold[tt]], st_k[tt], j]
                else:
                    b_in = b_q[i - 1, j]
                captured = False
                if fl & _VALID:
                    if fl & _FIRST:
                        acc[i, j] = zero + a_in * b_in
                    else:
                        acc[i, j] = acc[i, j] + a_in * b_in
                    if fl & _LAST:
                        f = st_fold[t - i - j]
                        if not shift_drain:
                            out[f, i, j] = acc[i, j]
                            out_cycle[f, i, j] = t + 1
                            if i < rows_used[f] and j < cols_used[f]:
                                counters[f, BUF_WRITES] += 1
                        else:
                            captured = True
                            tag_f[i, j] = f
                            tag_r[i, j] = i
                            if double_buffer:
                                dr[i, j] = acc[i, j]
                                if i < rows_used[f] and j < cols_used[f]:
                                    counters[f, RF_WRITES] += 1
                            if i == R - 1:
                                shifts[j] = R - 1
                                port_v[j] = True
                # a capture (or, with one bank, any MAC) takes the drain register before a shift
                if shift_drain and shift_en[j] and not captured and (double_buffer or not (fl & _VALID)):
                    if i == 0:
                        tag_f[i, j] = -1
                        tag_r[i, j] = -1
                    else:
                        f = tag_f[i - 1, j]
                        tag_f[i, j] = f
                        tag_r[i, j] = tag_r[i - 1, j]
                        if f >= 0 and tag_r[i, j] < rows_used[f] and j < cols_used[f]:
                            counters[f, RF_READS] += 1
                            counters[f, RF_WRITES] += 1
                    if double_buffer:
                        dr[i, j] = dr[i - 1, j] if i > 0 else zero
                    else:
                        acc[i, j] = acc[i - 1, j] if i > 0 else zero
                a_q[i, j] = a_in
                fl_q[i, j] = fl
                b_q[i, j] = b_in
        if shift_drain:
            for j in range(C):
                if port_v[j]:
                    f = tag_f[R - 1, j]
                    r = tag_r[R - 1, j]
                    out[f, r, j] = dr[R - 1, j] if double_buffer else acc[R - 1, j]
                    out_cycle[f, r, j] = t + 1
                    if r < rows_used[f] and j < cols_used[f]:
                        counters[f, BUF_WRITES] += 1
    return out, out_cycle, fold_start, total, counters

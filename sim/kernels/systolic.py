"""Register-level, cycle-by-cycle kernels of an R x C systolic array (WS/IS and OS datapaths), Numba-compiled.

They model, register for register, rtl/systolic_array/hdl/systolic_array.v; the plain-Python reference with the same
signatures and results is sim/kernels/systolic_reference.py; the closed form of their timing is sim/systolic_timing.py
(docs/systolic.md derives it). The micro-architecture comes in as an int64 vector ``ua`` built by
:func:`kernel_parameters` from an arch.systolic.SystolicArraySpec, with the RTL's parameter codes.

Cycle convention (identical in the RTL bench). Cycle 0 is the first cycle after ``start`` is sampled: the first
operand (WS/IS: the deepest weight row; OS: the first stream step) enters the array in it. A register written in
cycle t shows its value from cycle t + 1; a result is *valid* at the array boundary from that cycle. ``total`` is
the last cycle a result becomes valid, ``first_output`` the first (padded rows, columns and steps included: they
leave the array like real ones).

Pipelines (ml = mac_latency, al = acc_latency). An operand pair meeting in PE (i, j) in cycle t is multiplied; the
product reaches the adder in cycle t + ml - 1 (a ring of ml - 1 product registers) and the sum is visible from
t + ml - 1 + al (a ring of al adder registers).
- WS/IS: stream step m of fold f leaves the port in cycle s_f + m, enters row i after i * al skew registers and
  moves right one column per cycle, so it meets the partial sum of row i - 1 in the adder; column j's sum is valid
  at the bottom in s_f + m + R * al + ml - 1 + j (``edge`` skew: + C - 1 - j, the de-skew buffer).
- OS: step k leaves the ports in s_f + k * al (the accumulator loop takes al cycles), A enters row i after i skew
  registers, B column j after j; PE (i, j)'s result of fold f is final in d = s_f + T_e * al + ml - 1 + i + j.

Weight loading (WS/IS). Fold f's R rows leave the load port deepest row first, from l_f = s_f - D with D = (R - 1)
* wl + 1 (wl = weight_load_cycles), column j delayed j cycles like the stream. ``chain``: one row every wl cycles;
the weight registers of a column shift down together (they are the shadow registers with double buffering, the
active ones without). ``pipeline``: one row per cycle into a separate pipeline of wl registers per row; the row a
word is tagged for captures it. With double buffering the fold's first operand copies the shadow into the active
weight of each PE it passes.

OS drains. ``in_place``: PE (i, j) is read in cycle d. ``parallel``: the last add also writes an output register;
the cycle after PE (R-1, C-1)'s last add lands, all output registers are read. ``shift`` / ``shadow_shift``: the
last add of row R-1 starts R - 1 shifts of the column's accumulators (shift) or of the shadow bank the last adds
wrote (shadow_shift); a landing add takes a register before a shift; the bottom port shows row R-1 in d, then one
row per cycle.

Fold schedule: s_f = D + f * P with the period P of :func:`fold_period` (or ``ua[UA_PERIOD]`` when positive, to
test that a tighter schedule breaks the values). A fold streams T_e = max(T, min_interval) steps; steps past T carry
zeros.

Counters per fold (only PEs in the fold's used rows/cols are clocked; padded steps are not counted): MACS, RF_READS,
RF_WRITES (PE and pipeline registers), BUF_READS (operand elements read from the buffers), BUF_WRITES (output or
partial-sum elements written to the output/accumulator buffer).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["COUNTERS", "MACS", "RF_READS", "RF_WRITES", "BUF_READS", "BUF_WRITES", "UA_FIELDS",
           "kernel_parameters", "stream_steps", "fold_period", "fold_latency", "fold_lead", "ws_kernel", "os_kernel"]

COUNTERS = ("macs", "rf_reads", "rf_writes", "buf_reads", "buf_writes")
MACS, RF_READS, RF_WRITES, BUF_READS, BUF_WRITES = range(5)
UA_FIELDS = ("ROWS", "COLS", "DOUBLE_BUF", "MAC_LAT", "ACC_LAT", "SKEW", "DRAIN", "WLOAD", "WPATH", "MIN_INT")
(UA_ROWS, UA_COLS, UA_DB, UA_MAC, UA_ACC, UA_SKEW, UA_DRAIN, UA_WLOAD, UA_WPATH, UA_MIN_INT,
 UA_PERIOD) = range(11)
DRAIN_IN_PLACE, DRAIN_SHIFT, DRAIN_SHADOW, DRAIN_PARALLEL = range(4)

_VALID, _FIRST, _LAST = 1, 2, 4


def kernel_parameters(spec, period: int = 0) -> np.ndarray:
    """The ``ua`` vector of a SystolicArraySpec: its Verilog parameters in :data:`UA_FIELDS` order, then a fold
    period override (0: the schedule's own)."""
    params = spec.verilog_parameters()
    return np.array([params[name] for name in UA_FIELDS] + [period], dtype=np.int64)


@njit(cache=True)
def stream_steps(t, ua):
    """Stream steps of a fold with t data steps (padded to min_interval)."""
    return max(t, ua[UA_MIN_INT])


@njit(cache=True)
def fold_lead(ua, stationary):
    """Cycles from a fold's first weight entering to its first stream step (0 for OS)."""
    return (ua[UA_ROWS] - 1) * ua[UA_WLOAD] + 1 if stationary else 0


@njit(cache=True)
def fold_latency(t, ua, stationary):
    """Cycles from a fold's first stream step to its last result being valid."""
    R, C, te = ua[UA_ROWS], ua[UA_COLS], stream_steps(t, ua)
    if stationary:
        return te + R * ua[UA_ACC] + ua[UA_MAC] - 1 + C - 2
    x = te * ua[UA_ACC] + ua[UA_MAC] - 1
    if ua[UA_DRAIN] == DRAIN_SHIFT or ua[UA_DRAIN] == DRAIN_SHADOW:
        return x + 2 * R + C - 3
    return x + R + C - 2


@njit(cache=True)
def fold_period(t, ua, stationary):
    """Cycles between the first stream steps of successive folds: the controller's schedule."""
    if ua[UA_PERIOD] > 0:
        return ua[UA_PERIOD]
    R, C, te, al, wl = ua[UA_ROWS], ua[UA_COLS], stream_steps(t, ua), ua[UA_ACC], ua[UA_WLOAD]
    if ua[UA_DB] == 0:
        return fold_lead(ua, stationary) + fold_latency(t, ua, stationary)
    if stationary:
        if ua[UA_WPATH] == 0:
            return max(te, R * wl, (R - 1) * (wl + al) + 1)
        return max(te, R, 1 + (R - 1) * max(wl - 1, al))
    issue = (te - 1) * al + 1
    drain = ua[UA_DRAIN]
    if drain == DRAIN_PARALLEL:
        return max(issue, R + C - 1)
    if drain == DRAIN_SHIFT:
        return max((te - 1) * al + R, 2 * R - 2)
    if drain == DRAIN_SHADOW:
        return max(issue, 2 * R - 2)
    return issue


@njit(cache=True)
def _load_schedule(ua, fold_start, horizon, rows_used, cols_used, counters):
    """WS/IS load port: (fold, row) of the weight word leaving it in each cycle (-1 = idle); load counters."""
    R, wl, pipe = ua[UA_ROWS], ua[UA_WLOAD], ua[UA_WPATH] == 1
    ld_fold = np.full(horizon, -1, np.int64)
    ld_row = np.zeros(horizon, np.int64)
    lead = fold_lead(ua, True)
    for f in range(fold_start.shape[0]):
        ru, cu = rows_used[f], cols_used[f]
        for r in range(R):
            tc = fold_start[f] - lead + (r if pipe else r * wl)
            ld_fold[tc] = f
            ld_row[tc] = R - 1 - r  # the deepest row's weights enter first
            if R - 1 - r < ru:
                counters[f, BUF_READS] += cu
            if not pipe:  # every used PE shifts its weight register once per chain step
                counters[f, RF_READS] += ru * cu
                counters[f, RF_WRITES] += ru * cu
        if pipe:  # the word of row r passes r * wl pipeline registers, then row r captures it
            hops = wl * ru * (ru - 1) // 2
            counters[f, RF_READS] += hops * cu
            counters[f, RF_WRITES] += (hops + ru) * cu
    return ld_fold, ld_row


@njit(cache=True, nogil=True)
def ws_kernel(ua, stationary, stream, fold_stream, n_out, fold_out, rows_used, cols_used):
    """Weight-stationary array (also IS, with the operands' roles swapped), simulated cycle by cycle.

    stationary (F, R, C): fold f's stationary block; stream (S, T, R): stream blocks, fold f uses
    stream[fold_stream[f]]; partial sums of fold f are added into out[fold_out[f]] (the accumulator buffer, n_out
    slots). Returns out (n_out, T_e, C) (rows past T: padded steps), out_cycle (n_out, T_e, C) = cycle the last
    contribution is valid, fold_start (F,) = first stream cycle per fold, total, counters (F, 5), first_output.
    """
    n_folds = stationary.shape[0]
    t_len = stream.shape[1]
    R, C = ua[UA_ROWS], ua[UA_COLS]
    db, ml, al = ua[UA_DB] != 0, ua[UA_MAC], ua[UA_ACC]
    edge, pipe, wl = ua[UA_SKEW] == 1, ua[UA_WPATH] == 1, ua[UA_WLOAD]
    te = stream_steps(t_len, ua)
    period = fold_period(t_len, ua, True)
    fold_start = np.empty(n_folds, np.int64)
    for f in range(n_folds):
        fold_start[f] = fold_lead(ua, True) + f * period
    horizon = fold_start[n_folds - 1] + fold_latency(t_len, ua, True)

    counters = np.zeros((n_folds, 5), np.int64)
    ld_fold, ld_row = _load_schedule(ua, fold_start, horizon, rows_used, cols_used, counters)
    st_fold = np.full(horizon, -1, np.int64)
    st_m = np.zeros(horizon, np.int64)
    for f in range(n_folds):
        for m in range(te):
            st_fold[fold_start[f] + m] = f
            st_m[fold_start[f] + m] = m
            if m < t_len:
                counters[f, BUF_READS] += rows_used[f]
    # loads_by[t] = weight words the load port emitted before cycle t: a word leaving in cycle tl reaches column j
    # in cycle tl + j, and (pipeline) stays in flight (R - 1) * wl cycles more
    loads_by = np.zeros(horizon + 1, np.int64)
    for t in range(horizon):
        loads_by[t + 1] = loads_by[t] + (1 if ld_fold[t] >= 0 else 0)
    span = C + (R - 1) * wl if pipe else C

    dt = stream.dtype
    zero = stream[0, 0, 0] * 0
    out = np.zeros((n_out, te, C), dt)
    out_cycle = np.full((n_out, te, C), -1, np.int64)
    a_q = np.zeros((R, C), dt)            # operand forwarded to the right
    fl_q = np.zeros((R, C), np.int8)      # flags travelling with it
    ps = np.zeros((al, R + 1, C), dt)     # ps[t % al, i + 1, j]: row i's sum added in cycle t (ps[:, 0] stays 0)
    pr = np.zeros((R, C, max(ml - 1, 1)), dt)        # product registers (ml > 1)
    pv = np.zeros((R, C, max(ml - 1, 1)), np.int8)
    wl_reg = np.zeros((R, C), dt)         # chain / captured weight (the shadow with double buffering)
    wa = np.zeros((R, C), dt)             # active weight (double buffering)
    stages = max((R - 1) * wl, 1)
    wp = np.zeros((C, stages), dt)        # pipeline path: weight words in flight and their row tags
    wt = np.full((C, stages), -1, np.int64)
    total, first = -1, -1

    for t in range(horizon):
        pst = ps[t % al]  # the sums added al cycles ago are read, this cycle's sums written, in one slot
        slot_m = t % (ml - 1) if ml > 1 else 0
        loading = loads_by[t + 1] > loads_by[max(0, t - span + 1)]
        chain_shift = loading and not pipe
        for i in range(R - 1, -1, -1):
            te_i = t - i * al
            a_left = zero
            fl_left = 0
            if te_i >= 0 and st_fold[te_i] >= 0:
                f = st_fold[te_i]
                m = st_m[te_i]
                if m < t_len:
                    a_left = stream[fold_stream[f], m, i]
                fl_left = _VALID | (_FIRST if m == 0 else 0)
                if i < rows_used[f] and m < t_len:  # this operand visits the row's used PEs
                    cu = cols_used[f]
                    counters[f, MACS] += cu
                    counters[f, RF_READS] += (3 + ml - 1 + al - 1) * cu
                    counters[f, RF_WRITES] += (2 + ml - 1 + al - 1) * cu
                    if db and m == 0:  # shadow -> active copy on the first operand
                        counters[f, RF_READS] += cu
                        counters[f, RF_WRITES] += cu
            if ml == 1 and not chain_shift and i < R - 1:  # the common case: operands and partial sums only
                for j in range(C - 1, 0, -1):
                    a_in = a_q[i, j - 1]
                    fl = fl_q[i, j - 1]
                    if fl & _VALID:
                        if db:
                            if fl & _FIRST:
                                wa[i, j] = wl_reg[i, j]
                            pst[i + 1, j] = pst[i, j] + a_in * wa[i, j]
                        else:
                            pst[i + 1, j] = pst[i, j] + a_in * wl_reg[i, j]
                    a_q[i, j] = a_in
                    fl_q[i, j] = fl
                if fl_left & _VALID:
                    if db:
                        if fl_left & _FIRST:
                            wa[i, 0] = wl_reg[i, 0]
                        pst[i + 1, 0] = pst[i, 0] + a_left * wa[i, 0]
                    else:
                        pst[i + 1, 0] = pst[i, 0] + a_left * wl_reg[i, 0]
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
                valid = fl & _VALID
                prod = zero
                if valid:
                    if db:
                        if fl & _FIRST:
                            wa[i, j] = wl_reg[i, j]
                        prod = a_in * wa[i, j]
                    else:
                        prod = a_in * wl_reg[i, j]
                if ml > 1:  # the product that entered the multiplier ml - 1 cycles ago reaches the adder
                    p_add, v_add = pr[i, j, slot_m], pv[i, j, slot_m]
                    pr[i, j, slot_m] = prod
                    pv[i, j, slot_m] = valid
                    prod, valid = p_add, v_add
                if valid:
                    s = pst[i, j] + prod
                    pst[i + 1, j] = s
                    if i == R - 1:
                        tp = t - (ml - 1) - j - (R - 1) * al
                        f = st_fold[tp]
                        m = st_m[tp]
                        slot = fold_out[f]
                        visible = t + al + (C - 1 - j if edge else 0)
                        out[slot, m, j] += s
                        out_cycle[slot, m, j] = visible
                        total = max(total, visible)
                        first = visible if first < 0 else min(first, visible)
                        if j < cols_used[f] and m < t_len:
                            counters[f, BUF_WRITES] += 1
                            if edge:
                                counters[f, RF_READS] += C - 1 - j
                                counters[f, RF_WRITES] += C - 1 - j
                if chain_shift:
                    tl = t - j
                    if tl >= 0 and ld_fold[tl] >= 0:
                        if i == 0:
                            wl_reg[i, j] = stationary[ld_fold[tl], ld_row[tl], j]
                        else:
                            wl_reg[i, j] = wl_reg[i - 1, j]
                a_q[i, j] = a_in
                fl_q[i, j] = fl
        if loading and pipe:
            _pipeline_step(t, R, C, wl, stationary, ld_fold, ld_row, wl_reg, wp, wt)
    return out, out_cycle, fold_start, total, counters, first


@njit(cache=True)
def _pipeline_step(t, R, C, wl, stationary, ld_fold, ld_row, wl_reg, wp, wt):
    """One cycle of the weight load pipeline: each row captures the word tagged for it, then the words move on."""
    n = (R - 1) * wl
    for j in range(C):
        tl = t - j
        tag_in = ld_row[tl] if tl >= 0 and ld_fold[tl] >= 0 else -1
        if tag_in == 0:
            wl_reg[0, j] = stationary[ld_fold[tl], 0, j]
        for r in range(1, R):
            if wt[j, r * wl - 1] == r:
                wl_reg[r, j] = wp[j, r * wl - 1]
        for s in range(n - 1, 0, -1):
            wp[j, s] = wp[j, s - 1]
            wt[j, s] = wt[j, s - 1]
        if n > 0:
            wt[j, 0] = tag_in
            if tag_in >= 0:
                wp[j, 0] = stationary[ld_fold[tl], tag_in, j]


@njit(cache=True, nogil=True)
def os_kernel(ua, left, fold_left, top, fold_top, rows_used, cols_used):
    """Output-stationary array, simulated cycle by cycle (drains, pipelines: see the module doc).

    left (SL, T, R): left-edge blocks (A transposed: step k holds A[rows, k]), fold f uses left[fold_left[f]];
    top (ST, T, C): top-edge blocks (step k holds B[k, cols]), fold f uses top[fold_top[f]].
    Returns out (F, R, C), out_cycle (F, R, C), fold_start (F,), total, counters (F, 5), first_output.
    """
    n_folds = fold_left.shape[0]
    t_len = left.shape[1]
    R, C = ua[UA_ROWS], ua[UA_COLS]
    ml, al, drain, edge = ua[UA_MAC], ua[UA_ACC], ua[UA_DRAIN], ua[UA_SKEW] == 1
    shifting = drain == DRAIN_SHIFT or drain == DRAIN_SHADOW
    te = stream_steps(t_len, ua)
    period = fold_period(t_len, ua, False)
    fold_start = np.empty(n_folds, np.int64)
    for f in range(n_folds):
        fold_start[f] = f * period
    horizon = fold_start[n_folds - 1] + fold_latency(t_len, ua, False)

    st_fold = np.full(horizon, -1, np.int64)
    st_k = np.zeros(horizon, np.int64)
    counters = np.zeros((n_folds, 5), np.int64)
    for f in range(n_folds):
        for k in range(te):
            tc = fold_start[f] + k * al
            st_fold[tc] = f
            st_k[tc] = k
            if k < t_len:
                counters[f, BUF_READS] += rows_used[f] + cols_used[f]

    dt = left.dtype
    zero = left[0, 0, 0] * 0
    out = np.zeros((n_folds, R, C), dt)
    out_cycle = np.full((n_folds, R, C), -1, np.int64)
    a_q = np.zeros((R, C), dt)
    fl_q = np.zeros((R, C), np.int8)
    b_q = np.zeros((R, C), dt)
    pr = np.zeros((R, C, max(ml - 1, 1)), dt)       # product registers (ml > 1) and their flags
    pf = np.zeros((R, C, max(ml - 1, 1)), np.int8)
    ap = np.zeros((R, C, al), dt)                    # adder pipeline: the add issued in cycle t, until it lands
    af = np.zeros((R, C, al), np.int8)
    acc = np.zeros((R, C), dt)                       # accumulators (one bank: also the shift chain)
    dr = np.zeros((R, C), dt)                        # shadow bank (shadow_shift) / output registers (parallel)
    tag_f = np.full((R, C), -1, np.int64)            # (fold, row) each drain / output register holds
    tag_r = np.full((R, C), -1, np.int64)
    shifts = np.zeros(C, np.int64)
    shift_en = np.zeros(C, np.bool_)
    port_v = np.zeros(C, np.bool_)
    read_at = -1                                     # parallel drain: the cycle all output registers are read
    total, first = -1, -1

    for t in range(horizon):
        if t == read_at:
            _parallel_read(t, dr, tag_f, out, out_cycle, rows_used, cols_used, counters)
            total = max(total, t)
            first = t if first < 0 else min(first, t)
        if shifting:
            for j in range(C):
                shift_en[j] = shifts[j] > 0
                port_v[j] = shift_en[j]
                if shifts[j] > 0:
                    shifts[j] -= 1
        slot_m = t % (ml - 1) if ml > 1 else 0
        slot_a = t % al
        land = (t + 1) % al
        for i in range(R - 1, -1, -1):
            te_i = t - i
            a_left = zero
            fl_left = 0
            if te_i >= 0 and st_fold[te_i] >= 0:
                f = st_fold[te_i]
                k = st_k[te_i]
                if k < t_len:
                    a_left = left[fold_left[f], k, i]
                fl_left = _VALID | (_FIRST if k == 0 else 0) | (_LAST if k == te - 1 else 0)
                if i < rows_used[f] and k < t_len:  # this operand visits the row's used PEs
                    cu = cols_used[f]
                    counters[f, MACS] += cu
                    counters[f, RF_READS] += (3 + ml - 1 + al - 1) * cu
                    counters[f, RF_WRITES] += (3 + ml - 1 + al - 1) * cu
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
                    if tt >= 0 and st_fold[tt] >= 0 and st_k[tt] < t_len:
                        b_in = top[fold_top[st_fold[tt]], st_k[tt], j]
                else:
                    b_in = b_q[i - 1, j]
                prod = a_in * b_in
                fa = fl
                if ml > 1:
                    p_add, f_add = pr[i, j, slot_m], pf[i, j, slot_m]
                    pr[i, j, slot_m] = prod
                    pf[i, j, slot_m] = fl
                    prod, fa = p_add, f_add
                if fa & _VALID:  # issue an add; it lands al - 1 cycles later
                    ap[i, j, slot_a] = prod if fa & _FIRST else acc[i, j] + prod
                    af[i, j, slot_a] = fa
                landed = af[i, j, land]
                af[i, j, land] = 0
                blocked = False  # a landing takes its register before a shift: acc (one bank) or the shadow
                if landed & _VALID:
                    blocked = drain == DRAIN_SHIFT
                    v = ap[i, j, land]
                    acc[i, j] = v
                    if landed & _LAST:
                        tp = t - al + 1 - (ml - 1) - i - j
                        f = st_fold[tp]
                        used = i < rows_used[f] and j < cols_used[f]
                        if drain == DRAIN_IN_PLACE:
                            out[f, i, j] = v
                            out_cycle[f, i, j] = t + 1
                            total = max(total, t + 1)
                            first = t + 1 if first < 0 else min(first, t + 1)
                            if used:
                                counters[f, BUF_WRITES] += 1
                        else:
                            tag_f[i, j] = f
                            tag_r[i, j] = i
                            blocked = True
                            if drain != DRAIN_SHIFT:
                                dr[i, j] = v
                                if used:
                                    counters[f, RF_WRITES] += 1
                            if drain == DRAIN_PARALLEL and i == R - 1 and j == C - 1:
                                read_at = t + 1
                            if shifting and i == R - 1:
                                shifts[j] = R - 1
                                port_v[j] = True
                if shifting and shift_en[j] and not blocked:
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
                    if drain == DRAIN_SHADOW:
                        dr[i, j] = dr[i - 1, j] if i > 0 else zero
                    else:
                        acc[i, j] = acc[i - 1, j] if i > 0 else zero
                a_q[i, j] = a_in
                fl_q[i, j] = fl
                b_q[i, j] = b_in
        if shifting:
            for j in range(C):
                if port_v[j]:
                    f = tag_f[R - 1, j]
                    r = tag_r[R - 1, j]
                    visible = t + 1 + (C - 1 - j if edge else 0)
                    out[f, r, j] = dr[R - 1, j] if drain == DRAIN_SHADOW else acc[R - 1, j]
                    out_cycle[f, r, j] = visible
                    total = max(total, visible)
                    first = visible if first < 0 else min(first, visible)
                    if r < rows_used[f] and j < cols_used[f]:
                        counters[f, BUF_WRITES] += 1
                        if edge:
                            counters[f, RF_READS] += C - 1 - j
                            counters[f, RF_WRITES] += C - 1 - j
    if read_at == horizon:  # the last fold's parallel read, the cycle after its last add landed
        _parallel_read(horizon, dr, tag_f, out, out_cycle, rows_used, cols_used, counters)
        total = max(total, horizon)
        first = horizon if first < 0 else min(first, horizon)
    return out, out_cycle, fold_start, total, counters, first


@njit(cache=True)
def _parallel_read(t, dr, tag_f, out, out_cycle, rows_used, cols_used, counters):
    """The parallel drain: every output register is read in cycle t."""
    for i in range(dr.shape[0]):
        for j in range(dr.shape[1]):
            f = tag_f[i, j]
            if f >= 0:
                out[f, i, j] = dr[i, j]
                out_cycle[f, i, j] = t
                if i < rows_used[f] and j < cols_used[f]:
                    counters[f, BUF_WRITES] += 1
                    counters[f, RF_READS] += 1

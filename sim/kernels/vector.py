"""Cycle-by-cycle model of the 1D vector PE array (rtl/vector_pe), computing float64 and fixed-point values.

Machine (one instruction at a time, all lanes in lockstep, non-pipelined units):
- An instruction ``i`` is presented from cycle ``arrive[i]`` on and issues in the first cycle ``t >= arrive[i]`` in
  which the array is idle. It runs as a sequence of steps; each step occupies its op's cycle cost; the step's result
  is latched at the clock edge that ends its last cycle. An instruction issued in cycle ``t`` with total cost ``c``
  writes its register at the edge ending cycle ``t + c - 1``; the next instruction can issue in cycle ``t + c``.
- A store's output is on the output bus in cycle ``t + c`` (registered): that is the output's valid cycle.
- ``total_cycles`` is the first cycle in which the array is idle with no instruction left.

Opcodes (fields rd, ra, rb index the per-lane register file; values per lane):
  LD  rd        rd = next input beat                     1 cycle
  ST  ra        output beat = ra                         1 cycle
  MAX rd,ra,rb  rd = max(ra, rb) (NaN if either is NaN)  max_cycles
  ADD/SUB       rd = ra +/- rb                           add_cycles
  MUL rd,ra,rb  rd = ra * rb                             mac_cycles
  MAC rd,ra,rb  rd = rd + ra * rb                        mac_cycles
  EXP rd,ra     rd = exp(ra), 6 MAC steps + 1 add step   6 * mac_cycles + add_cycles
  DIV rd,ra,rb  rd = ra / rb                             divide_cycles
  RMAX/RSUM rd,ra  every lane's rd = max/sum over lanes of ra, by a pairwise tree (level s combines lane i with
                lane i + 2**s for i a multiple of 2**(s+1)); ceil(log2 lanes) levels (at least 1) of max/add cycles.

exp: ``t = x * log2(e)`` (MAC step 0), ``k = floor(t)``, ``f = t - k`` in [0, 1); Horner steps 1..5 evaluate
``p(f) = c0 + f*(c1 + f*(c2 + f*(c3 + f*(c4 + f*c5))))`` ~= 2**f (acc = c5 before step 1; step s makes
``acc = c[5-s] + acc*f``); the add step scales by ``2**k`` (exponent add in floating point, arithmetic shift in fixed
point). float64 error: relative, at most EXP2_POLY_REL_ERROR (< 2.5e-7) plus rounding. Fixed point (Q format,
``F = frac_bits``): every product is floored (``(a*b) >> F``), the shift floors, so the error is a few units of
``2**-F`` (tests bound it by 8 units for x in [-32, 0]); positive overflow saturates.

Fixed-point rules: results wrap to ``data_bits`` (two's complement) except DIV and EXP, which saturate; DIV is
``trunc(a * 2**F / b)`` with magnitude saturated to ``2**(W-1) - 1`` (also for b == 0).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "OP_LD", "OP_ST", "OP_MAX", "OP_ADD", "OP_SUB", "OP_MUL", "OP_MAC", "OP_EXP", "OP_DIV", "OP_RMAX", "OP_RSUM",
    "OP_NAMES", "N_OPS", "COUNTER_NAMES", "N_COUNTERS", "CFG_NAMES", "run_vector",
]

OP_LD, OP_ST, OP_MAX, OP_ADD, OP_SUB, OP_MUL, OP_MAC, OP_EXP, OP_DIV, OP_RMAX, OP_RSUM = range(11)
OP_NAMES = ("LD", "ST", "MAX", "ADD", "SUB", "MUL", "MAC", "EXP", "DIV", "RMAX", "RSUM")
N_OPS = len(OP_NAMES)

#: counters[...] layout: lane-level operations by kind, register-file accesses (lane-level), busy cycles.
COUNTER_NAMES = ("mac", "add", "max", "div", "load", "store", "rf_reads", "rf_writes", "busy_cycles", "lane_cycles")
N_COUNTERS = len(COUNTER_NAMES)

#: cfg[...] layout (int64 array) built from a VectorUnitSpec by sim.vector_program.pack_config.
CFG_NAMES = ("lanes", "registers", "data_bits", "frac_bits", "max_cycles", "add_cycles", "mac_cycles",
             "divide_cycles", "log2e_fixed", "reduce_levels")


@njit(cache=True)
def _wrap(v, w):
    half = np.int64(1) << (w - 1)
    return ((v + half) & ((np.int64(1) << w) - 1)) - half


@njit(cache=True)
def _fmax(a, b):
    if a != a or b != b:
        return math.nan
    return a if a >= b else b


@njit(cache=True)
def _n_steps(op, levels):
    if op == OP_EXP:
        return 7
    if op == OP_RMAX or op == OP_RSUM:
        return levels
    return 1


@njit(cache=True)
def _step_cost(op, step, cfg):
    if op == OP_MAX or op == OP_RMAX:
        return cfg[4]
    if op == OP_ADD or op == OP_SUB or op == OP_RSUM:
        return cfg[5]
    if op == OP_MUL or op == OP_MAC:
        return cfg[6]
    if op == OP_EXP:
        return cfg[6] if step < 6 else cfg[5]
    if op == OP_DIV:
        return cfg[7]
    return 1


@njit(cache=True)
def _div_fixed(a, b, w, f):
    maxpos = (np.int64(1) << (w - 1)) - 1
    na = -a if a < 0 else a
    nb = -b if b < 0 else b
    if nb == 0:
        q = maxpos
    else:
        q = (na << f) // nb
        if q > maxpos:
            q = maxpos
    return -q if (a < 0) != (b < 0) else q


@njit(cache=True)
def _exp_scale_fixed(acc, k, w):
    maxpos = (np.int64(1) << (w - 1)) - 1
    if k >= 0:
        if k >= w:
            return maxpos
        r = acc << k
        return maxpos if r > maxpos else r
    s = -k
    if s >= w + 2:
        return np.int64(0)
    return acc >> s


@njit(cache=True)
def _exp_scale_float(acc, k):
    if k < -2000.0:
        return 0.0
    if acc != 0.0 and k + math.frexp(acc)[1] > 1024:  # past the float64 range: saturate as IEEE does (and as
        return math.copysign(math.inf, acc)            # the compiled kernel would; plain Python would raise)
    return math.ldexp(acc, int(k))


@njit(cache=True, error_model="numpy")
def run_vector(op, rd, ra, rb, arrive, in_fixed, in_float, cfg, exp_c_fixed, exp_c_float):
    """Run a program on the array, one loop iteration per clock cycle.

    op, rd, ra, rb, arrive: int64[n] instructions and their arrival cycles (non-decreasing not required).
    in_fixed int64[n_loads, lanes], in_float float64[n_loads, lanes]: input beats consumed by LD in order.
    cfg int64[len(CFG_NAMES)]; exp_c_fixed int64[6], exp_c_float float64[6]: exp polynomial c0..c5.
    Returns (out_fixed int64[n_stores, lanes], out_float float64[n_stores, lanes], out_cycle int64[n_stores],
    issue_cycle int64[n], total_cycles, counters int64[N_COUNTERS]).
    """
    n = op.shape[0]
    lanes = cfg[0]
    w = cfg[2]
    f = cfg[3]
    log2e_fx = cfg[8]
    levels = cfg[9]
    frac_mask = (np.int64(1) << f) - 1
    log2e = 1.4426950408889634
    n_st = 0
    for i in range(n):
        if op[i] == OP_ST:
            n_st += 1
    regs_x = np.zeros((cfg[1], lanes), dtype=np.int64)
    regs_f = np.zeros((cfg[1], lanes), dtype=np.float64)
    out_fixed = np.zeros((n_st, lanes), dtype=np.int64)
    out_float = np.zeros((n_st, lanes), dtype=np.float64)
    out_cycle = np.zeros(n_st, dtype=np.int64)
    issue = np.zeros(n, dtype=np.int64)
    counters = np.zeros(N_COUNTERS, dtype=np.int64)
    # per-lane step state: operands latched at issue, exp internals, reduction tree values
    a_x = np.zeros(lanes, dtype=np.int64)
    b_x = np.zeros(lanes, dtype=np.int64)
    d_x = np.zeros(lanes, dtype=np.int64)
    a_f = np.zeros(lanes, dtype=np.float64)
    b_f = np.zeros(lanes, dtype=np.float64)
    d_f = np.zeros(lanes, dtype=np.float64)
    k_x = np.zeros(lanes, dtype=np.int64)
    k_f = np.zeros(lanes, dtype=np.float64)
    acc_x = np.zeros(lanes, dtype=np.int64)
    acc_f = np.zeros(lanes, dtype=np.float64)
    nxt = 0
    n_ld = 0
    st_i = 0
    busy = False
    cur = 0
    cur_op = 0
    step = 0
    cnt = 0
    t = 0
    while nxt < n or busy:
        if not busy and nxt < n and arrive[nxt] <= t:
            cur = nxt
            cur_op = op[cur]
            issue[cur] = t
            nxt += 1
            busy = True
            step = 0
            cnt = _step_cost(cur_op, 0, cfg)
            for l in range(lanes):
                a_x[l] = regs_x[ra[cur], l]
                b_x[l] = regs_x[rb[cur], l]
                d_x[l] = regs_x[rd[cur], l]
                a_f[l] = regs_f[ra[cur], l]
                b_f[l] = regs_f[rb[cur], l]
                d_f[l] = regs_f[rd[cur], l]
        if busy:
            counters[8] += 1
            cnt -= 1
            if cnt == 0:
                last = step == _n_steps(cur_op, levels) - 1
                write = True
                if cur_op == OP_LD:
                    for l in range(lanes):
                        d_x[l] = in_fixed[n_ld, l]
                        d_f[l] = in_float[n_ld, l]
                    n_ld += 1
                    counters[4] += lanes
                elif cur_op == OP_ST:
                    for l in range(lanes):
                        out_fixed[st_i, l] = a_x[l]
                        out_float[st_i, l] = a_f[l]
                    out_cycle[st_i] = t + 1
                    st_i += 1
                    write = False
                    counters[5] += lanes
                    counters[6] += lanes
                elif cur_op == OP_MAX:
                    for l in range(lanes):
                        d_x[l] = max(a_x[l], b_x[l])
                        d_f[l] = _fmax(a_f[l], b_f[l])
                    counters[2] += lanes
                    counters[6] += 2 * lanes
                elif cur_op == OP_ADD or cur_op == OP_SUB:
                    sgn = 1 if cur_op == OP_ADD else -1
                    for l in range(lanes):
                        d_x[l] = _wrap(a_x[l] + sgn * b_x[l], w)
                        d_f[l] = a_f[l] + sgn * b_f[l]
                    counters[1] += lanes
                    counters[6] += 2 * lanes
                elif cur_op == OP_MUL or cur_op == OP_MAC:
                    keep = 1 if cur_op == OP_MAC else 0
                    for l in range(lanes):
                        if keep:
                            d_x[l] = _wrap(d_x[l] + ((a_x[l] * b_x[l]) >> f), w)
                            d_f[l] = d_f[l] + a_f[l] * b_f[l]
                        else:
                            d_x[l] = _wrap((a_x[l] * b_x[l]) >> f, w)
                            d_f[l] = a_f[l] * b_f[l]
                    counters[0] += lanes
                    counters[6] += (2 + keep) * lanes
                elif cur_op == OP_DIV:
                    for l in range(lanes):
                        d_x[l] = _div_fixed(a_x[l], b_x[l], w, f)
                        d_f[l] = a_f[l] / b_f[l]
                    counters[3] += lanes
                    counters[6] += 2 * lanes
                elif cur_op == OP_EXP:
                    if step == 0:
                        for l in range(lanes):
                            tx = (a_x[l] * log2e_fx) >> f
                            k_x[l] = tx >> f
                            b_x[l] = tx & frac_mask  # f, the fraction of t
                            acc_x[l] = exp_c_fixed[5]
                            tf = a_f[l] * log2e
                            kf = np.floor(tf) if math.isfinite(tf) else tf
                            k_f[l] = kf
                            b_f[l] = tf - kf if math.isfinite(tf) else 0.0
                            acc_f[l] = exp_c_float[5]
                        counters[6] += lanes
                    elif step < 6:
                        for l in range(lanes):
                            acc_x[l] = exp_c_fixed[5 - step] + ((acc_x[l] * b_x[l]) >> f)
                            acc_f[l] = exp_c_float[5 - step] + acc_f[l] * b_f[l]
                    else:
                        for l in range(lanes):
                            d_x[l] = _exp_scale_fixed(acc_x[l], k_x[l], w)
                            d_f[l] = _exp_scale_float(acc_f[l], k_f[l]) if a_f[l] == a_f[l] else a_f[l]
                    if step < 6:
                        counters[0] += lanes
                    else:
                        counters[1] += lanes
                else:  # RMAX / RSUM: one tree level per step, on the a_* copies
                    stride = np.int64(1) << step
                    l = 0
                    while l + stride < lanes:
                        if cur_op == OP_RMAX:
                            a_x[l] = max(a_x[l], a_x[l + stride])
                            a_f[l] = _fmax(a_f[l], a_f[l + stride])
                            counters[2] += 1
                        else:
                            a_x[l] = _wrap(a_x[l] + a_x[l + stride], w)
                            a_f[l] = a_f[l] + a_f[l + stride]
                            counters[1] += 1
                        l += 2 * stride
                    if step == 0:
                        counters[6] += lanes
                    if last:
                        for l in range(lanes):
                            d_x[l] = a_x[0]
                            d_f[l] = a_f[0]
                if last:
                    busy = False
                    if write:
                        for l in range(lanes):
                            regs_x[rd[cur], l] = d_x[l]
                            regs_f[rd[cur], l] = d_f[l]
                        counters[7] += lanes
                else:
                    step += 1
                    cnt = _step_cost(cur_op, step, cfg)
        t += 1
    counters[9] = counters[8] * lanes
    return out_fixed, out_float, out_cycle, issue, t, counters

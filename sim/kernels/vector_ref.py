"""Plain-Python reference of sim.kernels.vector.run_vector: same signature, same results.

Written independently of the kernel's cycle loop: timing is accounted per instruction (issue at
``max(arrive, free)``, busy for the instruction's total cost), fixed-point values use Python integers.
"""

from __future__ import annotations

import math

import numpy as np

from .vector import (
    N_COUNTERS,
    OP_ADD,
    OP_DIV,
    OP_EXP,
    OP_LD,
    OP_MAC,
    OP_MAX,
    OP_MUL,
    OP_RMAX,
    OP_RSUM,
    OP_ST,
    OP_SUB,
)

__all__ = ["run_vector", "instruction_cycles"]


def instruction_cycles(op: int, cfg) -> int:
    """Total cycles one instruction occupies the array."""
    max_c, add_c, mac_c, div_c, levels = (int(cfg[i]) for i in (4, 5, 6, 7, 9))
    return {OP_LD: 1, OP_ST: 1, OP_MAX: max_c, OP_ADD: add_c, OP_SUB: add_c, OP_MUL: mac_c, OP_MAC: mac_c,
            OP_EXP: 6 * mac_c + add_c, OP_DIV: div_c, OP_RMAX: levels * max_c, OP_RSUM: levels * add_c}[int(op)]


def _wrap(v: int, w: int) -> int:
    v &= (1 << w) - 1
    return v - (1 << w) if v >> (w - 1) else v


def _exp_fixed(x: int, w: int, f: int, log2e: int, c) -> int:
    t = (x * log2e) >> f
    k, frac = t >> f, t & ((1 << f) - 1)
    acc = c[5]
    for i in range(4, -1, -1):
        acc = c[i] + ((acc * frac) >> f)
    maxpos = (1 << (w - 1)) - 1
    if k >= 0:
        return min(acc << k, maxpos) if k < w else maxpos
    return acc >> (-k)


def _exp_float(x: float, c) -> float:
    if math.isnan(x):
        return x
    t = x * math.log2(math.e)
    if not math.isfinite(t):
        return math.inf if t > 0 else 0.0
    k = math.floor(t)
    frac = t - k
    acc = c[5]
    for i in range(4, -1, -1):
        acc = c[i] + acc * frac
    if k > 2000:
        return math.inf
    if k < -2000:
        return 0.0
    try:
        return math.ldexp(acc, k)
    except OverflowError:
        return math.inf


def _fmax(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return a if a >= b else b


def _div_fixed(a: int, b: int, w: int, f: int) -> int:
    maxpos = (1 << (w - 1)) - 1
    q = maxpos if b == 0 else min((abs(a) << f) // abs(b), maxpos)
    return -q if (a < 0) != (b < 0) else q


def _div_float(a: float, b: float) -> float:
    if b == 0.0:
        if a == 0.0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _tree(vals, fn):
    vals = list(vals)
    stride = 1
    while stride < len(vals):
        for i in range(0, len(vals) - stride, 2 * stride):
            vals[i] = fn(vals[i], vals[i + stride])
        stride *= 2
    return vals[0]


def run_vector(op, rd, ra, rb, arrive, in_fixed, in_float, cfg, exp_c_fixed, exp_c_float):
    """Reference of sim.kernels.vector.run_vector (see there for the machine and the arguments)."""
    lanes, n_regs, w, f, log2e = (int(cfg[i]) for i in (0, 1, 2, 3, 8))
    cx = [int(v) for v in exp_c_fixed]
    cf = [float(v) for v in exp_c_float]
    rx = [[0] * lanes for _ in range(n_regs)]
    rf = [[0.0] * lanes for _ in range(n_regs)]
    outs_x, outs_f, out_cycle, issue = [], [], [], []
    cnt = dict.fromkeys(("mac", "add", "max", "div", "load", "store", "rf_reads", "rf_writes", "busy"), 0)
    free = 0
    n_ld = 0
    for i in range(len(op)):
        o, d, a, b = int(op[i]), int(rd[i]), int(ra[i]), int(rb[i])
        start = max(int(arrive[i]), free)
        cost = instruction_cycles(o, cfg)
        issue.append(start)
        free = start + cost
        cnt["busy"] += cost
        ax, bx, dx, af, bf, df = rx[a], rx[b], rx[d], rf[a], rf[b], rf[d]
        reads = 2
        if o == OP_LD:
            nx, nf = [int(v) for v in in_fixed[n_ld]], [float(v) for v in in_float[n_ld]]
            n_ld += 1
            cnt["load"] += lanes
            reads = 0
        elif o == OP_ST:
            outs_x.append(list(ax))
            outs_f.append(list(af))
            out_cycle.append(free)
            cnt["store"] += lanes
            cnt["rf_reads"] += lanes
            continue
        elif o == OP_MAX:
            nx, nf = [max(p, q) for p, q in zip(ax, bx)], [_fmax(p, q) for p, q in zip(af, bf)]
            cnt["max"] += lanes
        elif o in (OP_ADD, OP_SUB):
            s = 1 if o == OP_ADD else -1
            nx = [_wrap(p + s * q, w) for p, q in zip(ax, bx)]
            nf = [p + s * q for p, q in zip(af, bf)]
            cnt["add"] += lanes
        elif o in (OP_MUL, OP_MAC):
            keep = o == OP_MAC
            nx = [_wrap((r if keep else 0) + ((p * q) >> f), w) for p, q, r in zip(ax, bx, dx)]
            nf = [r + p * q if keep else p * q for p, q, r in zip(af, bf, df)]
            cnt["mac"] += lanes
            reads = 3 if keep else 2
        elif o == OP_DIV:
            nx = [_div_fixed(p, q, w, f) for p, q in zip(ax, bx)]
            nf = [_div_float(p, q) for p, q in zip(af, bf)]
            cnt["div"] += lanes
        elif o == OP_EXP:
            nx = [_exp_fixed(p, w, f, log2e, cx) for p in ax]
            nf = [_exp_float(p, cf) for p in af]
            cnt["mac"] += 6 * lanes
            cnt["add"] += lanes
            reads = 1
        elif o in (OP_RMAX, OP_RSUM):
            if o == OP_RMAX:
                vx, vf = _tree(ax, max), _tree(af, _fmax)
                cnt["max"] += lanes - 1
            else:
                vx, vf = _tree(ax, lambda p, q: _wrap(p + q, w)), _tree(af, lambda p, q: p + q)
                cnt["add"] += lanes - 1
            nx, nf = [vx] * lanes, [vf] * lanes
            reads = 1
        else:
            raise ValueError(f"opcode must be in 0..10, not {o!r}")
        rx[d], rf[d] = nx, nf
        cnt["rf_reads"] += reads * lanes
        cnt["rf_writes"] += lanes
    counters = np.array([cnt["mac"], cnt["add"], cnt["max"], cnt["div"], cnt["load"], cnt["store"],
                         cnt["rf_reads"], cnt["rf_writes"], cnt["busy"], cnt["busy"] * lanes], dtype=np.int64)
    assert len(counters) == N_COUNTERS
    return (np.array(outs_x, dtype=np.int64).reshape(len(outs_x), lanes),
            np.array(outs_f, dtype=np.float64).reshape(len(outs_f), lanes),
            np.array(out_cycle, dtype=np.int64), np.array(issue, dtype=np.int64), free, counters)

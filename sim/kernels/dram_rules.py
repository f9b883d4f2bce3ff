"""Timing-table state of the DRAM/PIM kernel: the rule table, the per-scope "next legal cycle" tables, tFAW.

Rules are (earlier command, later command, scope, gap) rows built by :func:`timing_rules` from a DramSpec. The
controller (sim/kernels/dram.py) keeps one table ``T`` per channel: rows are the banks, then the bank groups, the
ranks and the channel; columns are command kinds; an entry is the first cycle at which that command is legal there.
:func:`_apply_rules` raises the entries a command issued at cycle t imposes, :func:`_earliest` reads them back.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..dram_commands import ACT, COMP, G_ACT, G_PRE, GWRITE, PRE, RD, READRES, REF, WR

__all__ = ["CFG_NAMES", "SCOPES", "pack_config", "timing_rules"]

CFG_NAMES = ("ranks", "bankgroups", "banks_per_group", "row_buffers", "cl", "cwl", "burst", "tfaw", "fill",
             "trefi", "trfc", "gwrite", "rows", "columns", "comps_per_row")
SCOPES = ("same_bank", "bank_group", "rank", "other_ranks", "channel")
_SB, _BG, _RK, _OR, _CH = range(5)
_NEG = -(1 << 40)
_INF = 1 << 60
_BIG = 1 << 62


def pack_config(spec, row_buffers: int) -> np.ndarray:
    values = {"ranks": spec.ranks, "bankgroups": spec.bankgroups, "banks_per_group": spec.banks_per_group,
              "row_buffers": row_buffers, "cl": spec.cl, "cwl": spec.cwl, "burst": spec.burst_cycles,
              "tfaw": spec.tfaw, "fill": spec.pim_fill_cycles * spec.t_comp, "trefi": spec.trefi,
              "trfc": spec.trfc, "gwrite": spec.gwrite_cycles, "rows": spec.rows, "columns": spec.columns,
              "comps_per_row": spec.comps_per_row}
    return np.array([values[k] for k in CFG_NAMES], dtype=np.int64)


def timing_rules(spec, row_buffers: int) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's timing table: rows (earlier, later, scope, gap) sorted by (earlier command, scope), and the
    start row of each (command, scope) pair at index command * 5 + scope (length 51). Scopes: same bank (same row
    buffer), same bank group, same rank, the other ranks, the whole channel. COMP and READRES address every bank,
    so a rule with one of them on either side binds channel-wide. Sources: DRAMsim3 src/timing.cc (DRAM),
    NeuPIMs extern/NewtonSim/src/timing.cc (PIM).
    """
    b, single, multi = spec.burst_cycles, row_buffers == 1, spec.ranks > 1
    rr_l, rr_s, rr_o = max(b, spec.tccd_l), max(b, spec.tccd_s), b + spec.trtrs
    rtw = spec.cl + b + spec.trtw - spec.cwl
    rtw_o = spec.cl + b + max(spec.trtw, spec.trtrs) - spec.cwl
    wtr_l, wtr_s, wtr_o = spec.cwl + b + spec.twtr_l, spec.cwl + b + spec.twtr_s, spec.cwl + b + spec.trtrs - spec.cl
    rtp, wtp, gw = spec.trtp_l, spec.cwl + b + spec.twr, spec.gwrite_cycles
    rows: list[tuple[int, int, int, int]] = []

    def add(p, later, scope, gap, when=True):
        if when:
            rows.extend((p, n, scope, gap) for n in later)

    # row commands: the opened or closed buffer (the PIM buffer is the normal one when single)
    add(ACT, (RD, WR, GWRITE), _SB, spec.trcd)
    add(ACT, (COMP, READRES), _SB, spec.trcd, single)
    add(ACT, (PRE,), _SB, spec.tras)
    add(ACT, (G_PRE,), _SB, spec.tras, single)
    add(G_ACT, (COMP, READRES), _SB, spec.trcd)
    add(G_ACT, (RD, WR, GWRITE), _SB, spec.trcd, single)
    add(G_ACT, (G_PRE,), _SB, spec.tras)
    add(G_ACT, (PRE,), _SB, spec.tras, single)
    for p in (ACT, G_ACT):
        add(p, (ACT, G_ACT), _BG, spec.trrd_l)
        add(p, (ACT, G_ACT), _RK, spec.trrd_s)
    add(PRE, (ACT,), _SB, spec.trp)
    add(PRE, (G_ACT,), _SB, spec.trp, single)
    add(G_PRE, (G_ACT,), _SB, spec.trp)
    add(G_PRE, (ACT,), _SB, spec.trp, single)
    add(PRE, (REF,), _RK, spec.trp)
    add(G_PRE, (REF,), _RK, spec.trp)
    add(REF, (ACT, G_ACT, REF), _RK, spec.trfc)
    # reads
    add(RD, (RD, GWRITE), _BG, rr_l)
    add(RD, (RD, GWRITE, COMP, READRES), _RK, rr_s)
    add(RD, (COMP, READRES), _BG, rr_l, single)
    add(RD, (RD, READRES), _OR, rr_o)
    add(RD, (WR,), _RK, rtw)
    add(RD, (WR,), _OR, rtw_o)
    add(RD, (PRE,), _SB, rtp)
    add(RD, (G_PRE,), _SB, rtp, single)
    # writes
    add(WR, (RD, GWRITE), _BG, wtr_l)
    add(WR, (RD, GWRITE, COMP, READRES), _RK, wtr_s)
    add(WR, (COMP, READRES), _BG, wtr_l, single)
    add(WR, (RD, READRES), _OR, wtr_o)
    add(WR, (WR,), _BG, rr_l)
    add(WR, (WR,), _RK, rr_s)
    add(WR, (WR,), _OR, b + spec.trtrs)
    add(WR, (PRE,), _SB, wtp)
    add(WR, (G_PRE,), _SB, wtp, single)
    # GWRITE: copies the bank's open row into the global buffer (gw cycles)
    add(GWRITE, (RD, WR, PRE), _SB, gw)
    add(GWRITE, (G_PRE,), _SB, gw, single)
    add(GWRITE, (COMP, READRES, GWRITE), _CH, gw)
    add(GWRITE, (RD,), _BG, rr_l)
    add(GWRITE, (RD,), _RK, rr_s)
    add(GWRITE, (WR,), _RK, rtw)
    # COMP and READRES (channel-wide)
    add(COMP, (RD, GWRITE, COMP, READRES), _CH, rr_s)
    add(COMP, (WR,), _CH, rtw)
    add(COMP, (G_PRE,), _CH, rtp)
    add(COMP, (PRE,), _CH, rtp, single)
    add(READRES, (RD, GWRITE), _CH, rr_s)
    add(READRES, (RD,), _CH, rr_o, multi)
    add(READRES, (WR,), _CH, rtw)
    add(READRES, (WR,), _CH, rtw_o, multi)
    add(READRES, (COMP, READRES), _CH, max(b, spec.tccd_l))
    add(READRES, (G_ACT,), _CH, rtp + spec.trp)
    add(READRES, (G_PRE,), _CH, rtp)
    add(READRES, (PRE,), _CH, rtp, single)
    norm = []
    for p, n, scope, gap in rows:  # a rule with COMP or READRES on either side binds channel-wide
        if p in (COMP, READRES) or n in (COMP, READRES):
            if scope == _OR and not multi:
                continue
            scope = _CH
        norm.append((p, n, scope, gap))
    table = np.array(sorted(norm, key=lambda x: (x[0], x[2])), dtype=np.int64).reshape(-1, 4)
    start = np.searchsorted(table[:, 0] * 5 + table[:, 2], np.arange(51)).astype(np.int64)
    return table, start


# --------------------------------------------------------------------------------------------------------------
# timing state: nbk[bank, cmd], nbg[bankgroup, cmd], nrk[rank, cmd], nch[cmd] = first legal cycle
# --------------------------------------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def _earliest(kind, r, g, b, T, cfg):
    """First cycle at which the timing tables allow ``kind`` (T rows: banks, bank groups, ranks, channel; the
    activation window is folded into the rank rows of ACT and G_ACT)."""
    R, G, BPG = cfg[0], cfg[1], cfg[2]
    NB, NG = R * G * BPG, R * G
    e = T[NB + NG + R, kind]
    if kind == COMP or kind == READRES:
        return e
    if T[NB + NG + r, kind] > e:
        e = T[NB + NG + r, kind]
    if kind == REF:
        return e
    gi = r * G + g
    if T[NB + gi, kind] > e:
        e = T[NB + gi, kind]
    if kind == G_ACT or kind == G_PRE:
        for k in range(BPG):
            if T[gi * BPG + k, kind] > e:
                e = T[gi * BPG + k, kind]
    elif T[gi * BPG + b, kind] > e:
        e = T[gi * BPG + b, kind]
    return e


@njit(cache=True, inline="always")
def _apply_rules(p, r, g, b, t, rules, rule_start, T, faw, faw_head, cfg):
    """Raise the next-legal cycles that command ``p`` issued at ``t`` imposes, scope by scope."""
    R, G, BPG = cfg[0], cfg[1], cfg[2]
    NB, NG = R * G * BPG, R * G
    gi = r * G + g
    base = p * 5
    for i in range(rule_start[base + _SB], rule_start[base + _SB + 1]):
        n, v = rules[i, 1], t + rules[i, 3]
        if p == G_ACT or p == G_PRE:
            for k in range(BPG):
                if v > T[gi * BPG + k, n]:
                    T[gi * BPG + k, n] = v
        elif v > T[gi * BPG + b, n]:
            T[gi * BPG + b, n] = v
    for i in range(rule_start[base + _BG], rule_start[base + _BG + 1]):
        n, v = rules[i, 1], t + rules[i, 3]
        if v > T[NB + gi, n]:
            T[NB + gi, n] = v
    for i in range(rule_start[base + _RK], rule_start[base + _RK + 1]):
        n, v = rules[i, 1], t + rules[i, 3]
        if v > T[NB + NG + r, n]:
            T[NB + NG + r, n] = v
    for i in range(rule_start[base + _OR], rule_start[base + _OR + 1]):
        n, v = rules[i, 1], t + rules[i, 3]
        for rr in range(R):
            if rr != r and v > T[NB + NG + rr, n]:
                T[NB + NG + rr, n] = v
    for i in range(rule_start[base + _CH], rule_start[base + _CH + 1]):
        n, v = rules[i, 1], t + rules[i, 3]
        if v > T[NB + NG + R, n]:
            T[NB + NG + R, n] = v
    if p == ACT or p == G_ACT:  # four-activate window: a G_ACT activates min(banks_per_group, 4) banks
        cnt = 1
        if p == G_ACT:
            cnt = min(BPG, 4)
        for _ in range(cnt):
            faw[r, faw_head[r]] = t
            faw_head[r] = (faw_head[r] + 1) % 4
        # an ACT needs the 4th newest activation tFAW old, a G_ACT the (5 - cnt)-th newest
        h = faw_head[r]
        v = faw[r, h] + cfg[7]
        if v > T[NB + NG + r, ACT]:
            T[NB + NG + r, ACT] = v
        v = faw[r, (h + min(BPG, 4) - 1) % 4] + cfg[7]
        if v > T[NB + NG + r, G_ACT]:
            T[NB + NG + r, G_ACT] = v


"""Command-level DRAM/PIM kernel: per-bank state, a memory controller per channel, refresh, PIM macros.

One call simulates every channel (channels never interact). Per channel the controller sees a request queue
(``queue_size`` entries, requests enter in arrival order) and a PIM program (entries in order). In every cycle it
issues at most one command, chosen in this priority:

1. refresh work of a rank owing more than ``refresh_postpone`` refreshes (urgent): close its open rows (first
   legal in bank-group order; G_PRE for a bank group whose PIM buffers are open), then REF. A rank owing one
   commits to refresh as soon as no request to it is queued (requests arriving then wait); unless urgent, its
   refresh commands take only command slots nothing else wants (priority 4). No refresh starts during a PIM tile;
2. the PIM program's head entry, in order: a raw command when legal; P_HEADER opens a tile (no command; admitted
   only if no rank is committed to refresh and the tile's estimated cycles keep every rank within its refresh
   postponement); a COMPS_READRES first brings every bank's PIM buffer to the tile row (strictly in order: the
   needed precharges in bank-group order, then the G_ACTs in bank-group order, bank group major, rank minor),
   then issues its COMPs and its READRES; GWRITE_ROW opens its row (closing what is open) and issues the GWRITE;
3. DRAM requests: FR-FCFS (the oldest request whose column command is legal, else the oldest whose ACT or PRE is
   legal) or FCFS (only the oldest); a PRE that would close a row with queued hits waits until ``row_hit_cap``
   hits were served since its ACT. Requests to a rank committed to refresh wait; with one row buffer per bank
   every request waits while a PIM tile is in progress; with two, requests to the tile's row wait;
4. refresh work of a rank that is not urgent;
5. with the closed-page policy, a PRE for a bank whose last queued hit was served.

Timing rules are a table of (earlier command, later command, scope, gap) rows built by :func:`timing_rules`; on
each issue the kernel raises "next legal cycle" entries of the bank, bank group, rank(s) or channel the scope
names. Time jumps to the next cycle at which any candidate command becomes legal, a request arrives, or a refresh
falls due (event skipping); the plain-Python reference steps cycle by cycle with the independent rules of
sim/dram_check.py and must issue the identical trace.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..dram_commands import ACT, COMP, G_ACT, G_PRE, GWRITE, PRE, RD, READRES, REF, WR

__all__ = ["CFG_NAMES", "POLICY_NAMES", "COUNTER_NAMES", "SCOPES", "pack_config", "timing_rules", "run_dram"]

CFG_NAMES = ("ranks", "bankgroups", "banks_per_group", "row_buffers", "cl", "cwl", "burst", "tfaw", "fill",
             "trefi", "trfc", "gwrite", "rows", "columns", "comps_per_row")
POLICY_NAMES = ("closed_page", "fcfs", "queue_size", "row_hit_cap", "refresh", "refresh_postpone")
COUNTER_NAMES = ("ACT", "PRE", "RD", "WR", "REF", "G_ACT", "G_PRE", "COMP", "READRES", "GWRITE", "cycles",
                 "row_hits", "row_misses", "row_conflicts", "pim_errors", "stalled")
SCOPES = ("same_bank", "bank_group", "rank", "other_ranks", "channel")
_SB, _BG, _RK, _OR, _CH = range(5)
_NEG = -(1 << 40)
_INF = 1 << 60
_BIG = 1 << 62
_P_HEADER, _COMPS_READRES, _GWRITE_ROW = 10, 11, 12


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


# --------------------------------------------------------------------------------------------------------------
# controller helpers
# --------------------------------------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def _bg_all_pim(gi, row, open_row, open_pim, pb, BPG):
    """True if every bank of bank group gi has ``row`` (any row if row < 0) open in its PIM buffer by a G_ACT."""
    r0 = open_row[gi * BPG, pb]
    if r0 < 0 or (row >= 0 and r0 != row):
        return False
    for k in range(BPG):
        bi = gi * BPG + k
        if open_row[bi, pb] != r0 or (pb == 0 and not open_pim[bi]):
            return False
    return True


@njit(cache=True)
def _tile_step(gi_order, tile_row, open_row, open_pim, pb, cfg):
    """Next command bringing every bank's PIM buffer to ``tile_row``: (kind, bank group, bank) or kind -1.
    Phase 1 closes what is in the way (bank-group order), phase 2 issues the G_ACTs (bank-group order)."""
    BPG, single = cfg[2], cfg[3] == 1
    for gi in gi_order:
        if _bg_all_pim(gi, tile_row, open_row, open_pim, pb, BPG):
            continue
        if single:
            any_open = False
            for k in range(BPG):
                if open_row[gi * BPG + k, 0] >= 0:
                    any_open = True
            if any_open:
                if _bg_all_pim(gi, -1, open_row, open_pim, pb, BPG):
                    return G_PRE, gi, -1
                for k in range(BPG):
                    if open_row[gi * BPG + k, 0] >= 0:
                        return PRE, gi, k
        else:
            if open_row[gi * BPG, 1] >= 0:
                return G_PRE, gi, -1
            for k in range(BPG):
                if open_row[gi * BPG + k, 0] == tile_row:
                    return PRE, gi, k
    for gi in gi_order:
        if open_row[gi * BPG, pb] < 0:
            return G_ACT, gi, -1
    return -1, -1, -1


@njit(cache=True, inline="always")
def _close_step(bi, open_row, open_pim, pb, cfg):
    """Command that closes bank bi's normal buffer (single: G_PRE if its whole bank group is PIM-open)."""
    BPG = cfg[2]
    if cfg[3] == 1 and open_pim[bi] and _bg_all_pim(bi // BPG, -1, open_row, open_pim, pb, BPG):
        return G_PRE
    return PRE


@njit(cache=True, inline="always")
def _refresh_step(urgent, t, pending, debt, postpone, open_row, open_pim, pb, T, cfg):
    """The first legal refresh command (kind, rank, bank group, bank, next event) of a rank committed to refresh
    whose urgency (owing more than ``postpone``) is ``urgent``: close its open rows (bank-group order, G_PRE for a
    bank group whose PIM buffers are open), then REF. kind -1 if none is legal now."""
    R, G, BPG = cfg[0], cfg[1], cfg[2]
    nxt = _INF
    for rr in range(R):
        if not pending[rr] or (debt[rr] > postpone) != urgent:
            continue
        any_open = False
        for gg in range(G):
            gi = rr * G + gg
            whole = (pb == 1 and open_row[gi * BPG, 1] >= 0) or (
                pb == 0 and _bg_all_pim(gi, -1, open_row, open_pim, pb, BPG))
            if whole:
                any_open = True
                e = _earliest(G_PRE, rr, gg, -1, T, cfg)
                if e <= t:
                    return G_PRE, rr, gg, -1, nxt
                nxt = min(nxt, e)
                if pb == 0:
                    continue
            for k in range(BPG):
                if open_row[gi * BPG + k, 0] >= 0:
                    any_open = True
                    e = _earliest(PRE, rr, gg, k, T, cfg)
                    if e <= t:
                        return PRE, rr, gg, k, nxt
                    nxt = min(nxt, e)
        if not any_open:
            e = _earliest(REF, rr, -1, -1, T, cfg)
            if e <= t:
                return REF, rr, -1, -1, nxt
            nxt = min(nxt, e)
    return -1, -1, -1, -1, nxt


@njit(cache=True, inline="always")
def _bank_candidates(bi, ci0, s0, only_first, slot_req, slot_row, slot_w, slot_next, open_row, open_pim, hitq,
                     hitq_w, bn, hits_since, tile_active, tile_row, pb, CAP, cand_n, cand_s, cand_k, cand_q, cfg):
    """Bank bi's candidate commands into row ci0 of the cand_* arrays: its oldest read hit, oldest write hit and
    oldest non-hit of each needed kind (PRE or the close of a PIM row; ACT; G_PRE when the PIM buffer holds the
    request's row), scanning its request list from slot s0 (only that slot if only_first)."""
    orow, popen = open_row[bi, 0], open_pim[bi]
    hits_ok = orow >= 0 and not popen and not (tile_active and orow == tile_row)
    n_rd, n_wr = 0, 0
    if hits_ok:
        n_wr = hitq_w[bi]
        n_rd = hitq[bi] - n_wr
    close_kind = -1
    if orow >= 0:
        if popen:
            close_kind = _close_step(bi, open_row, open_pim, pb, cfg)
        elif only_first or hitq[bi] == 0 or hits_since[bi] >= CAP:  # FCFS (only_first) never defers a PRE
            close_kind = PRE
    want_other = (orow >= 0 and close_kind >= 0 and (bn[bi] > hitq[bi] or only_first)) or orow < 0
    rd_s, wr_s, cl_s, act_s, gp_s = -1, -1, -1, -1, -1
    sl = s0
    while sl >= 0:
        row = slot_row[sl]
        if tile_active and row == tile_row:
            pass
        elif row == orow and not popen:
            if slot_w[sl]:
                if wr_s < 0:
                    wr_s = sl
            elif rd_s < 0:
                rd_s = sl
        elif want_other:
            if orow >= 0:
                if cl_s < 0:
                    cl_s = sl
            elif pb == 1 and open_row[bi, 1] == row:
                if gp_s < 0:
                    gp_s = sl
            elif act_s < 0:
                act_s = sl
        if only_first:
            break
        done = (rd_s >= 0 or n_rd == 0) and (wr_s >= 0 or n_wr == 0)
        if orow >= 0:
            done = done and (cl_s >= 0 or not want_other)
        else:
            done = done and act_s >= 0 and (gp_s >= 0 or pb == 0 or open_row[bi, 1] < 0)
        if done:
            break
        sl = slot_next[sl]
    n = 0
    for ci in range(5):
        sl, need = rd_s, RD
        if ci == 1:
            sl, need = wr_s, WR
        elif ci == 2:
            sl, need = cl_s, close_kind
        elif ci == 3:
            sl, need = act_s, ACT
        elif ci == 4:
            sl, need = gp_s, G_PRE
        if sl >= 0:
            cand_s[ci0, n], cand_k[ci0, n], cand_q[ci0, n] = sl, need, slot_req[sl]
            n += 1
    cand_n[ci0] = n


@njit(cache=True)
def _state_ok(kind, r, g, b, row, col, open_row, open_pim, pb, cfg):
    """Address ranges and row-buffer state rules of a raw command (the controller's own choices meet them)."""
    R, G, BPG = cfg[0], cfg[1], cfg[2]
    wide = kind == COMP or kind == READRES
    if (not wide and not 0 <= r < R) or (not wide and kind != REF and not 0 <= g < G):
        return False
    if (kind == ACT or kind == PRE or kind == RD or kind == WR or kind == GWRITE) and not 0 <= b < BPG:
        return False
    if (kind == ACT or kind == G_ACT) and not 0 <= row < cfg[12]:
        return False
    if ((kind == RD or kind == WR) and not 0 <= col < cfg[13]) or (kind == COMP and not 0 <= col < cfg[14]):
        return False
    gi = r * G + g
    if kind == ACT:
        bi = gi * BPG + b
        return open_row[bi, 0] < 0 and not (pb == 1 and open_row[bi, 1] == row)
    if kind == PRE:
        return open_row[gi * BPG + b, 0] >= 0
    if kind == RD or kind == WR or kind == GWRITE:
        return open_row[gi * BPG + b, 0] == row
    if kind == G_ACT:
        for k in range(BPG):
            bi = gi * BPG + k
            if open_row[bi, pb] >= 0 or (pb == 1 and open_row[bi, 0] == row):
                return False
        return True
    if kind == G_PRE:
        for k in range(BPG):
            if open_row[gi * BPG + k, pb] < 0:
                return False
        return True
    if kind == COMP or kind == READRES:
        r0 = open_row[0, pb]
        if r0 < 0:
            return False
        for bi in range(R * G * BPG):
            if open_row[bi, pb] != r0:
                return False
        return True
    if kind == REF:
        for bi in range(r * G * BPG, (r + 1) * G * BPG):
            if open_row[bi, 0] >= 0 or open_row[bi, 1] >= 0:
                return False
        return True
    return False


@njit(cache=True)
def _grow(tr, n):
    if n < tr.shape[0]:
        return tr
    out = np.empty((tr.shape[0] * 2, tr.shape[1]), dtype=np.int64)
    out[:n] = tr[:n]
    return out


@njit(cache=True)
def run_dram(cfg, policy, rules, rule_start, req_arrive, req_rank, req_bg, req_bank, req_row, req_col, req_write,
             req_start, pim_kind, pim_rank, pim_bg, pim_bank, pim_row, pim_arg, pim_est, pim_arrive, pim_start):
    """Simulate every channel. Requests and PIM entries are sorted by channel (``*_start`` holds each channel's
    first index, length channels + 1), requests by arrival within a channel.

    Returns (trace int64[n_cmds, 8] in TRACE_COLUMNS order, req_done[n] (cycle after the last data beat),
    req_class[n] (0 row hit, 1 row miss, 2 row conflict), pim_done[m] (cycle the entry completed: data end for
    READRES, global buffer ready for GWRITE), pim_status[m] (1: the entry broke the row-buffer protocol and was
    skipped), counters int64[channels, len(COUNTER_NAMES)], active int64[channels, ranks] (cycles with a row open)).
    """
    R, G, BPG, RB = cfg[0], cfg[1], cfg[2], cfg[3]
    CL, CWL, BURST, FILL, TREFI, GW = cfg[4], cfg[5], cfg[6], cfg[8], cfg[9], cfg[11]
    closed_page, fcfs, Q, CAP, refresh_on = policy[0] == 1, policy[1] == 1, policy[2], policy[3], policy[4] == 1
    POSTPONE = policy[5]
    single = RB == 1
    pb = 0
    if not single:
        pb = 1
    NB, NG = R * G * BPG, R * G
    C = req_start.shape[0] - 1
    n_req, n_pim = req_arrive.shape[0], pim_kind.shape[0]
    tr = np.empty((n_req + 2 * n_pim + 1024, 8), dtype=np.int64)  # grows by doubling
    nt = 0
    req_done = np.full(n_req, -1, dtype=np.int64)
    req_class = np.full(n_req, -1, dtype=np.int64)
    pim_done = np.full(n_pim, -1, dtype=np.int64)
    pim_status = np.zeros(n_pim, dtype=np.int64)
    counters = np.zeros((C, 16), dtype=np.int64)
    active = np.zeros((C, R), dtype=np.int64)
    gi_order = np.empty(NG, dtype=np.int64)
    for gg in range(G):
        for rr in range(R):
            gi_order[gg * R + rr] = rr * G + gg
    req_slot = np.zeros(n_req, dtype=np.int64)
    for c in range(C):
        T = np.full((NB + NG + R + 1, 10), _NEG, dtype=np.int64)
        faw = np.full((R, 4), _NEG, dtype=np.int64)
        faw_head = np.zeros(R, dtype=np.int64)
        open_row = np.full((NB, 2), -1, dtype=np.int64)
        slot_req = np.zeros(Q, dtype=np.int64)
        slot_bi = np.zeros(Q, dtype=np.int64)
        slot_row = np.zeros(Q, dtype=np.int64)
        slot_w = np.zeros(Q, dtype=np.bool_)
        slot_next = np.full(Q, -1, dtype=np.int64)
        slot_prev = np.full(Q, -1, dtype=np.int64)
        free = np.arange(Q - 1, -1, -1).astype(np.int64)
        n_free = Q
        bhead = np.full(NB, -1, dtype=np.int64)
        btail = np.full(NB, -1, dtype=np.int64)
        alist = np.zeros(NB, dtype=np.int64)
        apos = np.zeros(NB, dtype=np.int64)
        na = 0
        hitq_w = np.zeros(NB, dtype=np.int64)
        bn = np.zeros(NB, dtype=np.int64)
        dirty = np.ones(NB, dtype=np.bool_)
        cand_n = np.zeros(NB + 1, dtype=np.int64)
        cand_s = np.zeros((NB + 1, 5), dtype=np.int64)
        cand_k = np.zeros((NB + 1, 5), dtype=np.int64)
        cand_q = np.zeros((NB + 1, 5), dtype=np.int64)
        open_pim = np.zeros(NB, dtype=np.bool_)
        hitq = np.zeros(NB, dtype=np.int64)
        hits_since = np.zeros(NB, dtype=np.int64)
        pre_wanted = np.zeros(NB, dtype=np.bool_)
        open_count = np.zeros(R, dtype=np.int64)
        open_since = np.zeros(R, dtype=np.int64)
        due = np.empty(R, dtype=np.int64)
        pending = np.zeros(R, dtype=np.bool_)  # committed to refresh: requests to the rank wait
        debt = np.zeros(R, dtype=np.int64)  # refreshes owed
        rank_q = np.zeros(R, dtype=np.int64)  # queued requests per rank
        idle_since = np.zeros(R, dtype=np.int64)  # cycle the rank's last queued request was served (_BIG: busy)
        owed_since = np.zeros(R, dtype=np.int64)  # cycle its oldest owed refresh fell due
        for rr in range(R):
            due[rr] = (rr + 1) * TREFI // R
        nr_next, r_end = req_start[c], req_start[c + 1]
        fc_next = nr_next
        pptr, p_end = pim_start[c], pim_start[c + 1]
        qlen = 0
        tile_active = False
        tile_row, tile_left, comps_done, tile_col = -1, 0, 0, 0
        first_comp = _NEG
        t = 0
        end = 0
        while True:
            while nr_next < r_end and qlen < Q and req_arrive[nr_next] <= t:
                q = nr_next
                nr_next += 1
                qlen += 1
                n_free -= 1
                sl = free[n_free]
                bi = (req_rank[q] * G + req_bg[q]) * BPG + req_bank[q]
                slot_req[sl], slot_bi[sl], slot_row[sl], slot_w[sl] = q, bi, req_row[q], req_write[q] == 1
                req_slot[q] = sl
                slot_next[sl], slot_prev[sl] = -1, btail[bi]
                if btail[bi] >= 0:
                    slot_next[btail[bi]] = sl
                else:
                    bhead[bi] = sl
                    apos[bi] = na
                    alist[na] = bi
                    na += 1
                btail[bi] = sl
                dirty[bi] = True
                bn[bi] += 1
                rank_q[req_rank[q]] += 1
                idle_since[req_rank[q]] = _BIG
                if open_row[bi, 0] == req_row[q] and not open_pim[bi]:
                    hitq[bi] += 1
                    if req_write[q]:
                        hitq_w[bi] += 1
            work_done = nr_next == r_end and qlen == 0 and pptr == p_end
            owed = 0
            if refresh_on:
                for rr in range(R):
                    while t >= due[rr]:
                        if debt[rr] == 0:
                            owed_since[rr] = due[rr]
                        debt[rr] += 1
                        due[rr] += TREFI
                    if not pending[rr] and not tile_active and debt[rr] > 0 and (debt[rr] > POSTPONE or work_done or (
                            rank_q[rr] == 0 and (idle_since[rr] >= owed_since[rr] or t - idle_since[rr] >= TREFI))):
                        pending[rr] = True
                    owed += debt[rr]
            if work_done and owed == 0:  # a run ends with its requests, its PIM program and the refreshes owed done
                break
            nxt = _INF
            consumed = False
            kind, kr, kg, kb, krow, kcol, src, sq = -1, -1, -1, -1, -1, -1, -1, -1
            # 1. urgent refresh (a rank owing more than refresh_postpone refreshes)
            if refresh_on and not tile_active:
                kind, kr, kg, kb, e = _refresh_step(True, t, pending, debt, POSTPONE, open_row, open_pim, pb, T, cfg)
                nxt = min(nxt, e)
                src = 0
            # 2. the PIM program's head entry
            while kind < 0 and pptr < p_end:
                if pim_arrive[pptr] > t:
                    nxt = min(nxt, pim_arrive[pptr])
                    break
                k = pim_kind[pptr]
                if k == _P_HEADER:
                    ok = True
                    if refresh_on:
                        est = pim_est[pptr]
                        for rr in range(R):
                            over = 0
                            if t + est >= due[rr]:
                                over = (t + est - due[rr]) // TREFI + 1
                            if pending[rr] or (est < TREFI // R and debt[rr] + over > POSTPONE) or (
                                    est >= TREFI // R and debt[rr] > 0):
                                ok = False
                    if not ok:
                        break
                    tile_active, tile_row, tile_left, tile_col, comps_done = True, pim_row[pptr], pim_arg[pptr], 0, 0
                    for bi in range(NB):
                        dirty[bi] = True
                    pim_done[pptr] = t
                    pptr += 1
                    continue
                if k == _COMPS_READRES:
                    if not tile_active:
                        pim_status[pptr], pim_done[pptr] = 1, t
                        counters[c, 14] += 1
                        pptr += 1
                        consumed = True
                        break
                    step, gi, bk = _tile_step(gi_order, tile_row, open_row, open_pim, pb, cfg)
                    if step >= 0:
                        kind, kr, kg, kb, krow = step, gi // G, gi % G, bk, tile_row
                    elif comps_done < pim_arg[pptr]:
                        kind, krow, kcol = COMP, tile_row, tile_col
                    else:
                        kind, krow = READRES, tile_row
                elif k == _GWRITE_ROW:
                    kr, kg, kb, krow = pim_rank[pptr], pim_bg[pptr], pim_bank[pptr], pim_row[pptr]
                    bi = (kr * G + kg) * BPG + kb
                    if open_row[bi, 0] == krow:
                        kind = GWRITE
                    elif open_row[bi, 0] >= 0:
                        kind = _close_step(bi, open_row, open_pim, pb, cfg)
                    elif pb == 1 and open_row[bi, 1] == krow:
                        kind = G_PRE
                    else:
                        kind = ACT
                else:
                    kr, kg, kb, krow, kcol = pim_rank[pptr], pim_bg[pptr], pim_bank[pptr], pim_row[pptr], pim_arg[pptr]
                    if not _state_ok(k, kr, kg, kb, krow, kcol, open_row, open_pim, pb, cfg):
                        pim_status[pptr], pim_done[pptr] = 1, t
                        counters[c, 14] += 1
                        pptr += 1
                        kind = -1
                        consumed = True  # a malformed command still takes its command-bus cycle
                        break
                    kind = k
                e = _earliest(kind, kr, kg, kb, T, cfg)
                if kind == READRES and first_comp + FILL > e:
                    e = first_comp + FILL
                if e <= t:
                    src = 1
                else:
                    nxt = min(nxt, e)
                    kind = -1
                break
            if consumed:
                end = max(end, t + 1)
                t += 1
                continue
            # 3. DRAM requests: the oldest ready column command, else the oldest ready ACT / PRE (the same choice as
            #    scanning the whole queue in age order). Each bank's candidates (its oldest read hit, write hit and
            #    non-hit) are cached until the bank's state or queue changes.
            if kind < 0 and not (single and tile_active) and qlen > 0:
                bc_q, bc_s, bc_k, bo_q, bo_s, bo_k = _BIG, -1, -1, _BIG, -1, -1
                n_banks = na
                if fcfs:
                    n_banks = 1
                for ai in range(n_banks):
                    if fcfs:
                        sl = req_slot[fc_next]
                        bi = slot_bi[sl]
                        ci0 = NB
                        _bank_candidates(bi, ci0, sl, True, slot_req, slot_row, slot_w, slot_next, open_row,
                                         open_pim, hitq, hitq_w, bn, hits_since, tile_active, tile_row, pb, CAP,
                                         cand_n, cand_s, cand_k, cand_q, cfg)
                    else:
                        bi = alist[ai]
                        ci0 = bi
                    rr = bi // (G * BPG)
                    if pending[rr]:
                        continue
                    if not fcfs and dirty[bi]:
                        _bank_candidates(bi, bi, bhead[bi], False, slot_req, slot_row, slot_w, slot_next, open_row,
                                         open_pim, hitq, hitq_w, bn, hits_since, tile_active, tile_row, pb, CAP,
                                         cand_n, cand_s, cand_k, cand_q, cfg)
                        dirty[bi] = False
                    gg, bb = (bi // BPG) % G, bi % BPG
                    for ci in range(cand_n[ci0]):
                        need, q = cand_k[ci0, ci], cand_q[ci0, ci]
                        col = need == RD or need == WR
                        if col:
                            if bc_q < q:
                                continue
                        elif bc_q < _BIG or bo_q < q:
                            continue
                        e = _earliest(need, rr, gg, bb, T, cfg)
                        if e <= t:
                            if col:
                                bc_q, bc_s, bc_k = q, cand_s[ci0, ci], need
                            else:
                                bo_q, bo_s, bo_k = q, cand_s[ci0, ci], need
                        else:
                            nxt = min(nxt, e)
                pick, pk = bc_s, bc_k
                if pick < 0:
                    pick, pk = bo_s, bo_k
                if pick >= 0:
                    q = slot_req[pick]
                    kind, kr, kg, kb, krow, kcol, src, sq = pk, req_rank[q], req_bg[q], req_bank[q], req_row[q], \
                        req_col[q], 2, pick
            # 4. refresh of an idle rank that owes one (it waits for free command slots)
            if kind < 0 and refresh_on and not tile_active:
                kind, kr, kg, kb, e = _refresh_step(False, t, pending, debt, POSTPONE, open_row, open_pim, pb, T,
                                                    cfg)
                nxt = min(nxt, e)
                src = 0
            # 5. closed page: precharge a bank whose last queued hit was served
            if kind < 0 and closed_page:
                for bi in range(NB):
                    if pre_wanted[bi] and hitq[bi] == 0 and open_row[bi, 0] >= 0 and not open_pim[bi]:
                        rr = bi // (G * BPG)
                        if pending[rr]:
                            continue
                        e = _earliest(PRE, rr, (bi // BPG) % G, bi % BPG, T, cfg)
                        if e <= t:
                            kind, kr, kg, kb, src = PRE, rr, (bi // BPG) % G, bi % BPG, 3
                            break
                        nxt = min(nxt, e)
            if kind < 0:
                if nr_next < r_end and qlen < Q:
                    nxt = min(nxt, req_arrive[nr_next])
                if refresh_on:
                    for rr in range(R):
                        nxt = min(nxt, due[rr])
                        if debt[rr] > 0 and not pending[rr] and rank_q[rr] == 0:
                            nxt = min(nxt, idle_since[rr] + TREFI)
                if nxt >= _INF:
                    counters[c, 15] += 1  # nothing can ever issue again: stop this channel (never seen)
                    break
                t = max(t + 1, nxt)
                continue
            # ---- issue ---------------------------------------------------------------------------------------
            if nt == tr.shape[0]:
                tr = _grow(tr, nt)
            if kind == COMP or kind == READRES:
                kr, kg, kb = -1, -1, -1
            elif kind == G_ACT or kind == G_PRE:
                kb = -1
            elif kind == REF:
                kg, kb = -1, -1
            if kind != ACT and kind != G_ACT and kind != RD and kind != WR and kind != GWRITE and \
                    kind != COMP and kind != READRES:
                krow = -1
            if kind != RD and kind != WR and kind != COMP:
                kcol = -1
            tr[nt, 0], tr[nt, 1], tr[nt, 2], tr[nt, 3] = t, kind, c, kr
            tr[nt, 4], tr[nt, 5], tr[nt, 6], tr[nt, 7] = kg, kb, krow, kcol
            nt += 1
            counters[c, kind] += 1
            _apply_rules(kind, max(kr, 0), max(kg, 0), max(kb, 0), t, rules, rule_start, T, faw, faw_head, cfg)
            done_at = t + 1
            if kind == ACT or kind == PRE or kind == G_ACT or kind == G_PRE:
                for bi in range((kr * G + kg) * BPG, (kr * G + kg + 1) * BPG):
                    dirty[bi] = True
            if kind == ACT:
                bi = (kr * G + kg) * BPG + kb
                open_row[bi, 0] = krow
                open_pim[bi] = False
                hits_since[bi] = 0
                n_hit, n_hw = 0, 0
                sl = bhead[bi]
                while sl >= 0:
                    if slot_row[sl] == krow:
                        n_hit += 1
                        if slot_w[sl]:
                            n_hw += 1
                    sl = slot_next[sl]
                hitq[bi], hitq_w[bi] = n_hit, n_hw
                if open_count[kr] == 0:
                    open_since[kr] = t
                open_count[kr] += 1
            elif kind == G_ACT:
                gi = kr * G + kg
                for k in range(BPG):
                    open_row[gi * BPG + k, pb] = krow
                    if pb == 0:
                        open_pim[gi * BPG + k] = True
                        hitq[gi * BPG + k], hitq_w[gi * BPG + k] = 0, 0
                if open_count[kr] == 0:
                    open_since[kr] = t
                open_count[kr] += BPG
            elif kind == PRE or kind == G_PRE:
                gi = kr * G + kg
                lo, hi, buf = gi * BPG + kb, gi * BPG + kb + 1, 0
                if kind == G_PRE:
                    lo, hi, buf = gi * BPG, gi * BPG + BPG, pb
                for bi in range(lo, hi):
                    open_row[bi, buf] = -1
                    if buf == 0:
                        open_pim[bi] = False
                        hitq[bi], hitq_w[bi] = 0, 0
                        pre_wanted[bi] = False
                open_count[kr] -= hi - lo
                if open_count[kr] == 0:
                    active[c, kr] += t - open_since[kr]
            elif kind == REF:
                pending[kr] = False
                debt[kr] -= 1
                done_at = t + cfg[10]
            elif kind == COMP:
                if first_comp == _NEG:
                    first_comp = t
            elif kind == READRES:
                first_comp = _NEG
                done_at = t + CL + BURST
            elif kind == RD:
                done_at = t + CL + BURST
            elif kind == WR:
                done_at = t + CWL + BURST
            elif kind == GWRITE:
                done_at = t + GW
            if src == 2:
                q = slot_req[sq]
                if req_class[q] < 0:
                    if kind == RD or kind == WR:
                        req_class[q] = 0
                    elif kind == ACT:
                        req_class[q] = 1
                    else:
                        req_class[q] = 2
                    counters[c, 11 + req_class[q]] += 1
                if kind == RD or kind == WR:
                    bi = (kr * G + kg) * BPG + kb
                    req_done[q] = done_at
                    hitq[bi] -= 1
                    if kind == WR:
                        hitq_w[bi] -= 1
                    hits_since[bi] += 1
                    if closed_page:
                        pre_wanted[bi] = True
                    nx, pv = slot_next[sq], slot_prev[sq]
                    if pv >= 0:
                        slot_next[pv] = nx
                    else:
                        bhead[bi] = nx
                    if nx >= 0:
                        slot_prev[nx] = pv
                    else:
                        btail[bi] = pv
                    if bhead[bi] < 0:
                        na -= 1
                        moved = alist[na]
                        alist[apos[bi]] = moved
                        apos[moved] = apos[bi]
                    bn[bi] -= 1
                    dirty[bi] = True
                    rank_q[kr] -= 1
                    if rank_q[kr] == 0:
                        idle_since[kr] = t
                    free[n_free] = sq
                    n_free += 1
                    qlen -= 1
                    if q == fc_next:
                        fc_next += 1
            elif src == 1:
                k = pim_kind[pptr]
                if k == _COMPS_READRES:
                    if kind == COMP:
                        comps_done += 1
                        tile_col += 1
                    elif kind == READRES:
                        comps_done = 0
                        tile_left -= 1
                        if tile_left <= 0:
                            tile_active = False
                            for bi in range(NB):
                                dirty[bi] = True
                        pim_done[pptr] = done_at
                        pptr += 1
                elif k == _GWRITE_ROW:
                    if kind == GWRITE:
                        pim_done[pptr] = done_at
                        pptr += 1
                else:
                    pim_done[pptr] = done_at
                    pptr += 1
            if done_at > end:
                end = done_at
            t += 1
        for rr in range(R):
            if open_count[rr] > 0:
                active[c, rr] += max(end, t) - open_since[rr]
        counters[c, 10] = end
    return tr[:nt].copy(), req_done, req_class, pim_done, pim_status, counters, active

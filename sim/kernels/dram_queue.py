"""Request-queue side of the DRAM/PIM kernel: each bank's FR-FCFS candidate commands, the growing trace buffer.

The queue is a pool of ``queue_size`` slots; each bank keeps its requests as a doubly linked list of slots in
arrival order (``slot_next``); ``hitq[bank]`` / ``hitq_w`` count queued hits (writes) to its open row.

Each bank with queued requests keeps its candidates (its oldest read hit, write hit and the row command its oldest
other request needs) with the exact first cycle each is legal (``cand_e``; ``bank_e`` the bank's smallest). They
stay exact because timing entries change only when a command issues: then :func:`_refresh_after_issue` recomputes
the candidates of the banks whose state changed and the legal cycles the issued command's rules can raise (the
``reach`` table says which command kinds, by where the bank lies from the issued one), and returns the smallest
legal cycle of all, so the controller scans the banks only in a cycle where some candidate is legal.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..dram_commands import ACT, G_ACT, G_PRE, N_COMMANDS, PRE, RD, WR
from .dram_pim import _close_step
from .dram_rules import _INF, _earliest


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
def reach_table(rules):
    """reach[p, rel]: bit mask of the command kinds whose legal cycle in a bank an issued ``p`` can raise, by where
    that bank lies: rel 0 the same bank, 1 the same bank group, 2 the same rank, 3 another rank (rule scopes same
    bank, bank group, rank, other ranks, channel; the four-activate window). G_ACT and G_PRE involve every bank of
    a bank group, so their same-bank rules reach the whole bank group."""
    reach = np.zeros((N_COMMANDS, 4), dtype=np.int64)
    for i in range(rules.shape[0]):
        p, n, scope = rules[i, 0], rules[i, 1], rules[i, 2]
        g = p == G_ACT or p == G_PRE or n == G_ACT or n == G_PRE
        for rel in range(4):
            hit = scope == 4 or (scope == 3 and rel == 3) or (scope == 2 and rel <= 2) or (
                scope == 1 and rel <= 1) or (scope == 0 and (rel == 0 or (rel == 1 and g)))
            if hit:
                reach[p, rel] |= 1 << n
    for p in (ACT, G_ACT):
        for rel in range(3):
            reach[p, rel] |= (1 << ACT) | (1 << G_ACT)
    return reach


@njit(cache=True, inline="always")
def _refresh_bank(bi, queue, banks, cands, geometry, tile_active, tile_row, pb, CAP, T, cfg):
    """Recompute bank bi's candidates and their exact first legal cycles; returns the smallest (``_INF``: none)."""
    slot_req, slot_bi, slot_row, slot_w, slot_next, slot_prev, free = queue
    open_row, bhead, btail, alist, apos, hitq_w, bn, dirty, open_pim, hitq, hits_since, pre_wanted = banks
    cand_n, cand_s, cand_k, cand_q, cand_e, bank_e, bank_kinds = cands
    gi_order, bank_rk, bank_bg, bank_bk = geometry
    _bank_candidates(bi, bi, bhead[bi], False, slot_req, slot_row, slot_w, slot_next, open_row, open_pim, hitq,
                     hitq_w, bn, hits_since, tile_active, tile_row, pb, CAP, cand_n, cand_s, cand_k, cand_q, cfg)
    low, kinds = _INF, 0
    for ci in range(cand_n[bi]):
        e = _earliest(cand_k[bi, ci], bank_rk[bi], bank_bg[bi], bank_bk[bi], T, cfg)
        cand_e[bi, ci] = e
        low = min(low, e)
        kinds |= 1 << cand_k[bi, ci]
    bank_e[bi], bank_kinds[bi] = low, kinds
    dirty[bi] = False
    return low


@njit(cache=True, inline="always")
def _refresh_after_issue(kind, kr, kg, kb, na, reach, queue, banks, cands, geometry, tile_active, tile_row, pb,
                         CAP, T, cfg):
    """After command ``kind`` issued at (rank kr, bank group kg, bank kb) and its rules were applied: bring every
    queued bank's candidates and legal cycles up to date; returns the smallest legal cycle of any candidate."""
    open_row, bhead, btail, alist, apos, hitq_w, bn, dirty, open_pim, hitq, hits_since, pre_wanted = banks
    cand_n, cand_s, cand_k, cand_q, cand_e, bank_e, bank_kinds = cands
    gi_order, bank_rk, bank_bg, bank_bk = geometry
    G, BPG = cfg[1], cfg[2]
    xg = kr * G + kg
    xb = -1
    if kb >= 0:
        xb = xg * BPG + kb
    low = _INF
    for ai in range(na):
        bi = alist[ai]
        if dirty[bi]:
            low = min(low, _refresh_bank(bi, queue, banks, cands, geometry, tile_active, tile_row, pb, CAP, T, cfg))
            continue
        rel = 3
        if bi == xb:
            rel = 0
        elif bank_rk[bi] == kr:
            rel = 2
            if bank_bg[bi] == kg:
                rel = 1
        hit = reach[kind, rel] & bank_kinds[bi]
        if hit != 0:
            be = _INF
            for ci in range(cand_n[bi]):
                k = cand_k[bi, ci]
                e = cand_e[bi, ci]
                if (hit >> k) & 1:
                    e = _earliest(k, bank_rk[bi], bank_bg[bi], bank_bk[bi], T, cfg)
                    cand_e[bi, ci] = e
                be = min(be, e)
            bank_e[bi] = be
        low = min(low, bank_e[bi])
    return low


@njit(cache=True)
def _grow(trc, tr, n):
    """The trace buffers (cycles; the other columns, one row each) with twice the room, their first n commands
    copied."""
    outc = np.empty(trc.shape[0] * 2, dtype=np.int64)
    outc[:n] = trc[:n]
    out = np.empty((tr.shape[0], tr.shape[1] * 2), dtype=np.int32)
    for i in range(tr.shape[0]):
        out[i, :n] = tr[i, :n]
    return outc, out

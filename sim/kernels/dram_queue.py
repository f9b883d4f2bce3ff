"""Request-queue side of the DRAM/PIM kernel: each bank's FR-FCFS candidate commands, the growing trace buffer.

The queue is a pool of ``queue_size`` slots; each bank keeps its requests as a doubly linked list of slots in
arrival order (``slot_next``); ``hitq[bank]`` / ``hitq_w`` count queued hits (writes) to its open row.

Each bank with queued requests keeps its candidates (its oldest read hit, write hit and the row command its oldest
other request needs) with the exact first cycle each is legal (``cand_e``; ``bank_e`` the bank's smallest). They
stay exact because timing entries change only when a command issues: then :func:`_refresh_after_issue` recomputes
the candidates of the banks whose state changed and the legal cycles the issued command's rules can raise (the
``reach`` table says which: same bank, same bank group or anywhere), and returns the smallest legal cycle of all,
so the controller scans the banks only in a cycle where some candidate is legal.
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
    """reach[p, n]: which later ``n`` commands' legal cycles an issued ``p`` can raise: -1 none, 0 the same bank's,
    1 its bank group's, 2 any (rank, other-rank and channel scopes, the four-activate window). G_ACT and G_PRE
    involve every bank of a bank group, so their same-bank rules reach the bank group."""
    reach = np.full((N_COMMANDS, N_COMMANDS), -1, dtype=np.int64)
    for i in range(rules.shape[0]):
        p, n, r = rules[i, 0], rules[i, 1], min(rules[i, 2], 2)
        if r == 0 and (p == G_ACT or p == G_PRE or n == G_ACT or n == G_PRE):
            r = 1
        reach[p, n] = max(reach[p, n], r)
    for p in (ACT, G_ACT):
        for n in (ACT, G_ACT):
            reach[p, n] = 2
    return reach


@njit(cache=True, inline="always")
def _refresh_bank(bi, queue, banks, cands, geometry, tile_active, tile_row, pb, CAP, T, cfg):
    """Recompute bank bi's candidates and their exact first legal cycles; returns the smallest (``_INF``: none)."""
    slot_req, slot_bi, slot_row, slot_w, slot_next, slot_prev, free = queue
    open_row, bhead, btail, alist, apos, hitq_w, bn, dirty, open_pim, hitq, hits_since, pre_wanted = banks
    cand_n, cand_s, cand_k, cand_q, cand_e, bank_e = cands
    gi_order, bank_rk, bank_bg, bank_bk = geometry
    _bank_candidates(bi, bi, bhead[bi], False, slot_req, slot_row, slot_w, slot_next, open_row, open_pim, hitq,
                     hitq_w, bn, hits_since, tile_active, tile_row, pb, CAP, cand_n, cand_s, cand_k, cand_q, cfg)
    low = _INF
    for ci in range(cand_n[bi]):
        e = _earliest(cand_k[bi, ci], bank_rk[bi], bank_bg[bi], bank_bk[bi], T, cfg)
        cand_e[bi, ci] = e
        low = min(low, e)
    bank_e[bi] = low
    dirty[bi] = False
    return low


@njit(cache=True, inline="always")
def _refresh_after_issue(kind, kr, kg, kb, na, reach, queue, banks, cands, geometry, tile_active, tile_row, pb,
                         CAP, T, cfg):
    """After command ``kind`` issued at (rank kr, bank group kg, bank kb) and its rules were applied: bring every
    queued bank's candidates and legal cycles up to date; returns the smallest legal cycle of any candidate."""
    open_row, bhead, btail, alist, apos, hitq_w, bn, dirty, open_pim, hitq, hits_since, pre_wanted = banks
    cand_n, cand_s, cand_k, cand_q, cand_e, bank_e = cands
    gi_order, bank_rk, bank_bg, bank_bk = geometry
    G, BPG = cfg[1], cfg[2]
    xg = kr * G + kg
    xb = xg * BPG + kb
    low = _INF
    for ai in range(na):
        bi = alist[ai]
        if dirty[bi]:
            low = min(low, _refresh_bank(bi, queue, banks, cands, geometry, tile_active, tile_row, pb, CAP, T, cfg))
            continue
        be = _INF
        for ci in range(cand_n[bi]):
            k = cand_k[bi, ci]
            r = reach[kind, k]
            e = cand_e[bi, ci]
            if r == 2 or (r == 1 and bank_rk[bi] * G + bank_bg[bi] == xg) or (r == 0 and bi == xb):
                e = _earliest(k, bank_rk[bi], bank_bg[bi], bank_bk[bi], T, cfg)
                cand_e[bi, ci] = e
            be = min(be, e)
        bank_e[bi] = be
        low = min(low, be)
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

"""Request-queue side of the DRAM/PIM kernel: each bank's FR-FCFS candidate commands, the growing trace buffer.

The queue is a pool of ``queue_size`` slots; each bank keeps its requests as a doubly linked list of slots in
arrival order (``slot_next``); ``hitq[bank]`` / ``hitq_w`` count queued hits (writes) to its open row.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..dram_commands import ACT, G_PRE, PRE, RD, WR
from .dram_pim import _close_step


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
def _grow(trc, tr, n):
    """The trace buffers (cycles; the other columns, one row each) with twice the room, their first n commands
    copied."""
    outc = np.empty(trc.shape[0] * 2, dtype=np.int64)
    outc[:n] = trc[:n]
    out = np.empty((tr.shape[0], tr.shape[1] * 2), dtype=np.int32)
    for i in range(tr.shape[0]):
        out[i, :n] = tr[i, :n]
    return outc, out

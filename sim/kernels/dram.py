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

Modules: this one holds the controller loop (queue admission, refresh accounting, the priority choice, issue and
its state updates); dram_rules.py the timing table and its per-scope state, dram_pim.py the row-buffer state steps
and the PIM tile's macro issue, dram_refresh.py the refresh steps, dram_queue.py each bank's FR-FCFS candidates.
Numba's on-disk cache keys a function on its own source file only; the Makefile names its cache folder by a hash of
every kernel source, so editing a helper module recompiles run_dram under make (elsewhere, clear the cache).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..dram_commands import ACT, COMP, G_ACT, G_PRE, GWRITE, PRE, RD, READRES, REF, WR
from .dram_pim import _close_step, _state_ok, _tile_step
from .dram_queue import _bank_candidates, _grow, _refresh_after_issue, _refresh_bank, reach_table
from .dram_refresh import _refresh_step
from .dram_rules import _BIG, _INF, _NEG, CFG_NAMES, SCOPES, _apply_rules, _earliest, pack_config, timing_rules

__all__ = ["CFG_NAMES", "POLICY_NAMES", "COUNTER_NAMES", "SCOPES", "pack_config", "timing_rules", "run_dram"]

POLICY_NAMES = ("closed_page", "fcfs", "queue_size", "row_hit_cap", "refresh", "refresh_postpone")
COUNTER_NAMES = ("ACT", "PRE", "RD", "WR", "REF", "G_ACT", "G_PRE", "COMP", "READRES", "GWRITE", "cycles",
                 "row_hits", "row_misses", "row_conflicts", "pim_errors", "stalled")
_P_HEADER, _COMPS_READRES, _GWRITE_ROW = 10, 11, 12


@njit(cache=True)
def run_dram(cfg, policy, rules, rule_start, req_arrive, req_rank, req_bg, req_bank, req_row, req_col, req_write,
             req_start, pim_kind, pim_rank, pim_bg, pim_bank, pim_row, pim_arg, pim_est, pim_arrive, pim_start,
             record=True):
    """Simulate every channel. Requests and PIM entries are sorted by channel (``*_start`` holds each channel's
    first index, length channels + 1), requests by arrival within a channel.

    Returns (cycles int64[n_cmds] and the other TRACE_COLUMNS int32[7, n_cmds], one row per column (both empty
    unless ``record``: the counters then still count every command), req_done[n] (cycle after the last data
    beat), req_class[n] (0 row hit, 1 row miss, 2 row conflict), pim_done[m] (cycle the entry completed: data end
    for READRES, global buffer ready for GWRITE), pim_status[m] (1: the entry broke the row-buffer protocol and was
    skipped), counters int64[channels, len(COUNTER_NAMES)], active int64[channels, ranks] (cycles with a row open)).

    This function allocates; the controller loop (:func:`_run_channel`) runs without reference counting and
    returns here whenever the trace buffer is full, to resume once it has grown.
    """
    R, G, BPG, TREFI, Q = cfg[0], cfg[1], cfg[2], cfg[9], policy[2]
    NB, NG = R * G * BPG, R * G
    C = req_start.shape[0] - 1
    n_req, n_pim = req_arrive.shape[0], pim_kind.shape[0]
    # room for a PRE, an ACT and a column command per request (np.empty: pages never written are never touched);
    # the issue cycle needs int64 (arrivals are int64), the other columns fit int32 (36 bytes per command, not 64)
    room = 1024
    if record:
        room += 3 * n_req + 4 * n_pim
    trc, tr = np.empty(room, dtype=np.int64), np.empty((7, room), dtype=np.int32)
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
    bank_rk, bank_bg, bank_bk = np.empty(NB, dtype=np.int64), np.empty(NB, dtype=np.int64), np.empty(NB, np.int64)
    for bi in range(NB):  # rank, bank group and bank of each bank index, so the scan divides nothing
        bank_rk[bi], bank_bg[bi], bank_bk[bi] = bi // (G * BPG), (bi // BPG) % G, bi % BPG
    req_slot = np.zeros(n_req, dtype=np.int64)
    reach = reach_table(rules)
    st = np.zeros(16, dtype=np.int64)
    inputs = (cfg, policy, rules, rule_start, req_arrive, req_rank, req_bg, req_bank, req_row, req_col, req_write,
              req_start, pim_kind, pim_rank, pim_bg, pim_bank, pim_row, pim_arg, pim_est, pim_arrive, pim_start)
    outputs = (req_done, req_class, pim_done, pim_status, counters, active, req_slot)
    geometry = (gi_order, bank_rk, bank_bg, bank_bk)
    for c in range(C):
        timing = (np.full((NB + NG + R + 1, 10), _NEG, dtype=np.int64), np.full((R, 4), _NEG, dtype=np.int64),
                  np.zeros(R, dtype=np.int64), reach)
        queue = (np.zeros(Q, dtype=np.int64), np.zeros(Q, dtype=np.int64), np.zeros(Q, dtype=np.int64),
                 np.zeros(Q, dtype=np.bool_), np.full(Q, -1, dtype=np.int64), np.full(Q, -1, dtype=np.int64),
                 np.arange(Q - 1, -1, -1).astype(np.int64))
        banks = (np.full((NB, 2), -1, dtype=np.int64), np.full(NB, -1, dtype=np.int64),
                 np.full(NB, -1, dtype=np.int64), np.zeros(NB, dtype=np.int64), np.zeros(NB, dtype=np.int64),
                 np.zeros(NB, dtype=np.int64), np.zeros(NB, dtype=np.int64), np.ones(NB, dtype=np.bool_),
                 np.zeros(NB, dtype=np.bool_), np.zeros(NB, dtype=np.int64), np.zeros(NB, dtype=np.int64),
                 np.zeros(NB, dtype=np.bool_))
        cands = (np.zeros(NB + 1, dtype=np.int64), np.zeros((NB + 1, 5), dtype=np.int64),
                 np.zeros((NB + 1, 5), dtype=np.int64), np.zeros((NB + 1, 5), dtype=np.int64),
                 np.zeros((NB + 1, 5), dtype=np.int64), np.zeros(NB + 1, dtype=np.int64), np.zeros(NB, dtype=np.int64))
        due = np.empty(R, dtype=np.int64)
        for rr in range(R):
            due[rr] = (rr + 1) * TREFI // R
        ranks = (np.zeros(R, dtype=np.int64), np.zeros(R, dtype=np.int64), due, np.zeros(R, dtype=np.bool_),
                 np.zeros(R, dtype=np.int64), np.zeros(R, dtype=np.int64), np.zeros(R, dtype=np.int64),
                 np.zeros(R, dtype=np.int64))
        st[:] = 0
        st[2], st[3], st[4], st[7], st[9], st[13], st[14] = req_start[c], req_start[c], pim_start[c], Q, -1, _NEG, _NEG
        while True:
            nt = _run_channel(c, st, nt, record, trc, tr, inputs, outputs, geometry, timing, queue, banks, cands,
                              ranks)
            if st[15] == 1:
                break
            trc, tr = _grow(trc, tr, nt)
    return trc[:nt], tr[:, :nt], req_done, req_class, pim_done, pim_status, counters, active


# Reference counting off (numba's ``_nrt=False``): every array here is borrowed from run_dram, and each inlined
# helper call would otherwise increment and decrement the count of each array it takes (atomic operations that
# took about a third of the time per command). A function compiled this way cannot allocate. error_model="numpy":
# its integer divisions skip the division-by-zero test (every divisor is a positive count or tREFI).
@njit(cache=True, _nrt=False, error_model="numpy")
def _run_channel(c, st, nt, record, trc, tr, inputs, outputs, geometry, timing, queue, banks, cands, ranks):
    """The controller loop of channel c, from the scalars in ``st`` and the arrays; returns the trace length, with
    st[15] = 1 once the channel is done (0: the trace buffer is full; the scalars are saved in ``st``). Issued
    commands go to ``trc`` (cycle) and ``tr`` (the other columns) only if ``record``."""
    cfg, policy, rules, rule_start, req_arrive, req_rank, req_bg, req_bank, req_row, req_col, req_write, \
        req_start, pim_kind, pim_rank, pim_bg, pim_bank, pim_row, pim_arg, pim_est, pim_arrive, pim_start = inputs
    req_done, req_class, pim_done, pim_status, counters, active, req_slot = outputs
    gi_order, bank_rk, bank_bg, bank_bk = geometry
    T, faw, faw_head, reach = timing
    slot_req, slot_bi, slot_row, slot_w, slot_next, slot_prev, free = queue
    open_row, bhead, btail, alist, apos, hitq_w, bn, dirty, open_pim, hitq, hits_since, pre_wanted = banks
    cand_n, cand_s, cand_k, cand_q, cand_e, bank_e, bank_kinds = cands
    open_count, open_since, due, pending, debt, rank_q, idle_since, owed_since = ranks
    R, G, BPG, RB = cfg[0], cfg[1], cfg[2], cfg[3]
    CL, CWL, BURST, FILL, TREFI, GW = cfg[4], cfg[5], cfg[6], cfg[8], cfg[9], cfg[11]
    closed_page, fcfs, Q, CAP, refresh_on = policy[0] == 1, policy[1] == 1, policy[2], policy[3], policy[4] == 1
    POSTPONE = policy[5]
    single = RB == 1
    pb = 0
    if not single:
        pb = 1
    NB = R * G * BPG
    r_end, p_end = req_start[c + 1], pim_start[c + 1]
    t, end, nr_next, fc_next, pptr, qlen, na = st[0], st[1], st[2], st[3], st[4], st[5], st[6]
    n_free, tile_active, tile_row, tile_left, comps_done, tile_col = st[7], st[8] == 1, st[9], st[10], st[11], st[12]
    first_comp, req_lb = st[13], st[14]  # req_lb: no queued request's command is legal before this cycle
    has_pim = p_end > pim_start[c]
    owed, next_due = 1, _NEG  # refreshes owed and the next due cycle, as of the last refresh accounting
    tile_open = False  # every bank's PIM buffer holds the tile row (no row command issued since that was found)
    while True:
        if nt == tr.shape[1]:  # the trace buffer is full: save the scalars, the caller grows it and resumes
            st[0], st[1], st[2], st[3], st[4], st[5], st[6] = t, end, nr_next, fc_next, pptr, qlen, na
            st[7], st[8], st[9], st[10], st[11], st[12] = n_free, tile_active, tile_row, tile_left, comps_done, tile_col
            st[13], st[14], st[15] = first_comp, req_lb, 0
            return nt
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
            if not fcfs:
                req_lb = min(req_lb, _refresh_bank(bi, queue, banks, cands, geometry, tile_active, tile_row, pb,
                                                   CAP, T, cfg))
        work_done = nr_next == r_end and qlen == 0 and pptr == p_end
        if refresh_on and (owed > 0 or t >= next_due):  # owing nothing, nothing changes before the next due
            owed, next_due = 0, _INF
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
                next_due = min(next_due, due[rr])
        # a run ends with its requests, its PIM program and the refreshes owed done
        if work_done and (owed == 0 or not refresh_on):
            break
        nxt = _INF
        consumed = False
        kind, kr, kg, kb, krow, kcol, src, sq = -1, -1, -1, -1, -1, -1, -1, -1
        # 1. urgent refresh (a rank owing more than refresh_postpone refreshes)
        if refresh_on and not tile_active and owed > 0:
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
                tile_open = False
                for bi in range(NB):
                    dirty[bi] = True
                req_lb = _NEG
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
                step, gi, bk = -1, -1, -1
                if not tile_open:
                    step, gi, bk = _tile_step(gi_order, tile_row, open_row, open_pim, pb, cfg)
                    tile_open = step < 0
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
        # 3. DRAM requests: the oldest legal column command, else the oldest legal ACT / PRE (the same choice as
        #    scanning the whole queue in age order). Each bank's candidates (its oldest read hit, write hit and
        #    non-hit) carry their exact first legal cycle (dram_queue.py keeps them so), and ``req_lb`` the
        #    smallest of them: before that cycle no bank needs a look. FCFS looks at the oldest request only.
        if kind < 0 and not (single and tile_active) and qlen > 0:
            bc_q, bc_s, bc_k, bo_q, bo_s, bo_k = _BIG, -1, -1, _BIG, -1, -1
            if fcfs:
                sl = req_slot[fc_next]
                bi = slot_bi[sl]
                rr = bank_rk[bi]
                if not pending[rr]:
                    _bank_candidates(bi, NB, sl, True, slot_req, slot_row, slot_w, slot_next, open_row, open_pim,
                                     hitq, hitq_w, bn, hits_since, tile_active, tile_row, pb, CAP, cand_n, cand_s,
                                     cand_k, cand_q, cfg)
                    for ci in range(cand_n[NB]):
                        need = cand_k[NB, ci]
                        e = _earliest(need, rr, bank_bg[bi], bank_bk[bi], T, cfg)
                        if e > t:
                            nxt = min(nxt, e)
                        elif need == RD or need == WR:
                            bc_s, bc_k = cand_s[NB, ci], need
                        else:
                            bo_s, bo_k = cand_s[NB, ci], need
            elif req_lb > t:
                nxt = min(nxt, req_lb)
            else:
                low = _INF
                for ai in range(na):
                    bi = alist[ai]
                    if dirty[bi]:
                        _refresh_bank(bi, queue, banks, cands, geometry, tile_active, tile_row, pb, CAP, T, cfg)
                    if pending[bank_rk[bi]]:
                        continue
                    be = bank_e[bi]
                    low = min(low, be)
                    if be > t:
                        nxt = min(nxt, be)
                        continue
                    for ci in range(cand_n[bi]):
                        e, need, q = cand_e[bi, ci], cand_k[bi, ci], cand_q[bi, ci]
                        if e > t:
                            nxt = min(nxt, e)
                        elif need == RD or need == WR:
                            if q < bc_q:
                                bc_q, bc_s, bc_k = q, cand_s[bi, ci], need
                        elif q < bo_q:
                            bo_q, bo_s, bo_k = q, cand_s[bi, ci], need
                req_lb = low
            pick, pk = bc_s, bc_k
            if pick < 0:
                pick, pk = bo_s, bo_k
            if pick >= 0:
                q = slot_req[pick]
                kind, kr, kg, kb, krow, kcol, src, sq = pk, req_rank[q], req_bg[q], req_bank[q], req_row[q], \
                    req_col[q], 2, pick
        # 4. refresh of an idle rank that owes one (it waits for free command slots)
        if kind < 0 and refresh_on and not tile_active and owed > 0:
            kind, kr, kg, kb, e = _refresh_step(False, t, pending, debt, POSTPONE, open_row, open_pim, pb, T,
                                                cfg)
            nxt = min(nxt, e)
            src = 0
        # 5. closed page: precharge a bank whose last queued hit was served
        if kind < 0 and closed_page:
            for bi in range(NB):
                if pre_wanted[bi] and hitq[bi] == 0 and open_row[bi, 0] >= 0 and not open_pim[bi]:
                    rr = bank_rk[bi]
                    if pending[rr]:
                        continue
                    e = _earliest(PRE, rr, bank_bg[bi], bank_bk[bi], T, cfg)
                    if e <= t:
                        kind, kr, kg, kb, src = PRE, rr, bank_bg[bi], bank_bk[bi], 3
                        break
                    nxt = min(nxt, e)
        if kind < 0:
            if nr_next < r_end and qlen < Q:
                nxt = min(nxt, req_arrive[nr_next])
            if refresh_on and owed == 0:
                nxt = min(nxt, next_due)
            elif refresh_on:
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
        if record:
            trc[nt], tr[0, nt], tr[1, nt], tr[2, nt] = t, kind, c, kr
            tr[3, nt], tr[4, nt], tr[5, nt], tr[6, nt] = kg, kb, krow, kcol
            nt += 1
        counters[c, kind] += 1
        _apply_rules(kind, max(kr, 0), max(kg, 0), max(kb, 0), t, rules, rule_start, T, faw, faw_head, cfg)
        done_at = t + 1
        if kind == G_ACT or kind == G_PRE or ((kind == ACT or kind == PRE) and has_pim and single):
            for bi in range((kr * G + kg) * BPG, (kr * G + kg + 1) * BPG):  # a PIM-open bank group closes by G_PRE
                dirty[bi] = True
        elif kind == ACT or kind == PRE:
            dirty[(kr * G + kg) * BPG + kb] = True
        if kind == ACT or kind == PRE or kind == G_ACT or kind == G_PRE:
            tile_open = False
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
        if not fcfs:
            req_lb = _refresh_after_issue(kind, kr, kg, kb, na, reach, queue, banks, cands, geometry, tile_active,
                                          tile_row, pb, CAP, T, cfg)
        if done_at > end:
            end = done_at
        t += 1
    for rr in range(R):
        if open_count[rr] > 0:
            active[c, rr] += max(end, t) - open_since[rr]
    counters[c, 10] = end
    st[15] = 1
    return nt

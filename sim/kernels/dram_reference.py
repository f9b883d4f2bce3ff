"""Plain-Python reference of sim.kernels.dram.run_dram: the same controller, written for clarity, not speed.

It steps cycle by cycle (jumping only across stretches where no request, PIM entry or refresh is pending), scans
the whole request queue in age order at every cycle, and asks the independent rule set of sim/dram_check.py
(``ChannelChecker.earliest``) whether a command is legal; the kernel keeps per-bank request lists, per-scope
timing tables and skips to the next event. Both must issue the identical command trace.
"""

from __future__ import annotations

import numpy as np

from ..dram_check import ChannelChecker
from ..dram_commands import ACT, COMP, G_ACT, G_PRE, GWRITE, PRE, RD, READRES, REF, WR
from .dram import COUNTER_NAMES

__all__ = ["run_dram"]

_P_HEADER, _COMPS_READRES, _GWRITE_ROW = 10, 11, 12


class _Channel:
    """Row-buffer state of one channel and the controller's bookkeeping."""

    def __init__(self, spec, row_buffers, policy):
        self.s, self.policy = spec, policy
        self.R, self.G, self.BPG = spec.ranks, spec.bankgroups, spec.banks_per_group
        self.NB = self.R * self.G * self.BPG
        self.single = row_buffers == 1
        self.pb = 0 if self.single else 1
        self.rules = ChannelChecker(spec, row_buffers=row_buffers)
        self.open_row = [[-1, -1] for _ in range(self.NB)]
        self.open_pim = [False] * self.NB
        self.hits_since = [0] * self.NB
        self.pre_wanted = [False] * self.NB
        self.due = [(r + 1) * spec.trefi // self.R for r in range(self.R)]
        self.debt = [0] * self.R
        self.owed_since = [0] * self.R      # cycle the oldest owed refresh fell due
        self.idle_since = [0] * self.R      # cycle the rank's last queued request was served (None: busy)
        self.pending = [False] * self.R
        self.open_count = [0] * self.R
        self.open_since = [0] * self.R
        self.active = [0] * self.R
        self.tile_active, self.tile_row, self.tile_left, self.comps_done, self.tile_col = False, -1, 0, 0, 0

    def bank(self, r, g, b):
        return (r * self.G + g) * self.BPG + b

    def legal(self, kind, r, g, b, t):
        return self.rules.earliest(kind, r, g, b) <= t

    def bg_all_pim(self, gi, row):
        """Every bank of bank group gi has ``row`` (any if < 0) open in its PIM buffer by a G_ACT."""
        banks = range(gi * self.BPG, (gi + 1) * self.BPG)
        rows = {self.open_row[k][self.pb] for k in banks}
        if len(rows) != 1 or -1 in rows or (row >= 0 and rows != {row}):
            return False
        return self.pb == 1 or all(self.open_pim[k] for k in banks)

    def close_kind(self, bi):
        if self.single and self.open_pim[bi] and self.bg_all_pim(bi // self.BPG, -1):
            return G_PRE
        return PRE

    def tile_step(self):
        """Next command bringing every PIM buffer to the tile row: (kind, gi, bank) or None."""
        order = [r * self.G + g for g in range(self.G) for r in range(self.R)]
        for gi in order:
            if self.bg_all_pim(gi, self.tile_row):
                continue
            banks = range(gi * self.BPG, (gi + 1) * self.BPG)
            if self.single:
                if any(self.open_row[k][0] >= 0 for k in banks):
                    if self.bg_all_pim(gi, -1):
                        return G_PRE, gi, -1
                    return PRE, gi, next(k for k in banks if self.open_row[k][0] >= 0) - gi * self.BPG
            else:
                if self.open_row[gi * self.BPG][1] >= 0:
                    return G_PRE, gi, -1
                for k in banks:
                    if self.open_row[k][0] == self.tile_row:
                        return PRE, gi, k - gi * self.BPG
        for gi in order:
            if self.open_row[gi * self.BPG][self.pb] < 0:
                return G_ACT, gi, -1
        return None

    def state_ok(self, kind, r, g, b, row, col):
        return self.rules.state_problem(kind, r, g, b, row, col) is None


def run_dram(spec, row_buffers, policy, req_arrive, req_rank, req_bg, req_bank, req_row, req_col, req_write,
             req_start, pim_kind, pim_rank, pim_bg, pim_bank, pim_row, pim_arg, pim_est, pim_arrive, pim_start):
    """Reference of sim.kernels.dram.run_dram (same outputs); ``policy`` is a sim.dram.DramPolicy."""
    n_req, n_pim, C = len(req_arrive), len(pim_kind), len(req_start) - 1
    trace, counters = [], np.zeros((C, len(COUNTER_NAMES)), dtype=np.int64)
    req_done = np.full(n_req, -1, dtype=np.int64)
    req_class = np.full(n_req, -1, dtype=np.int64)
    pim_done = np.full(n_pim, -1, dtype=np.int64)
    pim_status = np.zeros(n_pim, dtype=np.int64)
    active = np.zeros((C, spec.ranks), dtype=np.int64)
    reqs = (req_arrive, req_rank, req_bg, req_bank, req_row, req_col, req_write)
    pims = (pim_kind, pim_rank, pim_bg, pim_bank, pim_row, pim_arg, pim_est, pim_arrive)
    for c in range(C):
        ch = _Channel(spec, row_buffers, policy)
        out = _run_channel(ch, c, reqs, int(req_start[c]), int(req_start[c + 1]), pims, int(pim_start[c]),
                           int(pim_start[c + 1]), trace, counters[c], req_done, req_class, pim_done, pim_status)
        end, t = out
        for r in range(spec.ranks):
            if ch.open_count[r] > 0:
                ch.active[r] += max(end, t) - ch.open_since[r]
        active[c] = ch.active
        counters[c, 10] = end
    tr = np.array(trace, dtype=np.int64).reshape(len(trace), 8).T
    return tr, req_done, req_class, pim_done, pim_status, counters, active


def _run_channel(ch, c, reqs, r_next, r_end, pims, p_ptr, p_end, trace, cnt, req_done, req_class, pim_done,
                 pim_status):
    s, pol = ch.s, ch.policy
    arrive, rank, bg, bank, row_of, col_of, write = reqs
    kind_of, p_rank, p_bg, p_bank, p_row, p_arg, p_est, p_arrive = pims
    queue: list[int] = []
    t = end = last_issue = 0
    stall_limit = 4 * (s.trefi + s.trfc + s.gwrite_cycles + s.trc + 1000)
    refresh, postpone = pol.refresh, pol.refresh_postpone
    while True:
        while r_next < r_end and len(queue) < pol.queue_size and arrive[r_next] <= t:
            queue.append(r_next)
            ch.idle_since[int(rank[r_next])] = None
            r_next += 1
        work_done = r_next == r_end and not queue and p_ptr == p_end
        if refresh:
            for r in range(ch.R):
                while t >= ch.due[r]:
                    if ch.debt[r] == 0:
                        ch.owed_since[r] = ch.due[r]
                    ch.debt[r] += 1
                    ch.due[r] += s.trefi
                idle = ch.idle_since[r] is not None
                # an idle rank refreshes if it went idle after the refresh fell due, or has been idle a whole tREFI
                fresh = idle and (ch.idle_since[r] >= ch.owed_since[r] or t - ch.idle_since[r] >= s.trefi)
                urgent_or_idle = ch.debt[r] > postpone or fresh or work_done
                if not ch.pending[r] and not ch.tile_active and ch.debt[r] > 0 and urgent_or_idle:
                    ch.pending[r] = True
        if work_done and not (refresh and any(ch.debt)):  # done: requests, PIM program and refreshes owed
            return end, t
        choice = _refresh_choice(ch, t, True) if refresh and not ch.tile_active else None
        if choice is None and p_ptr < p_end:
            choice, p_ptr = _pim_choice(ch, t, p_ptr, p_end, pims, pim_done, pim_status, cnt)
        if choice is None and not (ch.single and ch.tile_active):
            choice = _request_choice(ch, t, queue, reqs)
        if choice is None and refresh and not ch.tile_active:
            choice = _refresh_choice(ch, t, False)
        if choice is None and pol.page == "closed":
            choice = _closed_page_choice(ch, t, queue, reqs)
        if choice is None:
            t = _next_cycle(ch, t, queue, r_next, r_end, arrive, p_ptr, p_end, p_arrive)
            if t - max(last_issue, int(arrive[r_next - 1]) if r_next > 0 else 0) > stall_limit:
                raise RuntimeError(f"reference controller stalled at cycle {t} (channel {c})")
            continue
        last_issue = t
        if choice[0] == "error":
            end = max(end, t + 1)
            t += 1
            continue
        done_at, p_ptr = _issue(ch, c, t, choice, queue, reqs, pims, p_ptr, trace, cnt, req_done, req_class,
                                pim_done)
        end = max(end, done_at)
        t += 1


def _next_cycle(ch, t, queue, r_next, r_end, arrive, p_ptr, p_end, p_arrive):
    """t + 1, or a jump across cycles where nothing can happen (no queued work, no refresh owed)."""
    if queue or any(ch.pending) or any(ch.pre_wanted[k] and ch.open_row[k][0] >= 0 for k in range(ch.NB)):
        return t + 1
    if p_ptr < p_end and p_arrive[p_ptr] <= t:
        return t + 1
    events = [ch.due[r] for r in range(ch.R)] if ch.policy.refresh else []
    if ch.policy.refresh:
        events += [ch.idle_since[r] + ch.s.trefi for r in range(ch.R) if ch.debt[r] > 0 and not ch.pending[r]
                   and ch.idle_since[r] is not None]
    if r_next < r_end:
        events.append(int(arrive[r_next]))
    if p_ptr < p_end:
        events.append(int(p_arrive[p_ptr]))
    return max(t + 1, min(events)) if events else t + 1


def _refresh_choice(ch, t, urgent):
    """Refresh work of a committed rank owing more than refresh_postpone (urgent) or not (done in idle slots)."""
    for r in range(ch.R):
        if not ch.pending[r] or (ch.debt[r] > ch.policy.refresh_postpone) != urgent:
            continue
        any_open = False
        for g in range(ch.G):
            gi = r * ch.G + g
            whole = ch.open_row[gi * ch.BPG][1] >= 0 if ch.pb == 1 else ch.bg_all_pim(gi, -1)
            if whole:
                any_open = True
                if ch.legal(G_PRE, r, g, -1, t):
                    return ("refresh", G_PRE, r, g, -1, -1, -1)
                if ch.pb == 0:
                    continue
            for b in range(ch.BPG):
                if ch.open_row[ch.bank(r, g, b)][0] >= 0:
                    any_open = True
                    if ch.legal(PRE, r, g, b, t):
                        return ("refresh", PRE, r, g, b, -1, -1)
        if not any_open and ch.legal(REF, r, -1, -1, t):
            return ("refresh", REF, r, -1, -1, -1, -1)
    return None


def _header_ok(ch, t, est):
    if not ch.policy.refresh:
        return True
    for r in range(ch.R):
        over = (t + est - ch.due[r]) // ch.s.trefi + 1 if t + est >= ch.due[r] else 0
        if ch.pending[r]:
            return False
        if est < ch.s.trefi // ch.R and ch.debt[r] + over > ch.policy.refresh_postpone:
            return False
        if est >= ch.s.trefi // ch.R and ch.debt[r] > 0:
            return False
    return True


def _pim_choice(ch, t, p_ptr, p_end, pims, pim_done, pim_status, cnt):
    kind_of, p_rank, p_bg, p_bank, p_row, p_arg, p_est, p_arrive = pims
    while p_ptr < p_end and p_arrive[p_ptr] <= t:
        k = int(kind_of[p_ptr])
        if k == _P_HEADER:
            if not _header_ok(ch, t, int(p_est[p_ptr])):
                return None, p_ptr
            ch.tile_active, ch.tile_row, ch.tile_left = True, int(p_row[p_ptr]), int(p_arg[p_ptr])
            ch.tile_col = ch.comps_done = 0
            pim_done[p_ptr] = t
            p_ptr += 1
            continue
        if k == _COMPS_READRES:
            if not ch.tile_active:  # a malformed entry still takes its command-bus cycle
                pim_status[p_ptr], pim_done[p_ptr] = 1, t
                cnt[14] += 1
                return ("error",), p_ptr + 1
            step = ch.tile_step()
            if step is not None:
                kind, gi, b = step
                cmd = (kind, gi // ch.G, gi % ch.G, b, ch.tile_row, -1)
            elif ch.comps_done < p_arg[p_ptr]:
                cmd = (COMP, -1, -1, -1, ch.tile_row, ch.tile_col)
            else:
                cmd = (READRES, -1, -1, -1, ch.tile_row, -1)
        elif k == _GWRITE_ROW:
            r, g, b, row = int(p_rank[p_ptr]), int(p_bg[p_ptr]), int(p_bank[p_ptr]), int(p_row[p_ptr])
            bi = ch.bank(r, g, b)
            if ch.open_row[bi][0] == row:
                kind = GWRITE
            elif ch.open_row[bi][0] >= 0:
                kind = ch.close_kind(bi)
            elif ch.pb == 1 and ch.open_row[bi][1] == row:
                kind = G_PRE
            else:
                kind = ACT
            cmd = (kind, r, g, b, row, -1)
        else:
            cmd = (k, int(p_rank[p_ptr]), int(p_bg[p_ptr]), int(p_bank[p_ptr]), int(p_row[p_ptr]), int(p_arg[p_ptr]))
            if not ch.state_ok(k, cmd[1], cmd[2], cmd[3], cmd[4], cmd[5]):
                pim_status[p_ptr], pim_done[p_ptr] = 1, t
                cnt[14] += 1
                return ("error",), p_ptr + 1
        if ch.legal(cmd[0], cmd[1], cmd[2], cmd[3], t):
            return ("pim", *cmd), p_ptr
        return None, p_ptr
    return None, p_ptr


def _request_need(ch, q, reqs, queue):
    """The command request q needs next and whether it is a column access; None if it must wait."""
    arrive, rank, bg, bank, row_of, col_of, write = reqs
    r, g, b, row = int(rank[q]), int(bg[q]), int(bank[q]), int(row_of[q])
    if ch.pending[r] or (ch.tile_active and row == ch.tile_row):
        return None
    bi = ch.bank(r, g, b)
    orow = ch.open_row[bi][0]
    if orow == row and not ch.open_pim[bi]:
        return (WR if write[q] else RD), True
    if orow >= 0:
        if ch.open_pim[bi]:
            return ch.close_kind(bi), False
        if ch.policy.scheduler == "fcfs":  # the oldest request goes first: nothing to defer a PRE for
            return PRE, False
        hits = sum(1 for o in queue if ch.bank(int(rank[o]), int(bg[o]), int(bank[o])) == bi and row_of[o] == orow)
        if hits == 0 or ch.hits_since[bi] >= ch.policy.row_hit_cap:
            return PRE, False
        return None
    if ch.pb == 1 and ch.open_row[bi][1] == row:
        return G_PRE, False
    return ACT, False


def _request_choice(ch, t, queue, reqs):
    arrive, rank, bg, bank, row_of, col_of, write = reqs
    other = None
    for i, q in enumerate(queue):
        if ch.policy.scheduler == "fcfs" and i > 0:
            break
        need = _request_need(ch, q, reqs, queue)
        if need is None:
            continue
        kind, col = need
        if not ch.legal(kind, int(rank[q]), int(bg[q]), int(bank[q]), t):
            continue
        cmd = ("request", kind, int(rank[q]), int(bg[q]), int(bank[q]), int(row_of[q]), int(col_of[q]), q)
        if col:
            return cmd
        if other is None:
            other = cmd
    return other


def _closed_page_choice(ch, t, queue, reqs):
    arrive, rank, bg, bank, row_of, col_of, write = reqs
    for bi in range(ch.NB):
        orow = ch.open_row[bi][0]
        if not ch.pre_wanted[bi] or orow < 0 or ch.open_pim[bi]:
            continue
        if any(ch.bank(int(rank[o]), int(bg[o]), int(bank[o])) == bi and row_of[o] == orow for o in queue):
            continue
        r, g, b = bi // (ch.G * ch.BPG), (bi // ch.BPG) % ch.G, bi % ch.BPG
        if ch.pending[r]:
            continue
        if ch.legal(PRE, r, g, b, t):
            return ("closed_page", PRE, r, g, b, -1, -1)
    return None


def _issue(ch, c, t, choice, queue, reqs, pims, p_ptr, trace, cnt, req_done, req_class, pim_done):
    """Issue the chosen command: trace row, timing history, row-buffer state, request / PIM bookkeeping."""
    s = ch.s
    src, kind, r, g, b, row, col = choice[:7]
    if kind in (COMP, READRES):
        r = g = b = -1
    elif kind in (G_ACT, G_PRE):
        b = -1
    elif kind == REF:
        g = b = -1
    if kind not in (ACT, G_ACT, RD, WR, GWRITE, COMP, READRES):
        row = -1
    if kind not in (RD, WR, COMP):
        col = -1
    trace.append((t, kind, c, r, g, b, row, col))
    ch.rules.record(kind, r, g, b, row, t, len(trace) - 1)
    cnt[kind] += 1
    done_at = t + 1
    if kind in (ACT, G_ACT):
        banks = [ch.bank(r, g, b)] if kind == ACT else [ch.bank(r, g, k) for k in range(ch.BPG)]
        for bi in banks:
            if kind == ACT:
                ch.open_row[bi][0], ch.open_pim[bi], ch.hits_since[bi] = row, False, 0
            else:
                ch.open_row[bi][ch.pb] = row
                ch.open_pim[bi] = ch.pb == 0 or ch.open_pim[bi]
        if ch.open_count[r] == 0:
            ch.open_since[r] = t
        ch.open_count[r] += len(banks)
    elif kind in (PRE, G_PRE):
        buf = 0 if kind == PRE else ch.pb
        banks = [ch.bank(r, g, b)] if kind == PRE else [ch.bank(r, g, k) for k in range(ch.BPG)]
        for bi in banks:
            ch.open_row[bi][buf] = -1
            if buf == 0:
                ch.open_pim[bi], ch.pre_wanted[bi] = False, False
        ch.open_count[r] -= len(banks)
        if ch.open_count[r] == 0:
            ch.active[r] += t - ch.open_since[r]
    elif kind == REF:
        ch.pending[r] = False
        ch.debt[r] -= 1
        done_at = t + s.trfc
    elif kind in (RD, READRES):
        done_at = t + s.cl + s.burst_cycles
    elif kind == WR:
        done_at = t + s.cwl + s.burst_cycles
    elif kind == GWRITE:
        done_at = t + s.gwrite_cycles
    if src == "request":
        q = choice[7]
        if req_class[q] < 0:
            req_class[q] = 0 if kind in (RD, WR) else 1 if kind == ACT else 2
            cnt[11 + req_class[q]] += 1
        if kind in (RD, WR):
            bi = ch.bank(r, g, b)
            req_done[q] = done_at
            ch.hits_since[bi] += 1
            if ch.policy.page == "closed":
                ch.pre_wanted[bi] = True
            queue.remove(q)
            if not any(reqs[1][o] == r for o in queue):
                ch.idle_since[r] = t
    elif src == "pim":
        k = int(pims[0][p_ptr])
        if k == _COMPS_READRES:
            if kind == COMP:
                ch.comps_done += 1
                ch.tile_col += 1
            elif kind == READRES:
                ch.comps_done = 0
                ch.tile_left -= 1
                ch.tile_active = ch.tile_left > 0
                pim_done[p_ptr] = done_at
                p_ptr += 1
        elif k == _GWRITE_ROW:
            if kind == GWRITE:
                pim_done[p_ptr] = done_at
                p_ptr += 1
        else:
            pim_done[p_ptr] = done_at
            p_ptr += 1
    return done_at, p_ptr

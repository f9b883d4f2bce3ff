"""Numba kernels of the analytical timing model (rung 4): the closed forms of :mod:`einsim.sim.analytical` over a
plan's struct-of-arrays, so that one group is timed in microseconds and the mapper's batches at speed.

The plain-Python references are :mod:`einsim.sim.maxplus`, :mod:`einsim.sim.window` and the helpers of
:mod:`einsim.sim.analytical` (``makespan``, ``max_cycle_ratio``); tests compare each kernel with its reference.

A plan is passed as arrays (see :mod:`einsim.sim.plan`): per task ``res`` (resource index), ``level``, ``phase``,
``cyc`` (occupancy), ``lat`` (drain); dependencies in CSR ``dep_ptr``/``dep_idx``; carried dependencies
``c_src``/``c_dst``/``c_dist``/``c_loop``; the loops' ``trips``. Tasks are in program order.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["makespan", "max_cycle_ratio", "level_ratio", "in_order_latency", "windowed_finish", "MAX_LAG"]

NEG = -np.inf
#: longest carried distance kept exactly by the max-plus model (as sim.maxplus.MAX_LAG)
MAX_LAG = 64


@njit(cache=True)
def makespan(sel, res, cyc, lat, dep_ptr, dep_idx, n_res):
    """Length of one iteration of the tasks with ``sel[t]`` list-scheduled in program order."""
    free = np.zeros(n_res)
    finish = np.zeros(len(sel))
    end = 0.0
    for t in range(len(sel)):
        if not sel[t]:
            continue
        r = res[t]
        start = free[r]
        for e in range(dep_ptr[t], dep_ptr[t + 1]):
            d = dep_idx[e]
            if sel[d] and finish[d] > start:
                start = finish[d]
        free[r] = start + cyc[t]
        finish[t] = start + cyc[t] + lat[t]
        if finish[t] > end:
            end = finish[t]
    return end


@njit(cache=True)
def _positive_cycle(n, src, dst, w):
    """Bellman-Ford (all edges relaxed from the previous distances at once): True if a positive cycle exists."""
    dist = np.zeros(n)
    new = np.empty(n)
    for _ in range(n + 1):
        for i in range(n):
            new[i] = dist[i]
        for e in range(len(src)):
            c = dist[src[e]] + w[e]
            if c > new[dst[e]]:
                new[dst[e]] = c
        settled = True
        for i in range(n):
            if not new[i] <= dist[i] + 1e-9 * (1.0 + abs(dist[i])):
                settled = False
                break
        if settled:
            return False
        for i in range(n):
            dist[i] = new[i]
    return True


@njit(cache=True)
def max_cycle_ratio(n, src, dst, w, dist, rtol=1e-7):
    """Max over cycles of sum(w) / sum(dist) (0 if there is no cycle); no zero-distance cycle may exist."""
    if len(src) == 0:
        return 0.0
    hi = w.sum() + 1.0
    any_dist = False
    for e in range(len(dist)):
        if dist[e] > 0:
            any_dist = True
    if not any_dist and not _positive_cycle(n, src, dst, w):
        return 0.0
    if not _positive_cycle(n, src, dst, w - 1e-12 * dist):
        return 0.0
    lo = 0.0
    while hi - lo > rtol * max(hi, 1.0):
        mid = 0.5 * (lo + hi)
        if _positive_cycle(n, src, dst, w - mid * dist):
            lo = mid
        else:
            hi = mid
    return hi


@njit(cache=True)
def level_ratio(k, program_order, res, level, cyc, lat, dep_ptr, dep_idx, c_src, c_dst, c_dist):
    """Maximum cycle ratio of the dependency graph of the level-k tasks (with each resource's program order if
    ``program_order``): as sim.analytical's ``_edges`` + ``max_cycle_ratio``."""
    n_task = len(level)
    local = -np.ones(n_task, np.int64)
    m = 0
    for t in range(n_task):
        if level[t] == k:
            local[t] = m
            m += 1
    cap = len(dep_idx) + len(c_src) + 2 * m + 1
    src = np.empty(cap, np.int64)
    dst = np.empty(cap, np.int64)
    w = np.empty(cap)
    dd = np.empty(cap)
    ne = 0
    for t in range(n_task):
        if local[t] < 0:
            continue
        for e in range(dep_ptr[t], dep_ptr[t + 1]):
            d = dep_idx[e]
            if local[d] >= 0:
                src[ne], dst[ne], w[ne], dd[ne] = local[d], local[t], cyc[d] + lat[d], 0.0
                ne += 1
    for i in range(len(c_src)):
        s, d = c_src[i], c_dst[i]
        if local[s] >= 0 and local[d] >= 0:
            src[ne], dst[ne], w[ne], dd[ne] = local[s], local[d], cyc[s] + lat[s], float(c_dist[i])
            ne += 1
    if program_order:
        n_res = 0
        for t in range(n_task):
            if res[t] + 1 > n_res:
                n_res = res[t] + 1
        for r in range(n_res):
            first, prev = -1, -1
            for t in range(n_task):
                if local[t] >= 0 and res[t] == r:
                    if prev >= 0:
                        src[ne], dst[ne], w[ne], dd[ne] = local[prev], local[t], cyc[prev], 0.0
                        ne += 1
                    else:
                        first = t
                    prev = t
            if prev >= 0:
                src[ne], dst[ne], w[ne], dd[ne] = local[prev], local[first], cyc[prev], 1.0
                ne += 1
    return max_cycle_ratio(m, src[:ne], dst[:ne], w[:ne], dd[:ne])


@njit(cache=True)
def _mp_mul(a, b, out):
    """out := a (x) b, the max-plus matrix product (out[i, j] = max_k a[i, k] + b[k, j]); out aliases neither."""
    n = a.shape[0]
    for i in range(n):
        for j in range(n):
            out[i, j] = NEG
        for k in range(n):
            aik = a[i, k]
            if aik == NEG:
                continue
            for j in range(n):
                v = aik + b[k, j]
                if v > out[i, j]:
                    out[i, j] = v


@njit(cache=True)
def _mp_power(a, e, out, t1, t2):
    """out := a to the max-plus power e >= 0 (repeated squaring; t1 and t2 are scratch, a is left unchanged)."""
    n = a.shape[0]
    for i in range(n):
        for j in range(n):
            out[i, j] = 0.0 if i == j else NEG
            t1[i, j] = a[i, j]
    while e > 0:
        if e & 1:
            _mp_mul(t1, out, t2)
            out[:, :] = t2
        e >>= 1
        if e:
            _mp_mul(t1, t1, t2)
            t1[:, :] = t2


@njit(cache=True)
def _inorder_state(n_res, res, lat, dep_idx, c_src, c_dst, c_dist):
    """Indices of the max-plus state (see sim.maxplus): the kept carries (src, dst, lag), the state row of each
    task's latest done time (-1 if none is needed), the first register row of each carried source, its history
    length, the end row and the state size."""
    n_task = len(res)
    keep = np.zeros(len(c_src), np.bool_)
    lag = np.zeros(len(c_src), np.int64)
    hist = np.zeros(n_task, np.int64)
    for i in range(len(c_src)):
        s, d = c_src[i], c_dst[i]
        if res[s] == res[d] and lat[s] == 0:
            continue
        keep[i] = True
        lag[i] = min(c_dist[i] + (1 if s < d else 0), MAX_LAG)
        hist[s] = max(max(hist[s], 1), lag[i])
    needed = np.zeros(n_task, np.bool_)
    for e in range(len(dep_idx)):
        needed[dep_idx[e]] = True
    done_at = -np.ones(n_task, np.int64)
    size = n_res
    for t in range(n_task):
        if needed[t] or hist[t] > 0:
            done_at[t] = size
            size += 1
    reg0 = -np.ones(n_task, np.int64)      # row of lag 2; lag L at reg0 + L - 2
    for t in range(n_task):
        if hist[t] >= 2:
            reg0[t] = size
            size += hist[t] - 1
    return keep, lag, hist, done_at, reg0, size, size + 1


@njit(cache=True)
def _done_row(done_at, reg0, s, lg):
    return done_at[s] if lg == 1 else reg0[s] + lg - 2


@njit(cache=True)
def _apply(m, t, off, res, cyc, lat, dep_ptr, dep_idx, c_src, c_dst, c_loop, keep, lag, hist, done_at, reg0, end):
    """m := (map of task t) (x) m, the carries of loops in the bit set ``off`` restarting (not applying)."""
    size = m.shape[0]
    r = res[t]
    start = m[r].copy()
    for e in range(dep_ptr[t], dep_ptr[t + 1]):
        row = done_at[dep_idx[e]]
        for j in range(size):
            if m[row, j] > start[j]:
                start[j] = m[row, j]
    for i in range(len(c_src)):
        if keep[i] and c_dst[i] == t and not (off >> c_loop[i]) & 1:
            row = _done_row(done_at, reg0, c_src[i], lag[i])
            for j in range(size):
                if m[row, j] > start[j]:
                    start[j] = m[row, j]
    if hist[t] >= 2:
        for lg in range(hist[t], 1, -1):
            m[reg0[t] + lg - 2] = m[_done_row(done_at, reg0, t, lg - 1)]
    for j in range(size):
        m[r, j] = start[j] + cyc[t]
        fin = start[j] + cyc[t] + lat[t]
        if done_at[t] >= 0:
            m[done_at[t], j] = fin
        if fin > m[end, j]:
            m[end, j] = fin


@njit(cache=True)
def in_order_latency(n_res, res, level, phase, cyc, lat, dep_ptr, dep_idx, c_src, c_dst, c_dist, c_loop, trips):
    """Cycles from the group's start to its last task done, every resource in program order (sim.maxplus). The
    state holds only the resources some task uses (an idle resource's free time never matters)."""
    n = len(trips)
    compact = -np.ones(n_res, np.int64)
    used = 0
    for t in range(len(res)):
        if compact[res[t]] < 0:
            compact[res[t]] = used
            used += 1
    res = compact[res]
    n_res = used
    keep, lag, hist, done_at, reg0, end, size = _inorder_state(n_res, res, lat, dep_idx, c_src, c_dst, c_dist)
    carried = np.zeros(n + 1, np.bool_)
    for i in range(len(c_src)):
        if keep[i]:
            carried[c_loop[i]] = True
    # the off-masks each level is asked for, top down, then the level maps bottom up
    n_carried = 0
    for k in range(n + 1):
        if carried[k]:
            n_carried += 1
    masks = np.zeros((n + 1, 1 << n_carried), np.int64)
    counts = np.zeros(n + 1, np.int64)
    masks[0, 0], counts[0] = 0, 1
    for k in range(n):
        for a in range(counts[k]):
            for cand in (masks[k, a] | ((1 << k) if carried[k] else 0), masks[k, a]):
                found = False
                for b in range(counts[k + 1]):
                    if masks[k + 1, b] == cand:
                        found = True
                if not found:
                    masks[k + 1, counts[k + 1]] = cand
                    counts[k + 1] += 1
    maps = np.empty((n + 1, masks.shape[1], size, size))
    m2, pw = np.empty((size, size)), np.empty((size, size))
    t1, t2 = np.empty((size, size)), np.empty((size, size))
    for k in range(n, -1, -1):
        for a in range(counts[k]):
            off = masks[k, a]
            m = maps[k, a]
            for i in range(size):
                for j in range(size):
                    m[i, j] = 0.0 if i == j else NEG
            for t in range(len(res)):
                if level[t] == k and (k == n or phase[t] < 0):
                    _apply(m, t, off, res, cyc, lat, dep_ptr, dep_idx, c_src, c_dst, c_loop, keep, lag, hist,
                           done_at, reg0, end)
            if k < n:
                first = maps[k + 1, _mask_index(masks, counts, k + 1, off | ((1 << k) if carried[k] else 0))]
                _mp_mul(first, m, m2)
                if trips[k] > 1:
                    _mp_power(maps[k + 1, _mask_index(masks, counts, k + 1, off)], trips[k] - 1, pw, t1, t2)
                    _mp_mul(pw, m2, m)
                else:
                    m[:, :] = m2
                for t in range(len(res)):
                    if level[t] == k and phase[t] > 0:
                        _apply(m, t, off, res, cyc, lat, dep_ptr, dep_idx, c_src, c_dst, c_loop, keep, lag, hist,
                               done_at, reg0, end)
    best = NEG
    for j in range(n_res):
        v = maps[0, 0][end, j]
        if v > best:
            best = v
    return best


@njit(cache=True)
def _mask_index(masks, counts, k, mask):
    for a in range(counts[k]):
        if masks[k, a] == mask:
            return a
    return -1


@njit(cache=True)
def windowed_finish(body, res, cyc, lat, dep_ptr, dep_idx, c_src, c_dst, c_dist, window, n_iter):
    """Done time of each of ``n_iter`` iterations of the tasks ``body`` list-scheduled with ``window`` iterations in
    flight (sim.window.windowed_finish): each resource starts its ready instances oldest first."""
    m = len(body)
    out = np.zeros(n_iter)
    if m == 0:
        return out
    n_task = len(res)
    idx = -np.ones(n_task, np.int64)
    for i in range(m):
        idx[body[i]] = i
    # dependencies of each template within the body: (source template, iteration distance), CSR
    cnt = np.zeros(m + 1, np.int64)
    for i in range(m):
        t = body[i]
        for e in range(dep_ptr[t], dep_ptr[t + 1]):
            if idx[dep_idx[e]] >= 0:
                cnt[i + 1] += 1
        for c in range(len(c_src)):
            if c_dst[c] == t and idx[c_src[c]] >= 0:
                cnt[i + 1] += 1
    for i in range(m):
        cnt[i + 1] += cnt[i]
    dsrc = np.empty(cnt[m], np.int64)
    ddist = np.empty(cnt[m], np.int64)
    for i in range(m):
        t, f = body[i], cnt[i]
        for e in range(dep_ptr[t], dep_ptr[t + 1]):
            if idx[dep_idx[e]] >= 0:
                dsrc[f], ddist[f] = idx[dep_idx[e]], 0
                f += 1
        for c in range(len(c_src)):
            if c_dst[c] == t and idx[c_src[c]] >= 0:
                dsrc[f], ddist[f] = idx[c_src[c]], c_dist[c]
                f += 1
    n_res = 0
    for i in range(m):
        if res[body[i]] + 1 > n_res:
            n_res = res[body[i]] + 1
    rptr = np.zeros(n_res + 1, np.int64)             # templates of each resource, in body order (CSR)
    for i in range(m):
        rptr[res[body[i]] + 1] += 1
    for r in range(n_res):
        rptr[r + 1] += rptr[r]
    rtpl = np.empty(m, np.int64)
    fill = rptr[:-1].copy()
    for i in range(m):
        rtpl[fill[res[body[i]]]] = i
        fill[res[body[i]]] += 1
    tcyc = np.empty(m)
    tlat = np.empty(m)
    for i in range(m):
        tcyc[i], tlat[i] = cyc[body[i]], lat[body[i]]
    done = np.full((n_iter, m), np.inf)
    left = np.full(n_iter, m, np.int64)
    nxt = np.zeros(m, np.int64)
    busy_until = np.full(n_res, -1.0)
    # pending events (time, kind 0 = server free / 1 = done, iteration, template): few at a time, kept unsorted;
    # all events at the earliest time are taken together, so their order does not matter
    cap = 2 * n_iter * m + 2
    et, ek = np.empty(cap), np.empty(cap, np.int64)
    eg, ei = np.empty(cap, np.int64), np.empty(cap, np.int64)
    size = 0
    now, lo = 0.0, 0
    while lo < n_iter:
        limit = min(n_iter, lo + window)
        for r in range(n_res):
            if busy_until[r] > now:
                continue
            bg, bi = limit, -1
            for a in range(rptr[r], rptr[r + 1]):
                i = rtpl[a]
                g = nxt[i]
                if g >= bg:
                    continue
                ready = True
                for f in range(cnt[i], cnt[i + 1]):
                    gg = g - ddist[f]
                    if gg >= 0 and not done[gg, dsrc[f]] <= now:
                        ready = False
                        break
                if ready:
                    bg, bi = g, i
            if bi >= 0:
                nxt[bi] += 1
                c = tcyc[bi]
                busy_until[r] = now + c
                et[size], ek[size], eg[size], ei[size] = now + c, 0, bg, bi
                et[size + 1], ek[size + 1], eg[size + 1], ei[size + 1] = now + c + tlat[bi], 1, bg, bi
                size += 2
        if size == 0:
            raise RuntimeError("windowed schedule deadlocked: a task can never start")
        now = et[0]
        for e in range(1, size):
            if et[e] < now:
                now = et[e]
        e = 0
        while e < size:
            if et[e] == now:
                if ek[e] == 1:
                    done[eg[e], ei[e]] = now
                    left[eg[e]] -= 1
                size -= 1
                et[e], ek[e], eg[e], ei[e] = et[size], ek[size], eg[size], ei[size]
            else:
                e += 1
        while lo < n_iter and left[lo] == 0:
            lo += 1
    for g in range(n_iter):
        best = 0.0
        for i in range(m):
            if done[g, i] > best:
                best = done[g, i]
        out[g] = best
    return out


@njit(cache=True)
def _windowed_latency(f, window, n_iter):
    """(cycles of n_iter iterations with ``window`` in flight, steady-state cycles per iteration) from the done times
    ``f`` of the first min(n_iter, 4 window) iterations of the list schedule (sim.window.windowed_latency)."""
    if n_iter < 4 * window:
        return f[-1], f[-1] / n_iter
    period = 0.0
    for i in range(window):
        period += f[2 * window + i] - f[window + i]
    period = period / window / window
    return f[-1] + (n_iter - 4 * window) * period, period


@njit(cache=True)
def _memo_finish(memo_key, memo_f, memo_len, memo_used, body, res, cyc, lat, dep_ptr, dep_idx, c_src, c_dst,
                 c_dist, window, n_sched):
    """windowed_finish, remembered across the rows of a batch by its inputs (the body's occupancies and drains,
    the carried distances, the window, the iterations scheduled): rows that differ only outside the innermost loop
    share one schedule. Exact: a hit needs equal inputs."""
    m = len(body)
    key = np.empty(2 * m + len(c_dist) + 2)
    for i in range(m):
        key[i], key[m + i] = cyc[body[i]], lat[body[i]]
    for i in range(len(c_dist)):
        key[2 * m + i] = c_dist[i]
    key[-2], key[-1] = window, n_sched
    for a in range(memo_used[0]):
        if memo_key.shape[1] == len(key) and (memo_key[a] == key).all():
            return memo_f[a, :memo_len[a]]
    f = windowed_finish(body, res, cyc, lat, dep_ptr, dep_idx, c_src, c_dst, c_dist, window, n_sched)
    if memo_key.shape[1] == len(key) and len(f) <= memo_f.shape[1]:
        a = memo_used[1] % memo_key.shape[0]          # round robin over the slots
        memo_key[a], memo_f[a, :len(f)], memo_len[a] = key, f, len(f)
        memo_used[0] = min(memo_used[0] + 1, memo_key.shape[0])
        memo_used[1] += 1
    return f


SERIAL, IN_ORDER, INTERLEAVE = 0, 1, 2


@njit(cache=True)
def _busy(n_res, res, level, cyc, trips):
    """Busy cycles per resource over the whole group: sum over tasks of executions x occupancy."""
    pref = np.ones(len(trips) + 1)
    for k in range(len(trips)):
        pref[k + 1] = pref[k] * trips[k]
    busy = np.zeros(n_res)
    for t in range(len(res)):
        busy[res[t]] += pref[level[t]] * cyc[t]
    return busy, pref


@njit(cache=True)
def _group_timing(pipeline, window, n_res, res, level, phase, cyc, lat, dep_ptr, dep_idx, c_src, c_dst, c_dist,
                  c_loop, trips, memo_key, memo_f, memo_len, memo_used):
    n = len(trips)
    busy, iters = _busy(n_res, res, level, cyc, trips)
    body = level == n
    has_body = body.any()
    fill = makespan(body, res, cyc, lat, dep_ptr, dep_idx, n_res) if has_body else 0.0
    if pipeline == SERIAL:
        total = 0.0
        for k in range(n + 1):
            sel = level == k
            if sel.any():
                total += iters[k] * makespan(sel, res, cyc, lat, dep_ptr, dep_idx, n_res)
        return total, busy
    if pipeline == IN_ORDER:
        return in_order_latency(n_res, res, level, phase, cyc, lat, dep_ptr, dep_idx, c_src, c_dst, c_dist, c_loop,
                                trips), busy
    rec, period = 0.0, 0.0
    for k in range(n + 1):
        if (level == k).any():
            ii = level_ratio(k, False, res, level, cyc, lat, dep_ptr, dep_idx, c_src, c_dst, c_dist)
            rec += iters[k] * ii
            if k == n:
                period = ii
    per_res = np.zeros(n_res)
    for t in range(len(res)):
        if body[t]:
            per_res[res[t]] += cyc[t]
    if has_body:
        period = max(period, per_res.max())
    total_iters = iters[n]
    first = makespan(body | (phase < 0), res, cyc, lat, dep_ptr, dep_idx, n_res)
    total = max(busy.max(), rec) + max(0.0, fill - period)
    total = max(total, first + (total_iters - 1) * period)
    if has_body:
        work = 0.0
        for t in range(len(res)):
            if body[t]:
                work += cyc[t]
        p = max(period, total / total_iters)
        if fill + (window - 1) * work > window * p:
            n_iter = int(total_iters)
            f = _memo_finish(memo_key, memo_f, memo_len, memo_used, np.nonzero(body)[0], res, cyc, lat, dep_ptr,
                             dep_idx, c_src, c_dst, c_dist, window, min(n_iter, 4 * window))
            t_w, _ = _windowed_latency(f, window, n_iter)
            # after the outer tasks the first iteration waits for (the lead-in), before the last epilogues (the tail)
            tail = makespan(phase > 0, res, cyc, lat, dep_ptr, dep_idx, n_res)
            total = max(total, (first - fill) + t_w + tail)
    return total, busy


@njit(cache=True)
def group_timing(pipeline, window, n_res, res, level, phase, cyc, lat, dep_ptr, dep_idx, c_src, c_dst, c_dist,
                 c_loop, trips):
    """(cycles of the group, busy cycles per resource): the closed forms of sim.analytical.group_cycles."""
    no = np.zeros((0, 0))
    return _group_timing(pipeline, window, n_res, res, level, phase, cyc, lat, dep_ptr, dep_idx, c_src, c_dst,
                         c_dist, c_loop, trips, no, no, np.zeros(0, np.int64), np.zeros(2, np.int64))


@njit(cache=True)
def group_timing_rows(pipeline, window, ok, n_res, res, level, phase, cyc, lat, dep_ptr, dep_idx, c_src, c_dst,
                      c_dist, c_loop, trips):
    """:func:`group_timing` for every row of a batch (rows of ``cyc``, ``lat``, ``c_dist``, ``trips``, ``window``)
    whose ``ok`` is set; NaN cycles for the others. Windowed schedules are shared by rows with equal inputs."""
    rows = cyc.shape[0]
    cycles = np.full(rows, np.nan)
    busy = np.zeros((rows, n_res))
    n_body = 0
    for t in range(len(level)):
        if level[t] == trips.shape[1]:
            n_body += 1
    slots = 64
    memo_key = np.zeros((slots, 2 * n_body + c_dist.shape[1] + 2))
    memo_f = np.zeros((slots, 4 * max(1, window.max())))
    memo_len = np.zeros(slots, np.int64)
    memo_used = np.zeros(2, np.int64)
    for r in range(rows):
        if ok[r]:
            cycles[r], busy[r] = _group_timing(pipeline, window[r], n_res, res, level, phase, cyc[r], lat[r], dep_ptr,
                                               dep_idx, c_src, c_dst, c_dist[r], c_loop, trips[r], memo_key, memo_f,
                                               memo_len, memo_used)
    return cycles, busy

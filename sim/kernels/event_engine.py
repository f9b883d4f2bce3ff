"""Tile-level discrete-event engine: task instances of a loop program on resources, Numba-compiled.

The program (struct-of-arrays; built and checked by sim.engine_program.EngineProgram) is one flattened loop of
``n_iters`` global iterations g (nested shared loops flattened, innermost fastest) and task templates t:

- template t runs one instance at every g = offset[t] + k * stride[t] < n_iters (k = 0, 1, ...; stride is the trip
  count of the loops below the template's loop level, offset picks the first/last inner iteration), on resource
  res[t]: it occupies one of the resource's servers for dur[t] ticks and its result is ready lat[t] ticks later
  (pipeline drain); the instance is *done* then;
- an edge s -> t with distance d (in global iterations) makes instance (t, g) wait until the latest instance of s at
  an iteration <= g - d is done (no wait if there is none): d = 0 inside an iteration (then s < t), d > 0 for
  loop-carried values and for buffer slots reused ``depth`` tiles later (double buffering). An edge with span > 0
  applies only when g and g - d lie in the same block of ``span`` iterations (a recurrence restarting with each
  iteration of an outer loop). A *streamed* edge (stream[e] = 1: t consumes s's data as it arrives) waits only until
  that instance of s has started, and t then holds its server at least until s is done;
- instances of one template start in order; (t, g) may start only if g < lo + reach[t], lo being the oldest
  iteration with an instance of an *innermost* template (the smallest stride) not done: outer templates (a block's
  loads, prologue and epilogue) do not hold the window. reach[t] = window (the depth of the hardware's task queues),
  plus stride[t] for an outer template at the first iteration of its block (offset 0) on a resource that is not in
  order: a block's prologue may run one block of its level ahead, in the double-buffered outer tiles. At most
  window + 1 instances of one template are in flight;
- whenever servers are free, each resource starts its startable instances oldest first, by (g, t); an in-order
  resource (in_order[r] = 1: one instruction stream) takes only its oldest pending instance and idles until it is
  startable.

Time is an integer count of ticks (the caller picks ticks per cycle). The engine is event driven: each step jumps to
the next time a server frees or an instance is done, retires those and starts what became startable. One event =
one task instance done.

Steady state: at every block boundary of every loop level (lo crossing a multiple of a stride or span) the engine
takes a signature of its state relative to (lo, now): per template the next instance to start and to be done as
iteration offsets from lo (clipped at its reach: templates beyond it are "far" and cannot act) and the remaining
times of its instances in flight. When a signature recurs (c iterations and D ticks later) with every near template
having advanced by exactly c and every far template idle, the future is the same trajectory shifted by (c, D) until a
far template, a span boundary or the end of the loop comes within reach; the engine jumps over as many whole
periods as fit, then simulates on. The jump is exact, so ``exact=True`` (simulate every event) gives identical
results; it exists to check that.

Outputs: makespan (ticks, last instance done), count[t] (instances run), stats[STAT_*], and with trace_cap > 0 the
first trace_cap started instances (template, iteration, start tick).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["STATS", "STAT_EVENTS", "STAT_EVENTS_SIMULATED", "STAT_JUMPS", "STAT_ITERS_SKIPPED", "STAT_CHECKPOINTS",
           "RING", "run_program"]

STATS = ("events", "events_simulated", "jumps", "iters_skipped", "checkpoints")
STAT_EVENTS, STAT_EVENTS_SIMULATED, STAT_JUMPS, STAT_ITERS_SKIPPED, STAT_CHECKPOINTS = range(5)

#: checkpoints remembered per loop level (the longest steady-state period found, in block boundaries)
RING = 128

_BIG = np.int64(2**62)


@njit(cache=True)
def _startable(t, g, n_disp, n_done, offset, stride, in_ptr, in_src, in_dist, in_span, in_stream):
    """True if every dependency of instance (t, g) is done (a streamed one: started)."""
    for e in range(in_ptr[t], in_ptr[t + 1]):
        s = in_src[e]
        gg = g - in_dist[e]
        if gg < offset[s]:
            continue
        span = in_span[e]
        if span > 0 and g // span != gg // span:
            continue
        if (gg - offset[s]) // stride[s] >= (n_disp[s] if in_stream[e] else n_done[s]):
            return False
    return True


@njit(cache=True)
def _oldest_not_done(n_iters, n_done, offset, stride, inner):
    """The oldest iteration with an instance of an innermost template (stride ``inner``; 0: any) not done."""
    lo = n_iters
    for t in range(offset.shape[0]):
        if inner > 0 and stride[t] != inner:
            continue
        g = offset[t] + n_done[t] * stride[t]
        if g < lo:
            lo = g
    return lo


@njit(cache=True)
def _reach(window, stride, offset, task_res, res_in_order):
    """Per template: how far past the oldest unfinished innermost iteration its instances may start (see the module
    docstring), and the innermost stride."""
    inner = stride.min()
    reach = np.empty(stride.shape[0], np.int64)
    for t in range(stride.shape[0]):
        ahead = stride[t] > inner and offset[t] == 0 and res_in_order[task_res[t]] == 0
        reach[t] = window + stride[t] if ahead else window
    return reach, inner


@njit(cache=True)
def _signature(sig, lo, now, reach, n_disp, n_done, offset, stride, ring):
    """Fill sig with the state relative to (lo, now); return (length, cheap hash)."""
    cap = ring.shape[1]
    pos = 0
    for t in range(offset.shape[0]):
        sig[pos] = min(offset[t] + n_disp[t] * stride[t] - lo, reach[t])
        sig[pos + 1] = min(offset[t] + n_done[t] * stride[t] - lo, reach[t])
        pos += 2
        for i in range(n_done[t], n_disp[t]):
            sig[pos] = ring[t, i % cap] - now
            pos += 1
    h = np.int64(pos)
    for i in range(pos):
        h += (sig[i] % 1000003) * (i + 1)
    return pos, h


@njit(cache=True)
def run_program(n_iters, window, res_servers, res_in_order, task_res, task_dur, task_lat, task_stride, task_offset,
                in_ptr, in_src, in_dist, in_span, in_stream, exact, trace_cap):
    """Simulate the program; returns (makespan, count, stats, trace_task, trace_iter, trace_start)."""
    n_res = res_servers.shape[0]
    n_task = task_res.shape[0]
    stride = task_stride
    offset = task_offset

    # resource -> templates (ascending template index)
    res_ptr = np.zeros(n_res + 1, np.int64)
    for t in range(n_task):
        res_ptr[task_res[t] + 1] += 1
    for r in range(n_res):
        res_ptr[r + 1] += res_ptr[r]
    res_tasks = np.empty(n_task, np.int64)
    fill = res_ptr[:-1].copy()
    for t in range(n_task):
        r = task_res[t]
        res_tasks[fill[r]] = t
        fill[r] += 1

    slot_ptr = np.zeros(n_res + 1, np.int64)
    for r in range(n_res):
        slot_ptr[r + 1] = slot_ptr[r] + res_servers[r]
    n_slots = slot_ptr[n_res]
    slot_busy = np.zeros(n_slots, np.bool_)
    slot_free = np.zeros(n_slots, np.int64)
    busy = np.zeros(n_res, np.int64)

    # per template: instances started / done, and the done times of those in flight (at most `window`)
    cap = window + 1
    ring = np.zeros((n_task, cap), np.int64)
    n_disp = np.zeros(n_task, np.int64)
    n_done = np.zeros(n_task, np.int64)
    stats = np.zeros(len(STATS), np.int64)
    trace_task = np.full(trace_cap, -1, np.int64)
    trace_iter = np.full(trace_cap, -1, np.int64)
    trace_start = np.full(trace_cap, -1, np.int64)
    n_trace = 0

    # checkpoint levels: distinct strides and spans, each with a ring of RING signatures
    n_sp = 0
    for e in range(in_span.shape[0]):
        if in_span[e] > 0:
            n_sp += 1
    cand = np.empty(n_task + n_sp, np.int64)
    cand[:n_task] = stride
    j = n_task
    for e in range(in_span.shape[0]):
        if in_span[e] > 0:
            cand[j] = in_span[e]
            j += 1
    levels = np.unique(cand)
    n_lvl = levels.shape[0]
    sig_max = n_task * (2 + cap)
    sig = np.zeros(sig_max, np.int64)
    ck_sig = np.zeros((n_lvl, RING, sig_max), np.int64)
    ck_len = np.zeros((n_lvl, RING), np.int64)
    ck_hash = np.zeros((n_lvl, RING), np.int64)
    ck_lo = np.zeros((n_lvl, RING), np.int64)
    ck_now = np.zeros((n_lvl, RING), np.int64)
    ck_disp = np.zeros((n_lvl, RING, n_task), np.int64)
    ck_n = np.zeros(n_lvl, np.int64)
    ck_block = np.zeros(n_lvl, np.int64)
    tmp = np.zeros(cap, np.int64)

    reach, inner = _reach(window, stride, offset, task_res, res_in_order)
    now = np.int64(0)
    makespan = np.int64(0)
    lo = _oldest_not_done(n_iters, n_done, offset, stride, inner)
    while True:
        # start what can start at `now`
        for r in range(n_res):
            while busy[r] < res_servers[r]:
                best = -1
                best_g = _BIG
                for i in range(res_ptr[r], res_ptr[r + 1]):
                    t = res_tasks[i]
                    g = offset[t] + n_disp[t] * stride[t]
                    if g >= n_iters or g >= best_g:
                        continue
                    if res_in_order[r] != 0:
                        best = t
                        best_g = g
                    elif (g < lo + reach[t] and n_disp[t] - n_done[t] < cap
                          and _startable(t, g, n_disp, n_done, offset, stride, in_ptr, in_src, in_dist, in_span,
                                         in_stream)):
                        best = t
                        best_g = g
                if best >= 0 and res_in_order[r] != 0:
                    if (best_g >= lo + reach[best] or n_disp[best] - n_done[best] >= cap
                            or not _startable(best, best_g, n_disp, n_done, offset, stride, in_ptr, in_src, in_dist,
                                              in_span, in_stream)):
                        best = -1
                if best < 0:
                    break
                s = slot_ptr[r]
                while slot_busy[s]:
                    s += 1
                # a consumer of a stream holds its server until the stream's last element is in
                fin = now + task_dur[best]
                for e in range(in_ptr[best], in_ptr[best + 1]):
                    if in_stream[e]:
                        src = in_src[e]
                        gg = best_g - in_dist[e]
                        if gg < offset[src] or (in_span[e] > 0 and best_g // in_span[e] != gg // in_span[e]):
                            continue
                        kk = (gg - offset[src]) // stride[src]
                        if kk >= n_done[src] and ring[src, kk % cap] > fin:
                            fin = ring[src, kk % cap]
                slot_busy[s] = True
                slot_free[s] = fin
                busy[r] += 1
                ring[best, n_disp[best] % cap] = fin + task_lat[best]
                n_disp[best] += 1
                if n_trace < trace_cap:
                    trace_task[n_trace] = best
                    trace_iter[n_trace] = best_g
                    trace_start[n_trace] = now
                    n_trace += 1

        # steady state: checkpoint at block boundaries, jump over whole periods
        if not exact and lo < n_iters:
            have_sig = False
            h = np.int64(0)
            ln = 0
            jumped = False
            for li in range(n_lvl - 1, -1, -1):
                block = lo // levels[li]
                if block <= ck_block[li]:
                    continue
                ck_block[li] = block
                stats[STAT_CHECKPOINTS] += 1
                if not have_sig:
                    ln, h = _signature(sig, lo, now, reach, n_disp, n_done, offset, stride, ring)
                    have_sig = True
                if not jumped:
                    kept = min(ck_n[li], RING)
                    for back in range(1, kept + 1):
                        j = (ck_n[li] - back) % RING
                        if ck_hash[li, j] != h or ck_len[li, j] != ln:
                            continue
                        same = True
                        for i in range(ln):
                            if ck_sig[li, j, i] != sig[i]:
                                same = False
                                break
                        if not same:
                            continue
                        lo_a = ck_lo[li, j]
                        c = lo - lo_a
                        d = now - ck_now[li, j]
                        if c <= 0 or d <= 0:
                            continue
                        # every template advanced by exactly one period, or stayed idle and far
                        k = (n_iters - window - lo) // c
                        # until a template's last instances come within its reach (or its lead, if it runs
                        # further ahead); a template that advanced in the period must still be short of the end
                        for t in range(n_task):
                            g = offset[t] + n_disp[t] * stride[t]
                            if g < n_iters or n_disp[t] != ck_disp[li, j, t]:
                                k = min(k, (n_iters - max(reach[t], g - lo) - lo) // c)
                        ok = True
                        for t in range(n_task):
                            dd = n_disp[t] - ck_disp[li, j, t]
                            if dd * stride[t] == c:
                                continue
                            g = offset[t] + n_disp[t] * stride[t]
                            if dd == 0 and g >= n_iters:
                                continue
                            if dd == 0 and g - lo >= reach[t]:
                                k = min(k, (g - reach[t] - lo) // c)
                                continue
                            ok = False
                            break
                        # a restarting edge must see the same restarts in every period, or none at all
                        for t in range(n_task):
                            for e in range(in_ptr[t], in_ptr[t + 1]):
                                span = in_span[e]
                                if not ok or span <= 0 or c % span == 0:
                                    continue
                                if lo_a % span < in_dist[e]:
                                    ok = False
                                else:
                                    k = min(k, ((lo_a // span + 1) * span - reach[t] - in_dist[e] - lo) // c)
                        if not ok or k < 1:
                            continue
                        for t in range(n_task):
                            if n_disp[t] == ck_disp[li, j, t]:
                                continue
                            sh = k * c // stride[t]
                            m = n_disp[t] - n_done[t]
                            for i in range(m):
                                tmp[i] = ring[t, (n_done[t] + i) % cap] + k * d
                            n_disp[t] += sh
                            n_done[t] += sh
                            for i in range(m):
                                ring[t, (n_done[t] + i) % cap] = tmp[i]
                        for s in range(n_slots):
                            if slot_busy[s]:
                                slot_free[s] += k * d
                        now += k * d
                        lo += k * c
                        stats[STAT_JUMPS] += 1
                        stats[STAT_ITERS_SKIPPED] += k * c
                        jumped = True
                        break
                if not jumped:
                    j = ck_n[li] % RING
                    ck_sig[li, j, :ln] = sig[:ln]
                    ck_len[li, j] = ln
                    ck_hash[li, j] = h
                    ck_lo[li, j] = lo
                    ck_now[li, j] = now
                    ck_disp[li, j, :] = n_disp
                    ck_n[li] += 1
            if jumped:
                for li in range(n_lvl):
                    ck_block[li] = lo // levels[li]

        # next event: the earliest server release or instance done
        nxt = _BIG
        for s in range(n_slots):
            if slot_busy[s] and slot_free[s] < nxt:
                nxt = slot_free[s]
        for t in range(n_task):
            if n_done[t] < n_disp[t]:
                v = ring[t, n_done[t] % cap]
                if v < nxt:
                    nxt = v
        if nxt == _BIG:
            break
        now = nxt
        for r in range(n_res):
            for s in range(slot_ptr[r], slot_ptr[r + 1]):
                if slot_busy[s] and slot_free[s] == now:
                    slot_busy[s] = False
                    busy[r] -= 1
        for t in range(n_task):
            while n_done[t] < n_disp[t] and ring[t, n_done[t] % cap] == now:
                n_done[t] += 1
                stats[STAT_EVENTS_SIMULATED] += 1
                makespan = now
        lo = _oldest_not_done(n_iters, n_done, offset, stride, inner)

    if _oldest_not_done(n_iters, n_done, offset, stride, 0) < n_iters:
        raise RuntimeError("event engine deadlock: a task can never start (check edges and window)")
    for t in range(n_task):
        stats[STAT_EVENTS] += n_done[t]
    return makespan, n_done, stats, trace_task[:n_trace], trace_iter[:n_trace], trace_start[:n_trace]

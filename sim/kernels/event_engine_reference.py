"""Plain-Python reference of sim.kernels.event_engine.run_program: same signature, same results.

Written independently of the kernel, instance by instance: every task instance is materialized, finishes go through
a heap, and there is no steady-state extrapolation (``exact`` is accepted and ignored: the reference always
simulates every event, so the kernel's extrapolated runs must match it too).
"""

from __future__ import annotations

import heapq

import numpy as np

from .event_engine import STAT_EVENTS, STAT_EVENTS_SIMULATED, STATS

__all__ = ["run_program"]


def run_program(n_iters, window, res_servers, res_in_order, task_res, task_dur, task_lat, task_stride, task_offset,
                in_ptr, in_src, in_dist, in_span, in_stream, exact, trace_cap):
    """Simulate the program; returns (makespan, count, stats, trace_task, trace_iter, trace_start)."""
    n_task = len(task_res)
    iters = [list(range(int(task_offset[t]), int(n_iters), int(task_stride[t]))) for t in range(n_task)]
    deps = [[(int(in_src[e]), int(in_dist[e]), int(in_span[e]), bool(in_stream[e]))
             for e in range(in_ptr[t], in_ptr[t + 1])] for t in range(n_task)]
    started_at: list[dict[int, int]] = [{} for _ in range(n_task)]   # iteration -> done tick, per template
    started = [0] * n_task                      # instances started, per template
    finished: list[set[int]] = [set() for _ in range(n_task)]   # iterations done, per template
    running = []            # heap of (tick, seq, what, template, iteration); what 0 = server released, 1 = done
    busy = [0] * len(res_servers)
    trace = []
    now = 0
    makespan = 0
    seq = 0
    inner = min(int(x) for x in task_stride)
    # the window holds innermost templates only; a block's prologue (an outer template at its block's first
    # iteration, on a resource not in order) may start one block of its level further; no template has more than
    # window + 1 instances in flight
    reach = [int(window) + (int(task_stride[t]) if int(task_stride[t]) > inner and int(task_offset[t]) == 0
                            and not res_in_order[task_res[t]] else 0) for t in range(n_task)]

    def latest_instance(s, g):
        """Iteration of the latest instance of template s at or before g, or None."""
        if g < task_offset[s]:
            return None
        return int(task_offset[s] + (g - task_offset[s]) // task_stride[s] * task_stride[s])

    def startable(t, g, lo):
        if g >= lo + reach[t] or started[t] - len(finished[t]) > window:
            return False
        for s, d, span, stream in deps[t]:
            if span > 0 and g // span != (g - d) // span:
                continue
            gs = latest_instance(s, g - d)
            if gs is not None and gs not in (started_at[s] if stream else finished[s]):
                return False
        return True

    def release_tick(t, g):
        """When (t, g) started now frees its server: after its duration and after the streams it consumes."""
        tick = now + int(task_dur[t])
        for s, d, span, stream in deps[t]:
            if stream and not (span > 0 and g // span != (g - d) // span):
                gs = latest_instance(s, g - d)
                if gs is not None:
                    tick = max(tick, started_at[s][gs])
        return tick

    def oldest_unfinished(only_inner=True):
        pending = [iters[t][len(finished[t])] for t in range(n_task) if len(finished[t]) < len(iters[t])
                   and (not only_inner or int(task_stride[t]) == inner)]
        return min(pending) if pending else n_iters

    while True:
        lo = oldest_unfinished()
        for r in range(len(res_servers)):
            mine = [t for t in range(n_task) if task_res[t] == r]
            while busy[r] < res_servers[r]:
                heads = sorted((iters[t][started[t]], t) for t in mine if started[t] < len(iters[t]))
                if res_in_order[r]:
                    heads = heads[:1]
                choice = next(((g, t) for g, t in heads if startable(t, g, lo)), None)
                if choice is None:
                    break
                g, t = choice
                started[t] += 1
                busy[r] += 1
                release = release_tick(t, g)
                started_at[t][g] = release + int(task_lat[t])
                heapq.heappush(running, (release, seq, 0, t, g))
                heapq.heappush(running, (release + int(task_lat[t]), seq + 1, 1, t, g))
                seq += 2
                if len(trace) < trace_cap:
                    trace.append((t, g, now))
        if not running:
            break
        now = running[0][0]
        while running and running[0][0] == now:
            _, _, what, t, g = heapq.heappop(running)
            if what == 0:
                busy[task_res[t]] -= 1
            else:
                finished[t].add(g)
                makespan = now

    if oldest_unfinished(only_inner=False) < n_iters:
        raise RuntimeError("event engine deadlock: a task can never start (check edges and window)")
    count = np.array([len(f) for f in finished], np.int64)
    stats = np.zeros(len(STATS), np.int64)
    stats[STAT_EVENTS] = stats[STAT_EVENTS_SIMULATED] = int(count.sum())
    trace_arr = np.array(trace, np.int64).reshape(-1, 3)
    return np.int64(makespan), count, stats, trace_arr[:, 0].copy(), trace_arr[:, 1].copy(), trace_arr[:, 2].copy()

"""Period of an interleaved group with at most ``window`` innermost iterations in flight (see :mod:`sim.plan`).

The interleave closed form (busiest resource, recurrences) assumes unlimited overlap. With W iterations in flight,
iteration i may start only once iteration i - W is done, so by Little's law the period is at least the *slot cycle*
over W: the time from when iteration i - W is done to when iteration i is done, which includes i's waits behind the
other in-flight iterations on the resources they share. The slot cycle is found on a list schedule of the innermost
body over 4W iterations, each resource starting its ready instances oldest first (iteration, then program order):

    period_W = mean over i in [2W, 3W) of (done(i) - done(i - W)) / W      (cycles per innermost iteration)

Outer-level tasks are left out (their occupancy is in the busiest-resource term), and so are the restarts of carried
recurrences (a carried dependency always applies), which can only lengthen the schedule. ``window_may_bind`` is the
cheap test that skips the schedule: an iteration's latency is at most its own makespan plus every other in-flight
iteration's work on every resource, and if that fits in W periods the window never holds an iteration back.
"""

from __future__ import annotations

import heapq

import numpy as np

from .plan import GroupPlan

__all__ = ["window_may_bind", "windowed_finish", "windowed_latency"]


def window_may_bind(plan: GroupPlan, body: np.ndarray, window: int, period: float, makespan: float) -> bool:
    """False if ``window`` iterations in flight can never hold the group below one iteration per ``period``."""
    work = float(np.sum(plan.cycles[body]))
    return makespan + (window - 1) * work > window * period


def windowed_latency(plan: GroupPlan, body: np.ndarray, window: int, n_iter: int) -> tuple[float, float]:
    """(cycles to run ``n_iter`` iterations of ``body``, steady-state cycles per iteration) with ``window`` in
    flight: the list schedule of min(n_iter, 4W) iterations, the period measured on the slots of its third W
    (past the start-up; the last iterations run faster, with no younger ones competing), then whole periods."""
    f = windowed_finish(plan, body, window, min(n_iter, 4 * window))
    if n_iter < 4 * window:
        return float(f[-1]), float(f[-1]) / n_iter
    period = float(np.mean(f[2 * window:3 * window] - f[window:2 * window])) / window
    return float(f[-1]) + (n_iter - 4 * window) * period, period


def windowed_finish(plan: GroupPlan, body: np.ndarray, window: int, n_iter: int) -> np.ndarray:
    """Done time of each of ``n_iter`` iterations of ``body`` list-scheduled with ``window`` in flight."""
    body = [int(t) for t in body]
    m = len(body)
    if m == 0:
        return np.zeros(n_iter)
    idx = {t: i for i, t in enumerate(body)}
    deps = [[(idx[int(d)], 0) for d in plan.deps(t) if int(d) in idx] for t in body]
    for s, d, k in zip(plan.carry_src.tolist(), plan.carry_dst.tolist(), plan.carry_dist.tolist(), strict=True):
        if s in idx and d in idx:
            deps[idx[d]].append((idx[s], int(k)))
    res = [int(plan.resource[t]) for t in body]
    cyc = [float(plan.cycles[t]) for t in body]
    lat = [float(plan.latency[t]) for t in body]
    on_res = {}
    for i, r in enumerate(res):
        on_res.setdefault(r, []).append(i)
    done = np.full((n_iter, m), np.inf)      # done time of each instance, once that event is processed
    left = np.full(n_iter, m)                # instances of each iteration not yet done
    nxt = [0] * m                            # next iteration each template starts
    busy_until = dict.fromkeys(on_res, -1.0)
    events = []                              # (time, kind, iteration, template): kind 0 server free, 1 done
    now, lo = 0.0, 0
    while lo < n_iter:
        for r, ts in sorted(on_res.items()):
            if busy_until[r] > now:
                continue
            best = None
            for i in ts:
                g = nxt[i]
                if g >= n_iter or g >= lo + window or (best is not None and g >= best[0]):
                    continue
                if all(g - k < 0 or done[g - k, s] <= now for s, k in deps[i]):
                    best = (g, i)
            if best is not None:
                g, i = best
                nxt[i] += 1
                busy_until[r] = now + cyc[i]
                heapq.heappush(events, (now + cyc[i], 0, g, i))
                heapq.heappush(events, (now + cyc[i] + lat[i], 1, g, i))
        if not events:
            raise RuntimeError("windowed schedule deadlocked: a task can never start")
        now = events[0][0]
        while events and events[0][0] == now:
            _, kind, g, i = heapq.heappop(events)
            if kind == 1:
                done[g, i] = now
                left[g] -= 1
        while lo < n_iter and left[lo] == 0:
            lo += 1
    return done.max(axis=1)

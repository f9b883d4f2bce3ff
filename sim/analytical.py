"""Closed-form latency of a lowered plan (see :mod:`sim.plan` for the plan's meaning).

Per group, with ``count[t]`` executions of task t and levels k = 0..n (tasks of level k run once per iteration of
the loops outside k):

- ``interleave``: cycles = max(max over resources r of sum_t count[t] * cycles[t],
  sum_k iters_k * RecMII_k), where RecMII_k is the maximum cycle ratio of level k's dependency graph with its
  loop-carried edges (a recurrence bound), plus the drain of one innermost iteration past the period P (its
  recurrence or its busiest resource); at least the first innermost iteration with the outer-level tasks it waits
  for (the first outer tiles' loads) plus P for each further one; and at least the time the plan's in-flight
  ``window`` allows (:mod:`sim.window`: Little's law on the slot cycle of a list schedule of the innermost body),
  computed only where that window may bind (then with the outer tasks the first iteration waits for before it and
  the last blocks' epilogues after it).
- ``in_order``: cycles = the exact latency of the flattened program with every resource in program order, by
  max-plus algebra (:mod:`sim.maxplus`): a block's outer-level loads and stores queue behind and ahead of its inner
  tiles on DRAM as they do in the hardware, and overlap the inner tiles' compute where the order allows. The period
  reported is the innermost level's maximum cycle ratio with each resource's program order.
- ``serial``: cycles = sum_k iters_k * makespan_k, the list-scheduled length of one iteration of level k.

The maximum cycle ratio (sum of edge weights / sum of iteration distances over a cycle) is found by bisection with
a Bellman-Ford positive-cycle test; an edge u -> v weighs ``cycles[u] + latency[u]`` (a dependency) or
``cycles[u]`` (program order on one resource).
"""

from __future__ import annotations

import numpy as np

from .maxplus import in_order_latency
from .plan import GroupPlan
from .window import window_may_bind, windowed_latency

__all__ = ["group_cycles", "max_cycle_ratio", "makespan"]


def makespan(plan: GroupPlan, tasks: np.ndarray) -> float:
    """Length of one iteration of ``tasks`` list-scheduled in program order (resources in order)."""
    sel = set(int(t) for t in tasks)
    finish = {}
    free = {}
    end = 0.0
    for t in tasks:
        t = int(t)
        start = free.get(int(plan.resource[t]), 0.0)
        for d in plan.deps(t):
            if int(d) in sel:
                start = max(start, finish[int(d)])
        free[int(plan.resource[t])] = start + plan.cycles[t]
        finish[t] = start + plan.cycles[t] + plan.latency[t]
        end = max(end, finish[t])
    return end


def _edges(plan: GroupPlan, tasks: np.ndarray, program_order: bool):
    sel = {int(t): i for i, t in enumerate(tasks)}
    edges = []   # (src, dst, weight, distance)
    for t in tasks:
        t = int(t)
        for d in plan.deps(t):
            if int(d) in sel:
                edges.append((sel[int(d)], sel[t], plan.cycles[d] + plan.latency[d], 0))
    for s, d, k in zip(plan.carry_src, plan.carry_dst, plan.carry_dist, strict=True):
        if int(s) in sel and int(d) in sel:
            edges.append((sel[int(s)], sel[int(d)], plan.cycles[s] + plan.latency[s], int(k)))
    if program_order:
        by_res = {}
        for t in tasks:
            by_res.setdefault(int(plan.resource[t]), []).append(int(t))
        for ts in by_res.values():
            for a, b in zip(ts, ts[1:], strict=False):
                edges.append((sel[a], sel[b], plan.cycles[a], 0))
            edges.append((sel[ts[-1]], sel[ts[0]], plan.cycles[ts[-1]], 1))
    e = np.array(edges, dtype=np.float64).reshape(-1, 4)
    return e[:, 0].astype(np.int64), e[:, 1].astype(np.int64), e[:, 2], e[:, 3]


def _positive_cycle(n, src, dst, w) -> bool:
    dist = np.zeros(n)
    for _ in range(n + 1):
        cand = dist[src] + w
        new = dist.copy()
        np.maximum.at(new, dst, cand)
        if np.all(new <= dist + 1e-9 * (1 + np.abs(dist))):
            return False
        dist = new
    return True


def max_cycle_ratio(n: int, src, dst, w, dist, rtol: float = 1e-7) -> float:
    """Max over cycles of sum(w) / sum(dist) (0 if the graph has no cycle); zero-distance cycles must not exist."""
    if len(src) == 0:
        return 0.0
    hi = float(w.sum()) + 1.0
    if not _positive_cycle(n, src, dst, w - 0.0 * dist) and not np.any(dist > 0):
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


def _levels(plan: GroupPlan):
    n = len(plan.trips)
    iters = np.concatenate([[1.0], np.cumprod(plan.trips.astype(np.float64))])
    for k in range(n + 1):
        tasks = np.nonzero(plan.level == k)[0]
        if len(tasks):
            yield k, iters[k], tasks


def group_cycles(plan: GroupPlan) -> dict:
    """``{"cycles": total, "resource_cycles": {resource: busy cycles}, "period_cycles": steady-state period}``."""
    count = plan.count
    busy = {r: float(np.sum(count[plan.resource == i] * plan.cycles[plan.resource == i]))
            for i, r in enumerate(plan.resources)}
    n = len(plan.trips)
    body = np.nonzero(plan.level == n)[0]
    fill = makespan(plan, body) if len(body) else 0.0
    total = 0.0
    period = 0.0
    if plan.pipeline == "serial":
        for k, it, tasks in _levels(plan):
            ms = makespan(plan, tasks)
            total += it * ms
            if k == n:
                period = ms
        return {"cycles": total, "resource_cycles": busy, "period_cycles": period}
    order = plan.pipeline == "in_order"
    rec = 0.0
    for k, it, tasks in _levels(plan):
        src, dst, w, dist = _edges(plan, tasks, order)
        ii = max_cycle_ratio(len(tasks), src, dst, w, dist)
        if k == n:
            period = ii
        rec += it * ii
    if order:
        total = in_order_latency(plan)
    else:
        # the busiest resource (or the recurrences) plus the drain of the last iteration after its last period; and
        # at least the first innermost iteration with the outer-level tasks it waits for (the first outer tiles'
        # loads) plus a period for each further one
        period = max(period, max(float(np.sum(plan.cycles[body][plan.resource[body] == i]))
                                 for i in range(len(plan.resources))) if len(body) else 0.0)
        iters = float(np.prod(plan.trips.astype(np.float64)))
        first = makespan(plan, np.nonzero((plan.level == n) | (plan.phase < 0))[0])
        total = max(max(busy.values()), rec) + max(0.0, fill - period)
        total = max(total, first + (iters - 1) * period)
        if len(body) and window_may_bind(plan, body, plan.window, max(period, total / iters), fill):
            # the windowed innermost iterations, after the outer tasks the first one waits for (the lead-in) and
            # before the last blocks' epilogues (the tail)
            t_w, p_w = windowed_latency(plan, body, plan.window, int(iters))
            tail = makespan(plan, np.nonzero(plan.phase > 0)[0])
            total, period = max(total, (first - fill) + t_w + tail), max(period, p_w)
    return {"cycles": total, "resource_cycles": busy, "period_cycles": period}

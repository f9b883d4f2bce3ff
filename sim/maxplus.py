"""Exact latency of an ``in_order`` plan by max-plus algebra (see :mod:`sim.plan` for the plan's meaning).

In an ``in_order`` group every resource (unit or DRAM) runs its tasks in the flattened program order: a level-k
iteration is its ``phase -1`` tasks, ``trips[k]`` iterations of level k + 1, then its ``phase +1`` tasks (the
innermost level: its tasks in program order). A task starts once its resource is free and its dependencies are done:

    start = max(free[r], done[d] for each dependency d, done of the carried source dist iterations back),
    free[r] = start + cycles,  done[t] = start + cycles + latency

Each start is a max of sums, so one task is a max-plus linear map of the state (the time each resource frees, the done
time of each task's latest instance, and for a carried source its last few instances). A level-k iteration is the
product of its tasks' maps and its children's map raised to ``trips[k]`` (repeated squaring), with the first child
of a carried rank's loop taking the map without that carry (the recurrence restarts). The group's latency is the
largest done time after the level-0 map: exact for in-order units and DRAM with enough buffering (the event engine
with its queue window and buffer slots not binding) and carried distances up to MAX_LAG (beyond, an upper bound), in
cycles, at a cost logarithmic in the trip counts.
"""

from __future__ import annotations

import numpy as np

from .plan import GroupPlan

__all__ = ["mp_mul", "mp_power", "in_order_latency"]

NEG = -np.inf
#: longest carried distance kept exactly (older instances of a carried source held in the state)
MAX_LAG = 64


def mp_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Max-plus matrix product: (a ⊗ b)[i, j] = max_k a[i, k] + b[k, j]."""
    return np.max(a[:, :, None] + b[None, :, :], axis=1)


def mp_power(a: np.ndarray, e: int) -> np.ndarray:
    """``a`` to the max-plus power ``e`` >= 0 (the identity for 0) by repeated squaring."""
    out = np.full(a.shape, NEG)
    np.fill_diagonal(out, 0.0)
    while e > 0:
        if e & 1:
            out = mp_mul(a, out)
        e >>= 1
        if e:
            a = mp_mul(a, a)
    return out


def in_order_latency(plan: GroupPlan) -> float:
    """Cycles from the group's start to its last task done, every resource in program order."""
    n_res, n_task, n = len(plan.resources), plan.n_tasks, len(plan.trips)
    # carried sources keep their last `lag` done times: lag = dist, one more if the source runs before the
    # destination in an iteration (its newest instance is then the current iteration's). A carry from a task
    # with no drain (latency 0) to a task on the same in-order resource is implied by program order: dropped.
    # Beyond MAX_LAG the instance MAX_LAG back stands in for the one `lag` back (done later: an upper bound).
    carries = []
    hist = {}
    for s, d, dist, j in zip(plan.carry_src.tolist(), plan.carry_dst.tolist(), plan.carry_dist.tolist(),
                             plan.carry_loop.tolist(), strict=True):
        if plan.resource[s] == plan.resource[d] and plan.latency[s] == 0:
            continue
        lag = min(dist + (1 if s < d else 0), MAX_LAG)
        carries.append((s, d, lag, j))
        hist[s] = max(hist.get(s, 1), lag)
    # state: when each resource frees, the done time of the latest instance of each task others wait for,
    # older instances of carried sources, and the latest done time of all (the group's end)
    needed = sorted({int(x) for x in plan.dep_idx} | set(hist))
    done_at = {t: n_res + i for i, t in enumerate(needed)}
    reg = {}            # (source, lag >= 2) -> state index; lag 1 is the task's own done entry
    size = n_res + len(needed)
    for s, L in sorted(hist.items()):
        for lag in range(2, L + 1):
            reg[(s, lag)] = size
            size += 1
    end = size
    size += 1

    def done_of(s, lag):
        return done_at[s] if lag == 1 else reg[(s, lag)]

    def apply(m, t, off):
        """m := (map of task t) ⊗ m, the carries of loops in ``off`` restarting (not applying)."""
        r = int(plan.resource[t])
        rows = [r] + [done_at[int(d)] for d in plan.deps(t)]
        rows += [done_of(s, lag) for s, d, lag, j in carries if d == t and j not in off]
        start = np.max(m[rows], axis=0)
        if t in hist:
            for lag in range(hist[t], 1, -1):
                m[reg[(t, lag)]] = m[done_of(t, lag - 1)]
        m[r] = start + plan.cycles[t]
        fin = start + plan.cycles[t] + plan.latency[t]
        if t in done_at:
            m[done_at[t]] = fin
        np.maximum(m[end], fin, out=m[end])

    memo = {}

    def level_map(k, off):
        key = (k, off)
        if key in memo:
            return memo[key]
        m = np.full((size, size), NEG)
        np.fill_diagonal(m, 0.0)
        tasks = [t for t in range(n_task) if plan.level[t] == k]
        if k == n:
            for t in tasks:
                apply(m, t, off)
        else:
            for t in tasks:
                if plan.phase[t] < 0:
                    apply(m, t, off)
            trips = int(plan.trips[k])
            first = level_map(k + 1, off | {j for *_, j in carries if j == k})
            m = mp_mul(first, m)
            if trips > 1:
                m = mp_mul(mp_power(level_map(k + 1, off), trips - 1), m)
            for t in tasks:
                if plan.phase[t] > 0:
                    apply(m, t, off)
        memo[key] = m
        return m

    m = level_map(0, frozenset())
    x0 = np.full(size, NEG)
    x0[:n_res] = 0.0
    return float(np.max(m[end] + x0))

"""Batched evaluation of one fusion group over many tile choices: the mapper's inner loop.

``evaluate_group_tiles(workload, sizes, arch, mapping, group, tiles)`` evaluates the group ``group`` of ``mapping``
once per row of ``tiles`` (one column per loop of that group whose tile is left to choose, in the order of
``mapping.choices``) and returns its cycles, energy and feasibility per row, with exactly the semantics of
:func:`einsim.sim.evaluate` (same lowering, same timing model): the group's cycles are what ``evaluate`` adds for it,
its energy what ``evaluate`` charges for its actions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from einsim.arch.energy import action_energy_pj
from einsim.arch.spec import ArchSpec
from einsim.mappings.spec import MappingSpec
from einsim.workloads import Cascade

from .plan import GroupPlan, Infeasible, PlanBatch, group_members, lower_group_rows
from .timing import batch_timing

__all__ = ["GroupBatch", "evaluate_group_tiles", "group_choices", "plan_energy_pj", "batch_energy_pj"]


@dataclass(frozen=True, kw_only=True)
class GroupBatch:
    """Per tile row: ``cycles`` and ``energy_pj`` of the group (NaN where infeasible), ``ok``, and ``reasons``
    (row -> why it is infeasible)."""

    cycles: np.ndarray
    energy_pj: np.ndarray
    ok: np.ndarray
    reasons: dict


def group_choices(mapping: MappingSpec, group: int) -> list[tuple[int, int]]:
    """The (group, loop) keys of ``group``'s loops whose tile is left to choose, in ``mapping.choices`` order."""
    return [(g, i) for g, i in mapping.choices if g == group]


def plan_energy_pj(arch: ArchSpec, plan: GroupPlan) -> float:
    """Energy of every action of one group's plan (pJ), as :func:`einsim.sim.evaluate` charges it."""
    count = plan.count * plan.copies
    price = {}
    total = 0.0
    for t, comp, act, n in zip(plan.act_task, plan.act_component, plan.act_action, plan.act_count, strict=True):
        key = (comp, act)
        if key not in price:
            price[key] = action_energy_pj(arch, comp, act)
        total += count[t] * n * price[key]
    return total


def evaluate_group_tiles(workload: Cascade, sizes: dict, arch: ArchSpec, mapping: MappingSpec, group: int,
                         tiles) -> GroupBatch:
    """Evaluate ``group`` of ``mapping`` for every row of ``tiles`` (bound ``sizes``, as from ``bind_sizes``): the
    group is lowered once for all rows (:func:`einsim.sim.plan.lower_group_rows`), then timed row by row; rows that
    need a structure of their own (a spill) are lowered again on their own."""
    keys = group_choices(mapping, group)
    tiles = np.asarray(tiles, dtype=np.int64).reshape(-1, len(keys))
    n = len(tiles)
    out = GroupBatch(cycles=np.full(n, np.nan), energy_pj=np.full(n, np.nan), ok=np.zeros(n, dtype=bool),
                     reasons={})
    try:
        members, later = group_members(workload, mapping)[group]
    except Infeasible as exc:
        out.reasons.update(dict.fromkeys(range(n), str(exc)))
        return out
    g = mapping.groups[group]
    full = np.array([[lp.tile or 0 for lp in g.loops]] * n, dtype=np.int64).reshape(n, len(g.loops))
    for c, (_, loop) in enumerate(keys):
        full[:, loop] = tiles[:, c]
    _evaluate_rows(workload, sizes, arch, mapping, group, members, later, full, np.arange(n), out)
    return out


def batch_energy_pj(arch: ArchSpec, batch: PlanBatch) -> np.ndarray:
    """Energy of every action of the group per row (pJ): executions x count x price, summed."""
    s, x = batch.structure, batch.numbers
    price = {}
    prices = np.array([price.setdefault(k, action_energy_pj(arch, *k))
                       for k in zip(s["act_component"], s["act_action"], strict=True)])
    trips = x["trips"].astype(np.float64)
    pref = np.concatenate([np.ones((len(trips), 1)), np.cumprod(trips, axis=1)], axis=1)
    count = pref[:, s["level"]] * x["copies"][:, None]
    return (count[:, s["act_task"]] * x["act_count"] * prices).sum(axis=1)


def _evaluate_rows(workload, sizes, arch, mapping, group, members, later, full, index, out: GroupBatch) -> None:
    """Lower and time the rows ``full`` (their indices into ``out``: ``index``), deferred rows one by one."""
    try:
        batch = lower_group_rows(workload, sizes, arch, mapping, mapping.groups[group], members, later,
                                 f"group{group}", full)
    except Infeasible as exc:
        out.reasons.update(dict.fromkeys(index.tolist(), str(exc)))
        return
    ok = np.asarray(batch.rows.ok)
    cycles, _ = batch_timing(batch)
    out.cycles[index[ok]] = cycles[ok]
    out.energy_pj[index[ok]] = batch_energy_pj(arch, batch)[ok]
    out.ok[index[ok]] = True
    for r, why in batch.rows.reasons.items():
        out.reasons[int(index[r])] = why
    deferred = batch.rows.deferred
    if deferred is not None and len(index) > 1:
        for r in np.nonzero(deferred)[0]:
            _evaluate_rows(workload, sizes, arch, mapping, group, members, later, full[r:r + 1], index[r:r + 1],
                           out)

"""Pipelines of whole fusion groups: a loop of *stages* around a sequence of groups (NeuPIMs' sub-batch
interleaving: the batch split in sub-batches, the NPU's groups of one sub-batch running while the PIM's groups of
the other run).

Each group is lowered and timed for one stage iteration (its sizes cut to the stage tile). The stage loop is then a
plan of its own (:class:`einsim.sim.plan.GroupPlan`), timed by the same closed forms and event engine as any group:
its tasks are the groups' occupations of their resources — group g holds resource r busy for the cycles it keeps r
busy (its plan's busy cycles on r); the task on its busiest resource is done the group's ``cycles`` after it starts,
the others when their busy cycles are served (a group's lighter uses of a resource, such as a PIM group's vector
transfers, are spread over its run, so they need not come first); group g + 1 of an iteration starts once
group g is done; resources run tasks of different iterations as the stage pipeline kind allows (``serial``: one
iteration at a time; ``in_order``: each resource in program order; ``interleave``: freely). So whether an NPU group of
one sub-batch overlaps a PIM group of the other is decided by which resources they hold (a PIM unit that shares the
channel's only row buffer holds DRAM, one with its own row buffer does not), never by a schedule's own code path.

An ``exclusive`` resource is held by every group that uses it for the group's whole latency, not only its busy
cycles: a channel whose banks have one row buffer (``UnitSpec.resource`` of a PIM unit is then ``dram``) cannot be
handed to the PIM between the NPU's tile transfers, which a group spreads over its whole run; switching the bank's
only row buffer between the NPU's rows and the PIM's costs a precharge and an activation each time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .plan import COMPUTE, GroupPlan
from .timing import plan_timing

__all__ = ["StageGroup", "stage_plan", "stage_cycles"]


@dataclass(frozen=True, kw_only=True)
class StageGroup:
    """One group's timing for one stage iteration: total ``cycles`` and busy cycles per resource."""

    name: str
    cycles: float
    resource_cycles: dict

    @staticmethod
    def of(plan: GroupPlan) -> StageGroup:
        cycles, busy = plan_timing(plan)
        return StageGroup(name=plan.name, cycles=cycles, resource_cycles=busy)


def stage_plan(groups: list[StageGroup], *, trips: int, pipeline: str, resources: tuple[str, ...],
               window: int = 2, exclusive: tuple[str, ...] = ()) -> GroupPlan:
    """The plan of ``trips`` stage iterations of ``groups`` (in order), run as ``pipeline``; ``window`` stage
    iterations may be in flight at once (2: double-buffered sub-batches); a group holds each ``exclusive`` resource
    it uses for its whole latency."""
    res_index = {r: i for i, r in enumerate(resources)}
    names, res, cyc, lat, deps = [], [], [], [], []
    prev: list[int] = []
    for g in groups:
        held = [(r, b) for r, b in g.resource_cycles.items() if b > 0] or [(resources[0], 0.0)]
        busiest = max(held, key=lambda rb: rb[1])[0]
        mine = []
        for r, b in held:
            names.append(f"{g.name}@{r}")
            res.append(res_index[r])
            hold = max(b, g.cycles) if r in exclusive else b
            cyc.append(hold)
            lat.append(max(0.0, g.cycles - hold) if r == busiest else 0.0)
            deps.append(list(prev))
            mine.append(len(names) - 1)
        prev = mine
    n = len(names)
    dep_ptr = np.zeros(n + 1, dtype=np.int64)
    for i, d in enumerate(deps):
        dep_ptr[i + 1] = dep_ptr[i] + len(d)
    empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0)
    return GroupPlan(
        name="stages", pipeline=pipeline, loop_ranks=("stage",), loop_tiles=np.array([1]),
        trips=np.array([trips], dtype=np.int64), resources=tuple(resources),
        resource_pes=np.zeros(len(resources), dtype=np.int64), task_name=tuple(names), task_einsum=tuple(names),
        kind=np.full(n, COMPUTE, dtype=np.int8), resource=np.array(res, dtype=np.int32),
        level=np.ones(n, dtype=np.int32), phase=np.zeros(n, dtype=np.int8), cycles=np.array(cyc),
        latency=np.array(lat), bytes=np.zeros(n), busy=np.zeros(n), dep_ptr=dep_ptr,
        dep_idx=np.array([x for d in deps for x in d], dtype=np.int64), carry_src=empty_i, carry_dst=empty_i,
        carry_dist=empty_i, carry_loop=empty_i, act_task=empty_i, act_component=(), act_action=(),
        act_count=empty_f, peak_buffer_bytes=0.0, buffer_bytes={}, window=window)


def stage_cycles(groups: list[StageGroup], *, trips: int, pipeline: str, resources: tuple[str, ...],
                 window: int = 2, exclusive: tuple[str, ...] = ()) -> dict:
    """``{"cycles", "resource_cycles"}`` of the stage loop by the analytical model (:mod:`einsim.sim.timing`)."""
    cycles, busy = plan_timing(stage_plan(groups, trips=trips, pipeline=pipeline, resources=resources,
                                          window=window, exclusive=exclusive))
    return {"cycles": cycles, "resource_cycles": busy}

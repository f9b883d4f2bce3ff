"""The analytical timing model of a lowered group, run by its Numba kernels (:mod:`einsim.sim.kernels.timing`).

``plan_timing(plan)`` times one GroupPlan; ``batch_timing(batch)`` every feasible row of a PlanBatch in one kernel
call (the mapper's fast path). Both compute exactly the closed forms of :mod:`einsim.sim.analytical`, whose
plain-Python ``group_cycles`` is their reference.
"""

from __future__ import annotations

import numpy as np

from .kernels import timing as _k
from .plan import GroupPlan, PlanBatch

__all__ = ["PIPELINE_CODE", "plan_timing", "batch_timing"]

PIPELINE_CODE = {"serial": _k.SERIAL, "in_order": _k.IN_ORDER, "interleave": _k.INTERLEAVE}


def _structure(p) -> tuple:
    return (len(p["resources"]), p["resource"].astype(np.int64), p["level"].astype(np.int64),
            p["phase"].astype(np.int64))


def plan_timing(plan: GroupPlan) -> tuple[float, dict]:
    """(cycles, {resource: busy cycles}) of one group."""
    cycles, busy = _k.group_timing(
        PIPELINE_CODE[plan.pipeline], int(plan.window), len(plan.resources), plan.resource.astype(np.int64),
        plan.level.astype(np.int64), plan.phase.astype(np.int64), np.asarray(plan.cycles, dtype=np.float64),
        np.asarray(plan.latency, dtype=np.float64), plan.dep_ptr, plan.dep_idx, plan.carry_src, plan.carry_dst,
        np.asarray(plan.carry_dist, dtype=np.int64), plan.carry_loop, np.asarray(plan.trips, dtype=np.int64))
    return float(cycles), {r: float(b) for r, b in zip(plan.resources, busy, strict=True)}


def batch_timing(batch: PlanBatch) -> tuple[np.ndarray, np.ndarray]:
    """(cycles per row, NaN where infeasible; busy cycles per row and resource) of every row of a batch."""
    s, x = batch.structure, batch.numbers
    n_res, res, level, phase = _structure(s)
    return _k.group_timing_rows(
        PIPELINE_CODE[s["pipeline"]], np.asarray(x["window"], dtype=np.int64), np.asarray(batch.rows.ok), n_res, res,
        level, phase, np.ascontiguousarray(x["cycles"], dtype=np.float64),
        np.ascontiguousarray(x["latency"], dtype=np.float64), s["dep_ptr"], s["dep_idx"], s["carry_src"],
        s["carry_dst"], np.ascontiguousarray(x["carry_dist"], dtype=np.int64), s["carry_loop"],
        np.ascontiguousarray(x["trips"], dtype=np.int64))

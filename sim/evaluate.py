"""``evaluate(workload, arch, mapping, sizes) -> Result``: the analytical model as a fixed sequence of named steps.

1. bind sizes (the instance plus the mapping's partition sizes);
2. lower each fusion group to a plan (:mod:`einsim.sim.plan`: nest analysis, per-unit work, data movement per level,
   buffer occupancy, program order);
3. accesses: action counts per component (units, DRAM, each on-chip level) from the plans;
4. energy: action counts times the architecture's per-action energies;
5. performance: closed-form cycles per group (:mod:`einsim.sim.analytical`, run by its Numba kernels through
   :mod:`einsim.sim.timing`), summed over groups run in order.

A mapping whose tiles are candidate lists is resolved first by :func:`einsim.sim.mapper.best_mapping`.
Pure: no I/O, no global state; an infeasible point is a Result with ``ok=False``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from einsim.arch.energy import action_energy_pj
from einsim.arch.spec import ArchSpec
from einsim.mappings.spec import MappingSpec
from einsim.workloads import Cascade
from einsim.workloads.errors import SpecError

from .plan import LOAD, STORE, GroupPlan, Infeasible, lower
from .result import Result
from .timing import plan_timing

__all__ = ["evaluate", "evaluate_fixed", "bind_sizes", "Accesses", "count_accesses", "Timing", "time_plans"]


def evaluate(workload: Cascade, arch: ArchSpec, mapping: MappingSpec, sizes: dict) -> Result:
    """Evaluate; if the mapping leaves tiles to choose, take the feasible choice with the fewest cycles."""
    if mapping.choices:
        from .mapper import best_mapping

        return best_mapping(workload, arch, mapping, sizes)[1]
    return evaluate_fixed(workload, arch, mapping, sizes)


def bind_sizes(workload: Cascade, mapping: MappingSpec, sizes: dict) -> dict:
    """Step 1: the instance's sizes plus the mapping's partition sizes, checked against the cascade."""
    return workload.bind({**dict(sizes), **{k: v for k, v in mapping.partitions.items() if k not in sizes}})


@dataclass(frozen=True, kw_only=True)
class Accesses:
    """Step 3: action counts per (component, action), DRAM bytes, PE-cycles of work per unit, activity rows."""

    counts: dict
    dram_read_bytes: float
    dram_write_bytes: float
    pe_cycles: dict
    activity: tuple


def count_accesses(plans: list[GroupPlan]) -> Accesses:
    counts = defaultdict(float)
    rd = wr = 0.0
    pe_cycles = defaultdict(float)
    activity = []
    for p in plans:
        c = p.count * p.copies
        for t, comp, act, n in zip(p.act_task, p.act_component, p.act_action, p.act_count, strict=True):
            counts[(comp, act)] += c[t] * n
        rd += float(np.sum(c[p.kind == LOAD] * p.bytes[p.kind == LOAD]))
        wr += float(np.sum(c[p.kind == STORE] * p.bytes[p.kind == STORE]))
        for t in range(p.n_tasks):
            r = p.resources[p.resource[t]]
            pe_cycles[p.task_unit[t] if p.task_unit else r] += c[t] * p.busy[t]
            activity.append((p.name, p.task_einsum[t], p.task_name[t], r, float(c[t]), float(c[t] * p.cycles[t]),
                             float(c[t] * p.busy[t])))
    return Accesses(counts=dict(counts), dram_read_bytes=rd, dram_write_bytes=wr, pe_cycles=dict(pe_cycles),
                    activity=tuple(activity))


@dataclass(frozen=True, kw_only=True)
class Timing:
    """Step 5: total cycles and busy cycles per resource (one instance's view) over the groups run in order."""

    cycles: float
    resource_cycles: dict


def time_plans(plans: list[GroupPlan]) -> Timing:
    cycles = 0.0
    busy = defaultdict(float)
    for p in plans:
        c, per_resource = plan_timing(p)
        cycles += c
        for r, b in per_resource.items():
            busy[r] += b
    return Timing(cycles=cycles, resource_cycles=dict(busy))


def _summary(arch: ArchSpec, plans, acc: Accesses, energy, timing: Timing) -> dict:
    cycles = timing.cycles
    per = (lambda x: x / cycles) if cycles else (lambda x: 0.0)
    s = {
        "cycles": cycles,
        "latency_s": cycles / arch.clock_hz,
        "energy_pj": float(sum(e[3] for e in energy)),
        "dram_bytes": acc.dram_read_bytes + acc.dram_write_bytes,
        "dram_read_bytes": acc.dram_read_bytes,
        "dram_write_bytes": acc.dram_write_bytes,
        "peak_buffer_bytes": max(p.peak_buffer_bytes for p in plans),
        "dram_util": per(timing.resource_cycles.get("dram", 0.0)),
    }
    on_chip = arch.on_chip_levels
    for rw in ("read", "write"):
        per_level = {m.name: acc.counts.get((m.name, rw), 0.0) * m.access_bytes for m in on_chip}
        s[f"buffer_{rw}_bytes"] = float(sum(per_level.values()))
        if len(on_chip) > 1:
            s.update({f"{name}_{rw}_bytes": v for name, v in per_level.items()})
    for u in arch.units:
        s[f"util_{u.name}"] = per(acc.pe_cycles.get(u.name, 0.0) / (u.pes * u.instances))
        s[f"busy_{u.name}"] = per(timing.resource_cycles.get(u.name, 0.0))
    for comp in sorted({k[0] for k in acc.counts}):
        s[f"energy_{comp}_pj"] = float(sum(e[3] for e in energy if e[0] == comp))
    return s


def evaluate_fixed(workload: Cascade, arch: ArchSpec, mapping: MappingSpec, sizes: dict) -> Result:
    try:
        s = bind_sizes(workload, mapping, sizes)
    except SpecError as exc:
        return Result.infeasible(f"sizes do not fit the cascade: {exc}")
    try:
        plans = lower(workload, s, arch, mapping)
    except Infeasible as exc:
        return Result.infeasible(str(exc))
    acc = count_accesses(plans)
    energy = [(comp, act, n, n * action_energy_pj(arch, comp, act)) for (comp, act), n in sorted(acc.counts.items())]
    timing = time_plans(plans)
    return Result(ok=True, summary=_summary(arch, plans, acc, energy, timing), energy=tuple(energy),
                  activity=acc.activity)

"""``evaluate(workload, arch, mapping, sizes) -> Result``: the analytical model as a fixed sequence of named steps.

1. bind sizes (the instance plus the mapping's partition sizes);
2. nest analysis and tiles: lower each fusion group to a plan (:mod:`sim.plan`);
3. per-level accesses: DRAM and global-buffer traffic and action counts from the plan;
4. energy: action counts times the architecture's per-action energies;
5. performance: closed-form cycles per group (:mod:`sim.analytical`), summed over groups run in order.

A mapping whose tiles are candidate lists is resolved first by :func:`sim.mapper.best_mapping`.
Pure: no I/O, no global state; an infeasible point is a Result with ``ok=False``.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from einsim.arch.energy import action_energy_pj
from einsim.arch.spec import ArchSpec
from einsim.mappings.spec import MappingSpec
from einsim.workloads import Cascade
from einsim.workloads.errors import SpecError

from .analytical import group_cycles
from .plan import LOAD, STORE, Infeasible, lower
from .result import Result

__all__ = ["evaluate", "evaluate_fixed"]


def evaluate(workload: Cascade, arch: ArchSpec, mapping: MappingSpec, sizes: dict) -> Result:
    """Evaluate; if the mapping leaves tiles to choose, take the feasible choice with the fewest cycles."""
    if mapping.choices:
        from .mapper import best_mapping

        return best_mapping(workload, arch, mapping, sizes)[1]
    return evaluate_fixed(workload, arch, mapping, sizes)


def evaluate_fixed(workload: Cascade, arch: ArchSpec, mapping: MappingSpec, sizes: dict) -> Result:
    # 1. sizes
    try:
        s = workload.bind({**dict(sizes), **{k: v for k, v in mapping.partitions.items()
                                             if k not in sizes}})
    except SpecError as exc:
        return Result.infeasible(f"sizes do not fit the cascade: {exc}")
    # 2. nest analysis + tiles
    try:
        plans = lower(workload, s, arch, mapping)
    except Infeasible as exc:
        return Result.infeasible(str(exc))
    # 3. accesses and 4. energy
    counts = defaultdict(float)
    dram_rd = dram_wr = 0.0
    activity = []
    busy_pe = defaultdict(float)
    for p in plans:
        c = p.count
        for t, comp, act, n in zip(p.act_task, p.act_component, p.act_action, p.act_count, strict=True):
            counts[(comp, act)] += c[t] * n
        dram_rd += float(np.sum(c[p.kind == LOAD] * p.bytes[p.kind == LOAD]))
        dram_wr += float(np.sum(c[p.kind == STORE] * p.bytes[p.kind == STORE]))
        for t in range(p.n_tasks):
            r = p.resources[p.resource[t]]
            busy_pe[r] += c[t] * p.busy[t]
            activity.append((p.name, p.task_einsum[t], p.task_name[t], r, float(c[t]), float(c[t] * p.cycles[t]),
                             float(c[t] * p.busy[t])))
    energy = [(comp, act, n, n * action_energy_pj(arch, comp, act)) for (comp, act), n in sorted(counts.items())]
    # 5. performance
    cycles = 0.0
    res_busy = defaultdict(float)
    for p in plans:
        gc = group_cycles(p)
        cycles += gc["cycles"]
        for r, b in gc["resource_cycles"].items():
            res_busy[r] += b
    buf = arch.buffer
    summary = {
        "cycles": cycles,
        "latency_s": cycles / arch.clock_hz,
        "energy_pj": float(sum(e[3] for e in energy)),
        "dram_bytes": dram_rd + dram_wr,
        "dram_read_bytes": dram_rd,
        "dram_write_bytes": dram_wr,
        "buffer_read_bytes": counts.get((buf.name, "read"), 0.0) * buf.access_bytes,
        "buffer_write_bytes": counts.get((buf.name, "write"), 0.0) * buf.access_bytes,
        "peak_buffer_bytes": max(p.peak_buffer_bytes for p in plans),
        "dram_util": res_busy["dram"] / cycles if cycles else 0.0,
    }
    for u in arch.units:
        summary[f"util_{u.name}"] = busy_pe[u.name] / (u.pes * cycles) if cycles else 0.0
        summary[f"busy_{u.name}"] = res_busy[u.name] / cycles if cycles else 0.0
    for comp in sorted({k[0] for k in counts}):
        summary[f"energy_{comp}_pj"] = float(sum(e[3] for e in energy if e[0] == comp))
    return Result(ok=True, summary=summary, energy=tuple(energy), activity=tuple(activity))

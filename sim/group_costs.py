"""Each fusion group of one (workload, architecture, mapping, sizes) point on its own: its latency, the cycles it
keeps each resource busy, its energy and work, from the same lowered plans :func:`einsim.sim.evaluate` times.

A serving run composes these per-group costs (``sim.decode``): it sums them over the requests of a batch and runs
the groups of a decode iteration as stages (``sim.stages``), so it needs them one group at a time rather than the
point's total. ``engine="analytical"`` times each plan by the closed forms (:func:`einsim.sim.timing.plan_timing`),
``engine="event"`` by the tile-level event engine (:func:`einsim.sim.simulate.program_of`), the cross-check.

``CostCache`` memoizes :func:`group_costs` by the point's content (cascade, sizes, architecture, mapping, engine):
evaluation stays a pure function, the cache only avoids evaluating a point twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from einsim.arch.spec import ArchSpec
from einsim.mappings.spec import MappingSpec
from einsim.workloads import Cascade

from .errors import Infeasible
from .fastpath import plan_energy_pj
from .plan import LOAD, STORE, GroupPlan, lower
from .timing import plan_timing

__all__ = ["GroupCost", "group_costs", "CostCache", "arch_used", "ENGINES"]

ENGINES = ("analytical", "event")


@dataclass(frozen=True, kw_only=True)
class GroupCost:
    """One fusion group of a point. ``cycles``: its latency; ``resource_cycles``: cycles each resource (a unit, or
    ``dram``; one instance's view) is busy; ``energy_pj`` and ``dram_bytes`` of all its instances; ``pe_cycles``:
    PE-cycles of work per unit, all instances; ``units``: the units doing its work; ``instances``: unit instances it
    spreads over; ``copies``: instance-programs' worth of work (``requests / copies`` requests per instance when the
    outermost loop is one request per iteration)."""

    name: str
    einsums: tuple[str, ...]
    cycles: float
    resource_cycles: dict
    energy_pj: float
    dram_bytes: float
    pe_cycles: dict
    units: tuple[str, ...]
    instances: int
    copies: float


def _work(plan: GroupPlan) -> tuple[dict, float]:
    count = plan.count * plan.copies
    pe: dict = {}
    for t in range(plan.n_tasks):
        u = plan.task_unit[t] if plan.task_unit else ""
        if u:
            pe[u] = pe.get(u, 0.0) + float(count[t] * plan.busy[t])
    moved = (plan.kind == LOAD) | (plan.kind == STORE)
    return pe, float(np.sum(count[moved] * plan.bytes[moved]))


def _event_timing(plan: GroupPlan, cascade: Cascade, arch: ArchSpec, streamed) -> tuple[float, dict]:
    from .engine_program import run
    from .simulate import program_of, window_of

    prog = program_of(plan, cascade, window_of(plan, cascade, arch), streamed=streamed)
    r = run(prog)
    busy: dict = {}
    for i, name in enumerate(prog.resources):
        res = name.split("#")[0]
        copies = sum(1 for x in prog.resources if x.split("#")[0] == res)
        busy[res] = busy.get(res, 0.0) + r.busy_ticks[i] / r.ticks_per_cycle / copies
    return r.cycles, busy


def group_costs(workload: Cascade, arch: ArchSpec, mapping: MappingSpec, sizes: dict, *,
                engine: str = "analytical") -> list[GroupCost]:
    """Every fusion group of the point, in order; Infeasible (with the reason) if the point cannot run. Tile
    candidates are resolved by the analytical mapper first (as :func:`einsim.sim.simulate` does)."""
    from .evaluate import bind_sizes
    from .mapper import best_mapping

    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if mapping.choices:
        mapping, r = best_mapping(workload, arch, mapping, sizes)
        if not r.ok:
            raise Infeasible(r.reason)
    plans = lower(workload, bind_sizes(workload, mapping, sizes), arch, mapping)
    out = []
    for plan, g in zip(plans, mapping.groups, strict=True):
        if engine == "analytical":
            cycles, busy = plan_timing(plan)
        else:
            cycles, busy = _event_timing(plan, workload, arch, g.stream)
        pe, moved = _work(plan)
        out.append(GroupCost(
            name=plan.name, einsums=tuple(dict.fromkeys(e for e in plan.task_einsum if e)), cycles=cycles,
            resource_cycles=busy, energy_pj=plan_energy_pj(arch, plan), dram_bytes=moved, pe_cycles=pe,
            units=tuple(dict.fromkeys(u for u in plan.task_unit if u)), instances=plan.instances,
            copies=float(plan.copies)))
    return out


def arch_used(arch: ArchSpec, mapping: MappingSpec) -> str:
    """The parts of ``arch`` a plan of ``mapping`` depends on, as text: clock, word size, the units the mapping binds
    and the memory levels (DRAM and the on-chip levels serving those units, ``serves`` cut to them). Two
    architectures that differ only in units the mapping leaves idle (an NPU with or without a PIM unit, for a
    GEMM) give the same text, so their costs are the same: every other unit is a resource the plan never
    occupies."""
    bound = sorted({u for u in mapping.binding.values() if u in {x.name for x in arch.units}})
    levels = [replace(m, serves=tuple(u for u in bound if m.serves_unit(u))) for m in arch.memory
              if not m.on_chip or any(m.serves_unit(u) for u in bound)]
    return repr((arch.clock_hz, arch.word_bytes, [arch.unit(u) for u in bound], levels))


@dataclass
class CostCache:
    """Memo of :func:`group_costs` keyed by the point's content (cascade, sizes, the architecture's parts the
    mapping uses (:func:`arch_used`), the mapping's ``repr``, which lists every field, engine). ``hits`` and
    ``misses`` count look-ups."""

    table: dict = field(default_factory=dict)
    hits: int = 0
    misses: int = 0

    def costs(self, workload: Cascade, arch: ArchSpec, mapping: MappingSpec, sizes: dict, *,
              engine: str = "analytical") -> list[GroupCost]:
        key = (workload.name, tuple(sorted(sizes.items())), arch_used(arch, mapping), repr(mapping), engine)
        if key in self.table:
            self.hits += 1
        else:
            self.misses += 1
            try:
                self.table[key] = group_costs(workload, arch, mapping, sizes, engine=engine)
            except Infeasible as exc:
                self.table[key] = exc
        found = self.table[key]
        if isinstance(found, Infeasible):
            raise Infeasible(str(found))
        return found

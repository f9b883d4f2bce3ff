"""``simulate(workload, arch, mapping, sizes) -> Result``: rung 3, the tile-level event engine on the lowered plan.

Steps (the same lowering as :func:`sim.evaluate`, then simulation instead of closed forms):

1. evaluate the point analytically (sizes, plan, action counts, energy: the engine changes timing, not actions);
   a mapping with tile candidates is resolved by the analytical mapper first;
2. turn each fusion group's plan (:mod:`sim.plan`) into an engine program (:func:`program_of`): the shared loops are
   flattened into global iterations, a task of loop level k runs every ``prod(trips[k:])`` iterations (first or
   last inner iteration by its phase), dependencies become distance-0 edges, loop-carried ones edges at their
   distance that restart with each iteration of the loops outside the carried rank (loads of the group's
   ``stream`` tensors feed their consumers as the data arrives: streamed edges), and buffer slots edges at
   ``depth`` tiles; units and DRAM are resources, in program order for ``in_order`` groups; ``serial`` groups keep
   one iteration in flight, pipelined ones as many innermost iterations as the buffer space left by the plan holds
   (:func:`window_of`: at least the plan's double buffering, at most WINDOW_MAX); innermost tiles get that many
   buffer slots, outer tiles two;
3. run the engine (steady-state extrapolation unless ``exact``) and sum the groups' makespans, as groups run in
   order; utilization comes from simulated busy time.

Durations are kept at 1/TICKS_PER_CYCLE cycle (DRAM transfers take fractional cycles).
"""

from __future__ import annotations

import math
import time

from einsim.arch.spec import ArchSpec
from einsim.mappings.spec import MappingSpec
from einsim.workloads import Cascade
from einsim.workloads.errors import SpecError

from .engine_program import EngineProgram, EngineRun, run
from .evaluate import bind_sizes, evaluate_fixed
from .plan import COMPUTE, LOAD, STORE, WINDOW_MAX, GroupPlan, Infeasible, lower
from .result import Result

__all__ = ["simulate", "program_of", "window_of", "TICKS_PER_CYCLE", "WINDOW_MAX"]

TICKS_PER_CYCLE = 64


def window_of(plan: GroupPlan, cascade: Cascade, arch: ArchSpec, window_max: int = WINDOW_MAX) -> int:
    """Innermost iterations a group keeps in flight: the plan's ``window`` (1 when serial; 2, the plan's double
    buffering, plus copies of one iteration's tiles in the buffer space it leaves free), at most ``window_max``."""
    return 1 if plan.pipeline == "serial" else int(min(window_max, plan.window))


def program_of(plan: GroupPlan, cascade: Cascade, window: int, *, streamed=(),
               ticks_per_cycle: int = TICKS_PER_CYCLE) -> EngineProgram:
    """The engine program of one lowered fusion group, ``window`` innermost iterations in flight (1: serial);
    ``cascade`` may be None for a plan without loop-carried dependencies (a stage plan of :mod:`einsim.sim.stages`);
    loads of the ``streamed`` tensors (the group's ``stream``) feed their consumers as they arrive. A group spread
    over unit instances runs one copy of its program per concurrent instance, each on its own unit resources and its
    own DRAM queue (an instance's DMA engine), whose transfers take the plan's DRAM cycles: each instance moving data
    at its equal share of the DRAM bandwidth."""
    trips = [int(x) for x in plan.trips]
    n = len(trips)
    stride = [math.prod(trips[k:]) for k in range(n + 1)]     # global iterations per iteration of level k
    prog = EngineProgram(n_iters=stride[0], window=window, ticks_per_cycle=ticks_per_cycle)
    copies = plan.concurrent
    for r in plan.resources:
        for c in range(copies):
            prog.resource(_copy_name(r, c, copies), in_order=plan.pipeline == "in_order")
    for c in range(copies):
        _add_copy(prog, plan, cascade, window, stride, c, copies, set(streamed))
    return prog


def _copy_name(name: str, copy: int, copies: int) -> str:
    return name if copies == 1 else f"{name}#{copy}"


def _add_copy(prog: EngineProgram, plan: GroupPlan, cascade: Cascade, window: int, stride, c: int, copies: int,
              streamed: set) -> None:
    """Templates and edges of copy ``c`` of the group's program."""
    tick = lambda x: int(round(float(x) * prog.ticks_per_cycle))  # noqa: E731
    names = [_copy_name(f"{i}:{nm}", c, copies) for i, nm in enumerate(plan.task_name)]
    for t in range(plan.n_tasks):
        s = stride[int(plan.level[t])]
        res = plan.resources[int(plan.resource[t])]
        prog.task(names[t], _copy_name(res, c, copies), tick(plan.cycles[t]), lat=tick(plan.latency[t]), stride=s,
                  offset=s - 1 if plan.phase[t] == 1 else 0)
    stream_loads = {t for t in range(plan.n_tasks)
                    if plan.kind[t] == LOAD and plan.task_name[t].split(" ", 1)[-1] in streamed}
    for t in range(plan.n_tasks):
        for d in plan.deps(t):
            prog.edge(names[int(d)], names[t], stream=int(d) in stream_loads and plan.kind[t] == COMPUTE)
    produced = {e.name: e.output.tensor for e in cascade.einsums} if len(plan.carry_src) else {}
    for s, d, dist in zip(plan.carry_src, plan.carry_dst, plan.carry_dist, strict=True):
        k = int(plan.level[d])
        rank = cascade.iterated[produced[plan.task_einsum[s]]]
        j = max(j for j in range(k) if plan.loop_ranks[j] == rank)
        prog.edge(names[int(s)], names[int(d)], int(dist) * stride[k], span=stride[j])
    for t in range(plan.n_tasks):
        st = stride[int(plan.level[t])]
        if st == stride[0]:
            continue    # one instance for the whole run: no slot is reused
        # innermost tiles get `window` slots; outer tiles are double buffered (single when serial)
        depth = min(window, 2) if st > 1 else window
        if plan.kind[t] == LOAD:        # the slot of tile i is refilled by tile i + depth once its consumers are done
            for u in range(plan.n_tasks):
                if t in plan.deps(u):
                    prog.edge(names[u], names[t], (depth - 1) * st + 1)
        elif plan.kind[t] == STORE:     # the producer refills the output tile once it has been written out
            for p in plan.deps(t):
                if plan.kind[int(p)] == COMPUTE:
                    prog.edge(names[t], names[int(p)], (depth - 1) * st + 1)


def simulate(workload: Cascade, arch: ArchSpec, mapping: MappingSpec, sizes: dict, *, exact: bool = False,
             window_max: int = WINDOW_MAX) -> Result:
    """The event engine's Result for one point (same type and columns as :func:`sim.evaluate`)."""
    t0 = time.perf_counter()
    if mapping.choices:
        from .mapper import best_mapping

        mapping, base = best_mapping(workload, arch, mapping, sizes)
    else:
        base = evaluate_fixed(workload, arch, mapping, sizes)
    if not base.ok:
        return base
    try:
        s = bind_sizes(workload, mapping, sizes)
        plans = lower(workload, s, arch, mapping)
    except (SpecError, Infeasible) as exc:   # evaluate accepted it: should not happen
        return Result.infeasible(str(exc))
    progs = [program_of(p, workload, window_of(p, workload, arch, window_max), streamed=g.stream)
             for p, g in zip(plans, mapping.groups, strict=True)]
    runs: list[EngineRun] = [run(prog, exact=exact) for prog in progs]
    cycles = sum(r.cycles for r in runs)
    busy = {}
    for r, prog in zip(runs, progs, strict=True):
        for i, name in enumerate(prog.resources):
            unit = name.split("#")[0]
            copies = sum(1 for x in prog.resources if x.split("#")[0] == unit)
            busy[unit] = busy.get(unit, 0.0) + r.busy_ticks[i] / r.ticks_per_cycle / copies
    summary = dict(base.summary)
    summary["analytical_cycles"] = base.summary["cycles"]
    summary["cycles"] = cycles
    summary["latency_s"] = cycles / arch.clock_hz
    summary["dram_util"] = busy.get("dram", 0.0) / cycles if cycles else 0.0
    for u in arch.units:
        pe_cycles = base.summary[f"util_{u.name}"] * u.pes * u.instances * base.summary["cycles"]
        summary[f"util_{u.name}"] = pe_cycles / (u.pes * u.instances * cycles) if cycles else 0.0
        summary[f"busy_{u.name}"] = busy.get(u.name, 0.0) / cycles if cycles else 0.0
    summary["events"] = sum(r.stats["events"] for r in runs)
    summary["events_simulated"] = sum(r.stats["events_simulated"] for r in runs)
    summary["engine_s"] = time.perf_counter() - t0
    return Result(ok=True, summary=summary, energy=base.energy, activity=base.activity, choices=base.choices)


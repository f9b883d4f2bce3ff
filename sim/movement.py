"""Step 3 of lowering: the group's dataflow as tasks — compute tiles and the data movement per level around them.

For each Einsum in order: its compute task on its unit (:mod:`einsim.sim.unit_work`), reading each input from where
it lives (an intermediate of the group: on chip or in the PEs; a DRAM tensor: loaded into an on-chip level at the
depth it is held at), and a store of its output once the output's reductions over the shared loops are complete if
it leaves the group or is not kept on chip. Then loop-carried dependencies of iterated tensors and reloads of
intermediates that are not kept on chip. Placement (:func:`placement`): a tensor's tiles live in the level the mapping
names in ``levels``, else the outermost on-chip level serving the unit that uses them; ``in_pe`` ones in the PEs. A
pim unit reads a DRAM tensor the mapping leaves in the DRAM level in place: no load, its reads charged to the DRAM.
"""

from __future__ import annotations

from dataclasses import dataclass

from einsim.arch.spec import ArchSpec
from einsim.mappings.spec import Group, MappingSpec
from einsim.workloads.cascade import is_carried

from .errors import Infeasible
from .nest import Nest
from .tasks import COMPUTE, LOAD, STORE, Task, TaskList
from .unit_work import unit_work

__all__ = ["Dataflow", "placement", "build_dataflow", "IN_PE"]

#: placement of a tensor kept in the PEs' register files (no buffer access)
IN_PE = "<pe>"


@dataclass(kw_only=True)
class Dataflow:
    """The group's tasks and actions, where each tensor lives, and which DRAM tiles stay resident (bytes)."""

    tasks: TaskList
    place: dict          # tensor -> on-chip level name, or IN_PE
    on_chip: set         # intermediates kept on chip (or in the PEs)
    produced: dict       # tensor -> Einsum making it
    task_of: dict        # Einsum -> compute task
    resident: dict       # "tensor@depth" -> (level, bytes held while the group runs)


def placement(arch: ArchSpec, mapping: MappingSpec, g: Group, einsums, where: str) -> dict:
    """tensor -> the on-chip level (or IN_PE) its tiles live in, for every tensor the group's Einsums touch."""
    place = {}
    for e in einsums:
        unit = mapping.unit_of(e.name)
        for t in [op.tensor for op in e.inputs] + [e.output.tensor]:
            if t in place:
                continue
            if t in g.in_pe:
                place[t] = IN_PE
            elif t in g.levels and g.levels[t] == arch.dram.name:
                if arch.unit(unit).kind != "pim" if unit in {u.name for u in arch.units} else True:
                    raise Infeasible(f"{where} leaves {t!r} in {arch.dram.name!r} for {e.name} to read in place, but "
                                     f"only a pim unit computes in the DRAM, not {unit!r}")
                place[t] = arch.dram.name
            elif t in g.levels:
                lvl = g.levels[t]
                if lvl not in {m.name for m in arch.on_chip_levels}:
                    raise Infeasible(f"{where} keeps {t!r} in level {lvl!r}, which is not an on-chip level of "
                                     f"{arch.name!r} ({', '.join(m.name for m in arch.on_chip_levels)}), nor "
                                     f"{arch.dram.name!r} for a pim unit")
                if not arch.level(lvl).serves_unit(unit):
                    raise Infeasible(f"{where} keeps {t!r} in {lvl!r}, which does not serve unit {unit!r}")
                place[t] = lvl
            else:
                place[t] = arch.home_level(unit).name
    return place


def _check_in_pe(cascade, mapping, g, einsums, nest, needed_later):
    """in_pe intermediates are made and used on one unit within one tile and never leave the group."""
    for tname in sorted(g.in_pe):
        src = next((e.name for e in einsums if e.output.tensor == tname), None)
        if src is None:
            raise Infeasible(f"{nest.name} keeps {tname!r} in the PEs, but no Einsum of the group makes it")
        if tname in cascade.outputs or tname in needed_later:
            raise Infeasible(f"{nest.name} keeps {tname!r} in the PEs, but it leaves the group; drop it from in_pe")
        for e in einsums:
            if e.name != src and any(op.tensor == tname for op in e.inputs) and (
                    mapping.unit_of(e.name) != mapping.unit_of(src) or nest.level[e.name] != nest.level[src]):
                raise Infeasible(f"{nest.name} keeps {tname!r} in the PEs of {mapping.unit_of(src)!r}, but {e.name} "
                                 f"reads it on {mapping.unit_of(e.name)!r} or in another tile loop; keep it in the "
                                 f"buffer (on_chip) instead")


def build_dataflow(cascade, arch: ArchSpec, mapping: MappingSpec, g: Group, einsums, nest: Nest,
                   needed_later) -> Dataflow:
    """Tasks of the group in creation order (see the module docstring)."""
    _check_in_pe(cascade, mapping, g, einsums, nest, needed_later)
    produced = {e.output.tensor: e.name for e in einsums}
    in_pe = set(g.in_pe)
    df = Dataflow(tasks=TaskList(arch, dram_share=nest.copies), place=placement(arch, mapping, g, einsums, nest.name),
                  on_chip=(set(produced) if g.on_chip is None else set(g.on_chip) & set(produced)) | in_pe,
                  produced=produced, task_of={}, resident={})
    units = {u.name: u for u in arch.units}
    double = 2 if g.pipeline != "serial" else 1
    loads: dict = {}
    pending_carry = []
    for e in einsums:
        uname = mapping.unit_of(e.name)
        if uname not in units:
            raise Infeasible(f"Einsum {e.name!r} is bound to unit {uname!r}, which architecture {arch.name!r} lacks "
                             f"(it has {', '.join(units)})")
        k = nest.level[e.name]
        work = unit_work(e, units[uname], nest, g.spatial.get(e.name, g.spatial.get(uname, {})), arch.name)
        phase = 0 if k == nest.depth else -1
        deps = []
        for op in e.inputs:
            it_rank = cascade.iterated.get(op.tensor)
            if op.tensor in produced:
                if it_rank is not None and is_carried(op, it_rank):
                    pending_carry.append((e.name, op.tensor, it_rank))   # the previous iteration's value
                    continue
                src = df.task_of[produced[op.tensor]]
                deps.append(src)
                if k < nest.depth and (df.tasks.tasks[src].level > k or df.tasks.tasks[src].phase == 1):
                    phase = 1
                continue
            if df.place[op.tensor] != arch.dram.name:
                deps.append(_load(df, g, nest, op.tensor, k, loads, double))
        t = df.tasks.add(Task(name=e.name, kind=COMPUTE, resource=units[uname].resource, unit=uname, level=k,
                              phase=phase, cycles=work.cycles,
                              latency=work.latency, busy=work.busy, einsum=e.name, deps=sorted(set(deps))))
        df.task_of[e.name] = t
        _compute_actions(df, cascade, e, units[uname], work, nest, k, in_pe)
        out = e.output.tensor
        if out in cascade.outputs or out in needed_later or out not in df.on_chip:
            ko = nest.store_depth(out, k)
            sphase = phase if ko == k else (1 if ko < nest.depth else 0)
            s = df.tasks.transfer(STORE, out, ko, sphase, nest.footprint(out, ko, cascade.iterated.get(out)),
                                  "store", df.place[out])
            df.tasks.tasks[s].deps = [t]
    _add_carries(df, nest, pending_carry)
    _add_reloads(df, cascade, einsums, nest)
    return df


def _load(df: Dataflow, g: Group, nest: Nest, tensor: str, k: int, loads: dict, double: int) -> int:
    """The load task of a DRAM tensor read at level k (one per tensor and hold depth), created on first use."""
    if tensor in g.stream:
        h = k
    elif tensor in g.hold:
        h = min(g.hold[tensor], k)
    else:
        h = nest.held_depth(tensor, k)
    key = (tensor, h)
    if key not in loads:
        elems = nest.footprint(tensor, h)
        loads[key] = df.tasks.transfer(LOAD, tensor, h, 0 if h == nest.depth else -1, elems, "load",
                                       df.place[tensor])
        if tensor not in g.stream:
            df.resident[f"{tensor}@{h}"] = (df.place[tensor],
                                            elems * df.tasks.arch.word_bytes * (double if h > 0 else 1))
    return loads[key]


def _compute_actions(df: Dataflow, cascade, e, unit, work, nest: Nest, k: int, in_pe: set) -> None:
    """Energy actions of one compute tile: native ops, register-file traffic, reads and writes at each level."""
    t = df.task_of[e.name]
    arch = df.tasks.arch
    for nop, c in work.native.items():
        df.tasks.act(t, unit.name, nop, c * work.points)
    nops = sum(work.native.values()) * work.points
    df.tasks.act(t, unit.name, "rf_read", unit.rf_reads_per_op * nops)
    df.tasks.act(t, unit.name, "rf_write", unit.rf_writes_per_op * nops)
    home = arch.home_level(unit.name).name
    reads = {home: 0}
    for op in e.inputs:
        if op.tensor not in in_pe:
            lvl = df.place[op.tensor]
            reads[lvl] = reads.get(lvl, 0) + nest.footprint(op.tensor, k, cascade.iterated.get(op.tensor))
    for lvl, words in reads.items():
        df.tasks.act(t, lvl, "read", words * arch.word_bytes / arch.level(lvl).access_bytes)
    out = e.output.tensor
    wr = 0 if out in in_pe else nest.footprint(out, k, cascade.iterated.get(out))
    olvl = home if out in in_pe else df.place[out]
    df.tasks.act(t, olvl, "write", wr * arch.word_bytes / arch.level(olvl).access_bytes)


def _add_carries(df: Dataflow, nest: Nest, pending) -> None:
    """Loop-carried dependencies: an iterated tensor's previous iterate, one iteration of its rank's loop back."""
    for dst, tensor, rank in pending:
        d = df.tasks.tasks[df.task_of[dst]]
        k = d.level
        j = max((j for j in range(k) if nest.loop_ranks[j] == rank), default=None)
        if j is not None:   # else the whole recurrence runs inside one task
            d.carry.append((df.task_of[df.produced[tensor]], nest.trips[:, j + 1:k].prod(axis=1), j))


def _add_reloads(df: Dataflow, cascade, einsums, nest: Nest) -> None:
    """Intermediates not kept on chip are re-read from DRAM by their consumers in the group."""
    for e in einsums:
        k = nest.level[e.name]
        for op in e.inputs:
            src = df.produced.get(op.tensor)
            if src is not None and op.tensor not in df.on_chip and src != e.name:
                elems = nest.footprint(op.tensor, k, cascade.iterated.get(op.tensor))
                consumer = df.tasks.tasks[df.task_of[e.name]]
                lt = df.tasks.transfer(LOAD, op.tensor, k, consumer.phase, elems, "reload", df.place[op.tensor])
                df.tasks.tasks[lt].deps = [df.tasks.find_store(op.tensor)]
                consumer.deps = sorted(set(consumer.deps) | {lt})

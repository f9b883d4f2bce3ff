"""Tile-level lowering of a fusion group into a struct-of-arrays task program (the *plan*).

The plan is what both timing models consume: the analytical model (:mod:`sim.analytical`) computes closed-form
latency from it and the event engine simulates it tile by tile, so its meaning is fixed here:

- ``loop_ranks``/``loop_tiles``/``trips``: the group's shared loops, outermost first; loop j runs ``trips[j]`` times
  per iteration of loops ``< j``.
- Tasks, in program order (a topological order of the group's dataflow). Task t runs once per iteration of loops
  ``[0, level[t])``, so ``count[t] = prod(trips[:level[t]])`` times. ``phase[t]`` places a task of an outer level
  relative to the deeper loops of its iteration: -1 before them, +1 after them, 0 for innermost (``level == n``).
  The program order nests the same way, so the flattened program (what an in-order unit or DRAM queue executes) is,
  per iteration of loop k: its ``phase -1`` tasks, the iterations of loop k + 1, its ``phase +1`` tasks; equally,
  the instances due at each innermost iteration (a ``phase -1`` task at the first of its block, ``+1`` at the last)
  in program order.
- ``task_unit[t]`` is the unit whose PEs do a compute task's work (utilization is counted there; "" for transfers).
- ``resource[t]`` indexes ``resources`` (the units, then ``dram``; a PIM unit with one row buffer per bank holds
  ``dram``, see :attr:`einsim.arch.spec.UnitSpec.resource`). A task occupies its resource for
  ``cycles[t]`` (occupancy; the resource can start its next task after it) and its result is available
  ``latency[t]`` cycles after that (pipeline drain, e.g. a reduction through a chain of PEs).
- ``dep_ptr``/``dep_idx`` (CSR): task t starts after every task ``dep_idx[dep_ptr[t]:dep_ptr[t+1]]`` of the same
  iteration finished (occupancy + latency). ``carry_src/carry_dst/carry_dist``: a loop-carried dependency from
  ``carry_src`` of iteration i - dist to ``carry_dst`` of iteration i, counting iterations of dst's level; it is
  one iteration of loop ``carry_loop`` (the carried rank's loop), and restarts (does not apply) in the first
  iteration of that loop.
- ``bytes[t]``: DRAM bytes moved by a load/store task. ``busy[t]``: PE-cycles of work (points x cycles per point)
  for utilization. Action counts per execution (energy) are ``act_task/act_component/act_action/act_count``.
- ``pipeline``: ``serial`` | ``in_order`` | ``interleave`` (see :mod:`einsim.mappings.spec`).
- ``instances``/``concurrent``/``copies``: a group spread over unit instances is one instance's program (``trips``
  per instance); ``concurrent`` instances run it at once sharing DRAM (a DRAM task's ``cycles`` is its transfer at
  the bandwidth share of one instance), and the work done is ``copies`` programs' worth (counts times ``copies``).
- ``level_peak_bytes``: peak bytes per on-chip level (per instance), ``peak_buffer_bytes`` the largest.
- ``window``: innermost iterations that may be in flight at once (the depth of the units' task queues): 1 when
  serial; else 2 (the plan's double buffering) plus as many more as the buffer space the plan leaves free holds
  copies of one innermost iteration's tiles (its loads and intermediates), at most WINDOW_MAX. Both timing models
  honour it: iteration i + window starts only once iteration i is done.

Lowering is a sequence of named steps, each in its own module with a typed result: nest analysis
(:mod:`einsim.sim.nest`) -> per-unit work (:mod:`einsim.sim.unit_work`) and data movement per level
(:mod:`einsim.sim.movement`) -> buffer occupancy and spilling (:mod:`einsim.sim.occupancy`) -> program order and
packing (here). A plan that cannot run (a tile that does not divide its rank, an op the unit lacks, a buffer
overflow) is not built: :func:`lower_group` raises :class:`Infeasible` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from einsim.arch.spec import ArchSpec
from einsim.mappings.spec import Group, MappingSpec
from einsim.workloads import Cascade

from .errors import Infeasible
from .movement import IN_PE, build_dataflow
from .nest import analyze_nest
from .occupancy import check_occupancy
from .tasks import COMPUTE, LOAD, STORE, Task

__all__ = ["GroupPlan", "PlanBatch", "Infeasible", "lower", "lower_group", "lower_group_rows", "group_members",
           "COMPUTE", "LOAD", "STORE", "WINDOW_MAX"]

#: most innermost iterations a pipelined group keeps in flight (depth of the units' task queues)
WINDOW_MAX = 64


@dataclass(frozen=True, kw_only=True)
class GroupPlan:
    name: str
    pipeline: str
    loop_ranks: tuple[str, ...]
    loop_tiles: np.ndarray
    trips: np.ndarray
    resources: tuple[str, ...]
    resource_pes: np.ndarray
    task_name: tuple[str, ...]
    task_einsum: tuple[str, ...]
    kind: np.ndarray
    resource: np.ndarray
    level: np.ndarray
    phase: np.ndarray
    cycles: np.ndarray
    latency: np.ndarray
    bytes: np.ndarray
    busy: np.ndarray
    dep_ptr: np.ndarray
    dep_idx: np.ndarray
    carry_src: np.ndarray
    carry_dst: np.ndarray
    carry_dist: np.ndarray
    carry_loop: np.ndarray
    act_task: np.ndarray
    act_component: tuple[str, ...]
    act_action: tuple[str, ...]
    act_count: np.ndarray
    peak_buffer_bytes: float
    buffer_bytes: dict
    level_peak_bytes: dict = field(default_factory=dict)
    window: int = WINDOW_MAX
    instances: int = 1
    copies: float = 1.0
    concurrent: int = 1
    task_unit: tuple[str, ...] = ()     # the unit whose PEs do each task's work ("" for transfers)

    @property
    def n_tasks(self) -> int:
        return len(self.task_name)

    @property
    def count(self) -> np.ndarray:
        """Executions of each task: product of the trips of the loops outside it."""
        pref = np.concatenate([[1], np.cumprod(self.trips.astype(np.float64))])
        return pref[self.level]

    def deps(self, t: int) -> np.ndarray:
        return self.dep_idx[self.dep_ptr[t]:self.dep_ptr[t + 1]]


#: GroupPlan fields that depend on the tiles: a PlanBatch holds them with a leading axis of rows
ROW_FIELDS = ("loop_tiles", "trips", "cycles", "latency", "bytes", "busy", "carry_dist", "act_count",
              "peak_buffer_bytes", "buffer_bytes", "level_peak_bytes", "window", "copies", "concurrent")


@dataclass(frozen=True, kw_only=True)
class PlanBatch:
    """One group lowered for R rows of tiles at once (see :mod:`einsim.sim.nest`): the plan's structure, shared, and
    its tile-dependent numbers (:data:`ROW_FIELDS`) per row; dict fields map to arrays of R values. ``rows`` says which
    rows are feasible; :meth:`row` is the GroupPlan of one row."""

    structure: dict
    numbers: dict
    rows: object

    def row(self, r: int) -> GroupPlan:
        nums = {}
        for k, v in self.numbers.items():
            if isinstance(v, dict):
                nums[k] = {key: float(x[r]) for key, x in v.items()}
            elif k in ("window", "concurrent"):
                nums[k] = int(v[r])
            elif k in ("peak_buffer_bytes", "copies"):
                nums[k] = float(v[r])
            else:
                nums[k] = v[r]
        return GroupPlan(**self.structure, **nums)


def group_members(cascade: Cascade, mapping: MappingSpec) -> list[tuple[list, set]]:
    """Per fusion group: its Einsums in cascade order and the tensors later groups read; Infeasible if the groups do
    not partition the cascade or a group reads what a later one makes."""
    names = [e.name for e in cascade.einsums]
    listed = [n for g in mapping.groups if g.einsums is not None for n in g.einsums]
    for n in listed:
        if n not in names:
            raise Infeasible(f"mapping {mapping.name!r} groups Einsum {n!r}, which cascade {cascade.name!r} lacks "
                             f"(it has {', '.join(names)})")
    rest = [n for n in names if n not in listed]
    members = [list(g.einsums) if g.einsums is not None else rest for g in mapping.groups]
    if rest and not any(g.einsums is None for g in mapping.groups):
        raise Infeasible(f"Einsums {', '.join(rest)} are in no fusion group of mapping {mapping.name!r}; "
                         "add them to a group or use 'einsums: all'")
    group_of = {n: gi for gi, ms in enumerate(members) for n in ms}
    order = {n: i for i, n in enumerate(names)}
    for gi, ms in enumerate(members):   # groups run in order: a group may only read earlier groups' outputs
        for n in ms:
            for op in cascade.einsum(n).inputs:
                pe = _producer(cascade, op.tensor)
                if pe is not None and group_of[pe] > gi:
                    raise Infeasible(f"Einsum {n!r} in group {gi} reads {op.tensor!r} made by a later group "
                                     f"{group_of[pe]}; reorder the groups")
    return [(sorted(ms, key=order.get),
             {op.tensor for n in names if group_of[n] > gi for op in cascade.einsum(n).inputs})
            for gi, ms in enumerate(members)]


def lower(cascade: Cascade, sizes: dict, arch: ArchSpec, mapping: MappingSpec, *, only=None) -> list[GroupPlan]:
    """Lower every fusion group of ``mapping`` (or only the group indices in ``only``); raise Infeasible with the
    reason if one cannot run."""
    return [lower_group(cascade, sizes, arch, mapping, g, ms, later, f"group{gi}")
            for gi, (g, (ms, later)) in enumerate(zip(mapping.groups, group_members(cascade, mapping), strict=True))
            if only is None or gi in only]


def _producer(cascade: Cascade, tensor: str):
    for e in cascade.einsums:
        if e.output.tensor == tensor:
            return e.name
    return None


def lower_group(cascade, sizes, arch: ArchSpec, mapping: MappingSpec, g: Group, members, needed_later,
                name) -> GroupPlan:
    """The plan of one fusion group for its own tiles; Infeasible if it cannot run."""
    batch = lower_group_rows(cascade, sizes, arch, mapping, g, members, needed_later, name)
    if not batch.rows.ok[0]:
        raise Infeasible(batch.rows.reasons[0])
    return batch.row(0)


def lower_group_rows(cascade, sizes, arch: ArchSpec, mapping: MappingSpec, g: Group, members, needed_later, name,
                     tiles=None) -> PlanBatch:
    """Lower one fusion group, for each row of ``tiles`` (default: the group's own), by the named steps: nest
    analysis -> per-unit work and data movement (the dataflow) -> buffer occupancy and spilling -> program order and
    packing. Rows that cannot run are marked in the batch's ``rows``; a structural problem raises Infeasible."""
    einsums = [cascade.einsum(m) for m in members]
    nest = analyze_nest(cascade, sizes, g, members, name, _instances(arch, mapping, g, members, name), tiles)
    df = build_dataflow(cascade, arch, mapping, g, einsums, nest, needed_later)
    occ = check_occupancy(df, cascade, arch, g, einsums, nest)
    return _pack(df, nest, occ, arch, g, name)


def _instances(arch: ArchSpec, mapping: MappingSpec, g: Group, members, name) -> int:
    """Instances the group's outermost loop spreads over: as the mapping says (all: every instance its units
    have); each unit the group uses must have that many."""
    have = {}
    for m in members:
        u = mapping.unit_of(m)
        if u in {x.name for x in arch.units}:
            have[u] = arch.unit(u).instances
    want = g.instances if g.instances is not None else min(have.values(), default=1)
    short = {u: n for u, n in have.items() if n < want}
    if short:
        raise Infeasible(f"{name} spreads its outermost loop over {want} instances, but "
                         + ", ".join(f"{u!r} has {n}" for u, n in short.items()))
    return want


def _per_row(value, rows: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (rows,))


def _pack(df, nest, occ, arch: ArchSpec, g: Group, name) -> PlanBatch:
    """The plan's struct-of-arrays, tasks in program order; numbers per row."""
    n, R = nest.depth, nest.count
    order = _topo(df.tasks.tasks, n)
    remap = {old: new for new, old in enumerate(order)}
    T = [df.tasks.tasks[i] for i in order]
    resources = tuple(u.name for u in arch.units) + ("dram",)
    res_index = {r: i for i, r in enumerate(resources)}
    dep_ptr = np.zeros(len(T) + 1, dtype=np.int64)
    dep_idx = []
    csrc, cdst, cdist, cloop = [], [], [], []
    for i, t in enumerate(T):
        dep_idx.extend(sorted(remap[d] for d in t.deps))
        dep_ptr[i + 1] = len(dep_idx)
        for s, dist, j in t.carry:
            csrc.append(remap[s])
            cdst.append(i)
            cdist.append(dist)
            cloop.append(j)
    acts = df.tasks.acts
    arr = lambda xs, dt: np.array(xs, dtype=dt)  # noqa: E731
    cols = lambda xs: np.stack([_per_row(x, R) for x in xs], axis=1) if xs else np.zeros((R, 0))  # noqa: E731
    structure = dict(
        name=name, pipeline=g.pipeline, loop_ranks=nest.loop_ranks, resources=resources,
        resource_pes=arr([u.pes for u in arch.units] + [0], np.int64),
        task_name=tuple(t.name for t in T), task_einsum=tuple(t.einsum for t in T),
        task_unit=tuple(t.unit for t in T),
        kind=arr([t.kind for t in T], np.int8), resource=arr([res_index[t.resource] for t in T], np.int32),
        level=arr([t.level for t in T], np.int32), phase=arr([t.phase for t in T], np.int8),
        dep_ptr=dep_ptr, dep_idx=arr(dep_idx, np.int64),
        carry_src=arr(csrc, np.int64), carry_dst=arr(cdst, np.int64), carry_loop=arr(cloop, np.int64),
        act_task=arr([remap[a[0]] for a in acts], np.int64),
        act_component=tuple(a[1] for a in acts), act_action=tuple(a[2] for a in acts), instances=nest.instances)
    window = _window(T, n, g.pipeline, df, occ, nest.cascade.iterated, R)
    numbers = dict(
        loop_tiles=nest.tiles, trips=nest.trips, cycles=cols([t.cycles for t in T]),
        latency=cols([t.latency for t in T]), bytes=cols([t.bytes for t in T]), busy=cols([t.busy for t in T]),
        carry_dist=cols(cdist).astype(np.int64), act_count=cols([a[3] for a in acts]),
        peak_buffer_bytes=np.max(np.stack([_per_row(v, R) for v in occ.level_peak.values()]), axis=0)
        if occ.level_peak else np.zeros(R),
        buffer_bytes={k: _per_row(v, R) for k, v in occ.buffer_bytes.items()},
        level_peak_bytes={k: _per_row(v, R) for k, v in occ.level_peak.items()},
        window=window, copies=_per_row(nest.copies, R), concurrent=np.asarray(nest.concurrent, dtype=np.int64))
    return PlanBatch(structure=structure, numbers=numbers, rows=nest.rows)


def _window(T, n, pipeline, df, occ, iterated, R) -> np.ndarray:
    """Iterations in flight per row (see ``window`` in the module docstring): per level, as many more copies of one
    innermost iteration's tiles as its spare space holds; the tightest level decides."""
    if pipeline == "serial":
        return np.ones(R, dtype=np.int64)
    output = {e: t for t, e in df.produced.items()}
    per_iter: dict = {}
    for t in T:
        if t.level != n:
            continue
        if t.kind == LOAD:
            lvl = df.place[t.tensor]
            per_iter[lvl] = per_iter.get(lvl, 0.0) + t.bytes
        elif t.kind == COMPUTE:
            out = output[t.einsum]
            if out not in iterated and df.place[out] != IN_PE and out in occ.buffer_bytes:
                per_iter[df.place[out]] = per_iter.get(df.place[out], 0.0) + occ.buffer_bytes[out]
    window = np.full(R, WINDOW_MAX, dtype=np.int64)
    for lvl, b in per_iter.items():
        b = _per_row(b, R)
        spare = np.maximum(0.0, _per_row(occ.spare.get(lvl, 0.0), R))
        extra = np.where(b > 0, spare // np.where(b > 0, b, 1.0), np.inf)
        window = np.minimum(window, np.where(np.isinf(extra), WINDOW_MAX, np.minimum(WINDOW_MAX, 2 + extra)))
    return window.astype(np.int64)


def _nest_key(t: Task, n: int):
    """Position of a task in the loop nest: inside loops < level, then before (-1) or after (+1) the deeper ones."""
    k = t.level
    return (1,) * k + ((1 + t.phase,) if k < n else ()) + (1,) * max(0, n - k - 1)


def _topo(T: list[Task], n: int) -> list[int]:
    done, order = set(), []
    pending = sorted(range(len(T)), key=lambda i: (_nest_key(T[i], n), i))
    while pending:
        for i in pending:
            if all(d in done for d in T[i].deps):
                order.append(i)
                done.add(i)
                pending.remove(i)
                break
        else:
            raise Infeasible("the group's tasks form a dependency cycle")
    return order

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
- ``resource[t]`` indexes ``resources`` (the units, then ``dram``). A task occupies its resource for
  ``cycles[t]`` (occupancy; the resource can start its next task after it) and its result is available
  ``latency[t]`` cycles after that (pipeline drain, e.g. a reduction through a chain of PEs).
- ``dep_ptr``/``dep_idx`` (CSR): task t starts after every task ``dep_idx[dep_ptr[t]:dep_ptr[t+1]]`` of the same
  iteration finished (occupancy + latency). ``carry_src/carry_dst/carry_dist``: a loop-carried dependency from
  ``carry_src`` of iteration i - dist to ``carry_dst`` of iteration i, counting iterations of dst's level; it is
  one iteration of loop ``carry_loop`` (the carried rank's loop), and restarts (does not apply) in the first
  iteration of that loop.
- ``bytes[t]``: DRAM bytes moved by a load/store task. ``busy[t]``: PE-cycles of work (points x cycles per point)
  for utilization. Action counts per execution (energy) are ``act_task/act_component/act_action/act_count``.
- ``pipeline``: ``serial`` | ``in_order`` | ``interleave`` (see :mod:`mappings.spec`).
- ``window``: innermost iterations that may be in flight at once (the depth of the units' task queues): 1 when
  serial; else 2 (the plan's double buffering) plus as many more as the buffer space the plan leaves free holds
  copies of one innermost iteration's tiles (its loads and intermediates), at most WINDOW_MAX. Both timing models
  honour it: iteration i + window starts only once iteration i is done.

A plan that cannot run (a tile that does not divide its rank, an op the unit lacks, a buffer overflow) is not built:
:func:`lower_group` raises :class:`Infeasible` with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from einsim.arch.spec import ArchSpec
from einsim.mappings.spec import Group, MappingSpec
from einsim.workloads import Cascade, einsum_ops, einsum_passes
from einsim.workloads.cascade import is_carried

__all__ = ["GroupPlan", "Infeasible", "lower", "lower_group", "COMPUTE", "LOAD", "STORE", "WINDOW_MAX"]

COMPUTE, LOAD, STORE = 0, 1, 2
#: most innermost iterations a pipelined group keeps in flight (depth of the units' task queues)
WINDOW_MAX = 64


class Infeasible(Exception):
    """A mapping that cannot run on the architecture; the message is the reason."""


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
    window: int = WINDOW_MAX

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


def lower(cascade: Cascade, sizes: dict, arch: ArchSpec, mapping: MappingSpec) -> list[GroupPlan]:
    """Lower every fusion group of ``mapping``; raise Infeasible with the reason if one cannot run."""
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
    plans = []
    for gi, (g, ms) in enumerate(zip(mapping.groups, members, strict=True)):
        ms = sorted(ms, key=order.get)
        needed_later = {op.tensor for n in names if group_of[n] > gi for op in cascade.einsum(n).inputs}
        plans.append(lower_group(cascade, sizes, arch, mapping, g, ms, needed_later, f"group{gi}"))
    return plans


def _producer(cascade: Cascade, tensor: str):
    for e in cascade.einsums:
        if e.output.tensor == tensor:
            return e.name
    return None


def lower_group(cascade, sizes, arch: ArchSpec, mapping: MappingSpec, g: Group, members, needed_later,
                name) -> GroupPlan:
    word = arch.word_bytes
    parts = {r: tuple(p) for r, p in cascade.partitions.items()}
    loops = g.loops
    n = len(loops)
    einsums = [cascade.einsum(m) for m in members]
    all_idx = set().union(*(e.indices for e in einsums))
    # --- nest analysis: trips and the tile of every rank at every level -------------------------------------------
    tiles = np.zeros(n, dtype=np.int64)
    trips = np.zeros(n, dtype=np.int64)
    cur = {}
    for j, lp in enumerate(loops):
        if lp.rank not in sizes or lp.rank not in all_idx:
            raise Infeasible(f"{name} loop {j} is over rank {lp.rank!r}, which no Einsum of the group indexes "
                             f"(they index {', '.join(sorted(all_idx))})")
        outer = cur.get(lp.rank, sizes[lp.rank])
        if lp.tile is None:
            raise Infeasible(f"{name} loop {j} over {lp.rank} has no tile chosen; run the mapper")
        if outer % lp.tile:
            raise Infeasible(f"tile {lp.tile} of {name} loop {j} over {lp.rank} does not divide its extent {outer}; "
                             f"tile factors must multiply to the rank")
        tiles[j] = lp.tile
        trips[j] = outer // lp.tile
        cur[lp.rank] = lp.tile

    def extent(rank, k):
        """Extent of ``rank`` inside one iteration of loops [0, k)."""
        if rank in parts:
            return math.prod(extent(p, k) for p in parts[rank])
        for j in range(k - 1, -1, -1):
            if loops[j].rank == rank:
                return int(tiles[j])
        return sizes[rank]

    def footprint(tensor, k, carried_rank=None):
        ranks = cascade.tensor_ranks(tensor)
        return math.prod(1 if r == carried_rank else extent(r, k) for r in ranks)

    def indexes(ranks, loop_rank):
        return loop_rank in ranks or any(loop_rank in parts.get(r, ()) for r in ranks)

    level = {}
    for e in einsums:
        k = 0
        while k < n and loops[k].rank in e.indices:
            k += 1
        level[e.name] = k
    # intermediates kept in the PEs' register files: made and used on one unit within one tile, never in the buffer
    in_pe = set(g.in_pe)
    for tname in sorted(in_pe):
        src = next((e.name for e in einsums if e.output.tensor == tname), None)
        if src is None:
            raise Infeasible(f"{name} keeps {tname!r} in the PEs, but no Einsum of the group makes it")
        if tname in cascade.outputs or tname in needed_later:
            raise Infeasible(f"{name} keeps {tname!r} in the PEs, but it leaves the group; drop it from in_pe")
        for e in einsums:
            if e.name != src and any(op.tensor == tname for op in e.inputs) and (
                    mapping.unit_of(e.name) != mapping.unit_of(src) or level[e.name] != level[src]):
                raise Infeasible(f"{name} keeps {tname!r} in the PEs of {mapping.unit_of(src)!r}, but {e.name} reads "
                                 f"it on {mapping.unit_of(e.name)!r} or in another tile loop; keep it in the buffer "
                                 f"(on_chip) instead")
    units = {u.name: u for u in arch.units}
    resources = tuple(u.name for u in arch.units) + ("dram",)
    res_index = {r: i for i, r in enumerate(resources)}
    dram = arch.dram
    buf = arch.buffer
    dram_bpc = dram.bytes_per_cycle(arch.clock_hz)
    produced = {e.output.tensor: e.name for e in einsums}
    on_chip = (set(produced) if g.on_chip is None else set(g.on_chip) & set(produced)) | in_pe
    iterated = dict(cascade.iterated)

    T = []       # task dicts in program order
    acts = []    # (task, component, action, count)
    resident = {}  # tensor -> bytes held in the buffer while the group runs
    loads = {}   # (tensor, level) -> task index
    task_of = {}  # einsum -> task index

    def add_task(**kw):
        T.append({"deps": [], "carry": [], "busy": 0.0, "latency": 0.0, "bytes": 0.0, "einsum": "", **kw})
        return len(T) - 1

    def dram_task(kind, tensor, lvl, phase, elems, label):
        nbytes = elems * word
        t = add_task(name=f"{label} {tensor}", kind=kind, resource=res_index["dram"], level=lvl, phase=phase,
                     cycles=nbytes / dram_bpc, bytes=nbytes)
        acts.append((t, dram.name, "read" if kind == LOAD else "write", nbytes / dram.access_bytes))
        acts.append((t, buf.name, "write" if kind == LOAD else "read", nbytes / buf.access_bytes))
        return t

    double = 2 if g.pipeline != "serial" else 1
    pending_carry = []
    for e in einsums:
        k = level[e.name]
        uname = mapping.unit_of(e.name)
        if uname not in units:
            raise Infeasible(f"Einsum {e.name!r} is bound to unit {uname!r}, which architecture {arch.name!r} lacks "
                             f"(it has {', '.join(units)})")
        u = units[uname]
        # ops per point on this unit, expanded into native ops
        pts_all = e.points(sizes)
        native = {}
        for op, cnt in einsum_ops(e, sizes).items():
            try:
                for nop, c in u.expand(op, cnt / pts_all).items():
                    native[nop] = native.get(nop, 0.0) + c
            except KeyError:
                raise Infeasible(f"Einsum {e.name!r} needs op {op!r}, which unit {uname!r} of {arch.name!r} lacks "
                                 f"(it has {', '.join(u.supported_ops)}); bind it to another unit") from None
        nat = u.native_ops
        load_per_pipe = {}
        for nop, c in native.items():
            pipe, cyc = nat[nop]
            load_per_pipe[pipe] = load_per_pipe.get(pipe, 0.0) + c * cyc
        ii = max(load_per_pipe.values(), default=0.0)
        ext = {r: extent(r, k) for r in e.indices}
        pts = math.prod(ext.values())
        sp = g.spatial.get(e.name, g.spatial.get(uname, {}))
        steps = 1
        used = set()
        lat = 0.0
        for dim, rank in sp.items():
            if dim not in u.dims:
                raise Infeasible(f"{name} maps {e.name} onto dimension {dim!r} of {uname!r}, which has "
                                 f"{', '.join(u.dims)}")
            if rank in ext and rank not in used:
                used.add(rank)
                steps *= math.ceil(ext[rank] / u.dims[dim])
                if rank in e.reduced:
                    lat += u.reduction_latency(min(ext[rank], u.dims[dim]))
        steps *= math.prod(v for r, v in ext.items() if r not in used)
        # placement relative to deeper loops: after them if it consumes work done inside them
        phase = 0 if k == n else -1
        deps = []
        for op in e.inputs:
            it_rank = iterated.get(op.tensor)
            if op.tensor in produced:
                if it_rank is not None and is_carried(op, it_rank):
                    pending_carry.append((e.name, op.tensor, it_rank))   # the previous iteration's value
                    continue
                src = task_of[produced[op.tensor]]
                deps.append(src)
                if k < n and (T[src]["level"] > k or T[src]["phase"] == 1):
                    phase = 1
                continue
            # a DRAM tensor: a cascade input or made by an earlier group
            if op.tensor in g.stream:
                h = k
            elif op.tensor in g.hold:
                h = min(g.hold[op.tensor], k)
            else:
                h = max((j + 1 for j in range(k) if indexes(cascade.tensor_ranks(op.tensor), loops[j].rank)),
                        default=0)
            key = (op.tensor, h)
            if key not in loads:
                elems = footprint(op.tensor, h)
                loads[key] = dram_task(LOAD, op.tensor, h, 0 if h == n else -1, elems, "load")
                if op.tensor not in g.stream:
                    resident[f"{op.tensor}@{h}"] = elems * word * (double if h > 0 else 1)
            deps.append(loads[key])
        t = add_task(name=e.name, kind=COMPUTE, resource=res_index[uname], level=k, phase=phase,
                     cycles=steps * ii, latency=lat, busy=pts * ii, einsum=e.name)
        T[t]["deps"] = sorted(set(deps))
        task_of[e.name] = t
        for nop, c in native.items():
            acts.append((t, uname, nop, c * pts))
        nops = sum(native.values()) * pts
        acts.append((t, uname, "rf_read", u.rf_reads_per_op * nops))
        acts.append((t, uname, "rf_write", u.rf_writes_per_op * nops))
        rd = sum(footprint(op.tensor, k, iterated.get(op.tensor)) for op in e.inputs if op.tensor not in in_pe)
        acts.append((t, buf.name, "read", rd * word / buf.access_bytes))
        wr = 0 if e.output.tensor in in_pe else footprint(e.output.tensor, k, iterated.get(e.output.tensor))
        acts.append((t, buf.name, "write", wr * word / buf.access_bytes))
        out = e.output.tensor
        if out in cascade.outputs or out in needed_later or out not in on_chip:
            # stored once its reductions over the shared loops are complete: at the longest prefix of loops
            # that the output indexes
            ko = 0
            while ko < k and indexes(cascade.tensor_ranks(out), loops[ko].rank):
                ko += 1
            sphase = phase if ko == k else (1 if ko < n else 0)
            s = dram_task(STORE, out, ko, sphase, footprint(out, ko, iterated.get(out)), "store")
            T[s]["deps"] = [t]
    for dst, tensor, rank in pending_carry:
        d = task_of[dst]
        k = T[d]["level"]
        j = max((j for j in range(k) if loops[j].rank == rank), default=None)
        if j is not None:   # else the whole recurrence runs inside one task
            T[d]["carry"].append((task_of[produced[tensor]], int(np.prod(trips[j + 1:k])), j))
    # intermediates not on chip are re-read from DRAM by their consumers in the group
    for e in einsums:
        k = level[e.name]
        for op in e.inputs:
            src = produced.get(op.tensor)
            if src is not None and op.tensor not in on_chip and src != e.name:
                elems = footprint(op.tensor, k, iterated.get(op.tensor))
                lt = dram_task(LOAD, op.tensor, k, T[task_of[e.name]]["phase"], elems, "reload")
                store = next(i for i, x in enumerate(T) if x["kind"] == STORE and x["name"] == f"store {op.tensor}")
                T[lt]["deps"] = [store]
                T[task_of[e.name]]["deps"] = sorted(set(T[task_of[e.name]]["deps"]) | {lt})
    # --- buffer occupancy: resident DRAM tiles plus live on-chip intermediates ------------------------------------
    inter = {}
    for tname in sorted(on_chip - in_pe, key=list(produced).index):   # einsum order: a deterministic order
        src = produced[tname]
        cons = [e for e in einsums if any(op.tensor == tname for op in e.inputs) and e.name != src]
        k = min([level[src]] + [level[c.name] for c in cons])
        inter[tname] = footprint(tname, k, iterated.get(tname)) * word * (2 if tname in iterated else 1)
    pos = {e.name: i for i, e in enumerate(einsums)}
    live_peak = 0.0
    for i in range(len(einsums)):
        live = 0.0
        for tname, b in inter.items():
            src = produced[tname]
            last = max([pos[e.name] for e in einsums if any(op.tensor == tname for op in e.inputs)], default=pos[src])
            if tname in iterated or (pos[src] <= i <= last):
                live += b
        live_peak = max(live_peak, live)
    held = sum(resident.values())
    peak = held + live_peak
    inner = [r for r in cascade.ranks if not any(indexes((r,), lp.rank) for lp in loops)]
    pass_over = {r: einsum_passes(cascade, r) for r in inner}

    def later_pass(src, dst):
        return any(pass_over[r][dst] > pass_over[r][src] > 0 for r in inner)
    cap = buf.capacity_bytes
    if peak > cap:
        if not g.spill or held >= cap:
            detail = ", ".join(f"{k} {v / 2**20:.2f} MiB" for k, v in list(resident.items()) + list(inter.items()))
            raise Infeasible(f"{name} needs {peak / 2**20:.2f} MiB of {buf.name} ({detail}), more than its "
                             f"{cap / 2**20:.2f} MiB; use smaller tiles, stream inputs, or allow spilling")
        # What overflows is spilled: a share of the intermediates that wait across a pass (FuseMax Sec. III) over a
        # rank the tile holds whole, written once and read back by each consumer in a later pass; consumers in the
        # producer's own pass take it as it is made. A group with no such waiting tensor spills every intermediate.
        waiting = {t: [e.name for e in einsums if e.name != produced[t] and any(op.tensor == t for op in e.inputs)
                       and later_pass(produced[t], e.name)] for t in inter}
        waiting = {t: c for t, c in waiting.items() if c}
        spilled = waiting or {t: [e.name for e in einsums if e.name != produced[t]
                                  and any(op.tensor == t for op in e.inputs)] for t in inter}
        frac = min(1.0, (peak - cap) / sum(inter[t] for t in spilled))
        for tname, readers in spilled.items():
            b = inter[tname]
            src = task_of[produced[tname]]
            st = dram_task(STORE, tname, T[src]["level"], T[src]["phase"], frac * b / word, "spill")
            T[st]["deps"] = [src]
            for e in einsums:
                if e.name in readers:
                    c = task_of[e.name]
                    lt = dram_task(LOAD, tname, T[c]["level"], T[c]["phase"], frac * b / word, "unspill")
                    T[lt]["deps"] = [st]
                    T[c]["deps"] = sorted(set(T[c]["deps"]) | {lt})
        peak = cap
    # --- program order: dependencies before dependants, outer tasks around the deeper loops (topological sort) -------
    order = _topo(T, n)
    remap = {old: new for new, old in enumerate(order)}
    T = [T[i] for i in order]
    dep_ptr = np.zeros(len(T) + 1, dtype=np.int64)
    dep_idx = []
    csrc, cdst, cdist, cloop = [], [], [], []
    for i, t in enumerate(T):
        ds = sorted(remap[d] for d in t["deps"])
        dep_idx.extend(ds)
        dep_ptr[i + 1] = len(dep_idx)
        for s, dist, j in t["carry"]:
            csrc.append(remap[s])
            cdst.append(i)
            cdist.append(dist)
            cloop.append(j)
    return GroupPlan(
        name=name, pipeline=g.pipeline, loop_ranks=tuple(lp.rank for lp in loops), loop_tiles=tiles, trips=trips,
        resources=resources,
        resource_pes=np.array([u.pes for u in arch.units] + [0], dtype=np.int64),
        task_name=tuple(t["name"] for t in T), task_einsum=tuple(t["einsum"] for t in T),
        kind=np.array([t["kind"] for t in T], dtype=np.int8),
        resource=np.array([t["resource"] for t in T], dtype=np.int32),
        level=np.array([t["level"] for t in T], dtype=np.int32),
        phase=np.array([t["phase"] for t in T], dtype=np.int8),
        cycles=np.array([t["cycles"] for t in T], dtype=np.float64),
        latency=np.array([t["latency"] for t in T], dtype=np.float64),
        bytes=np.array([t["bytes"] for t in T], dtype=np.float64),
        busy=np.array([t["busy"] for t in T], dtype=np.float64),
        dep_ptr=dep_ptr, dep_idx=np.array(dep_idx, dtype=np.int64),
        carry_src=np.array(csrc, dtype=np.int64), carry_dst=np.array(cdst, dtype=np.int64),
        carry_dist=np.array(cdist, dtype=np.int64), carry_loop=np.array(cloop, dtype=np.int64),
        act_task=np.array([remap[a[0]] for a in acts], dtype=np.int64),
        act_component=tuple(a[1] for a in acts), act_action=tuple(a[2] for a in acts),
        act_count=np.array([a[3] for a in acts], dtype=np.float64),
        peak_buffer_bytes=float(peak), buffer_bytes={**resident, **inter},
        window=_window(T, n, g.pipeline, {e.name: e.output.tensor for e in einsums}, inter, iterated, cap - peak),
    )


def _window(T, n, pipeline, produced, inter, iterated, spare):
    """Iterations in flight (see ``window`` in the module docstring)."""
    if pipeline == "serial":
        return 1
    per_iter = sum(t["bytes"] for t in T if t["kind"] == LOAD and t["level"] == n)
    per_iter += sum(inter.get(produced[t["einsum"]], 0.0) for t in T if t["kind"] == COMPUTE and t["level"] == n
                    and produced[t["einsum"]] not in iterated)
    if per_iter <= 0:
        return WINDOW_MAX
    return int(min(WINDOW_MAX, 2 + max(0.0, spare) // per_iter))


def _nest_key(t, n):
    """Position of a task in the loop nest: inside loops < level, then before (-1) or after (+1) the deeper ones."""
    k = t["level"]
    return (1,) * k + ((1 + t["phase"],) if k < n else ()) + (1,) * max(0, n - k - 1)


def _topo(T, n):
    done, order = set(), []
    pending = sorted(range(len(T)), key=lambda i: (_nest_key(T[i], n), i))
    while pending:
        for i in pending:
            if all(d in done for d in T[i]["deps"]):
                order.append(i)
                done.add(i)
                pending.remove(i)
                break
        else:
            raise Infeasible("the group's tasks form a dependency cycle")
    return order

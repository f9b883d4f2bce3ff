"""Heuristic starting structures for a group, derived from the cascade and the architecture (no preset needed).

- Ranks by role: *batch* ranks (indexed by every Einsum of the group and every tensor it touches: no reuse across
  them, so they go outermost with tile 1), *shared* ranks (indexed by every Einsum: tiled at an outer loop and again
  inside), the parts of *iterated* ranks (the recurrence's M1: tile 1, inside the shared outer loop, so running
  statistics stay on chip while the iterated rank streams past).
- Loop orders: batch, shared, iterated, shared again (FuseMax-like); batch, shared (FLAT-like row granularity);
  for one Einsum, each order of its output ranks tiled twice around its reduced ranks.
- Seed tiles: 1 for batch and iterated ranks, the whole rank for outer loops of a rank tiled twice, one array's worth
  (the largest unit dimension that divides the rank) for the innermost.
- Binding: each Einsum's time on each unit that can run it at the seed tiles (its best spatial mapping there);
  Einsums assigned longest first to the unit that finishes them earliest, then single moves that lower the busiest
  unit's time; also every Einsum on its fastest unit.
- Spatial: per unit, the ranks on its dimensions (and fallbacks) that minimize its Einsums' time at the seed tiles.
- The rest: interleaved pipelines when the group uses several units, every legal intermediate in the PEs, all on
  chip, no spilling first (spilling next), every unit instance.

Seeds are ranked by their lower bound at the seed tiles (:func:`einsim.sim.bounds.row_bounds`).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from einsim.mappings.groupspace import GroupSpace
from einsim.mappings.mapspace import Mapspace
from einsim.mappings.structure import GroupGeometry, GroupStructure, loop_levels
from einsim.mappings.tilespace import RowNest, divisors

from .bounds import row_bounds, unit_time

__all__ = ["seed_structures", "seed_partition", "rank_roles", "seed_tiles", "spatial_for"]


def seed_partition(space: Mapspace) -> int:
    """Index of the partition choice whose inner sizes are closest to the largest unit dimension (ties: larger)."""
    dim = max((d for u in space.arch.units for d in u.dims.values()), default=1)
    score = [sum(abs(math.log2(v / dim)) - 1e-3 * math.log2(v) for v in p.values())
             for p in space.partition_options]
    return int(np.argmin(score)) if score else 0


def _expanded(cascade, ranks) -> set:
    out = set()
    for r in ranks:
        out |= {r, *cascade.partitions.get(r, ())}
    return out


def rank_roles(gs: GroupSpace) -> tuple[tuple, tuple, tuple]:
    """(batch, shared, iterated) ranks of a group, each in the group's rank order (module docstring)."""
    c = gs.cascade
    es = [c.einsum(m) for m in gs.members]
    tensors = {op.tensor for e in es for op in e.inputs} | {e.output.tensor for e in es}
    in_all = [r for r in gs.ranks if all(r in e.indices for e in es)]
    batch = tuple(r for r in in_all if all(r in _expanded(c, c.tensor_ranks(t)) for t in tensors))
    iterated = tuple(r for r in gs.ranks if r in set(c.iterated.values()) and r not in batch)
    shared = tuple(r for r in in_all if r not in batch and r not in iterated)
    return batch, shared, iterated


def _clean(loops, gs: GroupSpace) -> tuple | None:
    out = []
    for r in loops:
        if out and out[-1] == r or out.count(r) >= gs.max_per_rank or r not in gs.loop_ranks:
            continue
        out.append(r)
    out = out[:gs.max_loops]
    if gs.order is not None:
        return tuple(gs.order) if tuple(out) == tuple(gs.order) else None
    if tuple(out[:len(gs.prefix)]) != tuple(gs.prefix):
        out = list(gs.prefix) + [r for r in out if r not in gs.prefix]
        return _clean(out, gs) if tuple(out[:len(gs.prefix)]) == tuple(gs.prefix) and len(out) <= gs.max_loops \
            else None
    return tuple(out)


def loop_seeds(gs: GroupSpace) -> list[tuple]:
    """Seed loop orders (module docstring), constraints respected."""
    if gs.order is not None:
        return [tuple(gs.order)]
    batch, shared, iterated = rank_roles(gs)
    if len(gs.members) > 1:
        raw = [batch + shared + iterated + shared, batch + shared, batch + shared + iterated,
               batch + iterated + shared]
    else:
        e = gs.cascade.einsum(gs.members[0])
        outs = [r for r in e.indices if r not in e.reduced and r not in batch]
        red = [r for r in e.reduced if r not in batch]
        raw = []
        for perm in itertools.islice(itertools.permutations(outs), 6):
            perm = tuple(perm)
            raw += [batch + perm + perm, batch + perm + tuple(red) + perm, batch + perm + tuple(red), batch + perm]
    out = []
    for loops in raw:
        c = _clean(loops, gs)
        if c is not None and c not in out:
            out.append(c)
    return out or [tuple(gs.prefix)]


def seed_tiles(gs: GroupSpace, loops, sizes) -> np.ndarray:
    """The seed tile row of ``loops`` (module docstring)."""
    batch, _, iterated = rank_roles(gs)
    dim = max((d for u in gs.arch.units for d in u.dims.values()), default=1)
    tiles = []
    for j, r in enumerate(loops):
        inner = all(x != r for x in loops[j + 1:])
        if r in batch or r in iterated:
            tiles.append(1)
        elif not inner:
            tiles.append(int(sizes[r]))
        else:
            tiles.append(max(d for d in divisors(int(sizes[r])) if d <= dim))
    return np.array(tiles, dtype=np.int64)


def _seed_nest(gs, loops, tiles, sizes) -> RowNest:
    return RowNest(loops, tiles[None, :], sizes, gs.cascade.partitions, 1)


def _einsum_times(gs: GroupSpace, loops, nest: RowNest, sizes) -> dict:
    """(Einsum, unit) -> its time at the seed tiles with its best spatial mapping on that unit."""
    lv = loop_levels(gs.cascade, gs.members, loops)
    out = {}
    for m in gs.members:
        e = gs.cascade.einsum(m)
        ext = {r: int(nest.extent(r, lv[m])[0]) for r in e.indices}
        count = float(nest.count(lv[m])[0])
        wide = [r for r in e.indices if ext[r] > 1] + [""] * len(e.indices)
        for u in gs.eligible[m]:
            dims = list(gs.arch.unit(u).dims)
            best = math.inf
            for ranks in set(itertools.permutations(wide, len(dims))):
                best = min(best, unit_time(gs.cascade, gs.arch, sizes, m, u, dict(zip(dims, ranks, strict=True)),
                                           ext))
            out[(m, u)] = count * best
    return out


def _bindings(gs: GroupSpace, times: dict) -> list[tuple]:
    """Greedy least-busiest-unit binding improved by single moves, and every Einsum on its fastest unit."""
    order = sorted(gs.members, key=lambda m: -min(times[(m, u)] for u in gs.eligible[m]))
    load: dict = {}
    pick = {}
    for m in order:
        u = min(gs.eligible[m], key=lambda u, m=m: (max([load.get(u, 0.0) + times[(m, u)], *load.values()]),
                                                     times[(m, u)]))
        pick[m] = u
        load[u] = load.get(u, 0.0) + times[(m, u)]

    def cost(p):
        ld: dict = {}
        for m, u in p.items():
            ld[u] = ld.get(u, 0.0) + times[(m, u)]
        return max(ld.values()), sum(ld.values())

    improved = True
    while improved:
        improved = False
        for m in gs.members:
            for u in gs.eligible[m]:
                trial = {**pick, m: u}
                if u != pick[m] and cost(trial) < cost(pick):
                    pick, improved = trial, True
    fastest = {m: min(gs.eligible[m], key=lambda u: times[(m, u)]) for m in gs.members}
    out = [tuple(pick[m] for m in gs.members)]
    if tuple(fastest[m] for m in gs.members) not in out:
        out.append(tuple(fastest[m] for m in gs.members))
    return out


def _unit_work(gs: GroupSpace, units, loops, nest: RowNest, u: str) -> list:
    """(Einsum, executions, tile extents) of the Einsums on unit ``u`` at the seed tiles."""
    lv = loop_levels(gs.cascade, gs.members, loops)
    return [(m, float(nest.count(lv[m])[0]), {r: int(nest.extent(r, lv[m])[0]) for r in gs.cascade.einsum(m).indices})
            for m, x in zip(gs.members, units, strict=True) if x == u]


def _unit_total(gs: GroupSpace, units, loops, work: list, sizes, u: str, spatial) -> float:
    """Time of the Einsums on unit ``u`` (``work`` from :func:`_unit_work`) with the spatial choices ``spatial``."""
    s = GroupStructure(members=gs.members, units=tuple(units), loops=tuple(loops), spatial=tuple(spatial))
    return sum(count * unit_time(gs.cascade, gs.arch, sizes, m, u, s.spatial_of(gs.cascade, m), ext)
               for m, count, ext in work)


def _wide_ranks(gs: GroupSpace, nest: RowNest, loops) -> set:
    """Ranks whose extent exceeds 1 in some Einsum's tile at the seed tiles (only they can fill PEs)."""
    lv = loop_levels(gs.cascade, gs.members, loops)
    return {r for m in gs.members for r in gs.cascade.einsum(m).indices if nest.extent(r, lv[m])[0] > 1}


def spatial_for(gs: GroupSpace, units, loops, tiles, sizes, keep=()) -> tuple:
    """The spatial choices of every unit ``units`` use: per unit, ranks on its dimensions then fallbacks, that
    minimize its Einsums' time at ``tiles`` (entries in ``keep`` are kept)."""
    nest = _seed_nest(gs, loops, np.asarray(tiles), sizes)
    kept = {(u, d): (r, f) for u, d, r, f in keep}
    out = []
    for (u, dim), pairs in gs.spatial_options(units):
        out.append((u, dim, *kept.get((u, dim), pairs[0])))
    for u in dict.fromkeys(units):
        opts = [(i, pairs) for i, ((x, d), pairs) in enumerate(gs.spatial_options(units)) if x == u
                and (x, d) not in kept]
        if not opts:
            continue
        work = _unit_work(gs, units, loops, nest, u)

        def total(spatial, u=u, work=work):
            return _unit_total(gs, units, loops, work, sizes, u, spatial)

        wide = _wide_ranks(gs, nest, loops)
        prim = [sorted({r for r, _ in pairs if not r or r in wide}) for _, pairs in opts]
        best = None
        for combo in itertools.product(*prim):
            if len([r for r in combo if r]) != len({r for r in combo if r}):
                continue
            trial = list(out)
            for (i, _), r in zip(opts, combo, strict=True):
                trial[i] = (trial[i][0], trial[i][1], r, "")
            score = total(trial)
            if best is None or score < best[0]:
                best = (score, trial)
        out = best[1] if best else out
        for i, pairs in opts:    # then each dimension's fallback
            cands = [f for r, f in pairs if r == out[i][2] and (not f or f in wide)]
            if len(cands) < 2:
                continue
            scored = [(total(out[:i] + [(*out[i][:3], f)] + out[i + 1:]), k, f) for k, f in enumerate(cands)]
            out[i] = (*out[i][:3], min(scored)[2])
    return tuple(out)


def seed_structures(space: Mapspace, partition: dict, start: int, end: int, limit: int = 8) -> list:
    """Up to ``limit`` seed (structure, seed tile row) pairs of a segment, best lower bound first."""
    gs = space.group_space(start, end)
    if gs.fixed is not None:
        return [(gs.fixed, None)]
    if gs.empty is not None:
        return []
    sizes = space.bind(partition)
    cands = []
    for loops in loop_seeds(gs):
        tiles = seed_tiles(gs, loops, sizes)
        times = _einsum_times(gs, loops, _seed_nest(gs, loops, tiles, sizes), sizes)
        for units in _bindings(gs, times):
            spatial = spatial_for(gs, units, loops, tiles, sizes)
            multi = len(set(units)) > 1
            pipes = sorted(gs.pipelines, key=lambda p: (p != ("interleave" if multi else "in_order"), p == "serial"))
            inst = None if None in gs.instances else gs.instances[0]
            for pipe, spill in itertools.product(pipes[:2], sorted(gs.spill)):
                s = gs.make(units, loops, spatial, pipeline=pipe, instances=inst, on_chip=gs.on_chip[0],
                            in_pe=gs.in_pe[0], spill=spill)
                cands.append((s, tiles))
    scored = []
    for k, (s, tiles) in enumerate(cands):
        geo = GroupGeometry.build(space.cascade, space.arch, s, space.needed_later(end))
        nest = _seed_nest(gs, s.loops, tiles, sizes)
        bound = float(row_bounds(space.cascade, space.arch, sizes, s, geo, nest).cycles[0])
        scored.append((bound, k))
    seen, out = set(), []
    for _, k in sorted(scored):
        if cands[k][0] not in seen:
            seen.add(cands[k][0])
            out.append(cands[k])
    return out[:limit]

"""Neighbours of a group structure for the heuristic search: one dimension changed at random.

Moves: bind one Einsum to another unit (the units it newly uses get their best spatial mapping at the seed tiles,
:func:`einsim.sim.seeds.spatial_for`); change the loop order (swap two loops, move one, insert a loop over a rank,
drop one); change one unit dimension's rank or fallback; change the pipeline kind, the instances, on-chip, in-PE or
spilling choice; hold or stream one DRAM input differently; move one tensor to another on-chip level. Constraints
are kept: a move along a dimension a constraint fixes is not made.
"""

from __future__ import annotations

import numpy as np

from einsim.mappings.groupspace import GroupSpace
from einsim.mappings.structure import GroupStructure

from .seeds import seed_tiles, spatial_for

__all__ = ["mutate"]


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def _rebuild(gs: GroupSpace, s: GroupStructure, sizes, *, units=None, loops=None, spatial=None, **changes):
    units = tuple(units if units is not None else s.units)
    loops = tuple(loops if loops is not None else s.loops)
    if spatial is None:
        spatial = s.spatial
        if set(units) != set(s.units) or loops != s.loops:
            spatial = spatial_for(gs, units, loops, seed_tiles(gs, loops, sizes), sizes,
                                  keep=[x for x in s.spatial if x[0] in set(units)])
    opts = dict(gs.input_options(loops))
    inputs = tuple((t, d) for t, d in changes.pop("inputs", s.inputs) if d in opts.get(t, ()))
    levels = dict(gs.level_options(units))
    lv = tuple((t, x) for t, x in changes.pop("levels", s.levels) if x in levels.get(t, ()))
    args = dict(pipeline=s.pipeline, instances=s.instances, on_chip=s.on_chip, in_pe=bool(s.in_pe), spill=s.spill)
    args.update(changes)
    return gs.make(units, loops, spatial, inputs=inputs, levels=lv, **args)


def _loops(gs: GroupSpace, loops: tuple, rng) -> tuple | None:
    if gs.order is not None:
        return None
    fixed = len(gs.prefix)
    cur = list(loops)
    kind = _pick(rng, ("swap", "move", "insert", "drop"))
    free = list(range(fixed, len(cur)))
    if kind == "insert" or len(free) < 2 and kind != "drop":
        if len(cur) >= gs.max_loops:
            return None
        cur.insert(int(rng.integers(fixed, len(cur) + 1)), _pick(rng, gs.loop_ranks))
    elif kind == "drop":
        if not free:
            return None
        del cur[_pick(rng, free)]
    elif kind == "swap":
        a, b = sorted(rng.choice(free, 2, replace=False))
        cur[a], cur[b] = cur[b], cur[a]
    else:
        a = _pick(rng, free)
        r = cur.pop(a)
        cur.insert(int(rng.integers(fixed, len(cur) + 1)), r)
    if any(x == y for x, y in zip(cur, cur[1:], strict=False)) or any(cur.count(r) > gs.max_per_rank for r in cur):
        return None
    return tuple(cur)


def _rebind(gs, s, sizes, rng):
    movable = [i for i, m in enumerate(s.members) if len(gs.eligible[m]) > 1]
    if not movable:
        return None
    i = _pick(rng, movable)
    units = list(s.units)
    units[i] = _pick(rng, [u for u in gs.eligible[s.members[i]] if u != units[i]])
    return _rebuild(gs, s, sizes, units=units)


def _spatial(gs, s, sizes, rng):
    opts = gs.spatial_options(s.units)
    if not opts:
        return None
    k = int(rng.integers(len(opts)))
    (u, d), pairs = opts[k]
    sp = list(s.spatial)
    idx = next(i for i, x in enumerate(sp) if x[:2] == (u, d))
    sp[idx] = (u, d, *_pick(rng, pairs))
    return _rebuild(gs, s, sizes, spatial=tuple(sp))


def _setting(gs, s, sizes, rng):
    choices = [(name, opts) for name, opts in (("pipeline", gs.pipelines), ("instances", gs.instances),
                                                ("on_chip", gs.on_chip), ("in_pe", gs.in_pe), ("spill", gs.spill))
               if len(opts) > 1]
    ins = [(t, o) for t, o in gs.input_options(s.loops) if len(o) > 1]
    lvs = [(t, o) for t, o in gs.level_options(s.units) if len(o) > 1]
    kinds = ["setting"] * bool(choices) + ["input"] * bool(ins) + ["level"] * bool(lvs)
    if not kinds:
        return None
    kind = _pick(rng, kinds)
    if kind == "setting":
        name, opts = _pick(rng, choices)
        return _rebuild(gs, s, sizes, **{name: _pick(rng, opts)})
    if kind == "input":
        t, opts = _pick(rng, ins)
        inputs = dict(s.inputs)
        inputs[t] = _pick(rng, opts)
        return _rebuild(gs, s, sizes, inputs=tuple((k, v) for k, v in inputs.items() if v is not None))
    t, opts = _pick(rng, lvs)
    levels = dict(s.levels)
    levels[t] = _pick(rng, opts)
    return _rebuild(gs, s, sizes, levels=tuple((k, v) for k, v in levels.items() if v != opts[0]))


def mutate(gs: GroupSpace, s: GroupStructure, sizes, rng: np.random.Generator, tries: int = 8):
    """A structure next to ``s`` (one dimension changed), or None if no move changed it."""
    if gs.fixed is not None:
        return None
    for _ in range(tries):
        kind = _pick(rng, ("bind", "loops", "loops", "spatial", "setting"))
        if kind == "bind":
            out = _rebind(gs, s, sizes, rng)
        elif kind == "loops":
            loops = _loops(gs, s.loops, rng)
            out = None if loops is None else _rebuild(gs, s, sizes, loops=loops)
        elif kind == "spatial":
            out = _spatial(gs, s, sizes, rng)
        else:
            out = _setting(gs, s, sizes, rng)
        if out is not None and out != s:
            return out
    return None

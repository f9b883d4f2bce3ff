"""Simulated annealing over whole mappings (the ``anneal`` method of :mod:`einsim.sim.search`).

A state is a partition choice and a cut of the cascade into segments, each with a structure; its score is the sum
of its groups' best scores (their product of sums for EDP). Start: the best cut, by dynamic programming, of the
heuristic seeds (:mod:`einsim.sim.seeds`) of the all-fused group and of every Einsum alone. Moves, each searching
the structures it makes (:class:`einsim.sim.tilesearch.StructureSearch`, a batch of tile rows best bound first):

- *structure* (most often): one segment's structure changed along one dimension (:func:`einsim.sim.moves.mutate`);
- *seed*: one segment takes its next heuristic seed;
- *deepen*: one segment's structure gets more tile rows;
- *fusion*: two adjacent segments merge, or one splits in two;
- *partition*: another partition size, the same structures.

A move is kept if it lowers the score, else with probability exp(-d / T) for d the rise of the log score and T
falling geometrically from 0.05 to 1e-4 over the budget; every 64 moves without a new best the state returns to
the best mapping found. The search stops early when (for cycles) the best mapping reaches the workload's lower
bound, or when 1,024 moves in a row find nothing left to evaluate (structure moves make longer jumps while
idle). The best mapping reported is assembled from everything searched, not only the last state.
"""

from __future__ import annotations

import math

import numpy as np

from .moves import mutate
from .seeds import seed_partition

__all__ = ["anneal"]

T_START, T_END = 0.05, 1e-4
#: moves in a row that evaluate nothing (every row pruned, cut by the bound or searched) after which the search
#: stops; while idle, structure moves jump along up to 4 dimensions at once
IDLE_MOVES = 1024
MOVES = ("structure", "structure", "structure", "structure", "structure", "structure", "seed", "deepen", "fusion",
         "partition")


def _score(sr, pidx, state) -> float:
    """Score of ``state`` = [(start, end, structure)] (inf while a group has no feasible row)."""
    rec = [sr.records.get((pidx, i, j), {}).get(s) for i, j, s in state]
    if any(ss is None or ss.best is None for ss in rec):
        return math.inf
    if sr.objective.separable:
        return sum(ss.score() for ss in rec)
    return sr.objective.score(sum(ss.best.cycles for ss in rec), sum(ss.best.energy_pj for ss in rec))


def _start(sr) -> tuple[int, list]:
    """Search the seeds of the all-fused group and of every Einsum alone; the best cut of them."""
    space = sr.space
    pidx = seed_partition(space)
    n = len(space.names)
    first = [(0, n)] + [(i, i + 1) for i in range(n)]
    for i, j in [seg for seg in first if seg in space.segments]:
        for s, row in sr.seeds(pidx, i, j)[:1]:
            sr.explore(pidx, i, j, s, row)
    if (0, n) in space.segments:
        for s, row in sr.seeds(pidx, 0, n)[1:3]:
            sr.explore(pidx, 0, n, s, row)
    return pidx, _state_of(sr, pidx) or _any_state(sr, pidx)


def _state_of(sr, pidx) -> list | None:
    bp = sr.best_parts(pidx)
    if bp is None:
        return None
    return [(ss.start, ss.end, ss.s) for ss, _ in bp[1]]


def _any_state(sr, pidx) -> list:
    """A cut of seeds (used when no seeded group is feasible yet): the first allowed cut."""
    cut = next(sr.space.segmentations(limit=1))
    state = []
    for i, j in cut:
        seeds = sr.seeds(pidx, i, j)
        s = seeds[0][0] if seeds else sr.space.group_space(i, j).random(sr.rng)
        sr.explore(pidx, i, j, s, seeds[0][1] if seeds else None)
        state.append((i, j, s))
    return state


def _structure_move(sr, pidx, state, jumps: int = 1):
    """One segment's structure changed along ``jumps`` dimensions in a row."""
    k = _pick_segment(sr, pidx, state)
    i, j, s = state[k]
    gs = sr.space.group_space(i, j)
    new = s
    for _ in range(jumps):
        new = mutate(gs, new, sr.space.bind(sr.space.partition_options[pidx]), sr.rng) or new
    if new == s:
        return None
    old = sr.records.get((pidx, i, j), {}).get(s)
    row = old.best.tiles if old is not None and old.best is not None and new.loops == s.loops else None
    sr.explore(pidx, i, j, new, row)
    return state[:k] + [(i, j, new)] + state[k + 1:]


def _pick_segment(sr, pidx, state) -> int:
    """A segment, the costlier ones more often."""
    w = []
    for i, j, s in state:
        ss = sr.records.get((pidx, i, j), {}).get(s)
        w.append(1.0 if ss is None or ss.best is None else max(ss.best.cycles, 1.0))
    w = np.array(w) / sum(w)
    return int(sr.rng.choice(len(state), p=0.5 * w + 0.5 / len(state)))


def _seed_move(sr, pidx, state):
    k = int(sr.rng.integers(len(state)))
    i, j, _ = state[k]
    rec = sr.records.get((pidx, i, j), {})
    for s, row in sr.seeds(pidx, i, j):
        if s not in rec:
            sr.explore(pidx, i, j, s, row)
            return state[:k] + [(i, j, s)] + state[k + 1:]
    return None


def _deepen_move(sr, pidx, state):
    open_ = [(i, j, s) for i, j, s in state if not sr.records[(pidx, i, j)][s].complete]
    if not open_:
        return None
    i, j, s = open_[int(sr.rng.integers(len(open_)))]
    sr.explore(pidx, i, j, s)
    return list(state)


def _segment_structure(sr, pidx, i, j):
    """The best known structure of a segment, else its first seed (searched), else None."""
    best = sr.segment_best(pidx, i, j)
    if best is not None:
        return best.s
    seeds = sr.seeds(pidx, i, j)
    if not seeds:
        return None
    sr.explore(pidx, i, j, *seeds[0])
    return seeds[0][0]


def _fusion_move(sr, pidx, state):
    allowed = set(sr.space.segments)
    merges = [k for k in range(len(state) - 1) if (state[k][0], state[k + 1][1]) in allowed]
    splits = [(k, c) for k, (i, j, _) in enumerate(state) for c in range(i + 1, j)
              if (i, c) in allowed and (c, j) in allowed]
    if not merges and not splits:
        return None
    if merges and (not splits or sr.rng.random() < 0.5):
        k = merges[int(sr.rng.integers(len(merges)))]
        i, j = state[k][0], state[k + 1][1]
        s = _segment_structure(sr, pidx, i, j)
        return None if s is None else state[:k] + [(i, j, s)] + state[k + 2:]
    k, c = splits[int(sr.rng.integers(len(splits)))]
    i, j, _ = state[k]
    a, b = _segment_structure(sr, pidx, i, c), _segment_structure(sr, pidx, c, j)
    return None if a is None or b is None else state[:k] + [(i, c, a), (c, j, b)] + state[k + 1:]


def _partition_move(sr, pidx, state):
    n = len(sr.space.partition_options)
    if n < 2:
        return None
    new = int(np.clip(pidx + sr.rng.choice([-2, -1, 1, 2]), 0, n - 1))
    if new == pidx:
        return None
    for i, j, s in state:
        sr.explore(new, i, j, s)
    return new, list(state)


def anneal(sr) -> None:
    """Run the annealing until the budget is spent (see the module docstring)."""
    pidx, state = _start(sr)
    cur = _score(sr, pidx, state)
    best, stale, idle = cur, 0, 0
    moves = {"structure": _structure_move, "seed": _seed_move, "deepen": _deepen_move, "fusion": _fusion_move}
    while sr.budget.left() > 0 and idle < IDLE_MOVES and not sr.at_bound():
        temp = T_START * (T_END / T_START) ** sr.budget.fraction()
        kind = MOVES[int(sr.rng.integers(len(MOVES)))]
        used = sr.budget.used
        if kind == "partition":
            out = _partition_move(sr, pidx, state)
            new_pidx, new = out if out is not None else (pidx, None)
        else:
            args = (min(1 + idle // 32, 4),) if kind == "structure" else ()   # longer jumps while idle
            new_pidx, new = pidx, moves[kind](sr, pidx, state, *args)
        idle = idle + 1 if sr.budget.used == used else 0
        if new is None:
            continue
        score = _score(sr, new_pidx, new)
        if score <= cur or (math.isfinite(score) and math.isfinite(cur)
                            and sr.rng.random() < math.exp(-(math.log(score) - math.log(cur)) / temp)):
            pidx, state, cur = new_pidx, new, score
        if cur < best * (1 - 1e-12):
            best, stale = cur, 0
        else:
            stale += 1
        if stale >= 64:
            top = sr.best()
            if top is not None:
                pidx, state = top[0], [(ss.start, ss.end, ss.s) for ss, _ in top[2]]
                cur, stale = _score(sr, pidx, state), 0

"""The tile search of one group structure, on the batched evaluation primitive (:mod:`einsim.sim.fastpath`).

A structure's tile rows (:mod:`einsim.mappings.tilespace`; all of them when there are at most ``ENUMERATE`` rows,
else a uniform sample plus the seed rows) are first pruned by capacity (rows whose tiles cannot fit an on-chip level,
:class:`einsim.mappings.structure.GroupGeometry`), then ordered by their lower bound on cycles
(:func:`einsim.sim.bounds.row_bounds`; ties by the DRAM bytes they must move) and handed to the primitive in
batches, best bound first. For the cycles objective the search of a structure is *complete* once the next row's
bound is no better than the best cycles found: the rows left cannot win, so over an enumerated space the result is
the structure's optimum. When the space was sampled, the rows next to the best one (one tile changed) are added
and searched the same way.

:class:`Objective` scores (cycles, energy): ``cycles``, ``energy``, ``edp`` (their product) or ``weighted``
(w_cycles x cycles + w_energy x energy_pj). :class:`Budget` counts rows handed to the primitive and the time left.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from einsim.mappings.mapspace import Mapspace
from einsim.mappings.structure import GroupGeometry, GroupStructure
from einsim.mappings.tilespace import RowNest

from .bounds import row_bounds
from .fastpath import evaluate_group_tiles

__all__ = ["Objective", "Budget", "Point", "StructureSearch", "pareto", "ENUMERATE", "OBJECTIVES"]

#: tile spaces up to this many rows are enumerated; larger ones sampled
ENUMERATE = 50_000
#: rows drawn from a larger space
SAMPLE = 20_000
OBJECTIVES = ("cycles", "energy", "edp", "weighted")


@dataclass(frozen=True, kw_only=True)
class Objective:
    """What the search minimizes; ``weights`` = (per cycle, per pJ) for ``weighted``."""

    kind: str = "cycles"
    weights: tuple[float, float] = (1.0, 0.0)

    def __post_init__(self):
        if self.kind not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, not {self.kind!r}")

    @property
    def separable(self) -> bool:
        """True if the score of groups run in order is the sum of their scores."""
        return self.kind != "edp"

    def score(self, cycles, energy):
        if self.kind == "cycles":
            return cycles
        if self.kind == "energy":
            return energy
        if self.kind == "edp":
            return cycles * energy
        return self.weights[0] * cycles + self.weights[1] * energy


@dataclass(kw_only=True)
class Budget:
    """Rows the search may still hand to the primitive (``evaluations``) and its ``deadline`` (perf_counter s)."""

    evaluations: int | None = None
    deadline: float | None = None
    used: int = 0
    pruned: int = 0
    started: float = field(default_factory=time.perf_counter)

    def left(self) -> int:
        if self.deadline is not None and time.perf_counter() >= self.deadline:
            return 0
        return max(0, self.evaluations - self.used) if self.evaluations is not None else 1 << 40

    @property
    def rate(self) -> float:
        """Rows per second so far."""
        return self.used / max(time.perf_counter() - self.started, 1e-9)

    def fraction(self) -> float:
        """Share of the budget spent (0..1)."""
        parts = []
        if self.evaluations:
            parts.append(self.used / self.evaluations)
        if self.deadline is not None:
            parts.append((time.perf_counter() - self.started) / max(self.deadline - self.started, 1e-9))
        return min(1.0, max(parts, default=0.0))


@dataclass(frozen=True, kw_only=True)
class Point:
    """One evaluated group: its cycles, energy and tile row."""

    cycles: float
    energy_pj: float
    tiles: tuple


def pareto(points: list) -> list:
    """The points not dominated in (cycles, energy_pj), by cycles."""
    out = []
    for p in sorted(points, key=lambda p: (p.cycles, p.energy_pj)):
        if not out or p.energy_pj < out[-1].energy_pj:
            out.append(p)
    return out


class StructureSearch:
    """The tile search of one structure of one segment under one partition choice (see the module docstring)."""

    def __init__(self, space: Mapspace, partition: dict, start: int, end: int, s: GroupStructure,
                 objective: Objective, rng: np.random.Generator, seed_rows=(), enumerate_all: bool = False,
                 shuffle: bool = False):
        self.space, self.partition, self.start, self.end, self.s = space, dict(partition), start, end, s
        self.objective = objective
        self.rng = rng
        self.sizes = space.bind(partition)
        self.gs = space.group_space(start, end)
        self.points: list[Point] = []
        self.best: Point | None = None
        self.reason = ""            # why no row is feasible (so far)
        self.evaluated = 0
        self.pruned = 0
        self.cutoff = math.inf      # cycles no row may reach to matter (the segment's best, set by the searcher)
        self.complete = False
        self.tiles, why = self.gs.tile_space(s, self.sizes)
        if self.tiles is None:
            self.reason, self.complete = str(why), True
            return
        self.geo = GroupGeometry.build(space.cascade, space.arch, s, space.needed_later(end))
        self.mapping, self.group = space.eval_mapping(partition, s, start, end)
        self.shuffle = shuffle      # random order, no bound cut (the random-sampling method)
        self.sampled = self.tiles.size > ENUMERATE and not enumerate_all
        if self.tiles.size >= 1 << 62:
            raise ValueError(f"tile space of {s.loops} has {self.tiles.size} rows, too many to index; use fewer loops")
        index = self.tiles.sample_index(rng, SAMPLE) if self.sampled else self.tiles.all_index()
        seeds = [i for r in seed_rows if (i := self.tiles.index_of(np.asarray(r))) is not None]
        if seeds:
            index = np.concatenate([np.array(seeds), index])
        self._seen = np.zeros(0, dtype=np.int64)
        self._queue = np.zeros((0, len(self.tiles.loops)), dtype=np.int64)
        self._bound = np.zeros(0)
        self._enqueue(index)

    # ----- candidates ---------------------------------------------------------------------------------------------
    def _keys(self, index: np.ndarray) -> np.ndarray:
        """One integer per row of chain indices (mixed radix over the ranks' chain counts)."""
        keys = np.zeros(len(index), dtype=np.int64)
        for i, c in enumerate(self.tiles.counts):
            keys = keys * c + index[:, i]
        return keys

    def _enqueue(self, index: np.ndarray) -> None:
        """Add rows (chain indices) not seen before, pruned by capacity, ordered by bound."""
        if not len(index):
            return
        keys, first = np.unique(self._keys(index), return_index=True)
        fresh = ~np.isin(keys, self._seen)
        index = index[np.sort(first[fresh])]
        self._seen = np.concatenate([self._seen, keys[fresh]])
        if not len(index):
            return
        rows = self.tiles.rows(index)
        c, arch = self.space.cascade, self.space.arch
        nest = RowNest(self.s.loops, rows, self.sizes, c.partitions, self._instances())
        fits = self.geo.fits(c, arch, nest, self.s.spill, self.space.constraints.max_buffer_bytes)
        self.pruned += int((~fits).sum())
        if not fits.any():
            if not self.reason:
                self.reason = (f"every tile choice of group ({', '.join(self.s.members)}) overflows an on-chip level "
                               "(capacity or max_buffer_bytes)")
            return
        rows, nest = rows[fits], RowNest(self.s.loops, rows[fits], self.sizes, c.partitions, self._instances())
        rb = row_bounds(c, arch, self.sizes, self.s, self.geo, nest)
        rows = np.concatenate([self._queue, rows])
        bound = np.concatenate([self._bound, rb.cycles])
        second = np.concatenate([np.zeros(len(self._queue)), rb.dram_bytes]) if self.objective.kind == "cycles" \
            else np.concatenate([np.zeros(len(self._queue)), rb.dram_bytes / np.maximum(rb.cycles, 1)])
        key = np.lexsort((second, bound)) if self.objective.kind != "energy" else np.lexsort((bound, second))
        if self.shuffle:
            key = self.rng.permutation(len(bound))
        self._queue, self._bound = rows[key], bound[key]

    def _instances(self) -> int:
        if self.s.instances is not None:
            return self.s.instances
        return min(self.space.arch.unit(u).instances for u in set(self.s.units))

    # ----- evaluation ---------------------------------------------------------------------------------------------
    def step(self, budget: Budget, rows: int) -> int:
        """Evaluate up to ``rows`` more rows (best bound first); return how many were evaluated."""
        if self.complete or budget.left() <= 0:
            return 0
        n = min(rows, budget.left(), len(self._queue))
        if self._threshold() < math.inf and len(self._bound):
            n = min(n, int(np.searchsorted(self._bound, self._threshold() * (1 - 1e-9))))
        if n <= 0:
            self._refill_or_finish()
            return 0
        batch, self._queue, self._bound = self._queue[:n], self._queue[n:], self._bound[n:]
        out = evaluate_group_tiles(self.space.cascade, self.sizes, self.space.arch, self.mapping, self.group, batch)
        budget.used += n
        self.evaluated += n
        self._take(batch, out)
        if not len(self._queue):
            self._refill_or_finish()
        return n

    def _take(self, batch: np.ndarray, out) -> None:
        """Keep the feasible rows of an evaluated batch: the best by the objective (the largest tiles on ties) and
        the Pareto front; rows over a ``max_buffer_bytes`` constraint count as infeasible."""
        ok = out.ok.copy()
        for lvl, cap in self.space.constraints.max_buffer_bytes.items():
            over = ok & (np.nan_to_num(out.level_peak_bytes.get(lvl, np.zeros(len(ok)))) > cap)
            if over.any() and not self.reason:
                self.reason = f"row {batch[np.argmax(over)].tolist()} holds more than max_buffer_bytes allows"
            ok &= ~over
        if not self.reason and not out.ok.all():
            self.reason = out.reasons.get(int(np.argmin(out.ok)), "")
        idx = np.nonzero(ok)[0]
        if not len(idx):
            return
        c, e = out.cycles[idx], out.energy_pj[idx]
        score = np.asarray(self.objective.score(c, e), dtype=np.float64)
        tie = idx[score <= score.min() * (1 + 1e-12)]
        top = tie[np.lexsort(batch[tie].T[::-1])[-1]] if batch.shape[1] else tie[0]   # the largest tiles of the ties
        point = lambda r: Point(cycles=float(out.cycles[r]), energy_pj=float(out.energy_pj[r]),  # noqa: E731
                                tiles=tuple(int(t) for t in batch[r]))
        p = point(top)
        if self.best is None or self._better(p, self.best):
            self.best = p
        order = idx[np.lexsort((e, c))]
        keep = out.energy_pj[order] < np.minimum.accumulate(np.concatenate([[np.inf], out.energy_pj[order][:-1]]))
        self.points = pareto(self.points + [point(r) for r in order[keep]])

    def _better(self, a: Point, b: Point) -> bool:
        sa, sb = self.objective.score(a.cycles, a.energy_pj), self.objective.score(b.cycles, b.energy_pj)
        return sa < sb * (1 - 1e-12) or (sa <= sb * (1 + 1e-12) and a.tiles > b.tiles)

    def _refill_or_finish(self) -> None:
        """A sampled space gets the neighbours of its best row; the search is complete when no row is left or (for
        cycles) no row left can beat the best."""
        if self.sampled and self.best is not None:
            before = len(self._queue)
            self._enqueue(self.tiles.neighbors(self.tiles.index_of(np.array(self.best.tiles))))
            if len(self._queue) > before and not self._cut():
                return
        self.complete = not len(self._queue) or self._cut()

    def _threshold(self) -> float:
        """For cycles: the cycles a row must beat to matter (this structure's best or the segment's)."""
        if self.objective.kind != "cycles" or self.shuffle:
            return math.inf
        return min(self.cutoff, self.best.cycles if self.best is not None else math.inf)

    def _cut(self) -> bool:
        """True if (for cycles) the best bound left cannot beat the threshold."""
        return len(self._bound) > 0 and self._bound[0] >= self._threshold() * (1 - 1e-9)

    def score(self) -> float:
        """The objective of the best row (inf if none is feasible yet)."""
        return math.inf if self.best is None else self.objective.score(self.best.cycles, self.best.energy_pj)

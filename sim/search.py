"""The searching mapper: the best mapping of a cascade on an architecture within a budget.

The mapspace (:mod:`einsim.mappings.mapspace`) is searched group by group. Fusion groups run in order and a group's
cost depends only on its own structure and tiles (and on where its segment ends), so every (partition sizes,
segment, structure) is searched once and remembered (:class:`einsim.sim.tilesearch.StructureSearch`: capacity
pruning, best-bound-first batches on the evaluation primitive), and the best mapping is assembled from the
remembered groups by dynamic programming over the cuts of the cascade into segments (exact for objectives that add
over groups: cycles, energy, a weighted sum; for EDP, over Pareto fronts of the segments). Methods decide which
structures get searched:

- ``exhaustive``: every structure of every allowed segment and partition, every tile row (with the cycles bound
  cutting rows that cannot win): the optimum of the space for small spaces;
- ``random``: random partitions, cuts and structures, each with a batch of random tile rows;
- ``anneal``: simulated annealing from heuristic seeds (:mod:`einsim.sim.seeds`) over the structure of one segment
  (:mod:`einsim.sim.moves`), merges and splits of segments and partition changes, accepted by the Metropolis rule on
  the log of the objective with a temperature falling over the budget; seeded, so a run with an evaluation budget
  is deterministic for its seed (a time budget stops it where the clock says);
- ``auto``: exhaustive when the space fits the evaluation budget, else anneal.

The result carries the lower bound of the workload (:mod:`einsim.sim.bounds`) and the gap to it, and the Pareto
front of whole mappings (cycles vs energy).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from einsim.arch.spec import ArchSpec
from einsim.mappings.constraints import Constraints
from einsim.mappings.mapspace import Mapspace
from einsim.mappings.spec import MappingSpec
from einsim.workloads import Cascade

from .bounds import LowerBound, workload_lower_bound
from .evaluate import evaluate_fixed
from .result import Result
from .seeds import seed_structures
from .tilesearch import Budget, Objective, StructureSearch

__all__ = ["SearchResult", "search", "METHODS"]

METHODS = ("auto", "exhaustive", "random", "anneal")


@dataclass(frozen=True, kw_only=True)
class SearchResult:
    """The best mapping found (None if none is feasible), its evaluation, and how the search went: rows handed to
    the evaluation primitive (``evaluated``), rows dropped by capacity pruning, structures searched, the seconds
    taken, the workload's lower bound and the gap to it (cycles / bound - 1), and the Pareto front of whole
    mappings as (cycles, energy_pj, mapping)."""

    mapping: MappingSpec | None
    result: Result
    predicted_cycles: float
    predicted_energy_pj: float
    evaluated: int
    pruned: int
    structures: int
    seconds: float
    lower_bound: LowerBound
    gap: float
    method: str
    objective: Objective
    pareto: tuple = field(default_factory=tuple)
    trace: tuple = field(default_factory=tuple)     # (seconds, evaluated, cycles, energy_pj) at each new best


class _Searcher:
    """The remembered structure searches and the dynamic programming over them."""

    def __init__(self, space: Mapspace, objective: Objective, budget: Budget, rng: np.random.Generator,
                 exhaustive: bool = False, random_rows: bool = False):
        self.space, self.objective, self.budget, self.rng = space, objective, budget, rng
        self.exhaustive, self.random_rows = exhaustive, random_rows
        self.records: dict = {}         # (partition index, start, end) -> {structure: StructureSearch}
        self._best_of: dict = {}        # (partition index, start, end) -> its best StructureSearch so far
        self.lower_bound: LowerBound | None = None
        self._seeds: dict = {}
        self.trace: list = []

    def quota(self) -> int:
        """Rows a newly searched structure gets at first."""
        if self.exhaustive:
            return 1 << 30
        if self.budget.evaluations is not None:
            return int(np.clip(self.budget.evaluations // 80, 8, 1024))
        left = max(0.0, self.budget.deadline - time.perf_counter()) if self.budget.deadline else 60.0
        return int(np.clip(left * max(self.budget.rate, 20.0) / 40, 8, 1024))

    def explore(self, pidx: int, start: int, end: int, s, seed_row=None, rows: int | None = None):
        """Search structure ``s`` of a segment (more rows if it was searched before); its StructureSearch."""
        rec = self.records.setdefault((pidx, start, end), {})
        ss = rec.get(s)
        if ss is None:
            ss = StructureSearch(self.space, self.space.partition_options[pidx], start, end, s, self.objective,
                                 self.rng, seed_rows=[] if seed_row is None else [seed_row],
                                 enumerate_all=self.exhaustive, shuffle=self.random_rows)
            rec[s] = ss
            self.budget.pruned += ss.pruned
        before, old = ss.pruned, ss.best
        seg = self.segment_best(pidx, start, end)
        ss.cutoff = seg.best.cycles if seg is not None else math.inf
        ss.step(self.budget, rows if rows is not None else self.quota())
        self.budget.pruned += ss.pruned - before
        if ss.best is not old:
            cur = self._best_of.get((pidx, start, end))
            if cur is None or ss.score() < cur.score():
                self._best_of[(pidx, start, end)] = ss
            self._note()
        return ss

    def at_bound(self) -> bool:
        """True if the best mapping's cycles reach the workload's lower bound (nothing can be faster)."""
        return (self.objective.kind == "cycles" and bool(self.trace) and self.lower_bound is not None
                and self.trace[-1][3] <= self.lower_bound.cycles * (1 + 1e-9))

    def _note(self) -> None:
        """Record the best whole mapping if it improved."""
        top = self.best()
        if top is not None and (not self.trace or top[1] < self.trace[-1][0]):
            parts = top[2]
            self.trace.append((top[1], time.perf_counter() - self.budget.started, self.budget.used,
                               sum(p.cycles for _, p in parts), sum(p.energy_pj for _, p in parts)))

    def seeds(self, pidx: int, start: int, end: int) -> list:
        key = (pidx, start, end)
        if key not in self._seeds:
            self._seeds[key] = seed_structures(self.space, self.space.partition_options[pidx], start, end)
        return self._seeds[key]

    def segment_best(self, pidx, start, end) -> StructureSearch | None:
        """The structure search with the best score of a segment so far (None if none is feasible yet)."""
        return self._best_of.get((pidx, start, end))

    # ----- assembling whole mappings -------------------------------------------------------------------------------
    def best_parts(self, pidx: int):
        """(score, [(StructureSearch, Point)]) of the best cut of the cascade from the remembered groups."""
        if not self.objective.separable:
            front = self.front(pidx)
            if not front:
                return None
            c, e, parts = min(front, key=lambda x: self.objective.score(x[0], x[1]))
            return self.objective.score(c, e), parts
        n = len(self.space.names)
        best = {0: (0.0, [])}
        for j in range(1, n + 1):
            for i, jj in self.space.segments:
                if jj != j or i not in best:
                    continue
                ss = self.segment_best(pidx, i, j)
                if ss is None:
                    continue
                cand = best[i][0] + ss.score()
                if j not in best or cand < best[j][0]:
                    best[j] = (cand, best[i][1] + [(ss, ss.best)])
        return best.get(n)

    def front(self, pidx: int, cap: int = 64) -> list:
        """Pareto front of whole mappings: [(cycles, energy, [(StructureSearch, Point)])]."""
        n = len(self.space.names)
        fronts = {0: [(0.0, 0.0, [])]}
        for j in range(1, n + 1):
            pts = []
            for i, jj in self.space.segments:
                if jj != j or i not in fronts:
                    continue
                seg = [(p.cycles, p.energy_pj, ss, p) for ss in self.records.get((pidx, i, j), {}).values()
                       for p in ss.points]
                seg = _front4(seg, cap)
                pts += [(c0 + c1, e0 + e1, parts + [(ss, p)]) for c0, e0, parts in fronts[i] for c1, e1, ss, p in seg]
            if pts:
                fronts[j] = _front3(pts, cap)
        return fronts.get(n, [])

    def best(self):
        """(partition index, score, parts) of the best mapping over partition choices, or None."""
        out = None
        for pidx in sorted({k[0] for k in self.records}):
            bp = self.best_parts(pidx)
            if bp is not None and (out is None or bp[0] < out[1]):
                out = (pidx, bp[0], bp[1])
        return out

    def reason(self) -> str:
        reasons = [ss.reason for rec in self.records.values() for ss in rec.values() if ss.reason]
        return next((r for r in reasons if "does not divide" not in r), reasons[0] if reasons else
                    "no structure was searched (budget too small)")

    @property
    def structures(self) -> int:
        return sum(len(r) for r in self.records.values())


def _front3(pts, cap):
    out = []
    for p in sorted(pts, key=lambda x: (x[0], x[1])):
        if not out or p[1] < out[-1][1]:
            out.append(p)
    return _thin(out, cap)


def _front4(pts, cap):
    return [(c, e, sp[0], sp[1]) for c, e, sp in _front3([(c, e, (ss, p)) for c, e, ss, p in pts], cap)]


def _thin(front, cap):
    if len(front) <= cap:
        return front
    keep = np.unique(np.linspace(0, len(front) - 1, cap).round().astype(int))
    return [front[i] for i in keep]


# ----- methods ---------------------------------------------------------------------------------------------------
def _exhaustive(sr: _Searcher) -> None:
    space = sr.space
    for pidx in range(len(space.partition_options)):
        for i, j in space.segments:
            gs = space.group_space(i, j)
            if gs.empty is not None:
                continue
            for s in gs.structures():
                ss = sr.explore(pidx, i, j, s)
                while not ss.complete and sr.budget.left() > 0:
                    sr.explore(pidx, i, j, s)
                if sr.budget.left() <= 0:
                    return


def _random(sr: _Searcher) -> None:
    space = sr.space
    rows = max(8, sr.quota() // 4)
    while sr.budget.left() > 0:
        pidx = int(sr.rng.integers(len(space.partition_options)))
        cuts = list(space.segmentations(limit=256))
        cut = cuts[int(sr.rng.integers(len(cuts)))]
        for i, j in cut:
            gs = space.group_space(i, j)
            if gs.empty is None:
                sr.explore(pidx, i, j, gs.random(sr.rng), rows=rows)


def _count(space: Mapspace, limit: int) -> int:
    """Rows in the whole space (stops counting past ``limit``)."""
    total = 0
    for parts in space.partition_options:
        sizes = space.bind(parts)
        for i, j in space.segments:
            gs = space.group_space(i, j)
            if gs.empty is not None:
                continue
            for s in gs.structures():
                t, _ = gs.tile_space(s, sizes)
                total += t.size if t is not None else 1   # a structure costs at least a look
                if total > limit:
                    return total
    return total


def search(cascade: Cascade, arch: ArchSpec, sizes, *, constraints: Constraints | None = None,
           template: MappingSpec | None = None, objective: Objective | None = None, method: str = "auto",
           evaluations: int | None = None, seconds: float | None = None, seed: int = 0,
           space: Mapspace | None = None) -> SearchResult:
    """Search the mapspace of ``cascade`` on ``arch`` at instance ``sizes`` (see the module docstring). At least
    one of ``evaluations`` (rows handed to the evaluation primitive) and ``seconds`` bounds the search (default:
    10,000 rows). Raises SpecError if a constraint leaves no mapping."""
    from .anneal import anneal

    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    t0 = time.perf_counter()
    objective = objective or Objective()
    space = space or Mapspace(cascade, arch, sizes, constraints=constraints, template=template)
    space.check()
    if evaluations is None and seconds is None:
        evaluations = 10_000
    budget = Budget(evaluations=evaluations, deadline=None if seconds is None else t0 + seconds, started=t0)
    if method == "auto":
        method = "exhaustive" if evaluations is not None and _count(space, evaluations) <= evaluations else "anneal"
    sr = _Searcher(space, objective, budget, np.random.default_rng(seed), exhaustive=method == "exhaustive",
                   random_rows=method == "random")
    sr.lower_bound = workload_lower_bound(space)
    {"exhaustive": _exhaustive, "random": _random, "anneal": anneal}[method](sr)
    return _finish(sr, method, t0)


def _finish(sr: _Searcher, method: str, t0: float) -> SearchResult:
    space = sr.space
    lb = sr.lower_bound
    best = sr.best()
    common = dict(evaluated=sr.budget.used, pruned=sr.budget.pruned, structures=sr.structures, lower_bound=lb,
                  method=method, objective=sr.objective)
    if best is None:
        return SearchResult(mapping=None, result=Result.infeasible(f"no feasible mapping found: {sr.reason()}"),
                            predicted_cycles=math.nan, predicted_energy_pj=math.nan, gap=math.nan,
                            seconds=time.perf_counter() - t0, **common)
    pidx, _, parts = best
    mapping = _assemble(space, pidx, parts, sr.objective)
    result = evaluate_fixed(space.cascade, space.arch, mapping, space.sizes)
    front = []
    for p in range(len(space.partition_options)):
        front += [(c, e, p, pp) for c, e, pp in sr.front(p)]
    front = pareto_mappings(space, front, sr.objective)
    cycles = sum(p.cycles for _, p in parts)
    return SearchResult(mapping=mapping, result=result, predicted_cycles=cycles,
                        predicted_energy_pj=sum(p.energy_pj for _, p in parts),
                        gap=(result.summary["cycles"] / lb.cycles - 1) if result.ok and lb.cycles else math.nan,
                        seconds=time.perf_counter() - t0, pareto=tuple(front),
                        trace=tuple(t[1:] for t in sr.trace), **common)


def _assemble(space: Mapspace, pidx: int, parts, objective: Objective) -> MappingSpec:
    items = [(ss.s, p.tiles) for ss, p in parts]
    return space.mapping(space.partition_options[pidx], items, name="search",
                         description=f"found by einsim map (objective {objective.kind})")


def pareto_mappings(space: Mapspace, front, objective: Objective) -> list:
    """[(cycles, energy_pj, MappingSpec)] of the non-dominated whole mappings in ``front``."""
    out = []
    for c, e, pidx, parts in sorted(front, key=lambda x: (x[0], x[1])):
        if not out or e < out[-1][1]:
            out.append((c, e, _assemble(space, pidx, parts, objective)))
    return out


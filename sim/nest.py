"""Step 1 of lowering a fusion group: nest analysis (trips, tiles, the extent of every rank at every loop level).

A group's shared loops are outermost first; loop j iterates over blocks of ``tile`` of what the loops outside it left
of its rank. A Einsum sits at *loop level* k: inside the longest prefix of loops over ranks it indexes (or at the
mapping's shallower ``run_at`` depth: its tile then spans the deeper loops), so it runs
once per iteration of loops [0, k). With ``instances: N`` the outermost loop's iterations are spread over N unit
instances: each instance runs ceil(trips / N) of them (the timing of one instance's program) and the work done is
``copies`` = trips / ceil(trips / N) instance-programs' worth (N when N divides the trips).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from einsim.mappings.spec import Group
from einsim.workloads import Cascade

from .errors import Infeasible

__all__ = ["Nest", "analyze_nest"]


@dataclass(frozen=True, kw_only=True)
class Nest:
    """The loop nest of one group: ``trips`` per instance, ``tiles`` per loop, each Einsum's loop level."""

    name: str
    cascade: Cascade
    sizes: dict
    loop_ranks: tuple[str, ...]
    tiles: np.ndarray
    trips: np.ndarray
    instances: int
    copies: float
    concurrent: int       # instances running at once (at most the outermost loop's trips)
    level: dict           # Einsum name -> loop level

    @property
    def depth(self) -> int:
        return len(self.loop_ranks)

    def extent(self, rank: str, k: int) -> int:
        """Extent of ``rank`` inside one iteration of loops [0, k)."""
        parts = self.cascade.partitions.get(rank)
        if parts:
            return math.prod(self.extent(p, k) for p in parts)
        for j in range(k - 1, -1, -1):
            if self.loop_ranks[j] == rank:
                return int(self.tiles[j])
        return self.sizes[rank]

    def footprint(self, tensor: str, k: int, carried_rank: str | None = None) -> int:
        """Elements of ``tensor``'s tile inside one iteration of loops [0, k) (one iterate of a carried rank)."""
        return math.prod(1 if r == carried_rank else self.extent(r, k) for r in self.cascade.tensor_ranks(tensor))

    def indexes(self, ranks, loop_rank: str) -> bool:
        """True if a tensor with ``ranks`` is indexed by a loop over ``loop_rank`` (directly or by a partition)."""
        parts = self.cascade.partitions
        return loop_rank in ranks or any(loop_rank in parts.get(r, ()) for r in ranks)

    def held_depth(self, tensor: str, k: int) -> int:
        """Loops outside which a DRAM input read at level k must be reloaded: past the innermost one indexing it."""
        ranks = self.cascade.tensor_ranks(tensor)
        return max((j + 1 for j in range(k) if self.indexes(ranks, self.loop_ranks[j])), default=0)

    def store_depth(self, tensor: str, k: int) -> int:
        """Loop level at which an output made at level k is complete: the longest prefix of loops it indexes."""
        ranks = self.cascade.tensor_ranks(tensor)
        ko = 0
        while ko < k and self.indexes(ranks, self.loop_ranks[ko]):
            ko += 1
        return ko


def analyze_nest(cascade: Cascade, sizes: dict, group: Group, members, name: str) -> Nest:
    """Trips and tiles of ``group``'s loops for bound ``sizes``; Infeasible if a tile does not divide its extent."""
    einsums = [cascade.einsum(m) for m in members]
    all_idx = set().union(*(e.indices for e in einsums))
    n = len(group.loops)
    tiles = np.zeros(n, dtype=np.int64)
    trips = np.zeros(n, dtype=np.int64)
    cur = {}
    for j, lp in enumerate(group.loops):
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
    copies, concurrent = 1.0, 1
    if group.instances > 1:
        if n == 0:
            raise Infeasible(f"{name} spreads its outermost loop over {group.instances} instances, but has no loops")
        total = int(trips[0])
        per_instance = -(-total // group.instances)
        copies = total / per_instance
        concurrent = min(group.instances, total)
        trips[0] = per_instance
    level = {}
    for e in einsums:
        k = 0
        while k < n and group.loops[k].rank in e.indices:
            k += 1
        if e.name in group.run_at:
            if group.run_at[e.name] > k:
                raise Infeasible(f"{name} runs {e.name} at loop depth {group.run_at[e.name]}, inside loops over "
                                 f"ranks it does not index; its depth is at most {k}")
            k = group.run_at[e.name]
        level[e.name] = k
    for en in group.run_at:
        if en not in level:
            raise Infeasible(f"{name} sets run_at for {en!r}, which is not an Einsum of the group "
                             f"({', '.join(level)})")
    return Nest(name=name, cascade=cascade, sizes=dict(sizes), loop_ranks=tuple(lp.rank for lp in group.loops),
                tiles=tiles, trips=trips, instances=group.instances, copies=copies, concurrent=concurrent,
                level=level)

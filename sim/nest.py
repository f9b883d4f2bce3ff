"""Step 1 of lowering a fusion group: nest analysis (trips, tiles, the extent of every rank at every loop level).

A group's shared loops are outermost first; loop j iterates over blocks of ``tile`` of what the loops outside it left
of its rank. An Einsum sits at *loop level* k: inside the longest prefix of loops over ranks it indexes, so it runs
once per iteration of loops [0, k). With ``instances: N`` the outermost loop's iterations are spread over N unit
instances: each instance runs ceil(trips / N) of them (the timing of one instance's program) and the work done is
``copies`` = trips / ceil(trips / N) instance-programs' worth (N when N divides the trips).

Lowering works on *rows*: R choices of the group's tile sizes at once (the mapper's batches; R = 1 for one mapping).
Every number that depends on tiles is an array of R values; the structure (which loops, which tasks) is shared. A row
whose tiles cannot run (a tile that does not divide its extent, a buffer that overflows) is marked infeasible in
:class:`Rows` with its reason, and the other rows go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from einsim.mappings.spec import Group
from einsim.workloads import Cascade

from .errors import Infeasible

__all__ = ["Rows", "Nest", "analyze_nest", "prod"]


def prod(values, rows: int) -> np.ndarray:
    """Elementwise product of arrays (or ints) of ``rows`` values; ones for none."""
    out = np.ones(rows, dtype=np.int64)
    for v in values:
        out = out * v
    return out


@dataclass
class Rows:
    """Which of the R rows can still run, and why the others cannot (the first reason found per row); ``deferred``
    rows can run but need a task structure of their own (a spill), so they are lowered again on their own."""

    ok: np.ndarray
    reasons: dict = field(default_factory=dict)
    deferred: np.ndarray | None = None

    def defer(self, mask: np.ndarray) -> None:
        self.deferred = mask & self.ok if self.deferred is None else self.deferred | (mask & self.ok)
        self.ok = self.ok & ~mask

    @property
    def count(self) -> int:
        return len(self.ok)

    def fail(self, mask: np.ndarray, reason) -> None:
        """Mark the rows in ``mask`` infeasible; ``reason(row)`` (or a string) says why."""
        for r in np.nonzero(mask & self.ok)[0]:
            self.reasons[int(r)] = reason(int(r)) if callable(reason) else reason
        self.ok = self.ok & ~mask


@dataclass(frozen=True, kw_only=True)
class Nest:
    """The loop nest of one group: ``tiles`` and ``trips`` per row and loop (trips per instance), each Einsum's loop
    level; ``copies`` and ``concurrent`` instances per row."""

    name: str
    cascade: Cascade
    sizes: dict
    loop_ranks: tuple[str, ...]
    tiles: np.ndarray       # [R, n]
    trips: np.ndarray       # [R, n]
    instances: int
    copies: np.ndarray      # [R]
    concurrent: np.ndarray  # [R] instances running at once (at most the outermost loop's trips)
    level: dict             # Einsum name -> loop level
    rows: Rows

    @property
    def depth(self) -> int:
        return len(self.loop_ranks)

    @property
    def count(self) -> int:
        return self.rows.count

    def extent(self, rank: str, k: int) -> np.ndarray:
        """Extent of ``rank`` inside one iteration of loops [0, k), per row."""
        parts = self.cascade.partitions.get(rank)
        if parts:
            return prod((self.extent(p, k) for p in parts), self.count)
        for j in range(k - 1, -1, -1):
            if self.loop_ranks[j] == rank:
                return self.tiles[:, j]
        return np.full(self.count, self.sizes[rank], dtype=np.int64)

    def footprint(self, tensor: str, k: int, carried_rank: str | None = None) -> np.ndarray:
        """Elements of ``tensor``'s tile inside one iteration of loops [0, k) (one iterate of a carried rank)."""
        return prod((self.extent(r, k) for r in self.cascade.tensor_ranks(tensor) if r != carried_rank), self.count)

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

    def iterations(self, k: int) -> np.ndarray:
        """Iterations of loops [0, k) per row (per instance)."""
        return np.prod(self.trips[:, :k].astype(np.float64), axis=1)


def group_tiles(group: Group, name: str) -> np.ndarray:
    """The group's tiles as one row; Infeasible if a tile is left to choose."""
    for j, lp in enumerate(group.loops):
        if lp.tile is None:
            raise Infeasible(f"{name} loop {j} over {lp.rank} has no tile chosen; run the mapper")
    return np.array([[lp.tile for lp in group.loops]], dtype=np.int64).reshape(1, len(group.loops))


def analyze_nest(cascade: Cascade, sizes: dict, group: Group, members, name: str, instances: int,
                 tiles: np.ndarray | None = None) -> Nest:
    """Trips and tiles of ``group``'s loops for bound ``sizes`` (per row of ``tiles``, default: the group's own
    tiles), the outermost loop spread over ``instances`` unit instances. A row whose tile does not divide its extent
    is infeasible."""
    einsums = [cascade.einsum(m) for m in members]
    all_idx = set().union(*(e.indices for e in einsums))
    n = len(group.loops)
    tiles = group_tiles(group, name) if tiles is None else np.asarray(tiles, dtype=np.int64).reshape(-1, n)
    rows = Rows(ok=np.ones(len(tiles), dtype=bool))
    trips = np.ones_like(tiles)
    cur = {}
    for j, lp in enumerate(group.loops):
        if lp.rank not in sizes or lp.rank not in all_idx:
            raise Infeasible(f"{name} loop {j} is over rank {lp.rank!r}, which no Einsum of the group indexes "
                             f"(they index {', '.join(sorted(all_idx))})")
        outer = cur.get(lp.rank, np.full(len(tiles), sizes[lp.rank], dtype=np.int64))
        t = tiles[:, j]
        bad = (t <= 0) | (outer % np.maximum(t, 1) != 0)
        rows.fail(bad, lambda r, j=j, lp=lp, outer=outer: (
            f"tile {tiles[r, j]} of {name} loop {j} over {lp.rank} does not divide its extent {outer[r]}; tile "
            f"factors must multiply to the rank"))
        trips[:, j] = np.where(bad, 1, outer // np.maximum(t, 1))
        cur[lp.rank] = t
    copies, concurrent = np.ones(len(tiles)), np.ones(len(tiles), dtype=np.int64)
    if instances > 1:
        if n == 0:
            raise Infeasible(f"{name} spreads its outermost loop over {instances} instances, but has no loops")
        total = trips[:, 0].copy()
        per_instance = -(-total // instances)
        copies = total / per_instance
        concurrent = np.minimum(instances, total)
        trips[:, 0] = per_instance
    level = {}
    for e in einsums:
        k = 0
        while k < n and group.loops[k].rank in e.indices:
            k += 1
        level[e.name] = k
    return Nest(name=name, cascade=cascade, sizes=dict(sizes), loop_ranks=tuple(lp.rank for lp in group.loops),
                tiles=tiles, trips=trips, instances=instances, copies=copies, concurrent=concurrent, level=level,
                rows=rows)

"""Tile factors of one fusion group's loops: divisor chains per rank, tile rows, and the nest they give per row.

A group's loops are a list of ranks, outermost first; a rank may appear several times (multi-level tiling). Loop j
takes blocks of ``tile[j]`` of what the loops outside it left of its rank (:mod:`einsim.sim.nest`), so the tiles of
the loops over one rank form a *divisor chain* of the rank's size: ``size % t1 == 0``, ``t1 % t2 == 0``, ... (a
tile equal to what is left is a loop of one trip). A *tile row* gives every loop its tile; the rows of a group are
the product over its ranks of the rank's chains. Imperfect factors (padding) are not part of the space: the
evaluation model requires tiles that divide.

:class:`RowNest` is the nest analysis of many rows at once (NumPy over rows): trips per loop, the extent of each rank
at each loop level, footprints and execution counts, with :mod:`einsim.sim.nest`'s meaning (trips of the outermost
loop per unit instance when it spreads over instances).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

__all__ = ["divisors", "divisor_chains", "TileSpace", "RowNest"]


@cache
def divisors(n: int) -> tuple[int, ...]:
    """Divisors of ``n`` in increasing order."""
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return tuple(sorted(set(small) | {n // d for d in small}))


def divisor_chains(n: int, length: int, allowed: Sequence = ()) -> np.ndarray:
    """Every chain (t1, ..., t_length) with t1 | n and t_(i+1) | t_i, one per row (largest first); ``allowed[i]``
    (a set, or None for any) restricts position i."""
    out: list[tuple[int, ...]] = []

    def walk(prefix, left):
        i = len(prefix)
        if i == length:
            out.append(prefix)
            return
        keep = allowed[i] if i < len(allowed) else None
        for d in reversed(divisors(left)):
            if keep is None or d in keep:
                walk(prefix + (d,), d)

    walk((), n)
    return np.array(out, dtype=np.int64).reshape(len(out), length)


@dataclass(frozen=True, kw_only=True)
class TileSpace:
    """The tile rows of a loop list: ``chains[rank]`` (one row per chain, one column per loop over the rank, in
    ``positions[rank]`` order); a row of the space picks one chain per rank."""

    loops: tuple[str, ...]
    ranks: tuple[str, ...]
    positions: Mapping[str, tuple[int, ...]]
    chains: Mapping[str, np.ndarray]

    @staticmethod
    def build(loops: Sequence[str], sizes: Mapping[str, int], allowed: Mapping[int, set] | None = None) -> TileSpace:
        """The space of ``loops`` for bound ``sizes``; ``allowed[j]`` restricts loop j's tile (constraints)."""
        allowed = allowed or {}
        ranks = tuple(dict.fromkeys(loops))
        positions = {r: tuple(j for j, x in enumerate(loops) if x == r) for r in ranks}
        chains = {r: divisor_chains(int(sizes[r]), len(pos), [allowed.get(j) for j in pos])
                  for r, pos in positions.items()}
        return TileSpace(loops=tuple(loops), ranks=ranks, positions=positions, chains=chains)

    @property
    def counts(self) -> tuple[int, ...]:
        return tuple(len(self.chains[r]) for r in self.ranks)

    @property
    def size(self) -> int:
        """Rows in the space (0 when a constraint left some rank no chain)."""
        return math.prod(self.counts)

    def rows(self, index: np.ndarray) -> np.ndarray:
        """Tile rows ``[n, loops]`` from chain indices ``[n, ranks]``."""
        index = np.asarray(index, dtype=np.int64)
        index = index[None, :] if index.ndim == 1 else index
        index = index.reshape(len(index), len(self.ranks))
        tiles = np.zeros((len(index), len(self.loops)), dtype=np.int64)
        for i, r in enumerate(self.ranks):
            tiles[:, list(self.positions[r])] = self.chains[r][index[:, i]]
        return tiles

    def all_index(self) -> np.ndarray:
        """Chain indices of every row (rank-major order)."""
        if not self.ranks:
            return np.zeros((1, 0), dtype=np.int64)
        grids = np.meshgrid(*[np.arange(c) for c in self.counts], indexing="ij")
        return np.stack([g.ravel() for g in grids], axis=1).astype(np.int64)

    def sample_index(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` rows drawn uniformly (with replacement), as chain indices."""
        if not self.ranks:
            return np.zeros((n, 0), dtype=np.int64)
        return np.stack([rng.integers(0, c, n) for c in self.counts], axis=1)

    def index_of(self, tiles: np.ndarray) -> np.ndarray | None:
        """Chain indices of one tile row, or None if the row is not in the space."""
        out = []
        for r in self.ranks:
            want = np.asarray(tiles)[list(self.positions[r])]
            hit = np.nonzero((self.chains[r] == want).all(axis=1))[0]
            if not len(hit):
                return None
            out.append(int(hit[0]))
        return np.array(out, dtype=np.int64)

    def neighbors(self, index: np.ndarray) -> np.ndarray:
        """Chain indices of the rows that differ from ``index`` in one tile of one loop (the other tiles of the
        rank's chain kept where they still divide)."""
        out = []
        for i, r in enumerate(self.ranks):
            cur = self.chains[r][index[i]]
            diff = (self.chains[r] != cur).sum(axis=1)
            for c in np.nonzero(diff == 1)[0]:
                row = np.array(index, dtype=np.int64)
                row[i] = c
                out.append(row)
        return np.array(out, dtype=np.int64).reshape(len(out), len(self.ranks))


class RowNest:
    """Nest analysis of many tile rows of one loop list (see :mod:`einsim.sim.nest`), vectorized over rows.

    ``trips[:, j]`` per unit instance (the outermost loop's iterations spread over ``instances``); ``extent(rank,
    k)`` of a rank (a partitioned rank: the product of its parts) inside one iteration of loops ``[0, k)``.
    """

    def __init__(self, loops: Sequence[str], tiles: np.ndarray, sizes: Mapping[str, int],
                 partitions: Mapping[str, Sequence[str]], instances: int = 1):
        self.loops = tuple(loops)
        tiles = np.asarray(tiles, dtype=np.int64)
        tiles = tiles[None, :] if tiles.ndim == 1 else tiles
        self.tiles = tiles.reshape(len(tiles), len(self.loops))
        self.sizes = dict(sizes)
        self.partitions = {k: tuple(v) for k, v in partitions.items()}
        n_rows = len(self.tiles)
        trips = np.ones((n_rows, len(self.loops)), dtype=np.int64)
        left: dict[str, np.ndarray] = {}
        for j, r in enumerate(self.loops):
            outer = left.get(r, np.full(n_rows, self.sizes[r], dtype=np.int64))
            trips[:, j] = outer // self.tiles[:, j]
            left[r] = self.tiles[:, j]
        self.total_outer = trips[:, 0].copy() if self.loops else np.ones(n_rows, dtype=np.int64)
        self.instances = instances
        if instances > 1 and self.loops:
            trips[:, 0] = -(-trips[:, 0] // instances)
        self.trips = trips
        self._extent: dict = {}

    @property
    def n_rows(self) -> int:
        return len(self.tiles)

    @property
    def depth(self) -> int:
        return len(self.loops)

    @property
    def concurrent(self) -> np.ndarray:
        """Instances running at once: at most the outermost loop's iterations."""
        return np.minimum(self.instances, self.total_outer)

    @property
    def copies(self) -> np.ndarray:
        """Instance-programs' worth of work (trips of the outermost loop over its trips per instance)."""
        if self.instances <= 1 or not self.loops:
            return np.ones(self.n_rows)
        return self.total_outer / self.trips[:, 0]

    def count(self, k: int) -> np.ndarray:
        """Executions (per instance) of a task at loop level k: the product of the trips of loops [0, k)."""
        return np.prod(self.trips[:, :k].astype(np.float64), axis=1)

    def extent(self, rank: str, k: int) -> np.ndarray:
        key = (rank, k)
        if key not in self._extent:
            parts = self.partitions.get(rank)
            if parts:
                val = np.prod([self.extent(p, k) for p in parts], axis=0)
            else:
                val = np.full(self.n_rows, self.sizes[rank], dtype=np.int64)
                for j in range(k - 1, -1, -1):
                    if self.loops[j] == rank:
                        val = self.tiles[:, j]
                        break
            self._extent[key] = val
        return self._extent[key]

    def footprint(self, ranks: Sequence[str], k: int, carried: str | None = None) -> np.ndarray:
        """Elements of a tile over ``ranks`` inside one iteration of loops [0, k) (one iterate of ``carried``)."""
        out = np.ones(self.n_rows, dtype=np.float64)
        for r in ranks:
            if r != carried:
                out = out * self.extent(r, k)
        return out

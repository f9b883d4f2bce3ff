"""Designs of experiments over sweep axes: full grid, random sampling and Latin-hypercube sampling.

An axis takes either a list of ``values`` or a numeric ``range`` (low, high, linear or log scale, rounded to
integers, powers of two or multiples of a step). A design turns the axes into a list of points, each a dict
``{axis name: value}``. Random and Latin-hypercube designs draw from ``numpy.random.default_rng(seed)``, axis after
axis in the spec's order, so a seed gives the same points on every machine.

Latin-hypercube sampling (McKay, Beckman and Conover, Technometrics 21(2), 1979): each axis's unit interval is cut
into n equal strata, each stratum is sampled once at a uniform position, and the strata are matched across axes by
independent random permutations.
"""

from __future__ import annotations

import builtins
import itertools
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Range", "Axis", "Design", "DESIGN_KINDS", "SCALES", "ROUNDINGS", "design_points"]

DESIGN_KINDS = ("grid", "random", "latin_hypercube")
SCALES = ("linear", "log")
ROUNDINGS = ("none", "int", "pow2")


@dataclass(frozen=True, kw_only=True)
class Range:
    """Numbers from ``low`` to ``high``; ``n`` levels for a grid; ``round`` to int, pow2, or a ``multiple_of``."""

    low: float
    high: float
    scale: str = "linear"
    n: int | None = None
    round: str = "none"
    multiple_of: float | None = None

    def _rounded(self, x: float, how=None):
        """``x`` rounded by this range's rule (``how``: nearest by default, or math.floor or math.ceil)."""
        how = how or builtins.round
        if self.round == "pow2":
            return 2 ** int(how(math.log2(x)))
        if self.multiple_of is not None:
            k = how(x / self.multiple_of)
            v = k * self.multiple_of
            return int(v) if isinstance(self.multiple_of, int) else float(v)
        if self.round == "int":
            return int(how(x))
        return float(x)

    @property
    def is_integer(self) -> bool:
        return self.round in ("int", "pow2") or isinstance(self.multiple_of, int)

    def bounds(self) -> tuple:
        """The smallest and largest representable values inside [low, high]."""
        return self._rounded(self.low, math.ceil), self._rounded(self.high, math.floor)

    def value(self, u: float):
        """The value at position ``u`` in [0, 1] along the range (on its scale), rounded and kept in bounds."""
        if self.scale == "log":
            x = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            x = self.low + u * (self.high - self.low)
        lo, hi = self.bounds()
        return min(max(self._rounded(x), lo), hi)

    def levels(self) -> list:
        """The grid levels: ``n`` evenly spaced positions on the scale, rounded; duplicates after rounding dropped."""
        n = self.n or 1
        us = [0.5] if n == 1 else [i / (n - 1) for i in range(n)]
        return list(dict.fromkeys(self.value(u) for u in us))


@dataclass(frozen=True, kw_only=True)
class Axis:
    """One sweep axis: a name, the key paths it sets (several when linked) and its values or range."""

    name: str
    paths: tuple[str, ...]
    values: tuple | None = None
    range: Range | None = None

    def levels(self) -> list:
        return list(self.values) if self.values is not None else self.range.levels()

    def at(self, u: float):
        """The value at position ``u`` in [0, 1): a stratum of the value list, or a point of the range."""
        if self.values is not None:
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        return self.range.value(u)


@dataclass(frozen=True, kw_only=True)
class Design:
    kind: str = "grid"
    n: int | None = None
    seed: int = 0


def _plain(v):
    """numpy scalars -> Python numbers (Parquet, YAML and JSON take them alike)."""
    return v.item() if isinstance(v, np.generic) else v


def design_points(axes: tuple[Axis, ...], design: Design) -> list[dict]:
    """The design's points, in order: a list of ``{axis name: value}``."""
    if design.kind == "grid":
        combos = itertools.product(*(a.levels() for a in axes))
        return [{a.name: _plain(v) for a, v in zip(axes, combo)} for combo in combos]
    rng = np.random.default_rng(design.seed)
    n = design.n
    columns = []
    for a in axes:
        if design.kind == "latin_hypercube":
            u = (rng.permutation(n) + rng.random(n)) / n
        else:
            u = rng.random(n)
        columns.append([_plain(a.at(float(x))) for x in u])
    return [{a.name: col[i] for a, col in zip(axes, columns)} for i in range(n)]

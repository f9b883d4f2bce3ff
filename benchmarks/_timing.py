"""Timing helper shared by the benchmark modules."""

from __future__ import annotations

import time

__all__ = ["best_of"]


def best_of(fn, repeat: int) -> tuple[float, object]:
    """Run ``fn`` ``repeat`` times; return the shortest wall time (s) and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out

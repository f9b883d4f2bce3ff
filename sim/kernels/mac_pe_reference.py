"""Plain-Python reference of sim/kernels/mac_pe.py (same signature and results)."""

from __future__ import annotations

import numpy as np

__all__ = ["mac_pe_kernel"]


def mac_pe_kernel(a, b, en, clr, acc_bits):
    """Per-cycle int arrays (n,) -> acc (n + 1,) int64, the accumulator visible in each cycle."""
    trace = [0]
    for ai, bi, e, c in zip(a, b, en, clr, strict=True):
        value = trace[-1]
        if e:
            value = (0 if c else value) + int(ai) * int(bi)
            value &= (1 << acc_bits) - 1
            if value >> (acc_bits - 1):
                value -= 1 << acc_bits
        elif c:
            value = 0
        trace.append(value)
    return np.array(trace, dtype=np.int64)

"""Register-level kernel of one MAC processing element (rtl/mac_pe): signed multiply-accumulate with enable and clear.

Cycle t's inputs (a, b, en, clr) update the accumulator on the edge that ends cycle t; ``acc[t]`` is the register
value visible in cycle t (acc[0] = 0 after reset), so a product presented in cycle t is visible in cycle t + 1.
en & clr: acc = a*b; en: acc += a*b; clr: acc = 0; else hold. The accumulator wraps modulo 2**acc_bits.
The plain-Python reference is sim/kernels/mac_pe_reference.py.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["mac_pe_kernel"]


@njit(cache=True)
def mac_pe_kernel(a, b, en, clr, acc_bits):
    """Per-cycle int arrays (n,) -> acc (n + 1,) int64, the accumulator visible in each cycle."""
    n = a.shape[0]
    acc = np.zeros(n + 1, np.int64)
    half = np.int64(1) << (acc_bits - 1)
    full = half << 1
    value = np.int64(0)
    for t in range(n):
        if en[t]:
            value = (0 if clr[t] else value) + np.int64(a[t]) * np.int64(b[t])
            value = (value + half) % full - half  # two's-complement wrap
        elif clr[t]:
            value = np.int64(0)
        acc[t + 1] = value
    return acc

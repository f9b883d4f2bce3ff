"""Requests in and out of the DRAM kernel: address decoding and the per-channel ordering, in one pass each.

``sort_requests`` decodes byte addresses into (channel, rank, bank group, bank, row, column) under an address
mapping (shifts and masks: every field count is a power of two) and orders the requests by channel, keeping
arrival order within a channel (a stable counting sort: the requests come sorted by arrival); ``unsort_results``
puts the kernel's per-request results back in request order. Their plain-Python reference is
``sim.dram.decode_addresses`` with ``np.lexsort`` and numpy's scatter (tests compare them).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["sort_requests", "unsort_results"]


@njit(cache=True)
def sort_requests(address, burst_bytes, bits, dest, units):
    """Decode and order requests. ``bits[k]``: the address bits of the k-th mapping field, least significant
    first (every field count is a power of two, as DramSpec checks); ``dest[k]``: its row in the output (0
    channel, 1 rank, 2 bank group, 3 bank, 4 row, 5 column). Addresses beyond the capacity wrap. Returns (order
    int64[n]: request index of each sorted position, fields int64[6, n] in sorted order, channel int64[n] in
    request order, start int64[units + 1]: each channel's first position)."""
    n = address.shape[0]
    ch_field = 0
    for k in range(6):
        if dest[k] == 0:
            ch_field = k
    low = 0  # address bits below the channel field
    for k in range(ch_field):
        low += bits[k]
    channel = np.empty(n, dtype=np.int64)
    start = np.zeros(units + 1, dtype=np.int64)
    for i in range(n):
        ch = ((address[i] // burst_bytes) >> low) & ((1 << bits[ch_field]) - 1)
        channel[i] = ch
        start[ch + 1] += 1
    for ch in range(units):
        start[ch + 1] += start[ch]
    fill = start[:units].copy()
    order = np.empty(n, dtype=np.int64)
    out = np.empty((6, n), dtype=np.int64)
    for i in range(n):
        j = fill[channel[i]]
        fill[channel[i]] += 1
        order[j] = i
        a = address[i] // burst_bytes
        for k in range(6):
            out[dest[k], j] = a & ((1 << bits[k]) - 1)
            a >>= bits[k]
    return order, out, channel, start


@njit(cache=True)
def unsort_results(order, done, cls, arrive):
    """Latency (done - arrival) and row class of each request in request order, from the kernel's sorted order."""
    n = order.shape[0]
    latency = np.empty(n, dtype=np.int64)
    row_state = np.empty(n, dtype=np.int64)
    for j in range(n):
        i = order[j]
        latency[i] = done[j] - arrive[i]
        row_state[i] = cls[j]
    return latency, row_state

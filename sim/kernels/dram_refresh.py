"""Refresh steps of the DRAM/PIM kernel: the next command of a rank committed to refresh (close its rows, REF)."""

from __future__ import annotations

from numba import njit

from ..dram_commands import G_PRE, PRE, REF
from .dram_pim import _bg_all_pim
from .dram_rules import _INF, _earliest


@njit(cache=True, inline="always")
def _refresh_step(urgent, t, pending, debt, postpone, open_row, open_pim, pb, T, cfg):
    """The first legal refresh command (kind, rank, bank group, bank, next event) of a rank committed to refresh
    whose urgency (owing more than ``postpone``) is ``urgent``: close its open rows (bank-group order, G_PRE for a
    bank group whose PIM buffers are open), then REF. kind -1 if none is legal now."""
    R, G, BPG = cfg[0], cfg[1], cfg[2]
    nxt = _INF
    for rr in range(R):
        if not pending[rr] or (debt[rr] > postpone) != urgent:
            continue
        any_open = False
        for gg in range(G):
            gi = rr * G + gg
            whole = (pb == 1 and open_row[gi * BPG, 1] >= 0) or (
                pb == 0 and _bg_all_pim(gi, -1, open_row, open_pim, pb, BPG))
            if whole:
                any_open = True
                e = _earliest(G_PRE, rr, gg, -1, T, cfg)
                if e <= t:
                    return G_PRE, rr, gg, -1, nxt
                nxt = min(nxt, e)
                if pb == 0:
                    continue
            for k in range(BPG):
                if open_row[gi * BPG + k, 0] >= 0:
                    any_open = True
                    e = _earliest(PRE, rr, gg, k, T, cfg)
                    if e <= t:
                        return PRE, rr, gg, k, nxt
                    nxt = min(nxt, e)
        if not any_open:
            e = _earliest(REF, rr, -1, -1, T, cfg)
            if e <= t:
                return REF, rr, -1, -1, nxt
            nxt = min(nxt, e)
    return -1, -1, -1, -1, nxt

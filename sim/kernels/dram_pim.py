"""Row-buffer state steps of the DRAM/PIM kernel: PIM-buffer predicates, the next command of a PIM tile (macro
issue of COMPS_READRES), how to close a bank's normal buffer, the row-buffer state rules of raw PIM-program commands.

State: ``open_row[bank, buffer]`` (-1 closed), ``open_pim[bank]`` (with one row buffer: the row was opened by a
G_ACT), ``pb`` the PIM buffer (1 with two row buffers, else 0). Bank bi of rank r, bank group g is (r G + g) BPG + b.
"""

from __future__ import annotations

from numba import njit

from ..dram_commands import ACT, COMP, G_ACT, G_PRE, GWRITE, PRE, RD, READRES, REF, WR


@njit(cache=True, inline="always")
def _bg_all_pim(gi, row, open_row, open_pim, pb, BPG):
    """True if every bank of bank group gi has ``row`` (any row if row < 0) open in its PIM buffer by a G_ACT."""
    r0 = open_row[gi * BPG, pb]
    if r0 < 0 or (row >= 0 and r0 != row):
        return False
    for k in range(BPG):
        bi = gi * BPG + k
        if open_row[bi, pb] != r0 or (pb == 0 and not open_pim[bi]):
            return False
    return True


@njit(cache=True)
def _tile_step(gi_order, tile_row, open_row, open_pim, pb, cfg):
    """Next command bringing every bank's PIM buffer to ``tile_row``: (kind, bank group, bank) or kind -1.
    Phase 1 closes what is in the way (bank-group order), phase 2 issues the G_ACTs (bank-group order)."""
    BPG, single = cfg[2], cfg[3] == 1
    for gi in gi_order:
        if _bg_all_pim(gi, tile_row, open_row, open_pim, pb, BPG):
            continue
        if single:
            any_open = False
            for k in range(BPG):
                if open_row[gi * BPG + k, 0] >= 0:
                    any_open = True
            if any_open:
                if _bg_all_pim(gi, -1, open_row, open_pim, pb, BPG):
                    return G_PRE, gi, -1
                for k in range(BPG):
                    if open_row[gi * BPG + k, 0] >= 0:
                        return PRE, gi, k
        else:
            if open_row[gi * BPG, 1] >= 0:
                return G_PRE, gi, -1
            for k in range(BPG):
                if open_row[gi * BPG + k, 0] == tile_row:
                    return PRE, gi, k
    for gi in gi_order:
        if open_row[gi * BPG, pb] < 0:
            return G_ACT, gi, -1
    return -1, -1, -1


@njit(cache=True, inline="always")
def _close_step(bi, open_row, open_pim, pb, cfg):
    """Command that closes bank bi's normal buffer (single: G_PRE if its whole bank group is PIM-open)."""
    BPG = cfg[2]
    if cfg[3] == 1 and open_pim[bi] and _bg_all_pim(bi // BPG, -1, open_row, open_pim, pb, BPG):
        return G_PRE
    return PRE



@njit(cache=True)
def _state_ok(kind, r, g, b, row, col, open_row, open_pim, pb, cfg):
    """Address ranges and row-buffer state rules of a raw command (the controller's own choices meet them)."""
    R, G, BPG = cfg[0], cfg[1], cfg[2]
    wide = kind == COMP or kind == READRES
    if (not wide and not 0 <= r < R) or (not wide and kind != REF and not 0 <= g < G):
        return False
    if (kind == ACT or kind == PRE or kind == RD or kind == WR or kind == GWRITE) and not 0 <= b < BPG:
        return False
    if (kind == ACT or kind == G_ACT) and not 0 <= row < cfg[12]:
        return False
    if ((kind == RD or kind == WR) and not 0 <= col < cfg[13]) or (kind == COMP and not 0 <= col < cfg[14]):
        return False
    gi = r * G + g
    if kind == ACT:
        bi = gi * BPG + b
        return open_row[bi, 0] < 0 and not (pb == 1 and open_row[bi, 1] == row)
    if kind == PRE:
        return open_row[gi * BPG + b, 0] >= 0
    if kind == RD or kind == WR or kind == GWRITE:
        return open_row[gi * BPG + b, 0] == row
    if kind == G_ACT:
        for k in range(BPG):
            bi = gi * BPG + k
            if open_row[bi, pb] >= 0 or (pb == 1 and open_row[bi, 0] == row):
                return False
        return True
    if kind == G_PRE:
        for k in range(BPG):
            if open_row[gi * BPG + k, pb] < 0:
                return False
        return True
    if kind == COMP or kind == READRES:
        r0 = open_row[0, pb]
        if r0 < 0:
            return False
        for bi in range(R * G * BPG):
            if open_row[bi, pb] != r0:
                return False
        return True
    if kind == REF:
        for bi in range(r * G * BPG, (r + 1) * G * BPG):
            if open_row[bi, 0] >= 0 or open_row[bi, 1] >= 0:
                return False
        return True
    return False

"""Plain-Python reference of sim.kernels.pim_bank.run_pim_bank: same signature, same results.

Independent of the kernel's cycle loop: each command's issue cycle is the maximum of its timing bounds, and the
accumulator is summed at COMP issue (READRES's own rule guarantees every earlier COMP has landed).
"""

from __future__ import annotations

import numpy as np

from .pim_bank import CMD_ACT, CMD_COMP, CMD_GWRITE, CMD_PRE, CMD_READRES, COUNTER_NAMES

__all__ = ["run_pim_bank"]

_NEVER = -(1 << 40)


def _wrap(v: int, w: int) -> int:
    v &= (1 << w) - 1
    return v - (1 << w) if v >> (w - 1) else v


def run_pim_bank(cmd, row, col, arrive, gw_data, memory, cfg):
    """Reference of sim.kernels.pim_bank.run_pim_bank (see there for the rules and the arguments)."""
    n_rows, n_cols, lanes, accw, t_rcd, t_rp, t_ras, t_rtp, t_ccd, t_bus, cl, cwl, mac_lat = (int(v) for v in cfg)
    d = cl + mac_lat
    gbuf = [[0] * lanes for _ in range(n_cols)]
    mem = [[int(v) for v in r] for r in memory]
    cnt = dict.fromkeys(COUNTER_NAMES, 0)
    results, result_cycle, issue, status = [], [], [], []
    acc, is_open, open_row = 0, False, 0
    act = pre = comp = gw = bus = _NEVER
    last_land = last_result = _NEVER
    prev, n_gw = -1, 0
    for i in range(len(cmd)):
        c, r, k = int(cmd[i]), int(row[i]), int(col[i])
        earliest = max(int(arrive[i]), prev + 1)
        if c == CMD_GWRITE:
            err, bound = not 0 <= k < n_cols, bus + t_bus
        elif c == CMD_ACT:
            err, bound = is_open or not 0 <= r < n_rows, pre + t_rp
        elif c == CMD_COMP:
            err, bound = not is_open or not 0 <= k < n_cols, max(act + t_rcd, comp + t_ccd, gw + cwl)
        elif c == CMD_READRES:
            err, bound = False, max(comp + d, bus + t_bus)
        elif c == CMD_PRE:
            err, bound = not is_open, max(act + t_ras, comp + t_rtp)
        else:
            err, bound = True, earliest
        t = earliest if err else max(earliest, bound)
        cnt["stall_cycles"] += t - earliest
        issue.append(t)
        status.append(int(err))
        prev = t
        if err:
            cnt["errors"] += 1
            n_gw += c == CMD_GWRITE
            continue
        if c == CMD_GWRITE:
            gbuf[k] = [int(v) for v in gw_data[n_gw]]
            n_gw += 1
            gw = bus = t
            cnt["gwrite"] += 1
        elif c == CMD_ACT:
            is_open, open_row, act = True, r, t
            cnt["act"] += 1
        elif c == CMD_COMP:
            part = sum(mem[open_row][k * lanes + l] * gbuf[k][l] for l in range(lanes))
            acc = _wrap(acc + part, accw)
            comp, last_land = t, t + d
            cnt["comp"] += 1
            cnt["macs"] += lanes
            cnt["row_column_reads"] += 1
            cnt["gbuf_reads"] += 1
        elif c == CMD_READRES:
            results.append(acc)
            result_cycle.append(t + cl)
            last_result = t + cl
            acc, bus = 0, t
            cnt["readres"] += 1
        else:
            is_open, pre = False, t
            cnt["pre"] += 1
    total = max(prev + 1, last_land, last_result + 1)
    return (np.array(results, dtype=np.int64), np.array(result_cycle, dtype=np.int64),
            np.array(issue, dtype=np.int64), np.array(status, dtype=np.int64), total,
            np.array([cnt[name] for name in COUNTER_NAMES], dtype=np.int64))

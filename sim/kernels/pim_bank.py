"""Cycle-by-cycle model of one PIM bank (rtl/pim_bank): row buffer, global-buffer vector, 16-lane MAC, timing.

Commands arrive in order; command i is presented from cycle ``arrive[i]`` and issues in the first cycle in which
(a) the previous command has issued (one command per cycle) and (b) its timing rules hold. Timing violations
STALL (the command waits); protocol errors (ACT to an open bank, COMP or PRE to a closed one, an address out of
range) are REPORTED: the command is consumed in its first cycle, does nothing, and gets status 1.

Rules, with t the issue cycle (times of the most recent command of each kind; -infinity if none):
  GWRITE(col, data)  t >= bus + T_BUS                 global buffer slot col = data (lands CWL cycles later)
  ACT(row)           t >= pre + T_RP                  opens row
  COMP(col)          t >= act + T_RCD, t >= comp + T_CCD, t >= gwrite + CWL
                     partial = sum_l row[col*LANES + l] * gbuf[col][l], added to the accumulator in cycle
                     t + CL + MAC_LAT (data after CL, multiply + adder tree MAC_LAT)
  READRES            t >= comp + CL + MAC_LAT, t >= bus + T_BUS
                     result = accumulator (then cleared); valid on the result bus in cycle t + CL
  PRE                t >= act + T_RAS, t >= comp + T_RTP  closes the bank
``bus`` is the last GWRITE or READRES (they share the data bus). Values: signed DATA_BITS elements, the accumulator
wraps at ACC_BITS. ``total_cycles`` is the first cycle after the last issue in which no COMP is in flight (its sum is
in the accumulator) and no result is pending or on the bus.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["CMD_GWRITE", "CMD_ACT", "CMD_COMP", "CMD_READRES", "CMD_PRE", "CMD_NAMES", "COUNTER_NAMES",
           "CFG_NAMES", "run_pim_bank"]

CMD_GWRITE, CMD_ACT, CMD_COMP, CMD_READRES, CMD_PRE = range(5)
CMD_NAMES = ("GWRITE", "ACT", "COMP", "READRES", "PRE")
COUNTER_NAMES = ("gwrite", "act", "comp", "readres", "pre", "macs", "row_column_reads", "gbuf_reads",
                 "stall_cycles", "errors")
#: cfg[...] layout (int64), built from a PimBankSpec by sim.pim_program.pack_config.
CFG_NAMES = ("rows", "columns", "lanes", "acc_bits", "t_rcd", "t_rp", "t_ras", "t_rtp", "t_ccd", "t_bus", "cl",
             "cwl", "mac_latency")

_NEVER = -(1 << 40)


@njit(cache=True)
def _wrap(v, w):
    half = np.int64(1) << (w - 1)
    return ((v + half) & ((np.int64(1) << w) - 1)) - half


@njit(cache=True)
def run_pim_bank(cmd, row, col, arrive, gw_data, memory, cfg):
    """Run a command stream, one loop iteration per clock cycle.

    cmd, row, col, arrive: int64[n]; gw_data int64[n_gwrite, lanes]: data of the GWRITEs in order;
    memory int64[rows, columns * lanes]: the bank's contents; cfg int64[len(CFG_NAMES)].
    Returns (results int64[n_readres], result_cycle int64[n_readres], issue int64[n], status int64[n],
    total_cycles, counters int64[len(COUNTER_NAMES)]).
    """
    n = cmd.shape[0]
    n_rows, n_cols, lanes, accw = cfg[0], cfg[1], cfg[2], cfg[3]
    t_rcd, t_rp, t_ras, t_rtp, t_ccd, t_bus, cl, cwl, mac_lat = (cfg[4], cfg[5], cfg[6], cfg[7], cfg[8], cfg[9],
                                                                   cfg[10], cfg[11], cfg[12])
    d = cl + mac_lat
    n_rr = 0
    for i in range(n):
        if cmd[i] == CMD_READRES:
            n_rr += 1
    results = np.zeros(n_rr, dtype=np.int64)
    result_cycle = np.zeros(n_rr, dtype=np.int64)
    issue = np.zeros(n, dtype=np.int64)
    status = np.zeros(n, dtype=np.int64)
    counters = np.zeros(10, dtype=np.int64)
    gbuf = np.zeros((n_cols, lanes), dtype=np.int64)
    # partial sums in flight: ring of (landing cycle, value); at most d COMPs can be in flight
    ring = d + 1
    land_t = np.zeros(ring, dtype=np.int64)
    land_v = np.zeros(ring, dtype=np.int64)
    head = 0
    count = 0
    acc = np.int64(0)
    is_open = False
    open_row = 0
    last_act = _NEVER
    last_pre = _NEVER
    last_comp = _NEVER
    last_gw = _NEVER
    last_bus = _NEVER
    last_result = _NEVER
    last_land = _NEVER
    i = 0
    n_gw = 0
    rr = 0
    t = 0
    while i < n or t < last_land or t <= last_result:
        # partial sums landing this cycle become visible in the accumulator
        while count > 0 and land_t[head] <= t:
            acc = _wrap(acc + land_v[head], accw)
            head = (head + 1) % ring
            count -= 1
        if i < n and arrive[i] <= t:
            c = cmd[i]
            err = False
            ok = False
            if c == CMD_GWRITE:
                err = col[i] < 0 or col[i] >= n_cols
                ok = t >= last_bus + t_bus
            elif c == CMD_ACT:
                err = is_open or row[i] < 0 or row[i] >= n_rows
                ok = t >= last_pre + t_rp
            elif c == CMD_COMP:
                err = (not is_open) or col[i] < 0 or col[i] >= n_cols
                ok = t >= last_act + t_rcd and t >= last_comp + t_ccd and t >= last_gw + cwl
            elif c == CMD_READRES:
                ok = t >= last_comp + d and t >= last_bus + t_bus
            elif c == CMD_PRE:
                err = not is_open
                ok = t >= last_act + t_ras and t >= last_comp + t_rtp
            else:
                err = True
            if err:
                status[i] = 1
                issue[i] = t
                counters[9] += 1
                if c == CMD_GWRITE:
                    n_gw += 1
                i += 1
            elif ok:
                issue[i] = t
                if c == CMD_GWRITE:
                    for l in range(lanes):
                        gbuf[col[i], l] = gw_data[n_gw, l]
                    n_gw += 1
                    last_gw = t
                    last_bus = t
                    counters[0] += 1
                elif c == CMD_ACT:
                    is_open = True
                    open_row = row[i]
                    last_act = t
                    counters[1] += 1
                elif c == CMD_COMP:
                    s = np.int64(0)
                    base = col[i] * lanes
                    for l in range(lanes):
                        s += memory[open_row, base + l] * gbuf[col[i], l]
                    land_t[(head + count) % ring] = t + d
                    land_v[(head + count) % ring] = s
                    count += 1
                    last_comp = t
                    last_land = t + d
                    counters[2] += 1
                    counters[5] += lanes
                    counters[6] += 1
                    counters[7] += 1
                elif c == CMD_READRES:
                    results[rr] = acc
                    result_cycle[rr] = t + cl
                    last_result = t + cl
                    rr += 1
                    acc = np.int64(0)
                    last_bus = t
                    counters[3] += 1
                else:
                    is_open = False
                    last_pre = t
                    counters[4] += 1
                i += 1
            else:
                counters[8] += 1
        t += 1
    return results, result_cycle, issue, status, t, counters

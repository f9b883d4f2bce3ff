"""Closed forms of the command-level DRAM/PIM model, for the tile-level plan. All counts are in tCK cycles.

Each function is validated against the kernel (sim/kernels/dram.py) in tests/test_sim_dram*.py:

- ``read_latency_cycles``: unloaded read latency (arrival to last data beat), exact;
- ``peak_bytes_per_s``: the data-bus peak of all channels;
- ``transfer_cycles``: moving n bytes over some channels as a stream or as random bursts, refresh included
  (kernel within a few percent);
- ``gwrite_cycles``: one GWRITE (vector row into the global buffer), exact;
- ``pim_gemv_cycles``: one PIM GEMV program (sim.pim_gemv.gemv_program) run alone, exact; for a single tile it is
  NeuPIMs' closed form plus (ranks - 1) cycles of command-bus serialization plus the last READRES's data return;
- ``neupims_gemv_estimate``: NeuPIMs' own closed form (extern/NewtonSim/src/channel_state.cc,
  EstimatePIMOperationLatency), for comparison.
"""

from __future__ import annotations

import math

from einsim.arch.dram import DramSpec

__all__ = ["read_latency_cycles", "peak_bytes_per_s", "transfer_cycles", "gwrite_cycles", "pim_gemv_cycles",
           "neupims_gemv_estimate", "tile_cycles", "random_access_cycles"]

_NEG = -(1 << 40)


def read_latency_cycles(spec: DramSpec, row: str = "closed") -> int:
    """Cycles from a read's arrival at an idle controller to the cycle after its last data beat: CL + burst with
    the row open (``"open"``), tRCD + CL + burst with the bank closed (``"closed"``), tRP + tRCD + CL + burst with
    another row open (``"conflict"``; the open row's tRAS and tRTP must have elapsed)."""
    base = spec.cl + spec.burst_cycles
    extra = {"open": 0, "closed": spec.trcd, "conflict": spec.trp + spec.trcd}
    if row not in extra:
        raise ValueError(f"row must be one of {', '.join(extra)}, not {row!r}")
    return base + extra[row]


def peak_bytes_per_s(spec: DramSpec) -> float:
    """Data-bus peak of the whole device: channels x pseudo_channels x bus_width/8 x transfers_per_clock / tCK."""
    return spec.peak_bytes_per_s


def random_access_cycles(spec: DramSpec) -> float:
    """Cycles per random burst access on one channel when every access opens a row (ACT, RD, PRE): the largest of
    the activation-rate limits -- tFAW (4 ACTs per window per rank), tRRD_S (per rank), tRC over the banks -- the
    command bus (3 commands per access) and the data bus (one burst)."""
    per_rank_act = max(spec.tfaw / 4, spec.trrd_s)
    return max(per_rank_act / spec.ranks, spec.trc / spec.banks_per_channel, 3.0, float(spec.burst_cycles))


def transfer_cycles(spec: DramSpec, nbytes: float, *, channels: int, pattern: str = "stream") -> float:
    """Cycles to move ``nbytes`` spread evenly over ``channels`` channels, refresh included, from the first
    request to the last data beat.

    ``stream``: sequential bursts, one every burst_cycles per channel, after one closed-row latency. With several
    ranks per channel the controller refreshes a rank while the stream is in another one (refresh postponement),
    so refresh costs nothing; with one rank the channel loses tRFC every tREFI: x tREFI / (tREFI - tRFC).
    ``random``: every burst opens a row: random_access_cycles per burst; each rank's refresh stalls the channel for
    about tRFC (the queue fills with requests to the refreshing rank), ranks x tRFC every tREFI: the total is
    divided by 1 - ranks tRFC / tREFI. (Measured with refresh_postpone = 0; an elastic controller defers
    these refreshes by up to refresh_postpone intervals, so short random runs come out faster.)
    """
    if channels < 1 or channels > spec.units:
        raise ValueError(f"channels must be in [1, {spec.units}], not {channels!r}")
    bursts = math.ceil(nbytes / spec.burst_bytes / channels)
    if bursts <= 0:
        return 0.0
    if pattern == "stream":
        data = bursts * spec.burst_cycles
        if spec.ranks == 1:
            data *= spec.trefi / (spec.trefi - spec.trfc)
        return read_latency_cycles(spec, "closed") + data
    if pattern == "random":
        busy = read_latency_cycles(spec, "closed") + bursts * random_access_cycles(spec)
        return busy / (1 - spec.ranks * spec.trfc / spec.trefi)
    raise ValueError(f"pattern must be 'stream' or 'random', not {pattern!r}")


def gwrite_cycles(spec: DramSpec, *, row: str = "closed") -> int:
    """Cycles from a GWRITE_ROW entry to the global buffer being ready for COMPs: the row's opening (tRCD from a
    closed bank, tRP + tRCD if another row is open, nothing if it is open) plus the copy, (tCCD_S + tCCD_L) per
    COMP-width column (NeuPIMs: (tCCD_S + tCCD_L) * 32 for 1 KB rows of 32-byte columns)."""
    extra = {"open": 0, "closed": spec.trcd, "conflict": spec.trp + spec.trcd}
    if row not in extra:
        raise ValueError(f"row must be one of {', '.join(extra)}, not {row!r}")
    return extra[row] + spec.gwrite_cycles


def neupims_gemv_estimate(spec: DramSpec, num_comps: int, num_readres: int) -> int:
    """NeuPIMs' closed form of one PIM GEMV tile (all bank groups of the channel G_ACTed):
    tFAW (num_gact / 2 - 1) + tRCD + max(burst, tCCD_S) max(num_comps, 6) + max(burst, tCCD_L) (num_readres - 1)
    with num_gact = ranks x bankgroups (channel_state.cc; its "/ 2" is the 2 ranks of its HBM2)."""
    num_gact = spec.ranks * spec.bankgroups
    b = spec.burst_cycles
    return (spec.tfaw * (num_gact // 2 - 1) + spec.trcd + max(b, spec.tccd_s) * max(num_comps, 6)
            + max(b, spec.tccd_l) * (num_readres - 1))


def tile_cycles(spec: DramSpec, segments, *, row_buffers: int | None = None) -> int:
    """Estimated cycles of one GEMV tile in steady state (precharge every bank group, G_ACT them, COMPs and
    READRESes, last data): the P_HEADER's refresh-deadline estimate."""
    tc, trr = spec.t_comp, max(spec.burst_cycles, spec.tccd_l)
    fill = spec.pim_fill_cycles * tc
    n_bg = spec.ranks * spec.bankgroups
    acts = spec.trtp_l + n_bg + spec.trp + (spec.bankgroups - 1) * max(spec.tfaw, spec.ranks) + spec.ranks - 1
    compute = sum(max(c * tc, fill) for c in segments) + (len(segments) - 1) * trr
    return acts + spec.trcd + compute + spec.cl + spec.burst_cycles


class _Rank:
    """Activation history of one rank: the newest activations (G_ACT counts banks_per_group, at most 4)."""

    def __init__(self):
        self.acts: list[int] = []

    def add(self, t: int, count: int) -> None:
        self.acts = ([t] * count + self.acts)[:4]

    def faw_bound(self, spec: DramSpec, count: int) -> int:
        k = 4 - count  # the (5 - count)-th newest activation must be tFAW old
        return self.acts[k] + spec.tfaw if len(self.acts) > k else _NEG


def pim_gemv_cycles(spec: DramSpec, rows: int, cols: int, *, row_buffers: int | None = None,
                    segment: int | None = None, gwrite: bool = True) -> int:
    """Cycles of one PIM GEMV (sim.pim_gemv.gemv_program, refresh off), from its first command to the cycle after
    the last READRES's data.

    The program issues in order, each command at the earliest cycle its rules allow; per chunk: the vector row
    (PRE / G_PRE if needed, ACT, GWRITE), then per tile the precharges (bank-group order) and the G_ACTs (bank
    group major, rank minor: two ranks' G_ACTs one cycle apart, tFAW between a rank's), then per segment its COMPs
    every max(burst, tCCD_S) and a READRES after max(COMPs, fill) COMP slots, max(burst, tCCD_L) before the next
    COMP. A single tile without GWRITE takes exactly
    (bankgroups - 1) tFAW + (ranks - 1) + tRCD + sum_s max(c_s, fill) t_comp + (S - 1) max(burst, tCCD_L) + CL +
    burst, i.e. NeuPIMs' closed form + (ranks - 1) + CL + burst when S = 1 or every c_s >= fill.
    """
    from .pim_gemv import GemvLayout

    lay = GemvLayout(spec, rows, cols, segment)
    if not gwrite and lay.chunks > 1:
        raise ValueError(f"gwrite=False needs the vector in one DRAM row (one chunk); this GEMV needs "
                         f"{lay.chunks}")
    s = spec
    single = (row_buffers or s.row_buffers) == 1
    tc, trr, rtp, gw = s.t_comp, max(s.burst_cycles, s.tccd_l), s.trtp_l, s.gwrite_cycles
    fill, gcount = s.pim_fill_cycles * tc, min(s.banks_per_group, 4)
    order = [(g, r) for g in range(s.bankgroups) for r in range(s.ranks)]
    ranks = [_Rank() for _ in range(s.ranks)]
    st = {"prev": -1, "readres": _NEG, "comp": _NEG, "gw": _NEG, "act_vb": _NEG, "pre_vb": _NEG}
    gact = {bg: _NEG for bg in order}
    gpre = {bg: _NEG for bg in order}
    pim_open = False          # PIM buffers hold a tile row
    vb_open = False           # the vector row is open in bank (0, 0, 0)'s normal buffer

    def issue(*bounds):
        t = max(st["prev"] + 1, *bounds)
        st["prev"] = t
        return t

    for k in range(lay.chunks):
        if gwrite:
            if vb_open and not single:          # dual: close the previous vector row
                st["pre_vb"] = issue(st["gw"] + gw, st["act_vb"] + s.tras)
            elif single and pim_open:           # single: bank group (0, 0) holds the tile row: G_PRE it
                t = issue(st["readres"] + rtp, st["comp"] + rtp, gact[(0, 0)] + s.tras, st["gw"] + gw)
                gpre[(0, 0)] = st["pre_vb"] = t
            st["act_vb"] = issue(st["pre_vb"] + s.trp, ranks[0].faw_bound(s, 1))
            ranks[0].add(st["act_vb"], 1)
            st["gw"] = issue(st["act_vb"] + s.trcd, st["gw"] + gw, st["comp"] + tc, st["readres"] + tc)
            vb_open = True
        for j in range(lay.tiles):
            for bg in order:                    # precharges in bank-group order
                if single and bg == (0, 0) and gwrite and j == 0:
                    st["pre_vb"] = gpre[bg] = issue(st["gw"] + gw, st["act_vb"] + s.tras, st["readres"] + rtp,
                                                    st["comp"] + rtp)
                elif pim_open and not (single and bg == (0, 0) and k > 0 and j == 0):
                    gpre[bg] = issue(st["readres"] + rtp, st["comp"] + rtp, gact[bg] + s.tras)
            for bg in order:                    # G_ACTs
                g, r = bg
                t = issue(gpre[bg] + s.trp, ranks[r].faw_bound(s, gcount), st["readres"] + rtp + s.trp)
                gact[bg] = t
                ranks[r].add(t, gcount)
            if single and gwrite and j == 0:
                vb_open = False
            pim_open = True
            for c in lay.segments[k]:
                f = issue(max(gact.values()) + s.trcd, st["gw"] + gw, st["comp"] + tc, st["readres"] + trr)
                st["comp"] = f + (c - 1) * tc
                st["prev"] = st["comp"]
                st["readres"] = issue(st["comp"] + tc, f + fill, st["gw"] + gw)
    return st["readres"] + s.cl + s.burst_cycles

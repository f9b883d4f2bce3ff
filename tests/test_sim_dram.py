"""Command-level DRAM model: the validation table (unloaded latency, streaming, random, refresh), kernel == plain-Python
reference on random traces, the independent legality checker on every kernel trace and on broken ones, energy."""

from __future__ import annotations

import dataclasses
import functools
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from einsim.arch.dram import load_dram
from einsim.sim import dram_timing as dt
from einsim.sim import dram_traces as traces
from einsim.sim.dram import DramPolicy, DramRequests, command_energy_pj, simulate_dram
from einsim.sim.dram_check import check_trace
from einsim.sim.dram_commands import ACT, COMMAND_NAMES, PRE, RD, REF, WR
from einsim.sim.kernels import dram as kd

# Long traces test size-independent properties (bandwidth, refresh, the activation bound) of the compiled kernel;
# under NUMBA_DISABLE_JIT (the `make test` rerun that runs the kernels' Python source) they would take minutes and add
# no coverage: the short hypothesis traces run the kernel's source against the plain-Python reference there.
long_trace = pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"),
                                reason="long trace: checked with the JIT; the short-trace tests cover the source")


def _spec(name: str, channels: int = 2, **kw):
    """A preset with fewer channels (channels are independent; fewer keep the tests fast)."""
    return dataclasses.replace(load_dram(name), channels=channels, **kw)


def _same(a, b) -> None:
    for key in a.trace:
        np.testing.assert_array_equal(a.trace[key], b.trace[key], err_msg=f"trace column {key}")
    for key in ("latency", "row_state", "counters", "active_cycles", "pim_done", "pim_status"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)


# -- validation table -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", ["hbm2", "hbm3"])
@pytest.mark.parametrize(("pattern", "page", "first", "rest"), [
    ("row_hit", "open", "closed", "open"),          # CL + BL/2 once the row is open
    ("row_miss", "closed", "closed", "closed"),     # tRCD + CL + BL/2: the controller closed the row
    ("row_miss", "open", "closed", "conflict"),     # tRP + tRCD + CL + BL/2: another row is open
])
def test_unloaded_read_latency_is_exact(preset, pattern, page, first, rest):
    s = _spec(preset, 1, pseudo_channels=1)
    run = simulate_dram(s, traces.generate(s, pattern, 60), policy=DramPolicy(page=page, refresh=False))
    lat = run.latency
    assert lat[0] == dt.read_latency_cycles(s, first)
    assert np.all(lat[1:] == dt.read_latency_cycles(s, rest))
    assert dt.read_latency_cycles(s, "open") == s.cl + s.burst_length // s.transfers_per_clock
    assert not check_trace(s, run.trace)


def test_unloaded_latency_with_refresh_is_exact_outside_refresh_windows():
    """With refresh on, requests differ from the closed form only in runs that start at a refresh: of their rank
    (the delayed request delays the next few until the backlog drains) or of the other rank (its REF takes the
    command bus for one cycle)."""
    s = _spec("hbm2", 1)
    req = traces.generate(s, "row_miss", 400)
    run = simulate_dram(s, req, policy=DramPolicy(page="closed"))
    ref_cycles = run.trace["cycle"][run.trace["command"] == REF]
    exact = run.latency == dt.read_latency_cycles(s, "closed")
    assert ref_cycles.size >= 8 and exact.mean() > 0.8
    inexact = np.nonzero(~exact)[0]
    starts = inexact[np.r_[True, np.diff(inexact) > 1]]
    ends = inexact[np.r_[np.diff(inexact) > 1, True]]
    assert len(starts) <= ref_cycles.size and np.all(ends - starts < 12)
    for i in starts:
        a = req.arrive[i]
        assert np.any((ref_cycles >= a - s.trfc - s.trp) & (ref_cycles <= a + run.latency[i])), i


@long_trace
@pytest.mark.parametrize("ranks", [1, 2])
@pytest.mark.parametrize("preset", ["hbm2", "hbm3"])
def test_streaming_reaches_97_percent_of_refresh_limited_peak(preset, ranks):
    """Over many tREFI with every refresh paid (a run ends only when its refresh debt is paid). With one rank the
    bound peak x (1 - tRFC / tREFI) binds; with two, a rank's refresh hides behind the other rank's transfers, so the
    stream exceeds it, and only the data bus (less the rank switches) bounds it."""
    s = _spec(preset, 1, ranks=ranks, pseudo_channels=1)
    n = 80_000
    run = simulate_dram(s, traces.stream(s, n))
    refresh_limited = s.peak_bytes_per_s * (1 - s.trfc / s.trefi)
    assert run.cycles > 25 * s.trefi
    # every refresh that fell due was paid (but those due in the last data return or REF of the run)
    assert s.ranks * (run.cycles - s.trfc) // s.trefi <= run.commands["REF"] <= s.ranks * run.cycles // s.trefi
    assert 0.97 * refresh_limited <= run.bandwidth_bytes_per_s <= s.peak_bytes_per_s
    if ranks == 1:
        assert run.bandwidth_bytes_per_s <= refresh_limited
    else:
        assert run.bandwidth_bytes_per_s >= 0.99 * s.peak_bytes_per_s
        assert abs(run.cycles - dt.transfer_cycles(s, n * s.burst_bytes, channels=s.units)) < 0.03 * run.cycles


@pytest.mark.slow
@long_trace
def test_refresh_fraction_and_the_row_closes_it_forces():
    s = _spec("hbm2", 1)
    req = traces.stream(s, 40000)
    on, off = simulate_dram(s, req), simulate_dram(s, req, policy=DramPolicy(refresh=False))
    assert abs(on.refresh_fraction - s.trfc / s.trefi) < 0.1 * s.trfc / s.trefi
    assert off.refresh_fraction == 0 and off.commands["REF"] == 0
    # every REF found its rank closed (the checker's state rule) and the rows it closed are opened again
    extra_acts = on.commands["ACT"] - off.commands["ACT"]
    assert 0 <= extra_acts <= on.commands["REF"] * s.banks_per_rank
    # the checker (plain Python) reads the trace up to the 12th REF's tRFC: a dozen refresh windows are alike
    ref = on.trace["cycle"][on.trace["command"] == REF]
    prefix = on.trace["cycle"] <= ref[11] + s.trfc
    assert not check_trace(s, {k: v[prefix] for k, v in on.trace.items()})


@long_trace
@pytest.mark.parametrize("preset", ["hbm2", "hbm3"])
def test_random_reads_match_the_activation_bound(preset):
    """Random bursts: every access opens a row, so throughput is the tFAW / tRRD (or command-bus) bound, less
    ranks x tRFC / tREFI for refresh. Checked without postponement: random traffic rarely leaves a rank idle, so an
    elastic controller pays its refresh debt only after refresh_postpone intervals (beyond this run)."""
    s = _spec(preset, 1, pseudo_channels=1)
    n = 6000
    req = traces.random(s, n, seed=3)
    run = simulate_dram(s, req, policy=DramPolicy(refresh_postpone=0))
    want = dt.transfer_cycles(s, n * s.burst_bytes, channels=s.units, pattern="random")
    assert abs(run.cycles - want) < 0.04 * want
    assert run.commands["ACT"] >= 0.95 * n and run.commands["REF"] >= run.cycles // s.trefi
    assert simulate_dram(s, req).cycles <= run.cycles


# DRAMsim3 (umd-memsys/DRAMsim3, configs/HBM2_8Gb_x128.ini) on the same addresses, through einsim's driver
# (benchmarks/dramsim3; `EINSIM_DRAMSIM3=<its tree> python -m benchmarks --only dram` reruns it): its DRAM cycles.
@long_trace
@pytest.mark.parametrize(("pattern", "n", "dramsim3_cycles"), [("stream", 1_000_000, 271_184),
                                                              ("random", 200_000, 205_208)])
def test_cycles_agree_with_dramsim3_on_its_geometry(pattern, n, dramsim3_cycles):
    """An independent simulator of the same device and policy (transaction queue 16, open page, FR-FCFS, each
    refresh when due): einsim's cycles within 1% (measured: 1.0000 stream, 1.005 random)."""
    s = load_dram("hbm2-dramsim3")
    req = traces.stream(s, n) if pattern == "stream" else traces.random(s, n, seed=12345)
    run = simulate_dram(s, req, policy=DramPolicy(queue_size=16, refresh_postpone=0), trace=False)
    assert run.cycles == pytest.approx(dramsim3_cycles, rel=0.01)


def test_peak_and_transfer_closed_forms():
    s = load_dram("hbm2")
    assert dt.peak_bytes_per_s(s) == pytest.approx(32 * 16 * 2e9)  # 32 channels x 128 bit x 2 Gb/s = 1 TB/s
    assert dt.transfer_cycles(s, 0, channels=4) == 0
    assert dt.transfer_cycles(s, 64 * 32, channels=32) == dt.read_latency_cycles(s, "closed") + s.burst_cycles
    assert dt.random_access_cycles(s) == pytest.approx(30 / 4 / 2)  # tFAW-bound on two ranks
    with pytest.raises(ValueError, match="pattern must be"):
        dt.transfer_cycles(s, 64, channels=1, pattern="zigzag")
    with pytest.raises(ValueError, match=r"channels must be in \[1, 32\]"):
        dt.transfer_cycles(s, 64, channels=33)


@pytest.mark.slow
@long_trace
def test_fcfs_is_no_faster_than_frfcfs_and_both_are_legal():
    s = _spec("hbm2", 1)
    req = traces.random(s, 3000, seed=5, write_fraction=0.3)
    a = simulate_dram(s, req, policy=DramPolicy(scheduler="fcfs"))
    b = simulate_dram(s, req)
    assert a.cycles >= b.cycles
    assert not check_trace(s, a.trace) and not check_trace(s, b.trace)


# -- kernel == reference, checker finds nothing ------------------------------------------------------------------
def _small_spec(draw):
    base = load_dram("hbm2-pim")
    tccd_s = draw(st.integers(1, 3))
    trcd = draw(st.integers(2, 9))
    cl = draw(st.integers(2, 9))
    bl = draw(st.sampled_from([4, 8]))
    columns = draw(st.sampled_from([4, 8]))
    bus = draw(st.sampled_from([64, 128]))
    return dataclasses.replace(
        base, channels=draw(st.integers(1, 2)), ranks=draw(st.sampled_from([1, 2])),
        bankgroups=draw(st.sampled_from([1, 2])), banks_per_group=draw(st.sampled_from([1, 2, 4])), rows=64,
        columns=columns, bus_width_bits=bus, burst_length=bl, row_buffer_bytes=columns * bus * bl // 8,
        mac_lanes=draw(st.sampled_from([4, 8])), cl=cl, cwl=draw(st.integers(1, cl)), trcd=trcd,
        trp=draw(st.integers(2, 9)), tras=trcd + draw(st.integers(0, 12)), trfc=draw(st.integers(8, 40)),
        trefi=draw(st.integers(150, 400)), trrd_s=draw(st.integers(1, 4)), trrd_l=draw(st.integers(4, 6)),
        twtr_s=draw(st.integers(1, 4)), twtr_l=draw(st.integers(4, 7)), tfaw=draw(st.integers(4, 24)),
        twr=draw(st.integers(1, 8)), tccd_s=tccd_s, tccd_l=tccd_s + draw(st.integers(0, 2)),
        trtp_s=2, trtp_l=draw(st.integers(1, 6)), trtrs=draw(st.integers(0, 2)), trtw=draw(st.integers(0, 3)),
        pim_fill_cycles=draw(st.integers(1, 6)))


@st.composite
def _case(draw):
    s = _small_spec(draw)
    n = draw(st.integers(0, 120))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    span = s.capacity_bytes // s.burst_bytes
    hot = rng.integers(0, span, 6)  # a few hot bursts give row hits and conflicts
    addr = np.where(rng.random(n) < 0.5, rng.choice(hot, n), rng.integers(0, span, n)) * s.burst_bytes
    gaps = np.where(rng.random(n) < 0.3, rng.integers(0, 60, n), 0)
    req = DramRequests(addr, rng.random(n) < draw(st.sampled_from([0.0, 0.3])), np.cumsum(gaps))
    policy = DramPolicy(page=draw(st.sampled_from(["open", "closed"])),
                        scheduler=draw(st.sampled_from(["frfcfs", "fcfs"])), queue_size=draw(st.integers(1, 12)),
                        row_hit_cap=draw(st.integers(1, 6)), refresh=draw(st.booleans()),
                        refresh_postpone=draw(st.sampled_from([0, 2, 8])), row_buffers=draw(st.sampled_from([1, 2])))
    return s, req, policy


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(case=_case())
def test_kernel_equals_reference_and_every_trace_is_legal(case):
    s, req, policy = case
    run = simulate_dram(s, req, policy=policy)
    _same(run, simulate_dram(s, req, policy=policy, reference=True))
    assert not check_trace(s, run.trace, row_buffers=policy.row_buffers, limit=3)
    done = run.latency >= 0
    assert done.all() and run.commands["RD"] + run.commands["WR"] == len(req)


def test_a_run_without_trace_gives_the_same_results():
    """trace=False only skips recording the commands: latencies, row classes, counters and the command count are
    those of the traced run (random reads, 30% writes, PIM GEMV beside them)."""
    from einsim.sim import pim_gemv as pg

    s = _spec("hbm2-pim", 1)
    req, prog = traces.random(s, 2000, seed=5, write_fraction=0.3), pg.gemv_program(s, 256, 2048)
    a, b = simulate_dram(s, req, prog), simulate_dram(s, req, prog, trace=False)
    assert b.trace is None and a.n_commands == b.n_commands == len(a.trace["cycle"])
    assert a.commands["COMP"] > 0 and a.commands["WR"] > 0
    for key in ("latency", "row_state", "counters", "active_cycles", "pim_done", "pim_status"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)


@settings(max_examples=25, deadline=None)
@given(channels=st.sampled_from([1, 2, 8, 32]), pseudo=st.sampled_from([1, 2]), ranks=st.sampled_from([1, 2, 4]),
       rows=st.sampled_from([64, 16384]), order=st.permutations(["ro", "ra", "bg", "ba", "ch", "co"]),
       n=st.integers(0, 300), seed=st.integers(0, 2**31))
def test_request_decoding_kernel_equals_numpy(channels, pseudo, ranks, rows, order, n, seed):
    """sort_requests / unsort_results (one pass each, shift and mask per field) equal decode_addresses, a
    lexsort by (channel, arrival, index) and numpy's scatter, on any mapping and counts."""
    from einsim.sim import dram as sd
    from einsim.sim.kernels import dram_requests as rq

    s = dataclasses.replace(load_dram("hbm2"), channels=channels, pseudo_channels=pseudo, ranks=ranks, rows=rows,
                            address_mapping="".join(order))
    rng = np.random.default_rng(seed)
    req = DramRequests(rng.integers(0, 2 * s.capacity_bytes, n), rng.random(n) < 0.5,
                       np.cumsum(rng.integers(0, 3, n)))
    got, want = sd._sorted_requests(s, req, False), sd._sorted_requests(s, req, True)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    done, cls = rng.integers(0, 1000, n), rng.integers(0, 3, n)
    latency, row_state = rq.unsort_results(want[0], done, cls, req.arrive)
    want_latency, want_state = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    want_latency[want[0]], want_state[want[0]] = done - req.arrive[want[0]], cls
    np.testing.assert_array_equal(latency, want_latency)
    np.testing.assert_array_equal(row_state, want_state)


# -- the checker catches broken constraints -----------------------------------------------------------------------
@functools.cache
def _legal_hbm2_trace():
    spec = _spec("hbm2", 1)
    return spec, simulate_dram(spec, traces.random(spec, 300, seed=2, write_fraction=0.4)).trace


def _broken(spec, constraint_rows, req):
    """Run the kernel with some timing rows one cycle shorter (a deliberately broken rule table)."""
    from einsim.sim.dram import decode_addresses

    rules, start = kd.timing_rules(spec, spec.row_buffers)
    rules = rules.copy()
    for p, n in constraint_rows:
        rules[(rules[:, 0] == p) & (rules[:, 1] == n), 3] -= 1
    f = decode_addresses(spec, req.address)
    order = np.lexsort((np.arange(len(req)), req.arrive, f["channel"]))
    units = spec.units
    req_start = np.searchsorted(f["channel"][order], np.arange(units + 1)).astype(np.int64)
    z = np.zeros(0, dtype=np.int64)
    out = kd.run_dram(kd.pack_config(spec, spec.row_buffers), DramPolicy(refresh_postpone=0).packed(), rules, start,
                      req.arrive[order], *(np.ascontiguousarray(f[k][order]) for k in
                                           ("rank", "bankgroup", "bank", "row", "column")),
                      req.is_write[order].astype(np.int64), req_start, z, z, z, z, z, z, z, z,
                      np.zeros(units + 1, dtype=np.int64), True)  # record given: simulate_dram's compiled signature
    cols = ("command", "channel", "rank", "bankgroup", "bank", "row", "column")
    return {"cycle": out[0], **{name: out[1][i] for i, name in enumerate(cols)}}


@pytest.mark.parametrize(("constraint", "rows"), [
    ("tRCD", [(ACT, RD), (ACT, WR)]),
    ("tRP", [(PRE, ACT)]),
    ("tRAS", [(ACT, PRE)]),
    ("tRTP", [(RD, PRE)]),
    ("tWR", [(WR, PRE)]),
    ("tCCD_S", [(RD, RD), (WR, WR)]),
    ("tRRD_S", [(ACT, ACT)]),
    ("tWTR_S", [(WR, RD)]),
    ("tRTW", [(RD, WR)]),
    ("tRFC", [(REF, ACT)]),
])
def test_checker_catches_a_deliberately_broken_kernel_rule(constraint, rows):
    s = _spec("hbm2", 1)
    req = traces.random(s, 800, seed=4, write_fraction=0.4)  # each rule is broken at least twice in it
    if constraint in ("tCCD_S", "tRRD_S", "tRTW", "tWTR_S"):
        req = DramRequests(req.address % (1 << 22), req.is_write, req.arrive)  # dense traffic in few banks
    violations = check_trace(s, _broken(s, rows, req))
    assert any(v.constraint == constraint and v.cycles_short >= 1 for v in violations), \
        sorted({v.constraint for v in violations})


def _trace(rows):
    cols = list(zip(*rows))
    keys = ("cycle", "command", "channel", "rank", "bankgroup", "bank", "row", "column")
    return {k: np.array(v, dtype=np.int64) for k, v in zip(keys, cols)}


@pytest.mark.parametrize(("constraint", "rows"), [
    ("tRCD", [(0, ACT, 0, 0, 0, 0, 5, -1), (13, RD, 0, 0, 0, 0, 5, 0)]),
    ("tCCD_L", [(0, ACT, 0, 0, 0, 0, 5, -1), (1, ACT, 0, 0, 0, 1, 5, -1), (20, RD, 0, 0, 0, 0, 5, 0),
                (21, RD, 0, 0, 0, 1, 5, 0)]),
    ("tRRD_L", [(0, ACT, 0, 0, 0, 0, 5, -1), (5, ACT, 0, 0, 0, 1, 5, -1)]),
    ("tFAW", [(0, ACT, 0, 0, 0, 0, 1, -1), (6, ACT, 0, 0, 1, 0, 1, -1), (12, ACT, 0, 0, 2, 0, 1, -1),
              (18, ACT, 0, 0, 3, 0, 1, -1), (24, ACT, 0, 0, 0, 1, 1, -1)]),
    ("tRTRS", [(0, ACT, 0, 0, 0, 0, 5, -1), (1, ACT, 0, 1, 0, 0, 5, -1), (20, RD, 0, 0, 0, 0, 5, 0),
               (23, RD, 0, 1, 0, 0, 5, 0)]),
    ("data_bus", [(0, ACT, 0, 0, 0, 0, 5, -1), (1, ACT, 0, 1, 0, 0, 5, -1), (20, RD, 0, 0, 0, 0, 5, 0),
                  (21, RD, 0, 1, 0, 0, 5, 0)]),
    ("command_bus", [(0, ACT, 0, 0, 0, 0, 5, -1), (0, ACT, 0, 0, 1, 0, 5, -1)]),
    ("state", [(0, RD, 0, 0, 0, 0, 5, 0)]),
    ("state", [(0, ACT, 0, 0, 0, 0, 5, -1), (50, REF, 0, 0, -1, -1, -1, -1)]),
    ("tWTR_L", [(0, ACT, 0, 0, 0, 0, 5, -1), (14, WR, 0, 0, 0, 0, 5, 0), (27, RD, 0, 0, 0, 0, 5, 1)]),
])
def test_checker_names_the_constraint_and_the_shortfall(constraint, rows):
    s = load_dram("hbm2")
    found = [v for v in check_trace(s, _trace(rows)) if v.constraint == constraint]
    assert found, [str(v) for v in check_trace(s, _trace(rows))]
    if constraint == "tRCD":
        assert (found[0].index, found[0].other, found[0].cycles_short) == (1, 0, 1)
        assert "violates tRCD after command 0: legal from cycle 14, 1 short" in str(found[0])
    assert not check_trace(*_legal_hbm2_trace())


# -- energy -----------------------------------------------------------------------------------------------------
def test_energy_follows_the_dramsim3_idd_model():
    s = load_dram("hbm2")
    e = command_energy_pj(s)
    # VDD (IDD0 tRC - IDD3N tRAS - IDD2N tRP) = 1.2 (65*48 - 55*34 - 40*14) = 828 pJ; RD 1.2 (390-55) 2 = 804 pJ
    assert e["ACT"] == pytest.approx(828.0) and e["RD"] == pytest.approx(804.0)
    assert e["WR"] == pytest.approx(1.2 * 445 * 2) and e["REF"] == pytest.approx(1.2 * 195 * 260)
    s1 = dataclasses.replace(s, channels=1)
    req = DramRequests(np.array([0]), np.array([False]), np.array([0]))
    run = simulate_dram(s1, req, policy=DramPolicy(refresh=False))
    parts = run.energy_pj
    assert parts["ACT"] == pytest.approx(828.0) and parts["RD"] == pytest.approx(804.0)
    cycles = run.cycles
    open_cycles = run.active_cycles.sum()
    assert open_cycles == cycles  # the row stays open from its ACT (cycle 0) to the end
    assert parts["background"] == pytest.approx(1.2 * (55 * open_cycles + 40 * (2 * cycles - open_cycles)))
    assert run.energy_pj_per_bit == pytest.approx(sum(parts.values()) / 512)
    assert simulate_dram(load_dram("hbm3"), req).energy_pj_per_bit is None  # no IDD figures published


def test_command_names_and_policy_errors():
    assert COMMAND_NAMES[RD] == "RD" and COMMAND_NAMES[REF] == "REF"
    with pytest.raises(ValueError, match="page must be 'open' or 'closed', not 'shut'"):
        DramPolicy(page="shut")
    with pytest.raises(ValueError, match="refresh_postpone must be an integer in"):
        DramPolicy(refresh_postpone=9)
    with pytest.raises(ValueError, match="arrive must be non-negative and non-decreasing"):
        DramRequests(np.array([0, 64]), np.array([False, False]), np.array([5, 1]))


@pytest.mark.parametrize("row_buffers", [1, 2])
@pytest.mark.parametrize("preset", ["hbm2-pim", "hbm3"])
def test_kernel_rule_table_equals_the_checker_gaps(preset, row_buffers):
    """Two independent statements of the timing rules agree: for every (earlier, later) command pair and every
    relation of their footprints, the kernel table's largest applicable gap equals the checker's."""
    from einsim.sim.dram_check import ChannelChecker

    s = load_dram(preset)
    rules, _ = kd.timing_rules(s, row_buffers)
    checker = ChannelChecker(s, row_buffers=row_buffers)
    wide = (7, 8)  # COMP, READRES
    multi = s.ranks > 1
    relations = [(True, True, True, False), (False, True, True, False), (False, False, True, False),
                 (False, False, False, True)]
    for p in range(10):
        for n in range(10):
            for rel in relations:
                if p in wide or n in wide:
                    rel = (True, True, True, multi)
                sb, bg, rk, other = rel
                applies = {0: sb, 1: bg, 2: rk, 3: other, 4: True}
                sel = (rules[:, 0] == p) & (rules[:, 1] == n)
                kernel = max((int(g) for sc, g in zip(rules[sel, 2], rules[sel, 3]) if applies[int(sc)]), default=0)
                ours = max((g for _, g in checker._gaps(p, n, rel)), default=0)
                assert kernel == ours, (COMMAND_NAMES[p], COMMAND_NAMES[n], rel, kernel, ours)

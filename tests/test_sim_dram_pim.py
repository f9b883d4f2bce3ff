"""PIM on the command-level model: GEMV programs == the closed form (and NeuPIMs' closed form), GWRITE, the
KV-cache layouts, one vs two row buffers with DRAM traffic beside PIM, kernel == reference, raw programs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from einsim.arch.dram import load_dram
from einsim.sim import dram_commands as dc
from einsim.sim import dram_timing as dt
from einsim.sim import dram_traces as traces
from einsim.sim import pim_gemv as pg
from einsim.sim.dram import DramPolicy, DramRequests, PimProgram, simulate_dram
from einsim.sim.dram_check import check_trace

NO_REFRESH = DramPolicy(refresh=False)


def _one_channel(name: str, **kw):
    return dataclasses.replace(load_dram(name), channels=1, **kw)


def _gemv_run(s, rows, cols, *, row_buffers, segment=None, gwrite=True, policy=NO_REFRESH):
    prog = pg.gemv_program(s, rows, cols, segment=segment, gwrite=gwrite, row_buffers=row_buffers)
    run = simulate_dram(s, pim=prog, policy=dataclasses.replace(policy, row_buffers=row_buffers))
    assert not run.pim_status.any()
    assert not check_trace(s, run.trace, row_buffers=row_buffers, limit=3)
    return prog, run


SHAPES = [(32, 512, None, False), (32, 512, None, True), (8, 100, None, True), (64, 512, None, True),
          (32, 1024, None, True), (100, 1300, None, True), (32, 512, 128, True), (64, 1024, 64, True),
          (32, 40, 8, False), (96, 700, 200, True), (40, 1500, 600, True)]


@pytest.mark.parametrize("preset", ["hbm2-pim", "hbm-pim", "aim-like"])
@pytest.mark.parametrize("row_buffers", [1, 2])
@pytest.mark.parametrize(("rows", "cols", "segment", "gwrite"), SHAPES)
def test_gemv_cycles_equal_the_closed_form(preset, row_buffers, rows, cols, segment, gwrite):
    s = _one_channel(preset)
    _, run = _gemv_run(s, rows, cols, row_buffers=row_buffers, segment=segment, gwrite=gwrite)
    assert int(run.pim_done.max()) == dt.pim_gemv_cycles(s, rows, cols, row_buffers=row_buffers, segment=segment,
                                                          gwrite=gwrite)


@settings(max_examples=20, deadline=None)
@given(rows=st.integers(1, 80), cols=st.integers(1, 1600),
       segment=st.one_of(st.none(), st.integers(1, 700)), gwrite=st.booleans(),
       row_buffers=st.sampled_from([1, 2]), tfaw=st.integers(8, 40), trcd=st.integers(5, 20), fill=st.integers(1, 8))
def test_gemv_closed_form_on_random_shapes_and_timing(rows, cols, segment, gwrite, row_buffers, tfaw, trcd, fill):
    s = _one_channel("hbm2-pim", tfaw=tfaw, trcd=trcd, tras=max(34, trcd), pim_fill_cycles=fill)
    assume(gwrite or pg.gemv_layout(s, rows, cols, segment).chunks == 1)
    _, run = _gemv_run(s, rows, cols, row_buffers=row_buffers, segment=segment, gwrite=gwrite)
    assert int(run.pim_done.max()) == dt.pim_gemv_cycles(s, rows, cols, row_buffers=row_buffers, segment=segment,
                                                          gwrite=gwrite)


def test_single_tile_equals_neupims_closed_form():
    """NeuPIMs: tFAW (num_gact/2 - 1) + tRCD + max(BL, tCCD_S) max(num_comps, 6) + max(BL, tCCD_L)(num_readres - 1)
    (BL there is the burst in cycles). The kernel issues the two ranks' G_ACTs one cycle apart (one command per
    cycle, as NeuPIMs' own simulator) and counts the last READRES's data: + (ranks - 1) + CL + burst."""
    s = _one_channel("hbm2-pim")
    for comps, readres, segment, cols in ((32, 1, None, 512), (32, 4, 128, 512), (16, 2, 128, 256), (8, 1, None, 128)):
        _, run = _gemv_run(s, 32, cols, row_buffers=2, segment=segment, gwrite=False)
        neupims = dt.neupims_gemv_estimate(s, comps, readres)
        assert int(run.pim_done.max()) == neupims + (s.ranks - 1) + s.cl + s.burst_cycles
    assert dt.neupims_gemv_estimate(s, 32, 1) == 30 * 3 + 14 + 2 * 32 == 168
    assert run.commands["G_ACT"] == s.ranks * s.bankgroups == 8


def test_gwrite_is_tccd_s_plus_tccd_l_per_column():
    s = _one_channel("hbm2-pim")
    assert s.gwrite_cycles == (s.tccd_s + s.tccd_l) * 32 == 96  # NeuPIMs: (tCCD_S + tCCD_L) * 32
    assert dt.gwrite_cycles(s) == s.trcd + 96 and dt.gwrite_cycles(s, row="open") == 96
    prog = PimProgram.from_entries([(0, dc.GWRITE_ROW, 0, 1, 2, 7, 0, 0, 5)])
    run = simulate_dram(s, pim=prog, policy=NO_REFRESH)
    issued = [(int(c), int(k)) for c, k in zip(run.trace["cycle"], run.trace["command"])]
    assert issued == [(5, dc.ACT), (19, dc.GWRITE)]
    assert run.pim_done[0] - 5 == dt.gwrite_cycles(s)
    # a second GWRITE to another row of the bank: PRE (after the copy), ACT, GWRITE
    prog = PimProgram.from_entries([(0, dc.GWRITE_ROW, 0, 1, 2, 7, 0, 0, 0), (0, dc.GWRITE_ROW, 0, 1, 2, 8, 0, 0, 0)])
    run = simulate_dram(s, pim=prog, policy=NO_REFRESH)
    assert run.pim_done[1] - run.pim_done[0] == dt.gwrite_cycles(s, row="conflict")
    assert not check_trace(s, run.trace)


def test_kv_cache_layouts():
    s = _one_channel("hbm2-pim")
    banks = s.banks_per_channel
    # K cache: 100 tokens, 32 heads x 128 dims = 4096 dims = 8 chunks of 512; 4 tiles of 32 tokens
    k = pg.k_cache_program(s, 100, 32, 128)
    counts = k.counts()
    assert counts["GWRITE_ROW"] == 8 and counts["P_HEADER"] == 8 * 4
    assert counts["COMPS_READRES"] == 4 * 32 and set(k.arg[k.kind == dc.COMPS_READRES]) == {128 // 16}
    assert set(k.arg[k.kind == dc.P_HEADER]) == {4}  # READRESes per tile: 4 heads per 512-dim chunk
    # token t sits in bank t mod banks, row tile * chunks + chunk
    rows = k.row[k.kind == dc.P_HEADER]
    assert rows.tolist()[:5] == [0, 8, 16, 24, 1]
    # V cache: per head a head_dim x seq_len GEMV; 128 dims over 32 banks = 4 tiles, 600 tokens = 2 chunks
    v = pg.v_cache_program(s, 600, 2, 128)
    vc = v.counts()
    assert vc["GWRITE_ROW"] == 2 * 2 and vc["P_HEADER"] == 2 * 2 * 4 and vc["COMPS_READRES"] == 2 * 2 * 4
    assert sorted(set(v.arg[v.kind == dc.COMPS_READRES])) == [math_ceil(88, 16), 32]
    run = simulate_dram(s, pim=pg.concat([k, v]), policy=NO_REFRESH)
    assert run.commands["READRES"] == 4 * 32 + 16 and run.commands["COMP"] == 4 * 32 * 8 + 2 * 4 * (32 + 6)
    assert not check_trace(s, run.trace)
    assert banks == 32


def math_ceil(a, b):
    return -(-a // b)


@pytest.mark.slow
def test_two_row_buffers_let_dram_reads_proceed_beside_pim():
    """NeuPIMs' point: with one row buffer per bank DRAM reads wait for the PIM tile; with two they go together."""
    s = _one_channel("hbm2-pim")
    prog = pg.gemv_program(s, 128, 2048, row_buffers=2)
    req = traces.stream(s, 3000)
    out = {}
    for rb in (1, 2):
        run = simulate_dram(s, req, pg.gemv_program(s, 128, 2048, row_buffers=rb),
                            policy=DramPolicy(row_buffers=rb, refresh=False))
        assert not check_trace(s, run.trace, row_buffers=rb, limit=3)
        t = run.trace
        reads = t["cycle"][t["command"] == dc.RD]
        comps = t["cycle"][t["command"] == dc.COMP]
        during = np.searchsorted(comps, reads)  # reads issued between two COMPs of a tile
        out[rb] = (run.cycles, int(((during > 0) & (during < len(comps))).sum()), int(run.pim_done.max()))
    assert out[2][0] < out[1][0]          # both finish sooner
    assert out[2][1] > 10 * out[1][1]     # reads interleave with COMPs only with a second row buffer
    assert len(prog) > 0


def test_tile_is_atomic_against_refresh():
    """A P_HEADER is admitted only if the tile fits before the refresh deadlines; no REF lands inside a tile."""
    s = dataclasses.replace(_one_channel("hbm2-pim"), trefi=1200, trfc=120)
    prog = pg.gemv_program(s, 320, 4096)
    run = simulate_dram(s, pim=prog, policy=DramPolicy(refresh_postpone=0))
    t = run.trace
    assert run.commands["REF"] > 0 and not check_trace(s, t)
    ref = t["cycle"][t["command"] == dc.REF]
    gact = t["cycle"][t["command"] == dc.G_ACT]
    readres = t["cycle"][t["command"] == dc.READRES]
    starts = gact[::s.ranks * s.bankgroups]  # each tile G_ACTs every bank group once
    for a, b in zip(starts, readres):
        assert not np.any((ref > a) & (ref < b))


@pytest.mark.slow
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31), rb=st.sampled_from([1, 2]), n=st.integers(0, 80),
       postpone=st.sampled_from([0, 8]), page=st.sampled_from(["open", "closed"]))
def test_pim_and_dram_kernel_equals_reference(seed, rb, n, postpone, page):
    s = dataclasses.replace(load_dram("hbm2-pim"), channels=2, bankgroups=2, trefi=900, trfc=80)
    rng = np.random.default_rng(seed)
    prog = pg.concat([pg.gemv_program(s, int(rng.integers(1, 40)), int(rng.integers(1, 900)), channel=0,
                                      row_buffers=rb),
                      pg.k_cache_program(s, int(rng.integers(1, 30)), 2, 64, channel=1, base_row=200)])
    req = DramRequests(rng.integers(0, 1 << 15, n) * 64, rng.random(n) < 0.3, np.sort(rng.integers(0, 2500, n)))
    policy = DramPolicy(row_buffers=rb, refresh_postpone=postpone, page=page)
    a = simulate_dram(s, req, prog, policy=policy)
    b = simulate_dram(s, req, prog, policy=policy, reference=True)
    for key in a.trace:
        np.testing.assert_array_equal(a.trace[key], b.trace[key], err_msg=key)
    for key in ("latency", "row_state", "counters", "active_cycles", "pim_done", "pim_status"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)
    assert not check_trace(s, a.trace, row_buffers=rb, limit=3)


def test_raw_program_runs_in_order_and_reports_protocol_errors():
    s = _one_channel("hbm2-pim", ranks=1, bankgroups=1, banks_per_group=2)
    entries = [
        (0, dc.ACT, 0, 0, 1, 3, 0, 0, 0),       # open row 3 of bank 1 (normal buffer)
        (0, dc.RD, 0, 0, 1, 3, 5, 0, 0),        # read column 5
        (0, dc.COMP, -1, -1, -1, 9, 0, 0, 0),   # error: no PIM row open
        (0, dc.G_ACT, 0, 0, -1, 9, 0, 0, 0),    # open row 9 in both banks' PIM buffers
        (0, dc.COMP, -1, -1, -1, 9, 0, 0, 0),
        (0, dc.COMP, -1, -1, -1, 9, 1, 0, 0),
        (0, dc.READRES, -1, -1, -1, 9, 0, 0, 0),
        (0, dc.PRE, 0, 0, 1, -1, 0, 0, 0),
        (0, dc.PRE, 0, 0, 1, -1, 0, 0, 0),      # error: already closed
    ]
    run = simulate_dram(s, pim=PimProgram.from_entries(entries), policy=DramPolicy(refresh=False, row_buffers=2))
    assert run.pim_status.tolist() == [0, 0, 1, 0, 0, 0, 0, 0, 1] and run.counters[0, 14] == 2
    cyc = {COMMAND: [] for COMMAND in (dc.ACT, dc.RD, dc.G_ACT, dc.COMP, dc.READRES, dc.PRE)}
    for c, k in zip(run.trace["cycle"], run.trace["command"]):
        cyc[int(k)].append(int(c))
    assert cyc[dc.RD][0] == cyc[dc.ACT][0] + s.trcd
    assert cyc[dc.COMP][0] == cyc[dc.G_ACT][0] + s.trcd and cyc[dc.COMP][1] == cyc[dc.COMP][0] + s.t_comp
    assert cyc[dc.READRES][0] == max(cyc[dc.COMP][1] + s.t_comp, cyc[dc.COMP][0] + s.pim_fill_cycles * s.t_comp)
    assert not check_trace(s, run.trace, row_buffers=2)


def test_program_errors():
    s = load_dram("hbm2")
    with pytest.raises(ValueError, match="has no PIM"):
        pg.gemv_program(s, 4, 4)
    with pytest.raises(ValueError, match="rows must be a positive integer, not 0"):
        pg.gemv_program(load_dram("hbm2-pim"), 0, 4)
    with pytest.raises(ValueError, match="has no PIM"):
        simulate_dram(s, pim=PimProgram.from_entries([(0, dc.COMPS_READRES, 0, 0, 0, 0, 1, 0, 0)]))
    with pytest.raises(ValueError, match="segment must be a positive integer"):
        pg.gemv_program(load_dram("hbm2-pim"), 4, 64, segment=0)
    lay = pg.gemv_layout(load_dram("hbm2-pim"), 4, 500, segment=100)  # padded to 112: 4 heads per 512-element row
    assert lay.segments == [[7, 7, 7, 7], [7]]
    lay = pg.gemv_layout(load_dram("hbm2-pim"), 4, 1300, segment=650)  # a head longer than a row: whole rows
    assert lay.segments == [[32], [9], [32], [9]]
    with pytest.raises(ValueError, match="gwrite=False needs the vector in one DRAM row"):
        dt.pim_gemv_cycles(load_dram("hbm2-pim"), 32, 1024, gwrite=False)


@pytest.mark.slow
@pytest.mark.parametrize("rb", [1, 2])
def test_kernel_equals_reference_when_the_trace_buffer_grows(rb):
    """A COMPS_READRES entry issues many commands (its COMPs), more than the kernel's first trace buffer holds (3 per
    request + 4 per PIM entry + 1024): the loop saves its state, the buffer grows, the loop resumes."""
    s = dataclasses.replace(load_dram("hbm2-pim"), channels=1, trefi=900, trfc=80)
    prog = pg.gemv_program(s, 256, 4096, row_buffers=rb)
    req = traces.random(s, 100, seed=1, write_fraction=0.3)
    policy = DramPolicy(row_buffers=rb)
    a = simulate_dram(s, req, prog, policy=policy)
    assert a.n_commands > 3 * len(req) + 4 * len(prog) + 1024
    b = simulate_dram(s, req, prog, policy=policy, reference=True)
    for key in a.trace:
        np.testing.assert_array_equal(a.trace[key], b.trace[key], err_msg=key)
    for key in ("latency", "row_state", "counters", "active_cycles", "pim_done", "pim_status"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)

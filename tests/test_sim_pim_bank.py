"""PIM bank kernel: kernel == plain-Python reference, GEMV values == numpy, timing == closed form, spec errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from einsim.arch.pim_bank import PimBankSpec, parse_pim_bank
from einsim.sim import pim_program as pp
from einsim.sim.kernels import pim_bank as pk
from einsim.workloads.errors import ErrorList, SpecError


def _same(a: pp.PimRun, b: pp.PimRun) -> None:
    assert a.cycles == b.cycles
    np.testing.assert_array_equal(a.results, b.results)
    np.testing.assert_array_equal(a.result_cycle, b.result_cycle)
    np.testing.assert_array_equal(a.issue_cycle, b.issue_cycle)
    np.testing.assert_array_equal(a.status, b.status)
    assert a.counters == b.counters


def _data(rng, spec, n_gw):
    lim = 1 << (spec.data_bits - 1)
    return (rng.integers(-lim, lim, size=(n_gw, spec.mac_lanes)),
            rng.integers(-lim, lim, size=(spec.rows, spec.row_elements)))


timing = st.integers(1, 12)
specs = st.builds(
    PimBankSpec, rows=st.integers(1, 5), row_bytes=st.sampled_from([32, 64, 128]), mac_lanes=st.sampled_from([2, 4, 8]),
    data_bits=st.sampled_from([8, 16]), acc_bits=st.sampled_from([32, 40]), t_rcd=timing, t_rp=timing,
    t_ras=st.integers(1, 40), t_rtp=timing, t_ccd_s=st.integers(1, 3), t_ccd_l=st.integers(1, 4), cl=timing,
    cwl=timing, burst_length=st.sampled_from([2, 4, 8]), mac_latency=st.integers(1, 4))


@settings(max_examples=40, deadline=None)
@given(spec=specs, n=st.integers(0, 80), gap=st.sampled_from([0.0, 0.3]), err=st.sampled_from([0.0, 0.1]),
       seed=st.integers(0, 2**32 - 1))
def test_kernel_equals_reference_on_random_streams(spec, n, gap, err, seed):
    rng = np.random.default_rng(seed)
    prog = pp.random_program(rng, spec, n, spec.rows, gap_prob=gap, error_prob=err)
    gw, mem = _data(rng, spec, prog.n_gwrite)
    _same(pp.run(spec, prog, gw, mem), pp.run(spec, prog, gw, mem, reference=True))


@settings(max_examples=25, deadline=None)
@given(spec=specs, seed=st.integers(0, 2**32 - 1), data=st.data())
def test_gemv_values_equal_numpy(spec, seed, data):
    rng = np.random.default_rng(seed)
    n_out = data.draw(st.integers(1, spec.rows))
    cols = data.draw(st.integers(1, spec.columns))
    prog = pp.gemv_program(n_out, cols)
    gw, mem = _data(rng, spec, prog.n_gwrite)
    res = pp.run(spec, prog, gw, mem)
    k = cols * spec.mac_lanes
    expect = mem[:n_out, :k] @ gw.reshape(-1)[:k]
    half = 1 << (spec.acc_bits - 1)
    np.testing.assert_array_equal(res.results, (expect + half) % (1 << spec.acc_bits) - half)
    assert res.counters["macs"] == n_out * k and res.counters["errors"] == 0
    _same(res, pp.run(spec, prog, gw, mem, reference=True))


@pytest.mark.parametrize("spec", [
    PimBankSpec(rows=8),                                               # NeuPIMs HBM2 defaults, 32 COMPs per row
    PimBankSpec(rows=4, t_rcd=20, t_rp=10, t_rtp=4, cl=10, cwl=2),
    PimBankSpec(rows=6, row_bytes=256, mac_lanes=8, t_ccd_l=3, t_ras=20, mac_latency=4),
], ids=["neupims", "slow-rcd", "short-rows"])
def test_gemv_timing_equals_closed_form(spec):
    """COMP-bound rows: period tRCD + (C-1)*tCCD + tRTP + tRP, first COMP after the GWRITEs and tRCD."""
    c = spec.columns
    assert spec.t_rcd + 1 >= spec.cwl and spec.t_rcd + (c - 1) * spec.t_ccd_l + spec.t_rtp >= spec.t_ras
    assert spec.comp_latency <= spec.t_rtp + spec.t_rp + 1 and spec.t_rcd >= 2
    n_out = spec.rows
    rng = np.random.default_rng(0)
    prog = pp.gemv_program(n_out, c)
    gw, mem = _data(rng, spec, prog.n_gwrite)
    res = pp.run(spec, prog, gw, mem)
    total, result_cycles = pp.gemv_closed_form(spec, n_out, c)
    assert res.cycles == total
    assert res.result_cycle.tolist() == result_cycles
    if spec == PimBankSpec(rows=8):
        period = 14 + 31 * 2 + 6 + 14
        assert period == 96 and np.all(np.diff(res.result_cycle[:-1]) == 96)
        assert total == 31 * 2 + 1 + 14 + 7 * 96 + 31 * 2 + 16 + 14 + 1 == 842


def test_timing_rules_one_by_one():
    """Each rule holds with equality where it binds (tRCD, tCCD, tRAS, tRTP, tRP, CWL, READRES, bus)."""
    spec = PimBankSpec(rows=2, row_bytes=64, mac_lanes=4, t_rcd=5, t_rp=7, t_ras=30, t_rtp=3, t_ccd_l=2,
                       cl=4, cwl=6, mac_latency=3)
    g, a, c, r, p = pk.CMD_GWRITE, pk.CMD_ACT, pk.CMD_COMP, pk.CMD_READRES, pk.CMD_PRE
    prog = pp.PimProgram.from_rows([(g, 0, 0), (g, 0, 1), (a, 1, 0), (c, 0, 0), (c, 0, 1), (r, 0, 0), (p, 0, 0),
                                    (a, 0, 0)])
    gw, mem = _data(np.random.default_rng(1), spec, 2)
    res = pp.run(spec, prog, gw, mem)
    t = res.issue_cycle.tolist()
    assert t[1] == t[0] + spec.t_bus                       # GWRITE spacing on the data bus
    assert t[2] == t[1] + 1                                # ACT: nothing to wait for
    assert t[3] == max(t[2] + spec.t_rcd, t[1] + spec.cwl)  # COMP after tRCD and the vector's write latency
    assert t[4] == t[3] + spec.t_ccd_l
    assert t[5] == t[4] + spec.comp_latency                # READRES waits for the last partial sum
    assert t[6] == t[2] + spec.t_ras                       # PRE bound by tRAS here
    assert t[7] == t[6] + spec.t_rp
    assert res.result_cycle.tolist() == [t[5] + spec.cl]
    assert res.results[0] == mem[1, :8] @ gw.reshape(-1)
    assert res.cycles == t[7] + 1 and res.counters["stall_cycles"] == sum(np.diff([-1, *t]) - 1)


def test_protocol_errors_are_reported_not_stalled():
    spec = PimBankSpec(rows=2, row_bytes=64, mac_lanes=4)
    g, a, c, r, p = pk.CMD_GWRITE, pk.CMD_ACT, pk.CMD_COMP, pk.CMD_READRES, pk.CMD_PRE
    prog = pp.PimProgram.from_rows([(c, 0, 0), (p, 0, 0), (a, 5, 0), (a, 0, 0), (a, 1, 0), (g, 0, 99), (r, 0, 0)])
    res = pp.run(spec, prog, np.zeros((1, 4)), np.zeros((2, 32)))
    assert res.status.tolist() == [1, 1, 1, 0, 1, 1, 0]
    assert res.issue_cycle.tolist()[:4] == [0, 1, 2, 3] and res.counters["errors"] == 5
    assert res.results.tolist() == [0]


def test_run_checks_inputs():
    spec = PimBankSpec(rows=2, row_bytes=64, mac_lanes=4, data_bits=8)
    prog = pp.gemv_program(1, 1)
    with pytest.raises(ValueError, match=r"memory must be \[2, 64\]"):
        pp.run(spec, prog, np.zeros((1, 4)), np.zeros((3, 64)))
    with pytest.raises(ValueError, match="gw_data must hold signed 8-bit values, not 200"):
        pp.run(spec, prog, np.full((1, 4), 200), np.zeros((2, 64)))


def test_spec_defaults_and_parse_errors():
    spec = PimBankSpec()
    assert (spec.columns, spec.row_elements, spec.t_bus, spec.comp_latency) == (32, 512, 2, 16)
    params = spec.verilog_parameters()
    assert params["T_RCD"] == 14 and params["T_CCD"] == 2 and params["N_COLS"] == 32 and params["CL"] == 14
    errors = ErrorList("p.yaml")
    assert parse_pim_bank(errors, ("pim",), {"t_rcd": 0, "row_bytes": 1000, "tras": 3, "acc_bits": 20}) is None
    text = [str(i) for i in errors.issues]
    assert "p.yaml pim.t_rcd: t_rcd must be a positive integer in [1, 255], not 0" in text
    assert any("unknown key 'tras' (did you mean 't_ras'?)" in t for t in text)
    assert any("row_bytes must hold a whole number of 16-lane columns" in t and "multiple of 32" in t for t in text)
    assert any("acc_bits must be at least 2 * data_bits = 32, not 20" in t for t in text)
    errors = ErrorList("p.yaml")
    assert parse_pim_bank(errors, ("pim",), {"rows": 64, "cl": 20}) == PimBankSpec(rows=64, cl=20) and not errors
    with pytest.raises(SpecError, match="mac_lanes must be a positive integer, not 1.5"):
        PimBankSpec(mac_lanes=1.5)

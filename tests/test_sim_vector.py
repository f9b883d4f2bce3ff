"""Vector PE array kernel: kernel == plain-Python reference, values vs numpy, timing vs closed form, spec errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from einsim.arch.vector_unit import EXP2_POLY, EXP2_POLY_REL_ERROR, VectorUnitSpec, parse_vector_unit
from einsim.sim import vector_program as vp
from einsim.sim.kernels import vector as vk
from einsim.sim.kernels.vector_ref import instruction_cycles
from einsim.workloads.errors import ErrorList, SpecError


def _same(a: vp.VectorRun, b: vp.VectorRun) -> None:
    assert a.cycles == b.cycles
    np.testing.assert_array_equal(a.issue_cycle, b.issue_cycle)
    np.testing.assert_array_equal(a.out_cycle, b.out_cycle)
    np.testing.assert_array_equal(a.out_fixed, b.out_fixed)
    assert np.array_equal(a.out_float, b.out_float, equal_nan=True)
    assert a.counters == b.counters


specs = st.builds(
    VectorUnitSpec, lanes=st.integers(1, 9), registers=st.sampled_from([2, 4, 8, 16]),
    data_bits=st.sampled_from([16, 24, 32]), frac_bits=st.integers(4, 12), max_cycles=st.integers(1, 3),
    add_cycles=st.integers(1, 3), mac_cycles=st.integers(1, 3), divide_cycles=st.integers(1, 20))


@settings(max_examples=40, deadline=None)
@given(spec=specs, n=st.integers(1, 60), gap=st.sampled_from([0.0, 0.3]), seed=st.integers(0, 2**32 - 1))
def test_kernel_equals_reference_on_random_programs(spec, n, gap, seed):
    rng = np.random.default_rng(seed)
    prog = vp.random_program(rng, n, spec.registers, gap_prob=gap)
    lim = 1 << (spec.data_bits - 1)
    x = rng.integers(-lim, lim, size=(prog.n_loads, spec.lanes))
    _same(vp.run(spec, prog, in_fixed=x), vp.run(spec, prog, in_fixed=x, reference=True))


@settings(max_examples=20, deadline=None)
@given(spec=specs, n=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
def test_timing_closed_form(spec, n, seed):
    """Issue = max(arrive, previous issue + previous cost); stores valid one cycle after they end."""
    rng = np.random.default_rng(seed)
    prog = vp.random_program(rng, n, spec.registers, gap_prob=0.5, max_gap=30)
    res = vp.run(spec, prog)
    cfg = vp.pack_config(spec)[0]
    free, st_cycles = 0, []
    for i in range(n):
        issue = max(int(prog.arrive[i]), free)
        assert res.issue_cycle[i] == issue
        free = issue + instruction_cycles(int(prog.op[i]), cfg)
        if prog.op[i] == vk.OP_ST:
            st_cycles.append(free)
    assert res.cycles == free
    assert res.out_cycle.tolist() == st_cycles
    assert res.counters["busy_cycles"] == sum(instruction_cycles(int(o), cfg) for o in prog.op)


def test_costs_match_fusemax_exp_and_tree():
    spec = VectorUnitSpec(lanes=256, mac_cycles=2, add_cycles=3, max_cycles=1)
    assert spec.exp_cycles == 6 * 2 + 3
    cfg = vp.pack_config(spec)[0]
    assert instruction_cycles(vk.OP_EXP, cfg) == 15
    assert instruction_cycles(vk.OP_RSUM, cfg) == 8 * 3 and instruction_cycles(vk.OP_RMAX, cfg) == 8
    res = vp.run(spec, vp.ProgramBuilder().ld(1).exp(2, 1).build())
    assert res.counters["mac"] == 6 * 256 and res.counters["add"] == 256 and res.cycles == 1 + 15


@pytest.mark.parametrize("data_bits,frac_bits", [(32, 16), (16, 8), (24, 12), (32, 24)])
def test_exp_error_bounds_on_softmax_range(data_bits, frac_bits):
    """x <= 0 (after max subtraction): float64 relative error <= 2.5e-7; fixed point within 8 units of 2**-F."""
    spec = VectorUnitSpec(lanes=500, data_bits=data_bits, frac_bits=frac_bits)
    lo = -min(40.0, 2.0 ** (data_bits - 2 - frac_bits))
    x = np.concatenate([np.linspace(lo, 0.0, 2000), -np.geomspace(1e-6, -lo, 2000)]).reshape(8, 500)
    b = vp.ProgramBuilder()
    for _ in range(8):
        b.ld(1).exp(2, 1).st(2)
    res = vp.run(spec, b.build(), in_float=x)
    assert EXP2_POLY_REL_ERROR < 2.5e-7
    assert np.max(np.abs(res.out_float / np.exp(x) - 1.0)) <= 2.5e-7
    xq = vp.from_fixed(vp.to_fixed(x, spec), spec)
    assert np.max(np.abs(vp.from_fixed(res.out_fixed, spec) - np.exp(xq))) <= 8 * 2.0**-frac_bits
    assert EXP2_POLY[0] == 1.0


def test_exp_of_zero_is_exactly_one_and_saturates():
    spec = VectorUnitSpec(lanes=3)
    prog = vp.ProgramBuilder().ld(1).exp(2, 1).st(2).build()
    res = vp.run(spec, prog, in_float=np.array([[0.0, 100.0, -1e4]]))
    assert res.out_fixed[0].tolist() == [spec.one, (1 << 31) - 1, 0]
    assert res.out_float[0, 0] == 1.0 and math.isinf(res.out_float[0, 1]) is False


def test_fixed_point_rules():
    spec = VectorUnitSpec(lanes=4, data_bits=16, frac_bits=8)
    a = np.array([[300, -300, 32767, -32768]])
    b = np.array([[-3, 7, 1, 0]])
    prog = (vp.ProgramBuilder().ld(1).ld(2).mul(3, 1, 2).add(4, 1, 1).div(5, 1, 2).sub(6, 2, 1)
            .st(3).st(4).st(5).st(6).build())
    res = vp.run(spec, prog, in_fixed=np.concatenate([a, b]))
    mul, add, div, sub = res.out_fixed
    assert mul.tolist() == [(300 * -3) >> 8, (-300 * 7) >> 8, (32767 * 1) >> 8, 0]  # floors
    assert add.tolist() == [600, -600, -2, 0]  # wraps at 16 bits
    assert div.tolist() == [-25600, -10971, 32767, -32767]  # trunc(a*256/b); saturates, also on /0
    assert sub.tolist() == [-303, 307, -32766, -32768]


def _softmax_inputs(rng, n, lanes):
    s = rng.normal(size=(n, lanes)) * 3.0
    v = rng.normal(size=(n, lanes))
    beats = [np.full(lanes, -(2.0**14))]
    for m in range(n):
        beats += [s[m], v[m]]
    return s, v, np.array(beats)


@pytest.mark.parametrize("n,lanes", [(1, 4), (7, 16), (20, 3)])
def test_online_softmax_matches_numpy_and_cost(n, lanes):
    rng = np.random.default_rng(n)
    spec = VectorUnitSpec(lanes=lanes, mac_cycles=2, divide_cycles=5)
    s, v, beats = _softmax_inputs(rng, n, lanes)
    prog = vp.online_softmax_program(n)
    res = vp.run(spec, prog, in_float=beats)
    w = np.exp(s - s.max(axis=0))
    av = (w * v).sum(axis=0) / w.sum(axis=0)
    np.testing.assert_allclose(res.out_float[0], av, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(vp.from_fixed(res.out_fixed[0], spec), av, atol=2e-3)
    per_step = 2 + 2 * spec.max_cycles + 3 * spec.add_cycles + 2 * spec.exp_cycles + 3 * spec.mac_cycles
    assert res.cycles == 1 + n * per_step + spec.divide_cycles + 1
    _same(res, vp.run(spec, prog, in_float=beats, reference=True))


def test_lane_softmax_matches_numpy():
    spec = VectorUnitSpec(lanes=13)
    x = np.random.default_rng(1).normal(size=(1, 13)) * 4
    res = vp.run(spec, vp.lane_softmax_program(), in_float=x)
    e = np.exp(x[0] - x.max())
    np.testing.assert_allclose(res.out_float[0], e / e.sum(), rtol=1e-6)
    np.testing.assert_allclose(res.out_float[1], np.full(13, e.sum()), rtol=1e-6)
    np.testing.assert_allclose(vp.from_fixed(res.out_fixed[0], spec), e / e.sum(), atol=5e-4)
    assert res.counters["max"] == 12 and res.counters["add"] == 12 + 13 + 13  # tree + sub + exp's add


def test_run_rejects_bad_register_fields():
    prog = vp.ProgramBuilder().ld(9).build()
    with pytest.raises(ValueError, match="register fields must be in 0..7"):
        vp.run(VectorUnitSpec(lanes=2), prog)


def test_parse_reports_every_problem():
    errors = ErrorList("a.yaml")
    assert parse_vector_unit(errors, ("vector",), {"lanes": 0, "frac_bits": 30, "mac_cycle": 2}) is None
    text = [str(i) for i in errors.issues]
    assert "a.yaml vector.lanes: lanes must be a positive integer in [1, 4096], not 0" in text
    assert any("unknown key 'mac_cycle' (did you mean 'mac_cycles'?)" in t for t in text)
    assert any("frac_bits must be" in t and "not 30" in t for t in text)
    errors = ErrorList("a.yaml")
    spec = parse_vector_unit(errors, ("vector",), {"lanes": 16, "divide_cycles": 4})
    assert not errors and spec == VectorUnitSpec(lanes=16, divide_cycles=4)
    assert spec.verilog_parameters()["DIV_CYCLES"] == 4 and spec.verilog_parameters()["EXP_C0"] == 1 << 16
    with pytest.raises(SpecError, match="lanes must be a positive integer, not 'x'"):
        VectorUnitSpec(lanes="x")

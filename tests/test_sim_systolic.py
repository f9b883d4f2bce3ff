"""Register-level systolic kernel: values vs numpy, cycles vs SCALE-Sim, Numba vs reference, fold overlap."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from systolic_strategies import micro_specs

from einsim.arch.systolic import SystolicArraySpec, parse_systolic
from einsim.sim.kernels import systolic as kernel
from einsim.sim.kernels import systolic_reference as reference
from einsim.sim.systolic_gemm import plan_folds, scalesim_cycles, simulate_gemm
from einsim.workloads.errors import ErrorList, SpecError

DATAFLOWS = ("os", "ws", "is")
small = st.integers(min_value=1, max_value=6)
settings.register_profile("einsim", max_examples=40, deadline=None)
settings.load_profile("einsim")


def _ints(seed, shape):
    return np.random.default_rng(seed).integers(-8, 8, shape)


@given(R=small, C=small, M=small, K=small, N=small, dataflow=st.sampled_from(DATAFLOWS), seed=st.integers(0, 99))
def test_values_and_scalesim_cycles_without_overlap(R, C, M, K, N, dataflow, seed):
    spec = SystolicArraySpec(rows=R, cols=C, dataflow=dataflow)
    a, b = _ints(seed, (M, K)), _ints(seed + 1, (K, N))
    run = simulate_gemm(spec, a, b, exact=True)
    assert np.array_equal(run.out, a @ b)
    assert run.cycles == scalesim_cycles(spec, M, K, N)
    assert run.counters["macs"] == M * K * N
    assert run.out_cycle.max() <= run.cycles  # equal unless the last fold is padded: padded PEs still stream


@given(R=small, C=small, M=small, K=small, N=small, dataflow=st.sampled_from(DATAFLOWS), seed=st.integers(0, 99))
def test_float_values(R, C, M, K, N, dataflow, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((M, K)), rng.standard_normal((K, N))
    run = simulate_gemm(SystolicArraySpec(rows=R, cols=C, dataflow=dataflow, double_buffer=True), a, b, exact=True)
    np.testing.assert_allclose(run.out, a @ b, rtol=1e-12, atol=1e-12)


@given(data=st.data(), R=small, C=small, M=st.integers(1, 9), K=st.integers(1, 9), N=st.integers(1, 9),
       dataflow=st.sampled_from(DATAFLOWS), seed=st.integers(0, 99))
def test_fast_mode_equals_exact(data, R, C, M, K, N, dataflow, seed):
    spec = data.draw(micro_specs(dataflow, R, C))
    a, b = _ints(seed, (M, K)), _ints(seed + 1, (K, N))
    exact, fast = simulate_gemm(spec, a, b, exact=True), simulate_gemm(spec, a, b)
    assert exact.mode == "exact"
    assert fast.mode == ("fast" if exact.folds > 2 else "exact")
    assert np.array_equal(exact.out, a @ b)
    assert np.array_equal(fast.out, exact.out)
    assert np.array_equal(fast.out_cycle, exact.out_cycle)
    assert (fast.cycles, fast.first_output) == (exact.cycles, exact.first_output)
    assert fast.counters == exact.counters


@given(R=small, C=small, M=st.integers(1, 9), K=st.integers(1, 9), N=st.integers(1, 9),
       dataflow=st.sampled_from(DATAFLOWS), seed=st.integers(0, 99))
def test_overlap_pipelines_folds(R, C, M, K, N, dataflow, seed):
    """With double buffering folds follow each other at the documented period, never slower than without."""
    a, b = _ints(seed, (M, K)), _ints(seed + 1, (K, N))
    spec = SystolicArraySpec(rows=R, cols=C, dataflow=dataflow, double_buffer=True)
    run = simulate_gemm(spec, a, b, exact=True)
    t = {"os": K, "ws": M, "is": N}[dataflow]
    if dataflow == "os":
        fill, period = R + C + t - 2, t
    else:
        fill, period = 2 * R + C + t - 2, max(t, 2 * R - 1)
    assert np.array_equal(run.out, a @ b)
    assert run.cycles == fill + (run.folds - 1) * period
    assert run.cycles <= scalesim_cycles(spec, M, K, N)


def test_overlap_period_matches_onnxim_rule_in_steady_state():
    """ONNXim issues WS tiles of T >= 2R-1 rows back to back T cycles apart; so does the double-buffered array."""
    R, C, M = 4, 4, 16
    spec = SystolicArraySpec(rows=R, cols=C, dataflow="ws", double_buffer=True)
    run = simulate_gemm(spec, _ints(0, (M, 3 * R)), _ints(1, (3 * R, C)), exact=True)
    assert run.folds == 3
    assert run.cycles == (2 * R + C + M - 2) + 2 * M  # first fold as SCALE-Sim, then one fold every T = M cycles


@pytest.mark.parametrize("dtype", [np.int64, np.float64])
@given(data=st.data(), R=small, C=small, T=small, F=st.integers(1, 4), seed=st.integers(0, 999))
def test_kernel_matches_reference(dtype, data, R, C, T, F, seed):
    rng = np.random.default_rng(seed)
    ru, cu = rng.integers(1, R + 1, F), rng.integers(1, C + 1, F)
    stationary = rng.integers(-9, 9, (F, R, C)).astype(dtype)
    stream = rng.integers(-9, 9, (2, T, R)).astype(dtype)
    fold_stream, fold_out = rng.integers(0, 2, F), rng.integers(0, 2, F)
    ua = kernel.kernel_parameters(data.draw(micro_specs("ws", R, C)))
    args = (ua, stationary, stream, fold_stream, 2, fold_out, ru, cu)
    for got, want in zip(kernel.ws_kernel(*args), reference.ws_kernel(*args), strict=True):
        assert np.array_equal(got, want)
    top = rng.standard_normal((2, T, C)).astype(dtype)
    ua = kernel.kernel_parameters(data.draw(micro_specs("os", R, C)))
    args = (ua, stream, fold_stream, top, fold_out, ru, cu)
    for got, want in zip(kernel.os_kernel(*args), reference.os_kernel(*args), strict=True):
        assert np.array_equal(got, want)


def test_output_valid_cycles_follow_the_wavefront():
    R, C, M, K, N = 3, 2, 4, 3, 2
    run = simulate_gemm(SystolicArraySpec(rows=R, cols=C, dataflow="ws"), _ints(0, (M, K)), _ints(1, (K, N)),
                        exact=True)
    # row m of the stream leaves column j at 2R + m + j (R preload cycles, R rows to cross, visible next cycle)
    assert run.out_cycle.tolist() == [[2 * R + m + j for j in range(N)] for m in range(M)]


def test_edge_folds_are_zero_padded_and_counted_as_used():
    spec = SystolicArraySpec(rows=4, cols=4, dataflow="ws")
    plan = plan_folds(spec, np.ones((5, 6), np.int64), np.ones((6, 5), np.int64))
    assert plan.folds == 4
    assert plan.rows_used.tolist() == [4, 2, 4, 2] and plan.cols_used.tolist() == [4, 4, 1, 1]
    assert plan.stationary[3, 2:].sum() == 0 and plan.stationary[3][:, 1:].sum() == 0


def test_verilog_parameters_come_from_the_spec():
    spec = SystolicArraySpec(rows=4, cols=3, dataflow="is", double_buffer=True)
    assert spec.verilog_parameters() == {"ROWS": 4, "COLS": 3, "DATAFLOW": 1, "DOUBLE_BUF": 1, "DRAIN": 0,
                                         "MAC_LAT": 1, "ACC_LAT": 1, "SKEW": 0, "WLOAD": 1, "WPATH": 0,
                                         "MIN_INT": 1, "DATA_W": 8, "ACC_W": 32}
    assert SystolicArraySpec(rows=2, cols=2, dataflow="os", drain="shift").verilog_parameters()["DRAIN"] == 1
    spec = SystolicArraySpec(rows=2, cols=2, dataflow="os", drain="parallel", mac_latency=2, acc_latency=3,
                             min_interval=4, skew="array")
    assert {k: spec.verilog_parameters()[k] for k in ("DRAIN", "MAC_LAT", "ACC_LAT", "MIN_INT")} == \
        {"DRAIN": 3, "MAC_LAT": 2, "ACC_LAT": 3, "MIN_INT": 4}
    spec = SystolicArraySpec(rows=2, cols=2, skew="edge", weight_path="pipeline", weight_load_cycles=2)
    assert {k: spec.verilog_parameters()[k] for k in ("SKEW", "WPATH", "WLOAD")} == {"SKEW": 1, "WPATH": 1,
                                                                                     "WLOAD": 2}


def test_parse_systolic_reports_every_error():
    errors = ErrorList("x.yaml")
    assert parse_systolic(errors, ("systolic",), {"rows": -4, "cols": 2, "dataflow": "wss", "double_bufer": True}) \
        is None
    text = [str(i) for i in errors.issues]
    assert any("rows must be a positive integer, not -4" in t for t in text)
    assert any("dataflow must be one of os, ws, is, not 'wss' (did you mean 'ws'?)" in t for t in text)
    assert any("unknown key 'double_bufer' (did you mean 'double_buffer'?)" in t for t in text)


def test_parse_systolic_checks_the_drain():
    errors = ErrorList("x.yaml")
    assert parse_systolic(errors, ("systolic",), {"rows": 4, "cols": 4, "dataflow": "os", "drain": "shfit"}) is None
    assert "drain must be one of in_place, shift, shadow_shift, parallel, not 'shfit' (did you mean 'shift'?)" in \
        str(errors.issues[0])
    errors = ErrorList("x.yaml")
    assert parse_systolic(errors, ("systolic",), {"rows": 4, "cols": 4, "dataflow": "ws", "drain": "shift"}) is None
    assert "drain must be in_place for dataflow ws" in str(errors.issues[0])
    data = {"rows": 4, "cols": 2, "dataflow": "os", "drain": "shift"}
    spec = parse_systolic(ErrorList("x.yaml"), ("systolic",), data)
    assert spec == SystolicArraySpec(rows=4, cols=2, dataflow="os", drain="shift")


def test_parse_systolic_builds_the_spec():
    errors = ErrorList("x.yaml")
    spec = parse_systolic(errors, ("systolic",), {"rows": 8, "cols": 4, "dataflow": "os", "double_buffer": True})
    assert not errors and spec == SystolicArraySpec(rows=8, cols=4, dataflow="os", double_buffer=True)


def test_spec_constructor_is_keyword_only_and_checked():
    with pytest.raises(TypeError):
        SystolicArraySpec(4, 4)  # type: ignore[misc]
    with pytest.raises(SpecError, match="cols must be a positive integer, not 0"):
        SystolicArraySpec(rows=4, cols=0)


@given(n=st.integers(1, 40), acc_bits=st.sampled_from([12, 16, 32]), seed=st.integers(0, 999))
def test_mac_pe_kernel_matches_reference(n, acc_bits, seed):
    from einsim.sim.kernels import mac_pe, mac_pe_reference

    rng = np.random.default_rng(seed)
    args = (rng.integers(-128, 128, n), rng.integers(-128, 128, n), rng.integers(0, 2, n), rng.integers(0, 2, n))
    got = mac_pe.mac_pe_kernel(*args, acc_bits)
    assert np.array_equal(got, mac_pe_reference.mac_pe_kernel(*args, acc_bits))
    if acc_bits == 32:  # no wrap at this size: a clear followed by enabled steps is a dot product
        a, b, en, clr = args
        starts = np.flatnonzero(clr)
        if len(starts):
            s = starts[-1]
            assert got[-1] == sum(int(a[t]) * int(b[t]) for t in range(s, n) if en[t])


# ---------------------------------------------------------------- OS drains


def shift_drain_cycles(R, C, K, folds, double_buffer, drain):
    """Closed form: a fold's last output (row 0 of column C-1) is valid 2R + C + K - 3 cycles after its first
    stream step; without overlap folds start that far apart. With it: one bank (shift) max(K - 1 + R, 2R - 2)
    apart, the next fold's rows following the column's shifts down; two banks (shadow_shift) max(K, 2R - 2)."""
    if not double_buffer:
        period = 2 * R + C + K - 3
    elif drain == "shift":
        period = max(K - 1 + R, 2 * R - 2)
    else:
        period = max(K, 2 * R - 2)
    return (2 * R + C + K - 3) + (folds - 1) * period


@given(R=small, C=small, M=st.integers(1, 9), K=small, N=st.integers(1, 9), double_buffer=st.booleans(),
       drain=st.sampled_from(("shift", "shadow_shift")), seed=st.integers(0, 99))
def test_shift_drain_values_and_closed_form_cycles(R, C, M, K, N, double_buffer, drain, seed):
    a, b = _ints(seed, (M, K)), _ints(seed + 1, (K, N))
    spec = SystolicArraySpec(rows=R, cols=C, dataflow="os", double_buffer=double_buffer, drain=drain)
    run = simulate_gemm(spec, a, b, exact=True)
    in_place = simulate_gemm(SystolicArraySpec(rows=R, cols=C, dataflow="os", double_buffer=double_buffer), a, b,
                             exact=True)
    assert np.array_equal(run.out, a @ b)
    assert run.cycles == shift_drain_cycles(R, C, K, run.folds, double_buffer, drain)
    assert run.counters["macs"] == in_place.counters["macs"] == M * K * N
    assert run.counters["buf_writes"] == M * N
    if not double_buffer:  # each fold takes R - 1 cycles longer than SCALE-Sim's in-place fold
        assert in_place.cycles == scalesim_cycles(spec, M, K, N)
        assert run.cycles == in_place.cycles + run.folds * (R - 1)


@given(R=small, C=small, K=small, drain=st.sampled_from(("shift", "shadow_shift")), edge=st.booleans(),
       seed=st.integers(0, 99))
def test_shift_drain_outputs_leave_the_bottom_row_first(R, C, K, drain, edge, seed):
    """One fold: column j's last row finishes at L = K + R + j - 2; row i is valid at the port in L + R - i; edge
    skew buffers hold column j C - 1 - j cycles more, so a row of results leaves at once."""
    a, b = _ints(seed, (R, K)), _ints(seed + 1, (K, C))
    spec = SystolicArraySpec(rows=R, cols=C, dataflow="os", drain=drain, skew="edge" if edge else "array")
    run = simulate_gemm(spec, a, b, exact=True)
    assert run.out_cycle.tolist() == [[K + 2 * R + (C - 1 if edge else j) - 2 - i for j in range(C)]
                                      for i in range(R)]
    in_place = simulate_gemm(SystolicArraySpec(rows=R, cols=C, dataflow="os"), a, b, exact=True)
    if not edge:
        assert (run.out_cycle - in_place.out_cycle).tolist() == [[2 * (R - 1 - i)] * C for i in range(R)]
    assert run.first_output == K + R - 1 + (C - 1 if edge else 0) and in_place.first_output == K


@given(R=small, C=small, M=st.integers(1, 9), K=small, N=st.integers(1, 9), double_buffer=st.booleans(),
       seed=st.integers(0, 99))
def test_parallel_drain_reads_every_pe_at_once(R, C, M, K, N, double_buffer, seed):
    """Every output of a fold is read in the cycle its last PE is done; overlapped folds hold the output
    registers until that read: R + C - 1 cycles apart at least."""
    a, b = _ints(seed, (M, K)), _ints(seed + 1, (K, N))
    spec = SystolicArraySpec(rows=R, cols=C, dataflow="os", drain="parallel", double_buffer=double_buffer)
    run = simulate_gemm(spec, a, b, exact=True)
    assert np.array_equal(run.out, a @ b)
    period = max(K, R + C - 1) if double_buffer else R + C + K - 2
    assert run.cycles == (R + C + K - 2) + (run.folds - 1) * period
    assert np.unique(run.out_cycle[:min(M, R), :min(N, C)]).tolist() == [R + C + K - 2]


def test_shift_drain_with_one_row_is_in_place():
    for double_buffer in (False, True):
        a, b = _ints(0, (3, 5)), _ints(1, (5, 7))
        kw = {"rows": 1, "cols": 3, "dataflow": "os", "double_buffer": double_buffer}
        in_place = simulate_gemm(SystolicArraySpec(**kw), a, b, exact=True)
        for drain in ("shift", "shadow_shift"):
            shift = simulate_gemm(SystolicArraySpec(**kw, drain=drain), a, b, exact=True)
            assert shift.cycles == in_place.cycles and np.array_equal(shift.out_cycle, in_place.out_cycle)


def test_shift_drain_two_banks_at_the_minimum_period():
    """T < 2R - 2: folds start 2R - 2 apart, the next fold's row 0 capturing in the cycle of the last shift."""
    from einsim.sim.kernels.systolic_reference import os_kernel as reference_os

    R, C, T, F = 4, 3, 2, 3
    rng = np.random.default_rng(3)
    left, top = rng.integers(-9, 9, (F, T, R)), rng.integers(-9, 9, (F, T, C))
    folds, full_r, full_c = np.arange(F), np.full(F, R), np.full(F, C)
    ua = kernel.kernel_parameters(SystolicArraySpec(rows=R, cols=C, dataflow="os", drain="shadow_shift",
                                                    double_buffer=True))
    out, _, starts, _, _, _ = kernel.os_kernel(ua, left, folds, top, folds, full_r, full_c)
    assert np.diff(starts).tolist() == [2 * R - 2] * (F - 1)
    assert np.array_equal(out, np.stack([left[f].T @ top[f] for f in range(F)]))
    assert np.array_equal(out, reference_os(ua, left, folds, top, folds, full_r, full_c)[0])


def test_cli_kernel_systolic_drain_option(capsys):
    import json

    from einsim.analysis.cli import main

    argv = ["kernel", "systolic", "--rows", "4", "--cols", "3", "--dataflow", "os", "--m", "9", "--k", "5", "--n", "7",
            "--drain", "shadow_shift", "--overlap", "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["drain"] == "shadow_shift" and report["values_match_numpy"]
    assert report["cycles"] == shift_drain_cycles(4, 3, 5, report["folds"], True, "shadow_shift")
    assert main(argv[:7] + ["ws"] + argv[8:]) == 1  # drain applies to OS only
    assert "drain must be in_place for dataflow ws" in capsys.readouterr().err

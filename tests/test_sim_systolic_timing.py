"""Closed-form systolic timing (sim/systolic_timing.py) against the register-level kernel, and the scalesim and
onnxim presets against those tools' published rules."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numba import config as numba_config
from systolic_strategies import micro_specs

from einsim.arch.systolic import SystolicArraySpec, load_systolic_preset, parse_systolic
from einsim.sim.kernels import systolic as kernel
from einsim.sim.kernels import systolic_reference as reference
from einsim.sim.systolic_gemm import assemble_output, plan_folds, scalesim_cycles, simulate_gemm
from einsim.sim.systolic_timing import (
    TileTiming,
    fold_grid,
    fold_lead,
    fold_period,
    gemm_cycles,
    sequence_cycles,
    stream_steps,
    tile_timing,
)
from einsim.workloads.errors import ErrorList, SpecError

DATAFLOWS = ("os", "ws", "is")
needs_jit = pytest.mark.skipif(numba_config.DISABLE_JIT, reason="a 128 x 128 array needs the compiled kernel")


def _ints(seed, shape, low=-8, high=8):
    return np.random.default_rng(seed).integers(low, high, shape)


def _exact_product(a, b):
    """A @ B of int8-range integers through float64 BLAS: exact while every sum stays below 2**53."""
    return (a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)


def _run_tiles(spec, a, b, n_tiles, module=kernel):
    """The tile's folds n_tiles times back to back in one kernel run: (out, total, first_output)."""
    plan = plan_folds(spec, a, b)
    folds = np.tile(np.arange(plan.folds), n_tiles)
    ua = kernel.kernel_parameters(spec)
    ru, cu = plan.rows_used[folds], plan.cols_used[folds]
    if spec.dataflow == "os":
        out, _, _, total, _, first = module.os_kernel(ua, plan.stream, plan.fold_stream[folds], plan.top,
                                                      plan.fold_top[folds], ru, cu)
        out = out[:plan.folds]
    else:
        out, _, _, total, _, first = module.ws_kernel(ua, plan.stationary[folds], plan.stream,
                                                      plan.fold_stream[folds], plan.n_out, plan.fold_out[folds],
                                                      ru, cu)
        out = out // n_tiles  # every tile added the same partial sums into the slots
    return assemble_output(spec, plan, out, a.shape[0], b.shape[1]), int(total), int(first)


@given(data=st.data(), dataflow=st.sampled_from(DATAFLOWS), R=st.integers(1, 4), C=st.integers(1, 4),
       m=st.integers(1, 9), k=st.integers(1, 9), n=st.integers(1, 9), n_tiles=st.integers(1, 3),
       seed=st.integers(0, 99))
def test_tile_timing_equals_the_kernel(data, dataflow, R, C, m, k, n, n_tiles, seed):
    """One tile takes occupancy + latency cycles, T identical tiles back to back T * occupancy + latency: shapes
    that are not multiples of R or C included, every micro-architecture parameter drawn."""
    spec = data.draw(micro_specs(dataflow, R, C))
    a, b = _ints(seed, (m, k)), _ints(seed + 1, (k, n))
    timing = tile_timing(spec, m, k, n)
    out, total, first = _run_tiles(spec, a, b, n_tiles)
    assert np.array_equal(out, a @ b)
    assert total == n_tiles * timing.occupancy + timing.latency
    assert first == timing.first_output
    assert timing.folds == plan_folds(spec, a, b).folds
    if n_tiles == 1:
        assert total == gemm_cycles(spec, m, k, n) == timing.cycles
        assert _run_tiles(spec, a, b, 1, reference)[1:] == (total, first)


def _binding_term_is_a_hazard(spec, t) -> bool:
    """False when the period is set by padding to min_interval or by the chain's weight-port rate (R * wl): those
    are throughput rules the register model does not see, every other term is a register hazard or a port
    collision."""
    if stream_steps(spec, t) > t:
        return False
    return not (spec.stationary and spec.weight_path == "chain"
                and spec.rows * spec.weight_load_cycles >= fold_period(spec, t)
                and spec.rows * spec.weight_load_cycles > (spec.rows - 1) * (spec.weight_load_cycles
                                                                            + spec.acc_latency) + 1)


@given(data=st.data(), dataflow=st.sampled_from(("os", "ws")), R=st.integers(1, 4), C=st.integers(1, 4),
       t=st.integers(1, 5), seed=st.integers(0, 99))
def test_double_buffered_periods_are_tight(data, dataflow, R, C, t, seed):
    """With overlap, the kernel under a schedule one cycle tighter than the closed form's period corrupts values:
    the period is the tightest hazard-free one."""
    spec = data.draw(micro_specs(dataflow, R, C, double_buffer=True))
    m, k, n = (t, 3 * R, C) if dataflow == "ws" else (3 * R, t, C)
    period = fold_period(spec, fold_grid(spec, m, k, n)[1])
    if period == 1 or not _binding_term_is_a_hazard(spec, t):
        return
    a, b = _ints(seed, (m, k), 1, 50), _ints(seed + 1, (k, n), 1, 50)
    plan = plan_folds(spec, a, b)
    ua = kernel.kernel_parameters(spec, period - 1)
    if dataflow == "os":
        out = kernel.os_kernel(ua, plan.stream, plan.fold_stream, plan.top, plan.fold_top, plan.rows_used,
                               plan.cols_used)[0]
    else:
        out = kernel.ws_kernel(ua, plan.stationary, plan.stream, plan.fold_stream, plan.n_out, plan.fold_out,
                               plan.rows_used, plan.cols_used)[0]
    assert not np.array_equal(assemble_output(spec, plan, out, m, n), a @ b)


def test_tile_timing_is_a_keyword_only_frozen_result():
    timing = tile_timing(SystolicArraySpec(rows=4, cols=4, double_buffer=True), 8, 8, 8)
    assert timing == TileTiming(occupancy=4 * 8, latency=4 + (8 + 4 + 4 - 2) - 8, first_output=4 + 4, folds=4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        timing.folds = 1  # type: ignore[misc]
    with pytest.raises(ValueError, match="k must be a positive integer, not 0"):
        tile_timing(SystolicArraySpec(rows=4, cols=4), 8, 0, 8)


def test_a_weight_port_slower_than_the_tile_gives_a_negative_latency():
    """One row loaded at one row every 4 cycles: the array accepts the next tile 4 cycles after this one's first
    weight, 2 cycles after its last result; the closed form still adds up for tiles back to back."""
    spec = SystolicArraySpec(rows=1, cols=1, double_buffer=True, weight_load_cycles=4)
    timing = tile_timing(spec, 1, 1, 1)
    assert (timing.occupancy, timing.latency) == (4, -2)
    assert _run_tiles(spec, _ints(0, (1, 1)), _ints(1, (1, 1)), 3)[1] == 3 * 4 - 2


# ---------------------------------------------------------------- SCALE-Sim


@given(dataflow=st.sampled_from(DATAFLOWS), R=st.integers(1, 5), C=st.integers(1, 5), m=st.integers(1, 12),
       k=st.integers(1, 12), n=st.integers(1, 12), seed=st.integers(0, 99))
def test_scalesim_preset_is_scalesims_formula(dataflow, R, C, m, k, n, seed):
    spec = SystolicArraySpec(rows=R, cols=C, dataflow=dataflow, **load_systolic_preset("scalesim", dataflow))
    a, b = _ints(seed, (m, k)), _ints(seed + 1, (k, n))
    assert gemm_cycles(spec, m, k, n) == scalesim_cycles(spec, m, k, n) == simulate_gemm(spec, a, b).cycles


def test_scalesim_preset_gemm_2048_on_128x128_ws_closed_form():
    """DESIGN.md: WS (2R + C + T - 2) * ceil(K/R) * ceil(N/C) with T = M: (256 + 128 + 2046) * 16 * 16."""
    spec = SystolicArraySpec(rows=128, cols=128, dataflow="ws", **load_systolic_preset("scalesim"))
    assert gemm_cycles(spec, 2048, 2048, 2048) == (2 * 128 + 128 + 2048 - 2) * 16 * 16 == 622_080


@pytest.mark.slow
@needs_jit
def test_scalesim_preset_gemm_2048_on_128x128_ws_kernel():
    spec = SystolicArraySpec(rows=128, cols=128, dataflow="ws", **load_systolic_preset("scalesim"))
    a, b = _ints(0, (2048, 2048), -128, 128), _ints(1, (2048, 2048), -128, 128)
    run = simulate_gemm(spec, a.astype(np.int8), b.astype(np.int8))
    assert run.cycles == 622_080
    assert np.array_equal(run.out, _exact_product(a, b))


# ---------------------------------------------------------------- ONNXim


def onnxim_ws_cycles(H: int, W: int, m: int, k: int, n: int) -> int:
    """ONNXim's WS core on a compute-bound GEMM A (m x k) @ B (k x n), from its sources (PSAL-POSTECH/ONNXim):
    src/operations/GemmWS.cc issues one GEMM_PRELOAD per (core_height rows of n) x (core_height rows of k) x
    (core_height rows of m) block, streaming compute_size = the block's rows of m, m innermost but one (then k);
    src/SystolicWS.cc starts the first 2H - 1 cycles after issue (weight preload), each next one H cycles after the
    previous start, and finishes an instruction H + W - 2 + max(size, 4) cycles after its start. Square arrays
    (ONNXim tiles every rank by core_height)."""
    starts, sizes = [], []
    for _ in range(math.ceil(n / H)):
        for m0 in range(0, m, H):
            for _ in range(math.ceil(k / H)):
                starts.append(2 * H - 1 if not starts else starts[-1] + H)
                sizes.append(min(H, m - m0))
    return starts[-1] + H + W - 2 + max(sizes[-1], 4)


def onnxim_os_cycles(H: int, W: int, m: int, k: int, n: int) -> int:
    """ONNXim's OS tile rule (src/SystolicOS.cc get_inst_compute_cycles: H + W - 2 + size, size = k streamed
    steps) for the H x W output tiles, one after the other (ONNXim issues no OS tiles: SystolicOS::cycle is not
    implemented)."""
    return math.ceil(m / H) * math.ceil(n / W) * (H + W - 2 + k)


def _onnxim(dataflow, rows, cols):
    return SystolicArraySpec(rows=rows, cols=cols, dataflow=dataflow, **load_systolic_preset("onnxim", dataflow))


@pytest.mark.parametrize(("H", "m", "k", "n"), [
    (4, 1, 4, 4), (4, 3, 5, 9), (4, 4, 4, 4), (4, 8, 7, 5), (4, 12, 16, 3), (8, 2, 20, 17), (8, 16, 8, 8),
    (8, 8, 9, 24), (5, 10, 3, 11)])
def test_onnxim_preset_is_onnxims_ws_rule(H, m, k, n):
    """Shapes whose streamed rank m is at most H or a multiple of it: ONNXim's instruction tiles stream the same
    rows as the array's folds. (Arrays of H >= 4 rows: below that ONNXim starts a tile every H cycles while each
    streams max(size, 4) rows, which no array can overlap.)"""
    spec = _onnxim("ws", H, H)
    a, b = _ints(m, (m, k)), _ints(k, (k, n))
    run = simulate_gemm(spec, a, b, exact=True)
    assert gemm_cycles(spec, m, k, n) == onnxim_ws_cycles(H, H, m, k, n) == run.cycles
    assert np.array_equal(run.out, a @ b)


@given(H=st.integers(4, 9), m=st.integers(1, 40), k=st.integers(1, 40), n=st.integers(1, 40))
def test_onnxim_preset_on_onnxims_tiles(H, m, k, n):
    """Any shape, tiled as ONNXim tiles it (at most H streamed rows per tile): the tiles back to back are ONNXim's
    cycles, and a run of identical tiles is the kernel's."""
    spec = _onnxim("ws", H, H)
    tiles = [(min(H, m - m0), k, H) for _ in range(math.ceil(n / H)) for m0 in range(0, m, H)]
    assert sequence_cycles(spec, tiles) == onnxim_ws_cycles(H, H, m, k, n)


@given(H=st.integers(1, 5), m=st.integers(1, 12), k=st.integers(1, 12), n=st.integers(1, 12))
def test_onnxim_preset_is_onnxims_os_rule(H, m, k, n):
    spec = _onnxim("os", H, H)
    assert gemm_cycles(spec, m, k, n) == onnxim_os_cycles(H, H, m, k, n) == \
        simulate_gemm(spec, _ints(0, (m, k)), _ints(1, (k, n))).cycles


def test_onnxim_preset_gemm_2048_on_128x128_ws_closed_form():
    spec = _onnxim("ws", 128, 128)
    assert fold_lead(spec) == 2 * 128 - 1  # ONNXim's first weight preload
    assert gemm_cycles(spec, 2048, 2048, 2048) == onnxim_ws_cycles(128, 128, 2048, 2048, 2048) == 524_797


@pytest.mark.slow
@needs_jit
def test_onnxim_preset_gemm_2048_on_128x128_ws_kernel():
    spec = _onnxim("ws", 128, 128)
    a, b = _ints(0, (2048, 2048), -128, 128), _ints(1, (2048, 2048), -128, 128)
    run = simulate_gemm(spec, a.astype(np.int8), b.astype(np.int8))
    assert run.cycles == 524_797 and np.array_equal(run.out, _exact_product(a, b))


# ---------------------------------------------------------------- presets and parameters


def test_presets_spell_out_every_parameter_for_every_dataflow():
    for name in ("scalesim", "onnxim"):
        for dataflow in DATAFLOWS:
            params = load_systolic_preset(name, dataflow)
            spec = SystolicArraySpec(rows=4, cols=4, dataflow=dataflow, **params)
            assert spec.micro() == params
    assert SystolicArraySpec(rows=4, cols=4).micro() == load_systolic_preset("scalesim")  # today's defaults


def test_unknown_preset_is_reported_with_a_suggestion():
    with pytest.raises(SpecError, match="systolic preset must be one of onnxim, scalesim, not 'onxim' "
                                        r"\(did you mean 'onnxim'\?\)"):
        load_systolic_preset("onxim")


def test_parse_systolic_starts_from_a_preset():
    errors = ErrorList("x.yaml")
    spec = parse_systolic(errors, ("systolic",), {"rows": 8, "cols": 8, "preset": "onnxim", "min_interval": 2})
    assert not errors
    assert spec == SystolicArraySpec(rows=8, cols=8, **(load_systolic_preset("onnxim") | {"min_interval": 2}))
    errors = ErrorList("x.yaml")
    assert parse_systolic(errors, ("systolic",), {"rows": 8, "cols": 8, "preset": "scalesimm"}) is None
    assert "systolic.preset: systolic preset must be one of onnxim, scalesim" in str(errors.issues[0])


@pytest.mark.parametrize(("fields", "message"), [
    ({"mac_latency": 0}, "mac_latency must be a positive integer, not 0"),
    ({"acc_latency": 65}, "acc_latency must be at most 64, not 65"),
    ({"skew": "edgy"}, "skew must be one of array, edge, not 'edgy' (did you mean 'edge'?)"),
    ({"weight_path": "pipe"}, "weight_path must be one of chain, pipeline, not 'pipe' (did you mean 'pipeline'?)"),
    ({"dataflow": "os", "weight_load_cycles": 2}, "weight_load_cycles must be 1 for dataflow os (it has no "
                                                  "stationary block to load), not 2"),
    ({"dataflow": "os", "weight_path": "pipeline"}, "weight_path must be 'chain' for dataflow os"),
    ({"dataflow": "os", "skew": "edge"}, "skew must be array for dataflow os with drain in_place"),
    ({"dataflow": "os", "drain": "parallel", "skew": "edge"}, "skew must be array for dataflow os with drain "
                                                              "parallel"),
    ({"min_interval": True}, "min_interval must be a positive integer, not True"),
])
def test_bad_micro_architecture_is_reported(fields, message):
    with pytest.raises(SpecError) as info:
        SystolicArraySpec(rows=4, cols=4, **fields)
    assert message in str(info.value)


def test_cli_kernel_systolic_micro_architecture_and_preset(capsys):
    from einsim.analysis.cli import main

    base = ["kernel", "systolic", "--rows", "4", "--cols", "3", "--m", "9", "--k", "5", "--n", "7", "--json"]
    assert main(base + ["--mac-latency", "2", "--acc-latency", "2", "--skew", "edge", "--weight-load-cycles", "2",
                        "--weight-path", "pipeline", "--overlap"]) == 0
    report = json.loads(capsys.readouterr().out)
    spec = SystolicArraySpec(rows=4, cols=3, double_buffer=True, mac_latency=2, acc_latency=2, skew="edge",
                             weight_load_cycles=2, weight_path="pipeline")
    assert report["values_match_numpy"] and report["cycles"] == gemm_cycles(spec, 9, 5, 7)
    assert report["first_output_cycle"] == tile_timing(spec, 9, 5, 7).first_output
    assert main(base + ["--preset", "onnxim"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["cycles"] == gemm_cycles(_onnxim("ws", 4, 3), 9, 5, 7) and report["min_interval"] == 4
    assert main(base + ["--preset", "scalesim", "--dataflow", "os"]) == 0
    assert json.loads(capsys.readouterr().out)["cycles"] == onnxim_os_cycles(4, 3, 9, 5, 7)  # the same rule


@pytest.mark.parametrize(("flags", "message"), [
    (["--mac-latency", "0"], "error: <command line> --mac-latency: --mac-latency must be a positive integer, not 0"),
    (["--acc-latency", "two"], "--acc-latency must be a positive integer, not 'two'"),
    (["--skew", "diagonal"], "--skew: skew must be one of array, edge, not 'diagonal'"),
    (["--preset", "timeloop"], "--preset: systolic preset must be one of onnxim, scalesim, not 'timeloop'"),
    (["--drain", "parallel"], "--drain: drain must be in_place for dataflow ws"),
])
def test_cli_kernel_systolic_bad_values_exit_1_with_one_line(capsys, flags, message):
    from einsim.analysis.cli import main

    base = ["kernel", "systolic", "--rows", "4", "--cols", "3", "--m", "9", "--k", "5", "--n", "7"]
    assert main(base + flags) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1

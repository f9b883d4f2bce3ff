"""NPUs on the evaluation core: systolic-array tile timing joins the register-level closed form, unit instances,
private memory levels, every library cascade on every NPU preset, and the event engine agreeing with the analytical
model on NPU points."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

import einsim
from einsim.arch import arch_from_text
from einsim.arch.systolic import SystolicArraySpec, load_systolic_preset
from einsim.mappings import load_mapping_set, mapping_from_text
from einsim.sim import evaluate, simulate
from einsim.sim.systolic_timing import gemm_cycles
from einsim.workloads import load_cascade, load_model

CORE = """
name: one-core
kind: npu
clock_hz: 1.0e+9
word_bytes: 2
units:
  systolic:
    kind: systolic_array
    rows: ROWS
    cols: COLS
    dataflow: DATAFLOW
    instances: INSTANCES
    microarchitecture: {preset: PRESET}
    energy_pj: {mac: 1.0}
memory:
  - {name: dram, kind: dram, bandwidth_bytes_per_s: BW, access_bits: 64, energy_pj: {read: 1.0, write: 1.0}}
  - {name: buffer, kind: buffer, capacity_bytes: 268435456, access_bits: 2048, energy_pj: {read: 1.0, write: 1.0},
     area_um2: 1.0}
"""

# one fold per tile: a K block down the rows, an N block across the columns, all of M streamed (WS); the K loop
# outermost, so Z (not indexed by K) is stored once at the end and the tiles run back to back
FOLDS = """
name: folds
cascade: gemm
binding: {default: systolic}
groups:
  - einsums: all
    instances: INSTANCES
    loops: [[K, KT], [N, NT]]
    spatial:
      systolic: {rows: K, cols: N}
    pipeline: in_order
"""


def _core(rows=128, cols=128, dataflow="ws", preset="scalesim", instances=1, bw="1.0e+21"):
    text = CORE
    for k, v in (("ROWS", rows), ("COLS", cols), ("DATAFLOW", dataflow), ("PRESET", preset),
                 ("INSTANCES", instances), ("BW", bw)):
        text = text.replace(k, str(v))
    return arch_from_text(text)


def _folds(nt, kt, instances=1):
    return mapping_from_text(FOLDS.replace("NT", str(nt)).replace("KT", str(kt)).replace("INSTANCES", str(instances)))


def test_gemm_2048_cubed_on_one_128x128_ws_core_with_scalesims_parameters_is_scalesims_formula():
    r = evaluate(load_cascade("gemm"), _core(), _folds(128, 128), {"M": 2048, "K": 2048, "N": 2048})
    assert r.ok, r.reason
    # SCALE-Sim WS: (2R + C + T - 2) * ceil(K / R) * ceil(N / C) with T = M (DESIGN.md)
    assert r.summary["cycles"] == pytest.approx((2 * 128 + 128 + 2048 - 2) * 16 * 16, rel=1e-9)
    assert r.summary["cycles"] == pytest.approx(622_080, rel=1e-9)


@pytest.mark.slow
@given(rows=st.sampled_from([2, 4, 8]), cols=st.sampled_from([2, 4, 8]), m=st.integers(1, 40),
       kf=st.integers(1, 3), nf=st.integers(1, 3), preset=st.sampled_from(["scalesim", "onnxim"]),
       dataflow=st.sampled_from(["ws", "os"]))
def test_tile_tasks_take_the_closed_form_of_the_array(rows, cols, m, kf, nf, preset, dataflow):
    """A GEMM of fold-sized tiles back to back takes the register-level closed form's cycles for the whole GEMM."""
    k, n = kf * rows, nf * cols
    arch = _core(rows, cols, dataflow, preset)
    if dataflow == "ws":
        mapping = _folds(cols, rows)
    else:   # OS: M down the rows, N across the columns, K streamed: one fold per (M block, N block)
        mapping = mapping_from_text(FOLDS.replace("[[K, KT], [N, NT]]", f"[[M, {rows}], [N, {cols}]]")
                                    .replace("{rows: K, cols: N}", "{rows: M, cols: N}").replace("INSTANCES", "1"))
        m = rows * (1 + m % 3)
    r = evaluate(load_cascade("gemm"), arch, mapping, {"M": m, "K": k, "N": n})
    assert r.ok, r.reason
    spec = SystolicArraySpec(rows=rows, cols=cols, dataflow=dataflow, **load_systolic_preset(preset, dataflow))
    assert r.summary["cycles"] == pytest.approx(gemm_cycles(spec, m, k, n), rel=1e-9, abs=1e-6)


def test_instances_split_a_compute_bound_gemm_and_share_dram():
    sizes = {"M": 1024, "K": 1024, "N": 1024}
    spread = FOLDS.replace("[[K, KT], [N, NT]]", "[[N, 256], [K, 1024], [N, 128]]")   # N blocks over the instances
    one = evaluate(load_cascade("gemm"), _core(preset="onnxim"), mapping_from_text(spread.replace("INSTANCES", "1")),
                   sizes)
    four = evaluate(load_cascade("gemm"), _core(preset="onnxim", instances=4),
                    mapping_from_text(spread.replace("INSTANCES", "4")), sizes)
    assert one.ok and four.ok
    assert four.summary["cycles"] == pytest.approx(one.summary["cycles"] / 4, rel=0.02)
    assert four.summary["util_systolic"] == pytest.approx(one.summary["util_systolic"], rel=0.02)
    assert four.summary["energy_pj"] == pytest.approx(one.summary["energy_pj"], rel=1e-9)   # same work
    # with a slow DRAM the four instances share its bandwidth: no faster than the DRAM allows
    slow = _core(preset="onnxim", instances=4, bw="1.0e+10")
    r = evaluate(load_cascade("gemm"), slow, mapping_from_text(spread.replace("INSTANCES", "4")), sizes)
    assert r.summary["cycles"] >= r.summary["dram_bytes"] / 10.0 * (1 - 1e-9)


def test_a_private_level_holds_one_instances_tiles_and_a_shared_one_all_of_them():
    npu = einsim.load_arch("neupims-npu")
    acc = npu.level("accumulator")
    assert acc.private and npu.copies(acc) == 8 and npu.copies(npu.level("scratchpad")) == 1
    m = mapping_from_text("""
name: big-z
cascade: gemm
binding: {default: systolic}
groups:
  - einsums: all
    instances: all
    loops: [[N, 256], [M, 2048], [K, 128]]
    spatial:
      systolic: {rows: K, cols: N}
    levels: {Z: accumulator}
""")
    sizes = {"M": 2048, "K": 2048, "N": 2048}
    r = evaluate(load_cascade("gemm"), npu, m, sizes)    # Z tile 2048 x 256 x 2 B = 1 MiB: fits one array's 1 MiB
    assert r.ok, r.reason
    shared = npu.with_level("accumulator", private=False)   # eight arrays' Z tiles in one 1 MiB: overflow
    r = evaluate(load_cascade("gemm"), shared, m, sizes)
    assert not r.ok and "needs 1.00 MiB of accumulator" in r.reason and "0.12 MiB" in r.reason


SMALL = {"gemm": {"M": 256, "K": 256, "N": 256}, "gemv": {"M": 1024, "K": 512},
         "ffn": {"M": 128, "D": 256, "FF": 1024}, "ffn_swiglu": {"M": 128, "D": 256, "FF": 1024},
         "attention_1pass": {"B": 1, "H": 8, "M": 512, "P": 512, "E": 64, "F": 64},
         "attention_2pass": {"B": 1, "H": 8, "M": 512, "P": 512, "E": 64, "F": 64},
         "attention_3pass": {"B": 1, "H": 8, "M": 512, "P": 512, "E": 64, "F": 64},
         "attention_decode": {"B": 16, "H": 8, "M": 512, "E": 64, "F": 64},
         "attention_decode_gqa": {"B": 16, "G": 2, "R": 4, "M": 512, "E": 64, "F": 64},
         "attention_1pass_gqa": {"B": 1, "G": 2, "R": 4, "M": 512, "P": 512, "E": 64, "F": 64}}


@pytest.mark.parametrize("arch", ["neupims-npu", "tpuv4-like", "gemmini-like"])
def test_every_library_cascade_runs_on_every_npu_preset(arch):
    a = einsim.load_arch(arch)
    ms = load_mapping_set("npu")
    assert set(SMALL) == set(ms.mappings)
    for cascade, sizes in SMALL.items():
        r = evaluate(load_cascade(cascade), a, ms.for_cascade(cascade), sizes)
        assert r.ok, f"{cascade} on {arch}: {r.reason}"
        busy = sum(r.summary[f"util_{u.name}"] for u in a.units)
        assert r.summary["cycles"] > 0 and busy > 0 and r.summary["energy_pj"] > 0


def test_decode_attention_on_the_npu_is_bandwidth_bound():
    a = einsim.load_arch("neupims-npu")
    layer = next(L for L in load_model("gpt3-7b-decode").instantiate(seq_len=2048) if L.role == "attention")
    r = evaluate(load_cascade(layer.cascade), a, load_mapping_set("npu").for_cascade(layer.cascade),
                 dict(layer.sizes))
    assert r.ok, r.reason
    s = layer.sizes
    kv_bytes = 2 * s["B"] * s["H"] * s["M"] * s["E"] * a.word_bytes                  # the K and V caches, once
    assert r.summary["dram_bytes"] == pytest.approx(kv_bytes, rel=0.01)
    assert r.summary["latency_s"] == pytest.approx(kv_bytes / a.dram.bandwidth_bytes_per_s, rel=0.03)


@pytest.mark.parametrize(("arch", "cascade", "sizes"), [
    ("tpuv4-like", "gemm", {"M": 1024, "K": 1024, "N": 1024}),
    ("gemmini-like", "gemm", {"M": 256, "K": 256, "N": 256}),
    ("neupims-npu", "attention_decode", {"B": 16, "H": 8, "M": 1024, "E": 128, "F": 128}),
    ("neupims-npu", "attention_1pass", {"B": 1, "H": 8, "M": 4096, "P": 4096, "E": 128, "F": 128}),
])
def test_event_engine_agrees_with_the_analytical_model_on_npu_points(arch, cascade, sizes):
    a = einsim.load_arch(arch)
    m = load_mapping_set("npu").for_cascade(cascade)
    r = simulate(load_cascade(cascade), a, m, sizes)
    assert r.ok, r.reason
    assert r.summary["cycles"] == pytest.approx(r.summary["analytical_cycles"], rel=0.02)

"""The Numba kernels of the analytical timing model against their plain-Python references (sim.analytical,
sim.maxplus, sim.window) on the plans of the FuseMax study's configurations and NPU mappings, and the batched fast
path against evaluate() on random tile choices."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import einsim
from einsim.mappings import load_mapping, mapping_from_text
from einsim.sim import analytical, maxplus, window
from einsim.sim.evaluate import bind_sizes, evaluate_fixed
from einsim.sim.fastpath import evaluate_group_tiles, group_choices
from einsim.sim.kernels import timing as kernel
from einsim.sim.mapper import best_mapping
from einsim.sim.plan import lower
from einsim.sim.timing import plan_timing
from einsim.workloads import load_cascade

POINTS = [("binding", "attention_1pass", "fusemax", 1024), ("binding", "attention_1pass", "fusemax", 65536),
          ("arch", "attention_1pass", "fusemax", 4096), ("flat", "attention_3pass", "flat", 4096),
          ("flat", "attention_3pass", "flat", 1048576), ("unfused", "attention_3pass", "flat", 16384),
          ("cascade", "attention_1pass", "flat", 1024)]


def _plans():
    out = []
    for mapping, cascade, arch, s in POINTS:
        c, a = load_cascade(cascade), einsim.load_arch(arch)
        sizes = {"B": 64, "H": 12, "M": s, "P": s, "E": 64, "F": 64}
        m, _ = best_mapping(c, a, load_mapping(mapping), sizes)
        out += [(f"{mapping}-{s}-{p.name}", p) for p in lower(c, bind_sizes(c, m, sizes), a, m)]
    c, a = load_cascade("gemm"), einsim.load_arch("neupims-npu")
    m, _ = best_mapping(c, a, load_mapping("npu-gemm"), {"M": 2048, "K": 2048, "N": 2048})
    out += [(f"npu-gemm-{p.name}", p) for p in lower(c, bind_sizes(c, m, {"M": 2048, "K": 2048, "N": 2048}), a, m)]
    return out


PLANS = _plans()


def _args(p):
    return dict(res=p.resource.astype(np.int64), level=p.level.astype(np.int64), phase=p.phase.astype(np.int64),
                cyc=p.cycles, lat=p.latency, dep_ptr=p.dep_ptr, dep_idx=p.dep_idx, c_src=p.carry_src,
                c_dst=p.carry_dst, c_dist=p.carry_dist.astype(np.int64), c_loop=p.carry_loop,
                trips=p.trips.astype(np.int64))


@pytest.mark.parametrize(("name", "plan"), PLANS, ids=[n for n, _ in PLANS])
def test_kernels_equal_their_references(name, plan):
    x, n = _args(plan), len(plan.trips)
    n_res = len(plan.resources)
    for k in range(n + 1):
        tasks = np.nonzero(plan.level == k)[0]
        if not len(tasks):
            continue
        sel = plan.level == k
        assert kernel.makespan(sel, x["res"], x["cyc"], x["lat"], x["dep_ptr"], x["dep_idx"], n_res) == \
            analytical.makespan(plan, tasks)
        for order in (False, True):
            src, dst, w, dist = analytical._edges(plan, tasks, order)
            # to the last bit compiled; interpreted (NUMBA_DISABLE_JIT=1) the bisection's sums may round one ulp
            # apart on some plans (FLAT's at 4K and 1M)
            assert kernel.level_ratio(k, order, x["res"], x["level"], x["cyc"], x["lat"], x["dep_ptr"], x["dep_idx"],
                                      x["c_src"], x["c_dst"], x["c_dist"]) == \
                pytest.approx(analytical.max_cycle_ratio(len(tasks), src, dst, w, dist), rel=1e-14)
    assert kernel.in_order_latency(n_res, x["res"], x["level"], x["phase"], x["cyc"], x["lat"], x["dep_ptr"],
                                   x["dep_idx"], x["c_src"], x["c_dst"], x["c_dist"], x["c_loop"], x["trips"]) == \
        maxplus.in_order_latency(plan)
    body = np.nonzero(plan.level == n)[0]
    w = plan.window
    assert np.array_equal(kernel.windowed_finish(body.astype(np.int64), x["res"], x["cyc"], x["lat"], x["dep_ptr"],
                                                 x["dep_idx"], x["c_src"], x["c_dst"], x["c_dist"], w, 4 * w),
                          window.windowed_finish(plan, body, w, 4 * w))
    cycles, busy = plan_timing(plan)
    ref = analytical.group_cycles(plan)
    assert cycles == pytest.approx(ref["cycles"], rel=1e-12)
    assert busy == pytest.approx(ref["resource_cycles"], rel=1e-12)


GEMM_TEMPLATE = """
name: free-tiles
cascade: gemm
binding: {default: array2d}
groups:
  - einsums: all
    loops: [[N, {best_of: [1]}], [M, {best_of: [1]}], [K, {best_of: [1]}], [M, {best_of: [1]}], [N, {best_of: [1]}]]
    hold: {B: 1}
    spatial:
      array2d: {rows: M, cols: N}
    pipeline: PIPE
"""


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(pipe=st.sampled_from(["serial", "in_order", "interleave"]),
       tiles=st.lists(st.tuples(*[st.sampled_from([1, 2, 4, 8, 16, 32, 64, 128, 256, 512])] * 5), min_size=1,
                      max_size=6))
def test_fast_path_equals_evaluate_on_random_tiles(pipe, tiles):
    c, a = load_cascade("gemm"), einsim.load_arch("fusemax")
    template = mapping_from_text(GEMM_TEMPLATE.replace("PIPE", pipe))
    sizes = {"M": 512, "K": 256, "N": 512}
    batch = evaluate_group_tiles(c, bind_sizes(c, template, sizes), a, template, 0, np.array(tiles))
    keys = group_choices(template, 0)
    for row, t in enumerate(tiles):
        r = evaluate_fixed(c, a, template.with_tiles(dict(zip(keys, t, strict=True))), sizes)
        assert bool(batch.ok[row]) == r.ok, (t, r.reason, batch.reasons.get(row))
        if r.ok:
            assert batch.cycles[row] == r.summary["cycles"]                       # one kernel: bit for bit
            assert batch.energy_pj[row] == pytest.approx(r.summary["energy_pj"], rel=1e-12)
        else:
            assert batch.reasons[row] == r.reason

"""Max-plus latency of in_order plans: the algebra, and equality with the event engine on nested loops."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_arch_spec import GOOD as TINY

import einsim.arch as arch
import einsim.mappings as mappings
import einsim.workloads as workloads
from einsim.sim import evaluate, simulate
from einsim.sim.engine_program import run
from einsim.sim.mapper import best_mapping
from einsim.sim.maxplus import in_order_latency, mp_mul, mp_power
from einsim.sim.plan import lower
from einsim.sim.simulate import program_of, window_of

GEMM_MAP = """\
name: tiny-gemm
binding: {default: array2d}
groups:
  - einsums: all
    loops: [[N, NB], [M, MT], [N, NT]]
    hold: {B: 1}
    spatial: {array2d: {rows: M, cols: N}}
    pipeline: in_order
"""


def test_max_plus_product_and_power_by_hand():
    a = np.array([[1.0, -np.inf], [2.0, 0.5]])
    assert mp_mul(a, a).tolist() == [[2.0, -np.inf], [3.0, 1.0]]     # [1][0] = max(2 + 1, 0.5 + 2)
    assert mp_power(a, 0).tolist() == [[0.0, -np.inf], [-np.inf, 0.0]]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=9, max_size=9), st.integers(0, 9))
def test_power_by_squaring_equals_repeated_products(vals, e):
    a = np.array(vals).reshape(3, 3)
    a[0, 2] = -np.inf
    want = mp_power(a, 0)
    for _ in range(e):
        want = mp_mul(a, want)
    assert np.allclose(mp_power(a, e), want)


def _tiny_gemm(nb, mt, nt, m, k, n):
    text = GEMM_MAP.replace("NB", str(nb)).replace("MT", str(mt)).replace("NT", str(nt))
    return workloads.load_cascade("gemm"), arch.arch_from_text(TINY), mappings.mapping_from_text(text), \
        {"M": m, "K": k, "N": n}


@settings(max_examples=15, deadline=None)
@given(st.sampled_from([(8, 4, 4), (8, 2, 2), (4, 4, 4), (8, 4, 2), (8, 1, 4)]), st.sampled_from([1, 2]),
       st.sampled_from([2, 4, 8]))
def test_in_order_closed_form_equals_the_engine_on_nested_loops(tiles, rep, k):
    # outer-level loads and stores queue on DRAM between the inner tiles: the engine and the closed form must
    # agree to the engine's tick (1/64 cycle per task)
    nb, mt, nt = tiles
    c, a, m, sizes = _tiny_gemm(nb, mt, nt, 8 * rep, k, 8 * rep)
    an, ev = evaluate(c, a, m, sizes), simulate(c, a, m, sizes, exact=True)
    assert an.ok and ev.ok
    assert ev.summary["cycles"] == pytest.approx(an.summary["cycles"], abs=1.0)


def _in_order(m):
    return dataclasses.replace(m, groups=tuple(dataclasses.replace(g, pipeline="in_order", window=None)
                                               for g in m.groups))


@pytest.mark.parametrize("mapping, cascade", [("arch", "attention_1pass"), ("unfused", "attention_3pass")])
def test_in_order_attention_equals_the_engine(mapping, cascade):
    # the presets with every unit in program order: arch: per-m1 K and V loads overlap the previous tiles' compute,
    # and the block's AV store and the next block's Q load queue on DRAM; unfused: the AV group's store waits for
    # the block's last AV and its drain
    layer = next(L for L in workloads.load_model("bert").instantiate(seq_len=1024) if L.role == "attention")
    c, a, m = workloads.load_cascade(cascade), arch.load_arch("fusemax"), _in_order(mappings.load_mapping(mapping))
    m, _ = best_mapping(c, a, m, dict(layer.sizes))
    plans = [p for p in lower(c, c.bind({**layer.sizes, **m.partitions}), a, m) if p.pipeline == "in_order"]
    assert plans
    for p in plans:
        ev = run(program_of(p, c, window_of(p, c, a)))
        # the engine rounds each task to its 1/64-cycle tick (a 256 x 256 score tile's store: 286.865 cycles ->
        # 286.859): some 0.1 cycle a block
        assert ev.cycles == pytest.approx(in_order_latency(p), rel=5e-5)


def test_carried_recurrence_restarts_in_the_closed_form():
    # the arch mapping's RM/RD/RNV recurrences are carried over M1 (distance = the P tiles inside it); the first
    # m1 of each block has no predecessor, so dropping the restart can only lengthen the schedule
    layer = next(L for L in workloads.load_model("bert").instantiate(seq_len=1024) if L.role == "attention")
    c, a = workloads.load_cascade("attention_1pass"), arch.load_arch("fusemax")
    m = _in_order(mappings.load_mapping("arch"))
    m, _ = best_mapping(c, a, m, dict(layer.sizes))
    (p,) = lower(c, c.bind({**layer.sizes, **m.partitions}), a, m)
    assert len(p.carry_loop) and set(p.carry_loop.tolist()) == {p.loop_ranks.index("M1")}
    never = dataclasses.replace(p, carry_loop=np.full_like(p.carry_loop, len(p.trips)))
    assert in_order_latency(never) >= in_order_latency(p) > 0

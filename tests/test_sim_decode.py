"""Decode iterations on NPU+PIM systems: per-channel aggregation of per-request costs (hand-checked and against a
reference loop), the cost curves against the plan, NeuPIMs' K/V layouts in pim_tile, the sub-batch split, sub-batch
interleaving helping only with both NPU and PIM work and a PIM with its own row buffer, memory accounting, the PIM
command counts against the PIM programs, and the event engine against the analytical model."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from einsim.arch import load_arch
from einsim.arch.dram import load_dram
from einsim.mappings import load_mapping
from einsim.sim import dram_commands as dc
from einsim.sim.decode import DecodeBatch, DecodeSystem, split_sub_batches
from einsim.sim.decode_commands import AttentionShape, layer_commands, layer_program
from einsim.sim.dram_timing import pim_gemv_cycles
from einsim.sim.group_costs import CostCache, arch_used, group_costs
from einsim.sim.request_costs import GroupCurve, aggregate, anchors_for
from einsim.sim.stages import StageGroup, stage_cycles
from einsim.workloads import load_cascade

RES = ("systolic", "vector", "pim", "dram")


def _curve(channel_bound, instances=2):
    return GroupCurve(name="g", units=("u",), channel_bound=channel_bound, instances=instances,
                      anchors=np.array([32.0, 64.0]), cycles=np.array([100.0, 200.0]),
                      resource_cycles={"pim": np.array([90.0, 180.0]), "dram": np.array([10.0, 20.0])},
                      energy_pj=np.array([1.0, 2.0]), dram_bytes=np.array([0.0, 0.0]),
                      pe_cycles={"u": np.array([5.0, 10.0])}, pim_resource="pim")


def test_aggregate_by_hand():
    ctx, ch = np.array([32, 64, 48]), np.array([0, 0, 1])
    a = aggregate(_curve(True), ctx, ch)                 # channel 0: 100 + 200, channel 1: 150 (interpolated)
    assert a.cycles == 300.0 and a.resource_cycles == {"pim": 270.0, "dram": 30.0}
    assert list(a.channel_busy) == [270.0, 135.0]
    assert a.energy_pj == pytest.approx(4.5) and a.pe_cycles == {"u": pytest.approx(22.5)}
    b = aggregate(_curve(False), ctx, ch)                # 450 cycles of work over 2 instances, longest 200
    assert b.cycles == 225.0 and b.resource_cycles["pim"] == pytest.approx(202.5)
    one = aggregate(_curve(False), np.array([64]), np.array([0]))
    assert one.cycles == 200.0                           # a single request cannot be split
    with pytest.raises(ValueError, match="channels must be in"):
        aggregate(_curve(True), np.array([32]), np.array([2]))


@given(st.lists(st.tuples(st.integers(1, 4).map(lambda k: 32 * k), st.integers(0, 3)), min_size=1, max_size=40))
def test_aggregate_matches_a_reference_loop(reqs):
    curve = GroupCurve(name="g", units=("u",), channel_bound=True, instances=4,
                       anchors=np.array([32.0, 64.0, 96.0, 128.0]), cycles=np.array([7.0, 11.0, 19.0, 23.0]),
                       resource_cycles={"pim": np.array([7.0, 11.0, 19.0, 23.0])}, energy_pj=np.ones(4),
                       dram_bytes=np.zeros(4), pe_cycles={}, pim_resource="pim")
    ctx, ch = np.array([r[0] for r in reqs]), np.array([r[1] for r in reqs])
    per = {32: 7.0, 64: 11.0, 96: 19.0, 128: 23.0}
    loads = [0.0] * 4
    for x, c in reqs:
        loads[c] += per[x]
    assert aggregate(curve, ctx, ch).cycles == max(loads)


def test_anchor_grid():
    assert list(anchors_for(300, 32)) == [32, 64, 128, 256, 288, 512]
    assert list(anchors_for(2048, 32))[-4:] == [1568, 1792, 1824, 2048]
    assert all(a % 32 == 0 for a in anchors_for(5000, 32))


def test_pim_tile_lays_heads_along_the_row_for_k_and_one_gemv_per_head_for_v():
    """The QK group of neupims-decode-attention runs NeuPIMs' K program (a request's heads side by side in each
    row, a READRES per head), SNV one V GEMV per head: the plan's PIM busy equals the command-level closed form."""
    arch, dev = load_arch("neupims"), load_dram("hbm2-pim")
    costs = group_costs(load_cascade("attention_decode"), arch, load_mapping("neupims-decode-attention"),
                        dict(B=32, H=8, M=300, E=128, F=128))
    by = {c.einsums: c for c in costs}
    assert by[("QK",)].resource_cycles["pim"] == pim_gemv_cycles(dev, 300, 8 * 128, segment=128)
    assert by[("SNV",)].resource_cycles["pim"] == 8 * pim_gemv_cycles(dev, 128, 300)


@pytest.fixture(scope="module")
def cache():
    return CostCache()


@pytest.fixture(scope="module")
def neupims(cache):
    return DecodeSystem.load("gpt3-7b-decode", "neupims", tp=4, cache=cache)


@pytest.mark.parametrize("context", [40, 300, 700, 1500])
def test_cost_curves_follow_the_plan(neupims, context):
    """A request's attention cost interpolated between anchors equals the plan evaluated at its (page-rounded)
    context within 1% for the PIM groups, 5% for the small vector groups."""
    page = neupims.page
    q = -(-context // page) * page
    curves = neupims.curves("attention", q)
    n = neupims.eval_requests("attention")
    layer = next(x for x in neupims.model.instantiate(seq_len=q, B=n, TP=4) if x.name == "attention")
    plan = group_costs(load_cascade(layer.cascade), neupims.arch, neupims.mappings.for_cascade(layer.cascade),
                       dict(layer.sizes))
    for c, g in zip(curves, plan, strict=True):
        exact = g.cycles * g.copies / n
        tol = 0.01 if c.channel_bound else 0.05
        assert c.at(np.array([q]), c.cycles)[0] == pytest.approx(exact, rel=tol), c.name


def test_split_sub_batches_halves_each_channel():
    b = DecodeBatch(context=[10, 20, 30, 40, 50, 60], channel=[0, 0, 0, 1, 1, 2])
    one, two = split_sub_batches(b, 2)
    # channel 0 (3 requests): 2 + 1; channel 1: 1 + 1; channel 2 (1 request): the odd one goes to the other half
    assert list(one.context) == [10, 20, 40] and list(two.context) == [30, 50, 60]
    assert split_sub_batches(b, 1)[0] is b


def _groups(npu, pim, blocked):
    pres = "dram" if blocked else "pim"
    return [StageGroup(name="attention", cycles=pim, resource_cycles={pres: pim}),
            StageGroup(name="gemms", cycles=npu, resource_cycles={"systolic": 0.6 * npu, "dram": npu})]


@pytest.mark.parametrize("blocked", [False, True])
def test_interleaving_helps_only_with_both_kinds_of_work_and_its_own_row_buffer(blocked):
    """Per layer: one sub-batch runs the NPU's GEMMs (N(B)) then the PIM's attention (P(B)) in turn; two
    sub-batches of half the batch can overlap one's GEMMs with the other's attention. Decode GEMMs are weight-bound,
    so a half batch costs almost as much (0.9 N(B))."""
    excl = ("dram",) if blocked else ()
    layers = 32

    def per_layer(npu, pim, parts):
        g = _groups(npu * (0.9 if parts == 2 else 1.0), pim / parts, blocked)
        return stage_cycles(g, trips=layers * parts, pipeline="interleave", resources=RES, window=parts,
                            exclusive=excl)["cycles"] / layers

    both = per_layer(100.0, 100.0, 2) / per_layer(100.0, 100.0, 1)
    little_pim = per_layer(100.0, 5.0, 2) / per_layer(100.0, 5.0, 1)
    assert little_pim > 1.0                      # nothing to overlap: the second GEMM pass is pure cost
    if blocked:
        assert both > 1.0                        # the channel's one row buffer: NPU and PIM take turns anyway
    else:
        assert both < 0.95                       # max(1.8 N, P) + fill, not 2 N + P


def test_interleaving_on_the_real_systems(neupims, cache):
    """GPT-3 7B at batch 512 (NeuPIMs' trace sizes): two sub-batches help NeuPIMs, not the blocked naive system."""
    rng = np.random.default_rng(0)
    b = DecodeBatch(context=rng.integers(1, 600, 512), channel=np.arange(512) % 32)
    naive = DecodeSystem.load("gpt3-7b-decode", "npu-pim-naive", tp=4, cache=cache)
    gain = {s.serving.name: s.iteration(b, sub_batches=1).cycles / s.iteration(b, sub_batches=2).cycles
            for s in (neupims, naive)}
    assert gain["neupims"] > 1.1 and gain["npu-pim-naive"] < 1.0
    assert neupims.iteration(b).sub_batches == 2         # best_of [1, 2] takes the faster


def test_memory_accounting(neupims):
    # GPT-3 7B over TP 4: per layer 4096 x 3072 + 1024 x 4096 + 2 x 4096 x 4096 weights, 32 layers, 2 bytes
    assert neupims.weight_bytes == 32 * 2 * (4096 * 3072 + 1024 * 4096 + 2 * 4096 * 4096)
    assert neupims.kv_bytes_per_token == 32 * 2 * 8 * 128 * 2      # K and V, 8 heads of 128, 2 bytes, 32 layers
    free = 32 * 2**30 - neupims.weight_bytes
    assert neupims.kv_capacity_tokens() == pytest.approx(free / neupims.kv_bytes_per_token / 32)


def test_arch_used_shares_costs_between_architectures_with_one_npu():
    m = load_mapping("npu-gemm-decode")
    assert arch_used(load_arch("neupims"), m) == arch_used(load_arch("neupims-npu"), m)
    pim = load_mapping("neupims-decode-attention")
    assert arch_used(load_arch("neupims"), pim) != arch_used(load_arch("npu-pim-naive"), pim)


def test_command_counts_against_the_programs():
    spec = load_dram("hbm2-pim")
    shape = AttentionShape.of_sizes({"B": 4, "H": 8, "M": 1, "E": 128, "F": 128})
    ctx, ch = np.array([5, 300, 513, 33]), np.array([0, 1, 1, 3])
    prog = layer_program(spec, shape, ctx, ch)
    counts = layer_commands(spec, shape, ctx)
    assert counts["GWRITE"] == int(np.sum(prog.kind == dc.GWRITE_ROW))
    assert counts["G_ACT"] == int(np.sum(prog.kind == dc.P_HEADER)) * spec.ranks * spec.bankgroups
    assert counts["COMP"] == int(prog.arg[prog.kind == dc.COMPS_READRES].sum())
    assert counts["READRES"] == int(np.sum(prog.kind == dc.COMPS_READRES))
    # by hand for 300 tokens: K = 2 chunks (1024 / 512) x 10 tiles (300 / 32) x 4 heads per chunk, 8 COMPs each;
    # V = 8 heads x 4 tiles (128 / 32) x 1 chunk of ceil(300 / 16) = 19 COMPs
    one = layer_commands(spec, shape, [300])
    assert one == {"GWRITE": 2 + 8, "G_ACT": (20 + 32) * 8, "COMP": 20 * 32 + 32 * 19, "READRES": 20 * 4 + 32}


def test_gqa_shape():
    s = AttentionShape.of_sizes({"B": 1, "G": 2, "R": 4, "M": 1, "E": 128, "F": 128})
    assert (s.heads, s.repeats, s.v_gemvs) == (2, 4, 8)
    with pytest.raises(ValueError, match="needs sizes"):
        AttentionShape.of_sizes({"M": 3})


@pytest.mark.slow
def test_event_engine_agrees_with_the_analytical_model(cache):
    rng = np.random.default_rng(1)
    b = DecodeBatch(context=rng.integers(1, 800, 64), channel=np.arange(64) % 32)
    for config in ("npu-only", "npu-pim-naive", "neupims"):
        a = DecodeSystem.load("gpt3-7b-decode", config, tp=4).iteration(b, sub_batches=2).cycles
        e = DecodeSystem.load("gpt3-7b-decode", config, tp=4, engine="event").iteration(b, sub_batches=2).cycles
        assert e == pytest.approx(a, rel=0.05), config


def test_decode_batch_checks():
    with pytest.raises(ValueError, match="one entry per request"):
        DecodeBatch(context=[1, 2], channel=[0])
    with pytest.raises(ValueError, match="positive"):
        DecodeBatch(context=[0], channel=[0])


@pytest.mark.parametrize("context", [64, 300, 2048])
def test_npu_only_attention_is_dram_bound_on_either_npu_unit(context):
    """NPU-only decode attention streams each KV cache once: on the vector units it takes the DRAM time of the K and
    V bytes within 5%; as GEMVs on the systolic arrays (NeuPIMs' FusedMHA) too once contexts are long, while short
    ones pay each weight block's fill and drain (13% more at 64 tokens)."""
    arch, sizes = load_arch("neupims-npu"), dict(B=32, H=8, M=context, E=128, F=128)
    kv_cycles = 32 * 2 * 8 * 128 * context * 2 / 1024        # 32 requests' K and V bytes at 1 KB per cycle
    cyc = {m: group_costs(load_cascade("attention_decode"), arch, load_mapping(m), sizes)[0].cycles
           for m in ("npu-decode-attention-serving", "npu-decode-attention-systolic")}
    assert cyc["npu-decode-attention-serving"] == pytest.approx(kv_cycles, rel=0.05)
    systolic = cyc["npu-decode-attention-systolic"] / kv_cycles
    assert 0.99 < systolic < (1.05 if context >= 300 else 1.2)

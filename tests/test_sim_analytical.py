"""The analytical model on hand-checkable cases, infeasible mappings, every preset, and YAML-only variants."""

import dataclasses

import numpy as np
import pytest
from test_arch_spec import GOOD as TINY

import einsim.arch as arch
import einsim.mappings as mappings
import einsim.workloads as workloads
from einsim.mappings.loader import PRESET_DIR
from einsim.sim import evaluate, lower
from einsim.sim.analytical import max_cycle_ratio

GEMM_MAP = """\
name: tiny-gemm
binding: {default: array2d}
groups:
  - einsums: all
    loops: [[N, 8], [M, 4], [N, 4]]
    hold: {B: 1}
    spatial: {array2d: {rows: M, cols: N}}
    pipeline: PIPE
"""


def _gemm(pipe):
    return evaluate(workloads.load_cascade("gemm"), arch.arch_from_text(TINY),
                    mappings.mapping_from_text(GEMM_MAP.replace("PIPE", pipe)), {"M": 8, "K": 4, "N": 8})


def test_gemm_on_4x4_array_by_hand():
    # B (K x 8 = 32 words = 64 B) held once; A tiles (4 x 4 = 32 B) once per M tile (2); each of the 4 output tiles
    # takes K = 4 cycles and is stored (32 B). DRAM moves 8 B/cycle.
    r = _gemm("serial")
    assert r.ok, r.reason
    s = r.summary
    assert s["dram_read_bytes"] == 64 + 2 * 32 and s["dram_write_bytes"] == 4 * 32
    assert s["cycles"] == pytest.approx(8 + 2 * 4 + 4 * (4 + 4))        # nothing overlaps
    assert s["peak_buffer_bytes"] == 64 + 32 + 32                        # B block, A tile, Z tile
    assert s["util_array2d"] == pytest.approx(8 * 8 * 4 / (16 * 48))
    e = r.energy_frame().set_index(["component", "action"])
    assert e.loc[("array2d", "mac"), "count"] == 8 * 4 * 8
    assert e.loc[("dram", "read"), "count"] == 128 / 8
    # in order: Z of tile i+1 overlaps the store of tile i, but DRAM runs its queue in program order, so the second
    # A block's load waits behind the first block's last store, which waits for its Z:
    # B 0-8, A 8-12, Z0 12-16, Z1 16-20 | store Z0 16-20, store Z1 20-24, A 24-28, Z2 28-32, Z3 | store Z2 32-36,
    # store Z3 36-40
    r2 = _gemm("in_order")
    assert r2.summary["cycles"] == pytest.approx(40)
    assert r2.summary["peak_buffer_bytes"] == 2 * (64 + 32) + 32         # DRAM inputs double-buffered


def test_a_tile_accumulating_across_an_outer_reduction_loop_is_held_whole():
    # K outermost: each of the 2 K blocks adds into every output tile, so all of Z (8 x 8 words = 128 B) stays in
    # the buffer across the K loop, not one 4 x 4 tile of it (32 B).
    text = GEMM_MAP.replace("PIPE", "serial").replace("loops: [[N, 8], [M, 4], [N, 4]]",
                                                        "loops: [[K, 2], [M, 4], [N, 4]]").replace("hold: {B: 1}", "")
    r = evaluate(workloads.load_cascade("gemm"), arch.arch_from_text(TINY), mappings.mapping_from_text(text),
                 {"M": 8, "K": 4, "N": 8})
    assert r.ok, r.reason
    assert r.summary["peak_buffer_bytes"] >= 128
    assert r.summary["dram_write_bytes"] == 128                         # stored once, after the K loop


def test_infeasible_mappings_say_why():
    c = workloads.load_cascade("gemm")
    a = arch.arch_from_text(TINY)
    bad_tile = mappings.mapping_from_text(GEMM_MAP.replace("PIPE", "serial").replace("[M, 4]", "[M, 3]"))
    r = evaluate(c, a, bad_tile, {"M": 8, "K": 4, "N": 8})
    assert not r.ok and "tile 3 of group0 loop 1 over M does not divide its extent 8" in r.reason
    r = evaluate(c, a, mappings.mapping_from_text(GEMM_MAP.replace("PIPE", "serial")), {"M": 8, "K": 256, "N": 8})
    assert not r.ok and "needs 1.00 MiB" not in r.reason and "more than its 0.00 MiB" in r.reason
    att = workloads.load_cascade("attention_1pass")
    r = evaluate(att, arch.load_arch("flat"), mappings.load_mapping("binding"),
                 {"B": 1, "H": 1, "M": 1024, "P": 1024, "E": 64, "F": 64})
    assert not r.ok and "Einsum 'LM' needs op 'max', which unit 'array2d' of 'flat' lacks" in r.reason


CONFIGS = [("unfused", "attention_3pass", "flat"), ("flat", "attention_3pass", "flat"),
           ("cascade", "attention_1pass", "flat"), ("arch", "attention_1pass", "fusemax"),
           ("binding", "attention_1pass", "fusemax")]
BERT4K = {"B": 64, "H": 12, "M": 4096, "P": 4096, "E": 64, "F": 64}


@pytest.mark.parametrize("mapping,cascade,arch_name", CONFIGS)
def test_every_preset_evaluates(mapping, cascade, arch_name):
    r = evaluate(workloads.load_cascade(cascade), arch.load_arch(arch_name), mappings.load_mapping(mapping), BERT4K)
    assert r.ok, r.reason
    assert r.summary["cycles"] > 0 and r.summary["energy_pj"] > 0
    # the 2D array's matmuls alone bound the time from below
    macs = 64 * 12 * 4096 * 4096 * 128
    assert r.summary["cycles"] >= macs / 65536


def test_fusemax_binding_keeps_the_2d_array_busy_and_beats_flat():
    bind = evaluate(workloads.load_cascade("attention_1pass"), arch.load_arch("fusemax"),
                    mappings.load_mapping("binding"), {**BERT4K, "M": 65536, "P": 65536})
    flat = evaluate(workloads.load_cascade("attention_3pass"), arch.load_arch("flat"),
                    mappings.load_mapping("flat"), {**BERT4K, "M": 65536, "P": 65536})
    assert bind.summary["util_array2d"] > 0.97
    assert flat.summary["cycles"] / bind.summary["cycles"] > 5
    # FuseMax's traffic is Q, K and V re-read per query block plus AV once: no score matrix off chip
    assert bind.summary["dram_bytes"] < flat.summary["dram_bytes"]


def test_yaml_only_variants_evaluate(tmp_path):
    att1, att2 = workloads.load_cascade("attention_1pass"), workloads.load_cascade("attention_2pass")
    fm = arch.load_arch("fusemax")
    small = fm.with_unit("array2d", dims={"rows": 128, "cols": 128}).with_level("global_buffer",
                                                                                 capacity_bytes=8 << 20)
    r = evaluate(att1, small, mappings.load_mapping("binding"), BERT4K)
    assert r.ok, r.reason
    two = """\
name: fusemax-2pass
partitions: {M0: 256}
binding: {default: array1d, BQK: array2d, LM: array2d, SLN: array2d, SLD: array2d, AV: array2d}
groups:
  - einsums: [SQ, BQK, LM, SLN, SLD, GM, PRM, SPD, SD]
    loops: [[B, 1], [H, 1], [P, 1024], [M1, 1], [P, 256]]
    spatial: {array2d: {rows: M0, cols: P}, array1d: {pes: P}}
    on_chip: [SQ, BQK, LM, SLD]
    pipeline: interleave
  - einsums: [A, AV]
    loops: [[B, 1], [H, 1], [P, 256], [M1, 1]]
    spatial: {array2d: {rows: M0, cols: P}, array1d: {pes: P}}
    pipeline: interleave
"""
    p = tmp_path / "twopass.yaml"
    p.write_text(two)
    r = evaluate(att2, fm, mappings.load_mapping(p), BERT4K)
    assert r.ok, r.reason
    flat64 = arch.load_arch("flat").with_unit("array2d", dims={"rows": 64, "cols": 64})
    r = evaluate(workloads.load_cascade("attention_3pass"), flat64, mappings.load_mapping("flat"), BERT4K)
    assert r.ok, r.reason


def test_plan_is_a_documented_struct_of_arrays():
    c = workloads.load_cascade("attention_1pass")
    m = mappings.load_mapping("binding").with_tiles({(0, 2): 4096})
    s = c.bind({**BERT4K, "M0": 256})
    (p,) = lower(c, s, arch.load_arch("fusemax"), m)
    assert list(p.trips) == [64, 12, 1, 16, 16]
    names = list(p.task_name)
    assert names.index("AV") > names.index("RNV") and p.phase[names.index("AV")] == 1
    assert p.level[names.index("BQK")] == 5 and p.cycles[names.index("BQK")] == 64
    assert p.latency[names.index("LM")] == 256          # max over 256 rows drains through the chain
    rm = names.index("RM")
    assert (rm, rm, 16) in set(zip(p.carry_src.tolist(), p.carry_dst.tolist(), p.carry_dist.tolist()))
    assert isinstance(p.cycles, np.ndarray) and p.dep_ptr[-1] == len(p.dep_idx)


def test_max_cycle_ratio_on_a_small_graph():
    # a -> b (3), b -> a next iteration (2): ratio 5; a self-loop of 4 over 2 iterations: 2
    src, dst = np.array([0, 1, 0]), np.array([1, 0, 0])
    w, d = np.array([3.0, 2.0, 4.0]), np.array([0.0, 1.0, 2.0])
    assert max_cycle_ratio(2, src, dst, w, d) == pytest.approx(5.0, rel=1e-6)
    assert max_cycle_ratio(2, np.array([0]), np.array([1]), np.array([1.0]), np.array([0.0])) == 0.0
    _ = dataclasses


def test_spill_follows_the_passes():
    """A FLAT block that overflows the buffer spills what waits across a pass (QK for pass 2, SN for pass 3, and
    the small GM, SD statistics), read back once by the later pass; A streams into AV within pass 3."""
    text = (PRESET_DIR / "flat.yaml").read_text().replace(
        "{best_of: [4096, 2048, 1024, 512, 256, 128, 64, 32, 16, 8, 4, 2, 1]}", "256")
    c = workloads.load_cascade("attention_3pass")
    sizes = c.bind({"B": 1, "H": 1, "M": 262144, "P": 256, "E": 64, "F": 64})
    (plan,) = lower(c, sizes, arch.load_arch("flat"), mappings.mapping_from_text(text))
    names = set(plan.task_name)
    assert {"spill QK", "spill SN", "unspill QK", "unspill SN"} <= names
    assert "spill A" not in names and "unspill A" not in names
    loads = [n for n in plan.task_name if n.startswith("unspill")]
    assert loads.count("unspill QK") == 1 and loads.count("unspill SN") == 1  # only the later pass reads back


@pytest.mark.parametrize("n, tile, expect", [
    # DRAM moves 400 GiB/s / 940 MHz = 456.91 B/cycle; 2-byte words
    # one iteration: load B 256x256 (286.9), load A (286.9), Z 256, store Z (286.9), nothing overlaps
    (256, 256, 3 * 131072 / 456.91 + 256),
    # 16 tiles of 1024 cycles on the array after the prologue (B block 1024x1024: 4589.8, first A block 256x1024:
    # 1147.5), then the last store (286.9); the array is the bottleneck, so the prologue is not hidden
    (1024, 1024, (2097152 + 524288) / 456.91 + 16 * 1024 + 131072 / 456.91),
])
def test_interleave_fill_includes_the_first_outer_loads(n, tile, expect):
    import dataclasses as dc

    from einsim.sim import simulate

    c, a = workloads.load_cascade("gemm"), arch.load_arch("fusemax")
    m = mappings.load_mapping("gemm")
    g = m.groups[0]
    loops = tuple(dc.replace(lp, tile=tile if lp.rank == "N" and j == 0 else lp.tile) for j, lp in enumerate(g.loops))
    m = dc.replace(m, groups=(dc.replace(g, loops=loops, pipeline="interleave"),))
    sizes = {r: n for r in c.ranks}
    r = evaluate(c, a, m, sizes)
    assert r.ok, r.reason
    assert r.summary["cycles"] == pytest.approx(expect, rel=1e-3)
    assert simulate(c, a, m, sizes).summary["cycles"] == pytest.approx(expect, rel=1e-3)


def test_in_pe_intermediates_skip_the_buffer():
    """Keeping BQK and SLN in the 2D array's PEs removes exactly their buffer words: BQK written once and read by
    LM and SLN, SLN written once and read by SLD and SLNV — 6 words per score element, 256 words per 4096-bit row."""
    c = workloads.load_cascade("attention_1pass")
    sizes = {"B": 1, "H": 2, "M": 4096, "P": 1024, "E": 64, "F": 64}
    a = arch.load_arch("fusemax")
    m = mappings.load_mapping("binding")
    m_buf = dataclasses.replace(m, groups=tuple(dataclasses.replace(g, in_pe=()) for g in m.groups))
    kept, buffered = evaluate(c, a, m, sizes), evaluate(c, a, m_buf, sizes)
    assert kept.ok and buffered.ok and kept.choices == buffered.choices

    def rows(r):
        e = r.energy_frame().set_index(["component", "action"])["count"]
        return e[("global_buffer", "read")] + e[("global_buffer", "write")]

    scores = 1 * 2 * 4096 * 1024
    assert rows(buffered) - rows(kept) == pytest.approx(6 * scores / 256)
    assert kept.summary["cycles"] == buffered.summary["cycles"]
    assert kept.summary["peak_buffer_bytes"] < buffered.summary["peak_buffer_bytes"]


def test_in_pe_needs_one_unit():
    text = (PRESET_DIR / "binding.yaml").read_text().replace("in_pe: [BQK, SLN]", "in_pe: [BQK, SLD]")
    r = evaluate(workloads.load_cascade("attention_1pass"), arch.load_arch("fusemax"), mappings.mapping_from_text(text),
                 {"B": 1, "H": 1, "M": 1024, "P": 256, "E": 64, "F": 64})
    assert not r.ok and "keeps 'SLD' in the PEs of 'array2d', but RD reads it on 'array1d'" in r.reason

"""The timing rules behind the FuseMax study's configurations, each on a case small enough to work out by hand
(issue 8, part 2): one tile at a time with the column drains (+Architecture), one global fill across heads
(+Binding), kernels that each overlap their own compulsory DRAM traffic (Unfused), an Einsum hoisted to an outer
loop with a shared reload (the reference's FLAT at long sequences), and the mapper's tie-break."""

import numpy as np
import pytest

import einsim.arch as arch
import einsim.mappings as mappings
import einsim.workloads as workloads
from einsim.sim import evaluate, lower, simulate
from einsim.sim.analytical import group_cycles
from einsim.sim.mapper import CYCLE_TOLERANCE, best_mapping
from einsim.workloads.errors import SpecError

# a FuseMax in miniature: a 4 x 4 2D array and a 4-PE 1D array; exp is 2 MACs, so sub_exp = add + 2 mac = 3 cycles
TINY_FUSEMAX = """\
name: tiny-fusemax
kind: spatial_array
clock_hz: 1.0e+9
word_bytes: 2
units:
  array2d:
    kind: pe_array_2d
    rows: 4
    cols: 4
    pipelines: {alu: {mac: 1, mul: 1, add: 1, max: 1}}
    composite_ops: {exp: {mac: 2}}
    spatial_reduction: DRAIN
  array1d:
    kind: pe_array_1d
    pes: 4
    pipelines: {alu: {mac: 1, mul: 1, add: 1, max: 1, div: 1}}
    composite_ops: {exp: {mac: 2}}
memory:
  - {name: dram, kind: dram, bandwidth_bytes_per_s: 1.0e+12, access_bits: 64, energy_pj: {read: 8.0, write: 8.0}}
  - {name: gb, kind: buffer, capacity_bytes: 65536, access_bits: 64, energy_pj: {read: 1.0, write: 1.0},
     area_um2: 1.0}
"""

TINY_MAP = """\
name: tiny-fusemax-map
cascade: attention-1pass
partitions: {M0: 4}
binding: {default: array1d, SQ: array2d, BQK: array2d, LM: array2d, SLN: array2d, SLD: array2d, SLNV: array2d}
groups:
  - einsums: all
    loops: [[B, 1], [H, 1], [P, 4], [M1, 1], [P, 4]]
    spatial:
      array2d: {rows: M0, cols: P}
      array1d: {pes: P}
      SQ: {rows: E, cols: P}
    on_chip: all
    in_pe: [BQK, SLN]
    pipeline: interleave
WINDOW"""

SIZES = {"B": 1, "H": 1, "M": 64, "P": 4, "E": 2, "F": 2}     # 16 tiles of 4 keys x 4 queries


def _tiny(drain="chain", window="    window: 1\n", **sizes):
    c = workloads.load_cascade("attention_1pass")
    a = arch.arch_from_text(TINY_FUSEMAX.replace("DRAIN", drain))
    m = mappings.mapping_from_text(TINY_MAP.replace("WINDOW", window))
    return c, a, m, {**SIZES, **sizes}


@pytest.mark.parametrize("drain, period", [
    # BQK 0-2 (E = 2), LM 2-2.75 (3 max ops over 4 rows) drains down the 4-deep columns until 6.75, RM 6.75-7.75,
    # SLN 7.75-10.75 and PRM 7.75-10.75, SLD 10.75-11.5 (drained 15.5), SLNV 11.5-13.5 (drained 17.5); the 1D
    # array: SPD 10.75-11.75, SPNV 11.75-13.75, RD 15.5-16.5, RNV 17.5-19.5: the next tile starts at 19.5
    ("chain", 19.5),
    # sums drain free (the reference's choice): SLD done 11.5, SLNV 13.5; SPD 10.75-11.75, RD 11.75-12.75,
    # SPNV 12.75-14.75, RNV 14.75-16.75: only LM's drain stalls the tile
    ("{max: chain, sum: none}", 16.75),
])
def test_one_tile_at_a_time_by_hand(drain, period):
    c, a, m, sizes = _tiny(drain)
    (p,) = lower(c, c.bind({**sizes, "M0": 4}), a, m)
    assert p.window == 1
    assert group_cycles(p)["period_cycles"] == pytest.approx(period)
    # before the first tile: load Q (16 B at 1000 B/cycle), then SQ (1 cycle); after the last: AV (2), store AV
    lead, tail = 0.016 + 1.0, 2.0 + 0.016
    r = evaluate(c, a, m, sizes)
    assert r.summary["cycles"] == pytest.approx(lead + 16 * period + tail)
    # the engine agrees; the block's own tasks are not held by the window (they fit beside the tiles)
    ev = simulate(c, a, m, sizes)
    assert ev.summary["cycles"] == pytest.approx(r.summary["cycles"], rel=2e-3)
    assert simulate(c, a, m, sizes, exact=True).summary["cycles"] == ev.summary["cycles"]


def test_interleaving_pays_one_fill_across_heads():
    # +Binding: the 1D array is the busiest unit, 10 cycles a tile (RM 1, PRM 3, SPD 1, RD 1, SPNV 2, RNV 2) plus the
    # division AV, 2 cycles a head; a second head adds its work and no second fill
    c, a, m, one = _tiny(window="")
    r1 = evaluate(c, a, m, one)
    r2 = evaluate(c, a, m, {**one, "H": 2})
    work = 16 * 10 + 2
    assert r1.summary["busy_array1d"] * r1.summary["cycles"] == pytest.approx(work)
    assert r2.summary["cycles"] - r1.summary["cycles"] == pytest.approx(work)
    assert 0 < r1.summary["cycles"] - work < 19.5       # one fill, shorter than a tile one at a time
    e1, e2 = simulate(c, a, m, one), simulate(c, a, m, {**one, "H": 2})
    assert e2.summary["cycles"] - e1.summary["cycles"] == pytest.approx(work, abs=3)


def test_unfused_kernels_each_overlap_their_compulsory_traffic():
    # QK, the softmax and AV run in sequence, each overlapping its DRAM traffic with its compute. Per head (M = P =
    # 1024, E = F = 64, 2 B words): QK written once, read once by the softmax, A written once, read once by AV
    # (2 MiB each), and Q, K, V, AV once (128 KiB each)
    c, a = workloads.load_cascade("attention_3pass"), arch.load_arch("flat")
    sizes = {"B": 1, "H": 2, "M": 1024, "P": 1024, "E": 64, "F": 64}
    m, r = best_mapping(c, a, mappings.load_mapping("unfused"), sizes)
    assert r.summary["dram_bytes"] == 2 * (4 * 2**21 + 4 * 2**17)
    total = 0.0
    bpc = a.dram.bytes_per_cycle(a.clock_hz)
    expect_dram = [2 * (2**21 + 2 * 2**17), 2 * 2 * 2**21, 2 * (2**21 + 2 * 2**17)]
    for p, dram_bytes in zip(lower(c, c.bind(sizes), a, m), expect_dram, strict=True):
        gc = group_cycles(p)
        busiest = max(gc["resource_cycles"].values())
        assert gc["resource_cycles"]["dram"] == pytest.approx(dram_bytes / bpc)
        # the busiest resource bounds the kernel; the rest is one fill and drain, at most a tile's loads (A, 287
        # cycles, and V, 72), its compute (64) and the column drain (256)
        assert busiest <= gc["cycles"] < busiest + 287 + 72 + 64 + 256
        total += gc["cycles"]
    assert r.summary["cycles"] == pytest.approx(total)      # kernels in sequence
    # the softmax kernel is the 1D array's 4 passes over every score (256 per cycle), not DRAM's
    assert max(group_cycles(p)["resource_cycles"]["array1d"] for p in lower(c, c.bind(sizes), a, m)) == \
        pytest.approx(2 * (4 * 1024 * 1024 / 256 - 2 * 1024 * 3 / 256), rel=1e-3)
    assert simulate(c, a, mappings.load_mapping("unfused"), sizes).summary["cycles"] == pytest.approx(
        r.summary["cycles"], rel=0.01)


OFFCHIP = """\
name: offchip
cascade: attention-3pass
binding: {default: array1d, SQ: array2d, QK: array2d, AV: array2d}
groups:
  - einsums: all
    loops: [[B, 1], [H, 1], [P, 512], [P, 1]]
    run_at: {SQ: 3, QK: 3, AV: 3}
    spatial:
      array2d: {rows: M, cols: P}
      array1d: {pes: M}
      SQ: {rows: E, cols: P}
    on_chip: [SQ, GM, SN, SD]
    stream: [K, V]
    pipeline: interleave
"""


def test_run_at_hoists_a_block_and_consumers_share_a_reload():
    # QK for a block of 512 queries (run_at 3), the softmax row by row below it; QK and A go through DRAM: QK written
    # once and read once per row by GM and SN together, A written per row and read once by the block's AV
    c, a = workloads.load_cascade("attention_3pass"), arch.load_arch("flat")
    sizes = {"B": 1, "H": 1, "M": 1024, "P": 1024, "E": 64, "F": 64}
    m = mappings.mapping_from_text(OFFCHIP)
    (p,) = lower(c, c.bind(sizes), a, m)
    level = {p.task_name[t]: int(p.level[t]) for t in range(p.n_tasks)}
    assert level["QK"] == 3 and level["AV"] == 3 and level["GM"] == 4 and level["A"] == 4
    assert sum(1 for n in p.task_name if n == "reload QK") == 1
    r = evaluate(c, a, m, sizes)
    scores = 1024 * 1024 * 2
    # K and V stream once per block (2 blocks), Q and AV once
    assert r.summary["dram_bytes"] == 4 * scores + 2 * 2 * 2**17 + 2 * 2**17
    # DRAM-bound: the closed form is the DRAM time plus a fill
    assert r.summary["dram_util"] > 0.85


def test_run_at_and_window_errors_read_well():
    c, a = workloads.load_cascade("attention_3pass"), arch.load_arch("flat")
    sizes = {"B": 1, "H": 1, "M": 1024, "P": 1024, "E": 64, "F": 64}
    r = evaluate(c, a, mappings.mapping_from_text(OFFCHIP.replace("{SQ: 3, QK: 3, AV: 3}", "{GM: 5}")), sizes)
    assert not r.ok and "runs GM at loop depth 5, inside loops over ranks it does not index" in r.reason
    r = evaluate(c, a, mappings.mapping_from_text(OFFCHIP.replace("{SQ: 3, QK: 3, AV: 3}", "{XX: 1}")), sizes)
    assert not r.ok and "sets run_at for 'XX', which is not an Einsum of the group" in r.reason
    with pytest.raises(SpecError, match=r"groups\[0\]\.window: is honoured by 'pipeline: interleave' groups"):
        mappings.mapping_from_text(OFFCHIP.replace("pipeline: interleave", "pipeline: in_order\n    window: 1"))
    with pytest.raises(SpecError, match=r"groups\[0\]\.window: must be a positive integer, not 0"):
        mappings.mapping_from_text(OFFCHIP + "    window: 0\n")
    with pytest.raises(SpecError, match=r"spatial_reduction\.sum: must be one of chain, tree, none, not 'fast'"):
        arch.arch_from_text(TINY_FUSEMAX.replace("DRAIN", "{max: chain, sum: fast}"))


def test_reduction_drain_per_operator():
    u = arch.arch_from_text(TINY_FUSEMAX.replace("DRAIN", "{max: chain, sum: none, default: tree}")).unit("array2d")
    assert (u.reduction_latency(256, "max"), u.reduction_latency(256, "sum"), u.reduction_latency(256, "min")) == \
        (256, 0, 8)
    assert arch.arch_from_text(TINY_FUSEMAX.replace("DRAIN", "chain")).unit("array2d").reduction_latency(4, "sum") == 4


def test_mapper_breaks_near_ties_by_energy():
    # FLAT at BERT 1K is 1D-bound at every row block; a smaller block fills the pipeline a few cycles sooner but
    # re-reads K and V more often: the mapper keeps the block with the least energy among the equally fast
    c, a, m0 = workloads.load_cascade("attention_3pass"), arch.load_arch("flat"), mappings.load_mapping("flat")
    sizes = {"B": 64, "H": 12, "M": 1024, "P": 1024, "E": 64, "F": 64}
    m, r = best_mapping(c, a, m0, sizes)
    runs = [evaluate(c, a, m0.with_tiles({m0.choices[0]: t}), sizes) for t in m0.groups[0].loops[2].candidates]
    runs = [x for x in runs if x.ok]
    fastest = min(x.summary["cycles"] for x in runs)
    assert r.summary["cycles"] <= fastest * (1 + CYCLE_TOLERANCE)
    near = [x.summary["energy_pj"] for x in runs if x.summary["cycles"] <= fastest * (1 + CYCLE_TOLERANCE)]
    assert r.summary["energy_pj"] == pytest.approx(min(near)) and len(near) > 1
    assert np.isclose(r.summary["energy_pj"], min(near))


def test_bypass_moves_a_tensor_without_the_buffer():
    # the same block as above with QK and A bypassing the buffer: per 1024 x 1024 score matrix (2 MiB = 4096 rows
    # of 512 B) the buffer no longer sees QK written by the 2D array, read by its store, written by its reload and
    # read by GM and SN, nor A written by the 1D array, read by its store, written by its reload, read by AV:
    # 9 x 4096 row accesses fewer; DRAM traffic and time are unchanged
    c, a = workloads.load_cascade("attention_3pass"), arch.load_arch("flat")
    sizes = {"B": 1, "H": 1, "M": 1024, "P": 1024, "E": 64, "F": 64}
    staged = evaluate(c, a, mappings.mapping_from_text(OFFCHIP), sizes)
    streamed = evaluate(c, a, mappings.mapping_from_text(OFFCHIP + "    bypass: [QK, A]\n"), sizes)

    def accesses(r):
        e = r.energy_frame().set_index(["component", "action"])["count"]
        return e[("global_buffer", "read")] + e[("global_buffer", "write")]

    assert accesses(staged) - accesses(streamed) == pytest.approx(9 * 4096)
    assert streamed.summary["dram_bytes"] == staged.summary["dram_bytes"]
    assert streamed.summary["cycles"] == pytest.approx(staged.summary["cycles"])
    bad = OFFCHIP.replace("on_chip: [SQ, GM, SN, SD]", "on_chip: [SQ, GM, SN, SD]\n    bypass: [SN]")
    r = evaluate(c, a, mappings.mapping_from_text(bad), sizes)
    assert not r.ok and "keeps 'SN' on chip for its readers and bypasses the buffer with it" in r.reason

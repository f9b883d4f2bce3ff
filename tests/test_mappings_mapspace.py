"""The mapspace: divisor chains, tile rows and the nest per row against brute force and the lowering's nest
analysis; loop orders and structures enumerated against brute force; capacity pruning never drops a feasible row;
constraints and the errors naming the constraint that empties the space; mapping YAML round trips."""

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import einsim.mappings as mappings
from einsim.arch import arch_from_text, load_arch
from einsim.mappings.constraints import constraints_from_text
from einsim.mappings.dump import mapping_to_yaml
from einsim.mappings.groupspace import loop_orders
from einsim.mappings.mapspace import Mapspace
from einsim.mappings.structure import GroupGeometry
from einsim.mappings.tilespace import RowNest, TileSpace, divisor_chains, divisors
from einsim.sim.evaluate import evaluate_fixed
from einsim.sim.nest import analyze_nest
from einsim.sim.plan import COMPUTE, Infeasible, lower
from einsim.workloads import load_cascade
from einsim.workloads.errors import SpecError

TINY = """
name: tiny
kind: spatial_array
clock_hz: 1.0e+9
word_bytes: 2
units:
  array2d:
    kind: pe_array_2d
    rows: 4
    cols: 4
    pipelines: {alu: {mac: 1}}
    energy_pj: {mac: 1.0, rf_read: 0.1, rf_write: 0.1}
memory:
  - {name: dram, kind: dram, bandwidth_bytes_per_s: 8.0e+9, access_bits: 64, energy_pj: {read: 10.0, write: 10.0}}
  - {name: global_buffer, kind: buffer, capacity_bytes: 512, access_bits: 64, energy_pj: {read: 1.0, write: 1.2}}
"""
SMALL_ATTENTION = dict(B=2, H=2, M=16, P=16, E=4, F=4)


@given(st.integers(1, 96), st.integers(1, 3))
def test_divisor_chains_are_every_chain(n, length):
    brute = sorted(c for c in itertools.product(range(1, n + 1), repeat=length)
                   if n % c[0] == 0 and all(c[i] % c[i + 1] == 0 for i in range(length - 1)))
    assert sorted(map(tuple, divisor_chains(n, length).tolist())) == brute
    assert divisors(n) == tuple(d for d in range(1, n + 1) if n % d == 0)


def test_tile_space_rows_neighbors_and_index():
    space = TileSpace.build(("P", "M", "P"), {"P": 16, "M": 4}, {0: {16, 8, 4}})
    assert space.size == len(space.chains["P"]) * 3
    rows = space.rows(space.all_index())
    assert len({tuple(r) for r in rows}) == space.size
    assert all(r[0] in (16, 8, 4) and 16 % r[0] == 0 and r[0] % r[2] == 0 and 4 % r[1] == 0 for r in rows)
    idx = space.index_of(np.array([8, 2, 4]))
    assert (space.rows(idx)[0] == [8, 2, 4]).all()
    for nb in space.rows(space.neighbors(idx)):
        assert (nb != [8, 2, 4]).sum() == 1


@pytest.mark.slow
@given(st.data())
def test_row_nest_matches_the_lowering_nest_analysis(data):
    c = load_cascade("attention_1pass")
    sizes = c.bind({**SMALL_ATTENTION, "M0": 4})
    ranks = ["B", "H", "P", "M1", "M0", "E", "F"]
    loops = tuple(data.draw(st.lists(st.sampled_from(ranks), min_size=1, max_size=5)))
    space = TileSpace.build(loops, sizes)
    index = space.sample_index(np.random.default_rng(data.draw(st.integers(0, 99))), 4)
    rows = space.rows(index)
    inst = data.draw(st.integers(1, 3))
    nest = RowNest(loops, rows, sizes, c.partitions, inst)
    members = [e.name for e in c.einsums]
    space_m = Mapspace(c, load_arch("fusemax"), SMALL_ATTENTION)
    for r, row in enumerate(rows):
        s = space_m.group_space(0, len(members)).random(np.random.default_rng(r))
        s = replace(s, loops=loops, instances=inst)
        ref = analyze_nest(c, sizes, s.group(c, row), members, "g", inst)
        assert (nest.trips[r] == ref.trips).all()
        for k in range(len(loops) + 1):
            for rank in ("B", "M", "P", "M1", "E"):
                assert nest.extent(rank, k)[r] == ref.extent(rank, k)
        assert nest.count(len(loops))[r] == np.prod(ref.trips.astype(float))
        assert nest.copies[r] == ref.copies and nest.concurrent[r] == ref.concurrent


def test_loop_orders_are_every_order_without_repeats_in_a_row():
    ranks = ("M", "K", "N")
    got = list(loop_orders(ranks, 2, 4))
    brute = [o for n in range(5) for o in itertools.product(ranks, repeat=n)
             if all(a != b for a, b in zip(o, o[1:], strict=False)) and all(o.count(r) <= 2 for r in ranks)]
    assert sorted(got) == sorted(brute) and len(got) == len(set(got))
    assert all(o[:2] == ("K", "M") for o in loop_orders(ranks, 2, 4, prefix=("K", "M")))


def test_structures_of_a_tiny_gemm_are_the_product_of_its_choices():
    c = load_cascade("gemm")
    con = constraints_from_text("{loops: {max: 2}, pipeline: in_order, spatial: {array2d: {rows: M}}}", "c.yaml")
    space = Mapspace(c, arch_from_text(TINY), dict(M=8, K=8, N=8), constraints=con)
    gs = space.group_space(0, 1)
    got = set(gs.structures())
    brute = set()
    for loops in itertools.chain.from_iterable(itertools.product("MKN", repeat=n) for n in range(3)):
        if len(loops) == 2 and loops[0] == loops[1]:
            continue
        for cols in ("", "M", "K", "N"):
            if cols == "M":
                continue
            for inputs in itertools.product(*(opts for _, opts in gs.input_options(loops))):
                brute.add(gs.make(("array2d",), loops, (("array2d", "rows", "M", ""), ("array2d", "cols", cols, "")),
                                  pipeline="in_order", instances=1, on_chip=True, in_pe=False, spill=False,
                                  inputs=tuple(zip(("A", "B"), inputs, strict=True))))
    assert got == brute


PRUNED = []


@pytest.mark.slow
@given(st.integers(0, 10_000))
def test_capacity_pruning_never_drops_a_feasible_row(seed):
    """A row the geometry prunes does not lower; for rows that do, the DRAM bytes and buffer bytes it predicts are
    at most the plan's."""
    rng = np.random.default_rng(seed)
    c, arch = load_cascade("attention_1pass"), load_arch("fusemax").with_level("global_buffer", capacity_bytes=4096)
    space = Mapspace(c, arch, SMALL_ATTENTION)
    part = space.partition_options[int(rng.integers(len(space.partition_options)))]
    sizes = space.bind(part)
    i = int(rng.integers(0, 13))
    j = int(rng.integers(i + 1, 14))
    s = space.group_space(i, j).random(rng)
    tiles, _ = space.group_space(i, j).tile_space(s, sizes)
    rows = tiles.rows(tiles.sample_index(rng, 6))
    geo = GroupGeometry.build(c, arch, s, space.needed_later(j))
    inst = s.instances or min(arch.unit(u).instances for u in s.units)
    nest = RowNest(s.loops, rows, sizes, c.partitions, inst)
    fits = geo.fits(c, arch, nest, s.spill)
    dram = geo.dram_bytes(c, arch, nest)
    peak = geo.level_bytes(c, arch, nest)["global_buffer"][1]
    m, g = space.eval_mapping(part, s, i, j)
    for r, row in enumerate(rows):
        try:
            plan = lower(c, sizes, arch, m.with_tiles({(g, k): int(t) for k, t in enumerate(row)}), only={g})[0]
        except Infeasible:
            PRUNED.append(not fits[r])
            continue
        assert fits[r], f"row {row} of {s} was pruned but lowers"
        moved = float(np.sum(plan.count[plan.kind != COMPUTE] * plan.bytes[plan.kind != COMPUTE])) * plan.copies
        assert dram[r] <= moved * (1 + 1e-9)
        assert peak[r] <= plan.level_peak_bytes.get("global_buffer", 0.0) * (1 + 1e-9) or s.spill


@pytest.mark.slow
def test_capacity_pruning_drops_rows():
    """The property test above saw infeasible rows that pruning caught (it is not vacuous)."""
    test_capacity_pruning_never_drops_a_feasible_row()
    assert any(PRUNED)


def test_constraints_load_errors_name_file_line_and_key():
    text = """\
partitions: {M0: 0}
fusion: some
loops: {order: B}
tiles: {P: {min: 8, max: 4}, "P@x": 3}
pipeline: sideways
groups: {SQ: {loopz: 1}}
"""
    with pytest.raises(SpecError) as exc:
        constraints_from_text(text, "c.yaml")
    t = str(exc.value)
    assert "c.yaml:1 partitions.M0: must be a positive integer, not 0" in t
    assert "c.yaml:2 fusion: must be any, all, unfused or a list of groups" in t
    assert "c.yaml:6 groups.SQ.loopz: unknown key 'loopz' (did you mean 'loops'?)" in t
    assert "c.yaml:3 loops.order: must be a non-empty list of rank names, not 'B'" in t
    assert "c.yaml:4 tiles.P: min must not exceed max, not 8 > 4" in t
    assert "c.yaml:4 tiles.P@x: must be a rank (its innermost loop) or rank@loop index like P@2, not 'P@x'" in t
    assert "c.yaml:5 pipeline: must be one of serial, in_order, interleave, not 'sideways'" in t


@pytest.mark.parametrize("text, message", [
    ("fusion: all\nloops:\n  order: [B, H, X]\n",
     "constraints.yaml:3 loops.order: names rank 'X', which cascade 'attention-1pass' lacks"),
    ("fusion: all\nloops:\n  order: [B, H, F, F]\n",
     "constraints.yaml:3 loops.order: no loop order of group (SQ .. AV) satisfies it: more loops than max 8 / "
     "max_per_rank 2, or a rank twice in a row"),
    ("fusion: unfused\ngroups:\n  SQ:\n    loops: {order: [M1]}\n",
     "constraints.yaml:4 groups.SQ.loops.order: no loop order of group (SQ) satisfies it: rank 'M1' is not a rank "
     "the group's loops may be over (B, H, E, P)"),
    ("binding: {AV: array2d}\n",
     "constraints.yaml:1 binding.AV: no unit satisfies it for AV: it needs div, which array2d cannot run "
     "(units that can: array1d)"),
    ("binding: {AV: array3d}\n", "constraints.yaml:1 binding.AV: unit 'array3d' is not a unit of 'fusemax'"),
    ("partitions: {M0: [3, 5]}\n",
     "constraints.yaml:1 partitions.M0: no partition size of M0 divides M = 16; choose divisors of it"),
    ("fusion: [[SQ, LM], [BQK]]\n", "constraints.yaml:1 fusion[0]: groups must be consecutive runs of the cascade's"),
    ("max_buffer_bytes: {sram: 10}\n", "constraints.yaml:1 max_buffer_bytes.sram: must name an on-chip level of"),
    ("spatial: {array2d: {pes: P}}\n", "constraints.yaml:1 spatial.array2d.pes: must map a dimension of 'array2d'"),
    ("fusion: all\ntiles: {Z: 4}\n", "constraints.yaml:2 tiles.Z: names rank 'Z', which cascade"),
    ("fusion: unfused\n", "constraints.yaml:1 fusion: no cut of the cascade into groups satisfies it: SPD reads RD, "
                          "which RD makes later"),
])
def test_a_constraint_that_empties_the_space_is_named(text, message):
    c = load_cascade("attention_1pass")
    with pytest.raises(SpecError) as exc:
        Mapspace(c, load_arch("fusemax"), SMALL_ATTENTION,
                 constraints=constraints_from_text(text, "constraints.yaml")).check()
    assert message in str(exc.value)


def test_tile_constraints_leave_only_allowed_tiles():
    c = load_cascade("gemm")
    con = constraints_from_text("loops: {order: [N, M, N]}\ntiles: {N: [2, 4], 'N@0': {min: 4}}\n", "c.yaml")
    space = Mapspace(c, arch_from_text(TINY), dict(M=8, K=8, N=8), constraints=con)
    gs = space.group_space(0, 1)
    s = next(gs.structures())
    tiles, why = gs.tile_space(s, space.bind({}))
    assert why is None
    rows = tiles.rows(tiles.all_index())
    assert {(r[0], r[2]) for r in rows} == {(8, 2), (8, 4), (4, 2), (4, 4)}
    con = constraints_from_text("loops: {order: [N, M, N]}\ntiles: {N: 16}\n", "c.yaml")
    gs = Mapspace(c, arch_from_text(TINY), dict(M=8, K=8, N=8), constraints=con).group_space(0, 1)
    _, why = gs.tile_space(next(gs.structures()), {"M": 8, "K": 8, "N": 8})
    assert str(why) == ("c.yaml:2 tiles.N: no tile of group (Z) satisfies it: no divisor of N = 8 is allowed")


def test_mapping_yaml_round_trips_for_every_preset():
    for name in mappings.preset_names():
        m = mappings.load_mapping(name)
        back = mappings.mapping_from_text(mapping_to_yaml(m, "a comment"), "x.yaml")
        assert replace(back, source=m.source) == m


def test_a_template_fixes_the_structure_and_its_tiles_are_the_candidates():
    c = load_cascade("attention_1pass")
    t = mappings.load_mapping("binding")
    space = Mapspace(c, load_arch("fusemax"), dict(SMALL_ATTENTION, M=512, P=512), template=t)
    assert space.segments == [(0, 13)] and space.partition_options == [{"M0": 256}]
    gs = space.group_space(0, 13)
    assert list(gs.structures()) == [gs.fixed]
    tiles, _ = gs.tile_space(gs.fixed, space.bind({"M0": 256}))
    assert {tuple(r) for r in tiles.rows(tiles.all_index())} == {(1, 1, 512, 1, 256), (1, 1, 256, 1, 256)}
    m = space.mapping({"M0": 256}, [(gs.fixed, (1, 1, 512, 1, 256))], name="binding")
    assert m.groups[0].spatial == t.groups[0].spatial and m.groups[0].in_pe == t.groups[0].in_pe
    r = evaluate_fixed(c, load_arch("fusemax"), m, dict(SMALL_ATTENTION, M=512, P=512))
    assert r.ok and math.isfinite(r.summary["cycles"])

"""The searching mapper: bounds never above an evaluated mapping, exhaustive search finds the brute-force optimum,
a seed fixes the result, found mappings round-trip through YAML and evaluate, templates agree with the best_of
resolver, and ``einsim map`` prints what it promises."""

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_mappings_mapspace import SMALL_ATTENTION, TINY

import einsim.mappings as mappings
from einsim.analysis.cli import main
from einsim.arch import arch_from_text, load_arch
from einsim.mappings.constraints import constraints_from_text
from einsim.mappings.dump import mapping_to_yaml
from einsim.mappings.mapspace import Mapspace
from einsim.mappings.structure import GroupGeometry
from einsim.mappings.tilespace import RowNest
from einsim.sim.analytical import group_cycles
from einsim.sim.bounds import row_bounds, workload_lower_bound
from einsim.sim.evaluate import evaluate_fixed
from einsim.sim.mapper import CYCLE_TOLERANCE, best_mapping
from einsim.sim.plan import COMPUTE, Infeasible, lower
from einsim.sim.search import search
from einsim.sim.tilesearch import Objective
from einsim.workloads import load_cascade

TINY_SPACE = "loops: {max: 2}\npipeline: [in_order, serial]\nspatial: {array2d: {rows: M, cols: N}}\n"


def _random_plans(rng, cascade, arch, sizes, n=4):
    """(space, partition, start, end, structure, rows) of a random group of the mapspace."""
    space = Mapspace(cascade, arch, sizes)
    part = space.partition_options[int(rng.integers(len(space.partition_options)))]
    n_e = len(space.names)
    i = int(rng.integers(0, n_e))
    j = int(rng.integers(i + 1, n_e + 1))
    s = space.group_space(i, j).random(rng)
    tiles, _ = space.group_space(i, j).tile_space(s, space.bind(part))
    return space, part, i, j, s, tiles.rows(tiles.sample_index(rng, n))


@pytest.mark.slow
@pytest.mark.parametrize("workload, arch_name, sizes", [
    ("attention_1pass", "fusemax", SMALL_ATTENTION),
    ("attention_3pass", "flat", SMALL_ATTENTION),
    ("gemm", "neupims-npu", dict(M=64, K=128, N=256)),
])
@given(seed=st.integers(0, 10_000))
def test_row_bounds_are_the_plans_busy_times_and_never_above_its_cycles(workload, arch_name, sizes, seed):
    rng = np.random.default_rng(seed)
    c, arch = load_cascade(workload), load_arch(arch_name)
    space, part, i, j, s, rows = _random_plans(rng, c, arch, sizes)
    bound_sizes = space.bind(part)
    geo = GroupGeometry.build(c, arch, s, space.needed_later(j))
    inst = s.instances or min(arch.unit(u).instances for u in s.units)
    rb = row_bounds(c, arch, bound_sizes, s, geo, RowNest(s.loops, rows, bound_sizes, c.partitions, inst))
    m, g = space.eval_mapping(part, s, i, j)
    for r, row in enumerate(rows):
        try:
            plan = lower(c, bound_sizes, arch, m.with_tiles({(g, k): int(t) for k, t in enumerate(row)}), only={g})[0]
        except Infeasible:
            continue
        for u, busy in rb.busy.items():
            ui = plan.resources.index(u)
            sel = (plan.kind == COMPUTE) & (plan.resource == ui)
            want = float(np.sum(plan.count[sel] * plan.cycles[sel]))
            assert busy[r] == pytest.approx(want, rel=1e-9)
        assert rb.cycles[r] <= group_cycles(plan)["cycles"] * (1 + 1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("workload, arch_name, sizes", [
    ("attention_1pass", "fusemax", SMALL_ATTENTION),
    ("attention_2pass", "fusemax", SMALL_ATTENTION),
    ("gemm", "tpuv4-like", dict(M=32, K=64, N=16)),
])
@given(seed=st.integers(0, 10_000), scale=st.sampled_from([1, 2, 4]))
def test_the_workload_lower_bound_is_never_above_an_evaluated_mapping(workload, arch_name, sizes, seed, scale):
    rng = np.random.default_rng(seed)
    c, arch = load_cascade(workload), load_arch(arch_name)
    sizes = {k: v * scale if k in ("M", "P", "N") else v for k, v in sizes.items()}
    space = Mapspace(c, arch, sizes)
    lb = workload_lower_bound(space)
    cut = list(space.segmentations(limit=64))[int(rng.integers(min(64, len(list(space.segmentations(64))))))]
    part = space.partition_options[int(rng.integers(len(space.partition_options)))]
    parts = []
    for i, j in cut:
        s = space.group_space(i, j).random(rng)
        tiles, _ = space.group_space(i, j).tile_space(s, space.bind(part))
        parts.append((s, tiles.rows(tiles.sample_index(rng, 1))[0]))
    r = evaluate_fixed(c, arch, space.mapping(part, parts), sizes)
    if r.ok:
        assert lb.cycles <= r.summary["cycles"] * (1 + 1e-9)
        assert lb.dram_cycles <= r.summary["dram_bytes"] / arch.dram.bytes_per_cycle(arch.clock_hz) * (1 + 1e-9)


def _tiny_brute_force():
    """Every (structure, tile row) of the tiny GEMM space evaluated by evaluate_fixed: [(cycles, energy, mapping)]."""
    c, arch = load_cascade("gemm"), arch_from_text(TINY)
    space = Mapspace(c, arch, dict(M=8, K=8, N=8), constraints=constraints_from_text(TINY_SPACE, "c.yaml"))
    gs = space.group_space(0, 1)
    out = []
    for s in gs.structures():
        tiles, _ = gs.tile_space(s, space.bind({}))
        for row in tiles.rows(tiles.all_index()):
            m = space.mapping({}, [(s, row)])
            r = evaluate_fixed(c, arch, m, dict(M=8, K=8, N=8))
            if r.ok:
                out.append((r.summary["cycles"], r.summary["energy_pj"], m))
    return c, arch, out


@pytest.fixture(scope="module")
def tiny():
    return _tiny_brute_force()


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["cycles", "energy", "edp"])
def test_exhaustive_search_finds_the_brute_force_optimum_of_a_tiny_gemm(tiny, objective):
    c, arch, every = tiny
    obj = Objective(kind=objective)
    best = min(obj.score(cy, e) for cy, e, _ in every)
    r = search(c, arch, dict(M=8, K=8, N=8), constraints=constraints_from_text(TINY_SPACE, "c.yaml"),
               objective=obj, method="exhaustive", evaluations=10**6)
    assert r.method == "exhaustive" and r.result.ok
    assert obj.score(r.result.summary["cycles"], r.result.summary["energy_pj"]) == pytest.approx(best, rel=1e-12)
    if objective == "cycles":
        assert r.evaluated < len(every)   # the bound cut rows that could not win
    front = [(cy, e) for cy, e, _ in r.pareto]
    assert front == sorted(front) and all(a[1] > b[1] for a, b in zip(front, front[1:], strict=False))
    for cy, e, _ in every if objective != "cycles" else ():   # every row evaluated: none dominates the front
        assert not any(cy <= fc * (1 + 1e-12) and e <= fe * (1 + 1e-12)
                       and (cy < fc * (1 - 1e-9) or e < fe * (1 - 1e-9)) for fc, fe in front)


def test_auto_is_exhaustive_when_the_space_fits_the_budget(tiny):
    c, arch, _ = tiny
    r = search(c, arch, dict(M=8, K=8, N=8), constraints=constraints_from_text(TINY_SPACE, "c.yaml"),
               evaluations=10**6)
    assert r.method == "exhaustive"
    r = search(c, arch, dict(M=8, K=8, N=8), evaluations=100)
    assert r.method == "anneal" and r.evaluated <= 100


@pytest.mark.slow
@pytest.mark.parametrize("method", ["anneal", "random"])
def test_a_seed_and_an_evaluation_budget_fix_the_result(method):
    c, arch = load_cascade("attention_1pass"), load_arch("fusemax")
    runs = [search(c, arch, SMALL_ATTENTION, method=method, evaluations=150, seed=seed) for seed in (3, 3, 4)]
    assert runs[0].mapping == runs[1].mapping and runs[0].evaluated == runs[1].evaluated == 150
    assert runs[0].result.summary == runs[1].result.summary
    assert all(r.result.ok for r in runs)


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["cycles", "edp"])
def test_the_found_mapping_round_trips_through_yaml_and_evaluate(objective):
    c, arch = load_cascade("attention_1pass"), load_arch("fusemax")
    r = search(c, arch, SMALL_ATTENTION, objective=Objective(kind=objective), evaluations=200, seed=1)
    back = mappings.mapping_from_text(mapping_to_yaml(r.mapping, "found"), "found.yaml")
    assert replace(back, source=r.mapping.source) == r.mapping
    again = evaluate_fixed(c, arch, back, SMALL_ATTENTION)
    assert again.summary == r.result.summary
    assert again.summary["cycles"] == pytest.approx(r.predicted_cycles, rel=1e-9)
    assert again.summary["energy_pj"] == pytest.approx(r.predicted_energy_pj, rel=1e-9)
    assert r.lower_bound.cycles <= again.summary["cycles"] and r.gap >= 0


def test_a_template_search_agrees_with_the_best_of_resolver():
    c, arch = load_cascade("attention_3pass"), load_arch("flat")
    sizes = dict(SMALL_ATTENTION, M=256, P=256)
    t = mappings.load_mapping("flat")
    r = search(c, arch, sizes, template=t, evaluations=1000)
    m, ref = best_mapping(c, arch, t, sizes)
    # the search takes the fastest; the best_of resolver the least energy among choices within CYCLE_TOLERANCE
    assert r.result.summary["cycles"] <= ref.summary["cycles"] <= r.result.summary["cycles"] * (1 + CYCLE_TOLERANCE)
    if r.result.summary["cycles"] == ref.summary["cycles"]:
        assert [lp.tile for lp in r.mapping.groups[0].loops] == [lp.tile for lp in m.groups[0].loops]


@pytest.mark.slow
def test_a_search_with_no_feasible_mapping_says_why():
    c, arch = load_cascade("gemm"), arch_from_text(TINY)
    r = search(c, arch, dict(M=8, K=8, N=8), constraints=constraints_from_text(
        TINY_SPACE + "max_buffer_bytes: {global_buffer: 2}\n", "c.yaml"), evaluations=50)
    assert r.mapping is None and not r.result.ok and "no feasible mapping found" in r.result.reason
    assert math.isnan(r.gap)


def _map(capsys, *args):
    code = main(["map", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.slow
def test_einsim_map_prints_loadable_yaml_and_json(tmp_path, capsys):
    point = ["--workload", "gemm", "--arch", "tests/data/array128.yaml", "--set", "M=256", "--set", "K=256",
             "--set", "N=256"]
    code, out, _ = _map(capsys, *point, "--budget", "300", "--json", "--out", str(tmp_path / "m.yaml"),
                        "--pareto", str(tmp_path / "front.yaml"))
    d = json.loads(out)
    assert code == 0 and set(d) == {"mapping", "summary", "evaluated", "seconds", "lower_bound_cycles", "gap"}
    assert d["evaluated"] <= 300 and d["summary"]["cycles"] >= d["lower_bound_cycles"]
    assert (tmp_path / "m.yaml").read_text() == d["mapping"]
    assert main(["evaluate", *point, "--mapping", str(tmp_path / "m.yaml"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"] == d["summary"]
    code, out, _ = _map(capsys, *point, "--budget", "300")
    assert code == 0 and out.startswith("# einsim map: gemm on tests/data/array128.yaml, objective cycles")
    assert mappings.mapping_from_text(out, "stdout").groups
    import yaml
    assert yaml.safe_load((tmp_path / "front.yaml").read_text())[0]["cycles"] == d["summary"]["cycles"]


@pytest.mark.slow
def test_einsim_map_errors(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text("fusion: all\nloops:\n  order: [M, Q]\n")
    point = ["--workload", "gemm", "--arch", "tests/data/array128.yaml", "--set", "M=64", "--set", "K=64",
             "--set", "N=64"]
    code, _, err = _map(capsys, *point, "--constraints", str(tmp_path / "c.yaml"))
    assert code == 1 and f"{tmp_path / 'c.yaml'}:3 loops.order: names rank 'Q', which cascade 'gemm' lacks" in err
    (tmp_path / "c.yaml").write_text("max_buffer_bytes: {global_buffer: 2}\n")
    code, _, err = _map(capsys, *point, "--constraints", str(tmp_path / "c.yaml"), "--budget", "30")
    assert code == 2 and "infeasible: no feasible mapping found" in err
    code, _, err = _map(capsys, *point, "--objective", "edp", "--weights", "x")
    assert code == 1


def test_a_sweep_point_can_ask_the_mapper():
    from einsim.analysis.points import evaluate_point, resolve_points
    from einsim.analysis.sweep import sweep_from_text

    text = """\
name: s
base:
  workload: {cascade: gemm, sizes: {M: 64, K: 64, N: 64}}
  arch: tests/data/array128.yaml
  mapping: {search: {budget: 60, seed: 2}}
axes:
  - {name: n, path: workload.sizes.N, values: [64, 128]}
"""
    points = resolve_points(sweep_from_text(text, "s.yaml"))
    rows = [evaluate_point(p.payload) for p in points]
    assert len(rows) == 2 and all(r["ok"] for r in rows), rows

"""Sweep specs: validation messages, key paths, designs (grid, random, Latin hypercube), axis application checked
against the spec dataclasses' own overrides, mapping resolvers, and a sweep through a real Dask cluster on loopback."""

import math
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import einsim
from einsim.analysis import resolvers
from einsim.analysis.cli import main
from einsim.analysis.designs import Axis, Design, Range, design_points
from einsim.analysis.keypath import KeyPathError, format_key_path, get_path, parse_key_path, set_path
from einsim.analysis.points import evaluate_point, resolve_points
from einsim.analysis.store import Store
from einsim.analysis.sweep import load_sweep, sweep_from_text
from einsim.workloads.errors import SpecError

BIN = Path(sys.executable).parent

GEMM = """\
name: t
base:
  workload: {cascade: gemm, sizes: {M: 512, K: 256, N: 512}}
  arch: fusemax
  mapping: gemm
axes:
  - name: size
    paths:
      - arch.units.array2d.rows
      - arch.units.array2d.cols
      - mapping.groups[0].loops[1][1]
      - mapping.groups[0].loops[2][1]
    values: [64, 128]
  - path: arch.memory.global_buffer.capacity_bytes
    values: [1048576, 4194304]
  - path: workload.sizes.K
    values: [128, 256]
"""


def errors_of(text: str) -> str:
    with pytest.raises(SpecError) as info:
        resolve_points(sweep_from_text(text, "s.yaml"))
    return str(info.value)


def test_example_spec_loads_with_500_points():
    spec = load_sweep("fusemax_size_buffer_seq")
    pts = spec.points()
    assert len(pts) == 500 and spec.design.kind == "grid"
    assert [a.name for a in spec.axes] == ["array_size", "buffer_bytes", "seq_len"]
    buffers = sorted({p["buffer_bytes"] for p in pts})
    assert buffers[0] == 1 << 20 and buffers[-1] == 64 << 20 and len(buffers) == 10
    assert all(b % 65536 == 0 for b in buffers)


@pytest.mark.parametrize("edit, message", [
    (("axes:", "axis:"), "s.yaml:6 axis: unknown key 'axis' (did you mean 'axes'?)"),
    (("arch.units.array2d.rows", "archh.units.array2d.rows"),
     "s.yaml:9 axes[0].paths[0]: must start with one of workload, arch, mapping, not 'archh' (did you mean 'arch'?)"),
    (("arch.units.array2d.cols", "arch.units.array3d.cols"),
     "s.yaml:10 axes[0].paths[1]: 'arch.units.array3d.cols' does not address the base point: arch.units has no "
     "key 'array3d'; keys: array2d, array1d"),
    (("arch.memory.global_buffer.capacity_bytes", "arch.memory.gbuf.capacity_bytes"),
     "s.yaml:14 axes[1].path: 'arch.memory.gbuf.capacity_bytes' does not address the base point: arch.memory is "
     "a list with no item named 'gbuf'; names: dram, global_buffer"),
    (("mapping.groups[0].loops[1][1]", "mapping.groups[0].loops[7][1]"),
     "s.yaml:11 axes[0].paths[2]: 'mapping.groups[0].loops[7][1]' does not address the base point: "
     "mapping.groups[0].loops has 3 items; index 7 is out of range"),
    (("workload.sizes.K", "workload.sizes.Q"),
     "s.yaml:16 axes[2].path: workload.sizes.<rank> must name a rank of the cascade (M, K, N), not "
     "'workload.sizes.Q'"),
    (("values: [128, 256]", "values: [128, 256]\n    range: {low: 1, high: 2}"),
     "s.yaml:16 axes[2]: must have exactly one of 'values' (a list) or 'range' ({low, high, ...})"),
    (("values: [128, 256]", "values: [128, x]"), "s.yaml:17 axes[2].values: must be all numbers, all strings or "
                                                 "all booleans, not [128, 'x']"),
    (("values: [128, 256]", "range: {low: 512, high: 128, n: 2}"),
     "s.yaml:17 axes[2].range: low must be <= high, not low=512 > high=128"),
    (("values: [128, 256]", "range: {low: 0, high: 128, scale: log, n: 2}"),
     "s.yaml:17 axes[2].range.low: must be a positive number, not 0"),
    (("values: [128, 256]", "range: {low: 100, high: 120, round: pow2, n: 2}"),
     "s.yaml:17 axes[2].range: holds no value after rounding (pow2, multiple_of=None) between 100 and 120"),
    (("values: [128, 256]", "range: {low: 64, high: 512}"),
     "s.yaml:17 axes[2].range: a grid needs the number of levels of a range: add n (e.g. n: 8)"),
    (("mapping: gemm", "mapping: {search: {objective: speed}}"),
     "s.yaml:5 base.mapping.objective: must be one of cycles, energy, edp, weighted, not 'speed'"),
    (("mapping: gemm", "mapping: gemmm"), "or a mapping YAML path, not 'gemmm'"),
    (("mapping: gemm", "mapping: gemmm"), "s.yaml:5 base.mapping: must be a mapping preset (arch, binding, "),
    (("values: [64, 128]", "values: [64, -4]"),
     "s.yaml:7 axes[0]: size = -4 makes the arch invalid: units.array2d.rows: must be a positive integer, not -4"),
    (("sizes: {M: 512, K: 256, N: 512}", "sizes: {M: 512, K: 256, N: 512, Q: 3}"),
     "s.yaml:3 base.workload.sizes.Q: must be a rank of cascade 'gemm' (M, K, N), not 'Q'"),
])
def test_spec_errors_name_file_line_and_key(edit, message):
    assert message in errors_of(GEMM.replace(*edit))


@pytest.mark.parametrize("tail, message", [
    ("design: {kind: random}", "s.yaml:18 design: a random design needs n, the number of points"),
    ("design: {kind: sobol, n: 4}", "s.yaml:18 design.kind: must be one of grid, random, latin_hypercube, not "
                                    "'sobol'"),
    ("design: {kind: grid, n: 4}", "s.yaml:18 design.n: a grid's size is the product of the axes' levels"),
    ("constraints: [aera_mm2 <= 400]", "s.yaml:18 constraints[0]: unknown name 'aera_mm2' (did you mean "
                                       "'area_mm2'?); constraints may use area_mm2, peak_ops_per_s, "
                                       "dram_bytes_per_s, size, capacity_bytes, K"),
    ("constraints: [area_mm2]", "s.yaml:18 constraints[0]: must be one comparison (<=, <, >=, >, ==, !=) of "
                                "arithmetic over numbers and names, like 'area_mm2 <= 400', not 'area_mm2'"),
    ("constraints: [__import__('os') == 1]", "constraints[0]: must be one comparison"),
    ("objectives: [latency, energy_pj]", "s.yaml:18 objectives[0]: must be a result column to minimise"),
    ("engine: exact", "s.yaml:18 engine: must be one of analytical, event, not 'exact'"),
])
def test_spec_errors_of_design_constraints_objectives(tail, message):
    assert message in errors_of(GEMM + tail + "\n")


def test_every_error_of_a_file_at_once():
    text = GEMM.replace("archh", "").replace("arch.units.array2d.rows", "x.rows").replace(
        "values: [128, 256]", "values: []") + "engine: exact\n"
    with pytest.raises(SpecError) as info:
        sweep_from_text(text, "s.yaml")
    lines = str(info.value).splitlines()
    assert len(lines) == 3 and all(line.startswith("s.yaml:") for line in lines)


def test_cli_bad_spec_exits_1_with_the_message(tmp_path, capsys):
    spec = tmp_path / "bad.yaml"
    spec.write_text(GEMM.replace("values: [64, 128]", "values: [64, -4]"))
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert f"error: {spec}:7 axes[0]: size = -4 makes the arch invalid" in err
    assert not (tmp_path / "out").exists()


def test_key_paths_parse_get_and_set():
    assert parse_key_path("mapping.groups[0].loops[2][1]") == ("mapping", "groups", 0, "loops", 2, 1)
    data = {"memory": [{"name": "dram"}, {"name": "gb", "cap": 1}], "g": [[["P", 1], ["M", 2]]]}
    set_path(data, parse_key_path("memory.gb.cap"), 5)
    set_path(data, parse_key_path("g[0][1][1]"), 7)
    assert data["memory"][1]["cap"] == 5 and data["g"][0][1] == ["M", 7]
    assert get_path(data, ("memory", "dram", "name")) == "dram"
    for bad in ("a..b", "a.", "[0]", "a[x]", "a]b", ""):
        with pytest.raises(KeyPathError, match="key path"):
            parse_key_path(bad)
    with pytest.raises(KeyPathError, match="no item named 'x'; names: dram, gb"):
        set_path(data, parse_key_path("memory.x.cap"), 1)


@given(st.lists(st.one_of(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True),
                          st.integers(0, 99)), min_size=1, max_size=6).filter(lambda p: isinstance(p[0], str)))
def test_key_path_format_parse_round_trip(path):
    assert parse_key_path(format_key_path(tuple(path))) == tuple(path)


def _axes():
    return (Axis(name="a", paths=("x",), values=(1, 2, 3)),
            Axis(name="b", paths=("y",), range=Range(low=1.0, high=1024.0, scale="log", n=11, round="pow2")),
            Axis(name="c", paths=("z",), range=Range(low=0.0, high=10.0, n=3)))


def test_grid_is_the_product_in_order():
    pts = design_points(_axes(), Design(kind="grid"))
    assert len(pts) == 3 * 11 * 3
    assert pts[0] == {"a": 1, "b": 1, "c": 0.0} and pts[1] == {"a": 1, "b": 1, "c": 5.0}
    assert [p["b"] for p in pts[:33:3]] == [2 ** k for k in range(11)]


@pytest.mark.parametrize("kind", ["random", "latin_hypercube"])
def test_sampled_designs_are_deterministic_by_seed(kind):
    one = design_points(_axes(), Design(kind=kind, n=40, seed=7))
    assert one == design_points(_axes(), Design(kind=kind, n=40, seed=7))
    assert one != design_points(_axes(), Design(kind=kind, n=40, seed=8))
    assert all(p["a"] in (1, 2, 3) and p["b"] in [2 ** k for k in range(11)] and 0 <= p["c"] <= 10 for p in one)


@given(st.integers(1, 60), st.integers(0, 2 ** 32 - 1))
def test_latin_hypercube_puts_one_point_in_each_stratum(n, seed):
    axes = (Axis(name="u", paths=("x",), range=Range(low=0.0, high=1.0)),
            Axis(name="v", paths=("y",), range=Range(low=1.0, high=1e6, scale="log")))
    pts = design_points(axes, Design(kind="latin_hypercube", n=n, seed=seed))
    assert sorted(int(p["u"] * n) for p in pts) == list(range(n))
    assert sorted(int(math.log(p["v"]) / math.log(1e6) * n) for p in pts) == list(range(n))


@given(st.floats(1, 1e6), st.floats(1, 1e6), st.sampled_from(["int", "pow2", "step"]), st.floats(0, 1))
def test_range_values_are_rounded_and_in_bounds(a, b, how, u):
    lo, hi = min(a, b), max(a, b)
    r = Range(low=lo, high=hi, scale="log", round="none" if how == "step" else how,
              multiple_of=64 if how == "step" else None)
    first, last = r.bounds()
    if first > last:
        return
    v = r.value(u)
    assert first <= v <= last and lo <= v <= hi and isinstance(v, int)
    if how == "pow2":
        assert v & (v - 1) == 0
    if how == "step":
        assert v % 64 == 0


def test_axes_apply_to_the_spec_as_the_dataclass_overrides_do():
    """A point's payload evaluates exactly like the base specs changed through their own with_unit/with_level."""
    spec = sweep_from_text(GEMM, "s.yaml")
    points = resolve_points(spec)
    assert len(points) == 8 and len({p.hash for p in points}) == 8
    cascade, arch, mapping = einsim.load_cascade("gemm"), einsim.load_arch("fusemax"), einsim.load_mapping("gemm")
    for p in points:
        v = p.values
        a = arch.with_unit("array2d", dims={"rows": v["size"], "cols": v["size"]}).with_level(
            "global_buffer", capacity_bytes=v["capacity_bytes"])
        m = mapping.with_tiles({(0, 1): v["size"], (0, 2): v["size"]})
        ref = einsim.evaluate(cascade, a, m, {"M": 512, "K": v["K"], "N": 512})
        got = evaluate_point(p.payload)
        assert got["ok"] == ref.ok and got["status"] == "ok"
        for k in ("cycles", "energy_pj", "dram_bytes", "util_array2d"):
            assert got[k] == pytest.approx(float(ref.summary[k]), rel=1e-12), k
        assert p.arch_columns["area_mm2"] == pytest.approx(einsim.arch.total_area_mm2(a))
        assert yaml.safe_load(p.payload["arch_text"])["units"]["array2d"]["rows"] == v["size"]


def test_equal_resolved_specs_are_one_point():
    text = GEMM.replace("design:", "") + "design: {kind: latin_hypercube, n: 30, seed: 1}\n"
    spec = sweep_from_text(text, "s.yaml")
    assert len(spec.points()) == 30 and len(resolve_points(spec)) <= 8


def test_a_registered_resolver_replaces_the_search_placeholder(monkeypatch):
    def load(value, errors, path, folder):
        if not isinstance(value, dict) or set(value) - {"tile"}:
            errors.add(path, f"search options must be {{tile: N}}, not {value!r}")
            return None
        return dict(value)

    def resolve(data, cascade, arch, sizes, label):
        return einsim.load_mapping("gemm").with_tiles({(0, 1): data["tile"], (0, 2): data["tile"]})

    fake = resolvers.MappingResolver(name="search", load=load, resolve=resolve, ref="test_analysis_sweep:FAKE")
    monkeypatch.setitem(resolvers.RESOLVERS, "search", fake)
    monkeypatch.setattr(sys.modules[__name__], "FAKE", fake, raising=False)
    text = GEMM.replace("mapping: gemm", "mapping: {search: {tile: 128}}").replace(
        "      - mapping.groups[0].loops[1][1]\n      - mapping.groups[0].loops[2][1]\n", "")
    text = text.replace("values: [64, 128]", "values: [128]")
    points = resolve_points(sweep_from_text(text, "s.yaml"))
    assert len(points) == 4 and all(evaluate_point(p.payload)["ok"] for p in points)
    bad = text.replace("{tile: 128}", "{depth: 3}")
    assert "s.yaml:5 base.mapping: search options must be {tile: N}, not {'depth': 3}" in errors_of(bad)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_sweep_through_a_dask_scheduler_and_two_workers_on_loopback(tmp_path):
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(2):
            procs.append(subprocess.Popen([str(BIN / "dask"), "worker", addr, "--nthreads", "1", "--no-nanny",
                                           "--no-dashboard", "--host", "127.0.0.1"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        spec = tmp_path / "s.yaml"
        spec.write_text(GEMM)
        t0 = time.monotonic()
        run = subprocess.run([str(BIN / "einsim"), "sweep", str(spec), "--out", str(tmp_path / "out"),
                              "--scheduler", addr, "--quiet", "--json"], capture_output=True, text=True, timeout=240)
        assert run.returncode == 0, run.stderr
        assert time.monotonic() - t0 < 240
        df = Store(tmp_path / "out").points()
        assert len(df) == 8 and df.ok.all() and df.hash.is_unique
        pids = {int(w.rsplit(":", 1)[1]) for w in df.worker}
        assert pids <= {procs[1].pid, procs[2].pid} and pids
        assert '"workers": 2' in run.stdout
    finally:
        for p in procs:
            p.kill()
            p.wait()


@pytest.mark.slow
def test_scheduler_that_is_not_there_is_one_line(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text(GEMM)
    code = main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--scheduler", f"tcp://127.0.0.1:{_free_port()}",
                 "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "cannot reach a Dask scheduler there" in err[0]


def test_numbers_in_the_store_are_plain(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(GEMM)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    df = Store(tmp_path / "out").points()
    assert df["size"].dtype == np.int64 and df.latency_s.dtype == np.float64


def test_whole_spec_axes_swap_presets_before_the_key_axes():
    text = GEMM.replace("axes:\n", "axes:\n  - path: arch\n    values: [flat, fusemax]\n").replace(
        "values: [64, 128]", "values: [128]")
    points = resolve_points(sweep_from_text(text, "s.yaml"))
    assert len(points) == 8
    cascade, mapping = einsim.load_cascade("gemm"), einsim.load_mapping("gemm")
    for p in points[::3]:
        v = p.values
        a = einsim.load_arch(v["arch"]).with_unit("array2d", dims={"rows": 128, "cols": 128}).with_level(
            "global_buffer", capacity_bytes=v["capacity_bytes"])
        ref = einsim.evaluate(cascade, a, mapping.with_tiles({(0, 1): 128, (0, 2): 128}), {"M": 512, "K": v["K"],
                                                                                           "N": 512})
        assert evaluate_point(p.payload)["cycles"] == pytest.approx(float(ref.summary["cycles"]), rel=1e-12)
        assert yaml.safe_load(p.payload["arch_text"])["name"] == v["arch"]
    bad = text.replace("values: [flat, fusemax]", "values: [flat, fusemx]")
    msg = errors_of(bad)
    assert "s.yaml:7 axes[0]: arch = 'fusemx' makes the arch invalid: arch: must be an architecture preset (" in msg
    assert "fusemax" in msg and msg.endswith(") or a YAML path, not 'fusemx'")

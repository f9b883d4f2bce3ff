"""Sweep reports: Pareto fronts against a brute-force reference, sensitivity and roofline numbers against closed
forms, the HTML page and its figures, and the page opened in headless Chromium (figures loaded, table sortable)."""

import html as html_mod
import os
import re
import shutil
import subprocess
import tempfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from einsim.analysis.cli import main
from einsim.analysis.report_html import build_report
from einsim.analysis.runner import run_sweep
from einsim.analysis.store import Store
from einsim.analysis.sweep import sweep_from_text
from einsim.analysis.sweep_analysis import pareto_mask, pareto_mask_by, roofline, sensitivity

SPEC = """\
name: report_test
description: a small GEMM sweep for the report tests
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
    values: [64, 128, 256]
  - path: workload.sizes.K
    values: [64, 256]
constraints: [area_mm2 <= 300]
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    run_sweep(sweep_from_text(SPEC, "s.yaml"), d / "store", progress=False)
    info = build_report(d / "store", d / "site" / "sweep.html")
    return d, info


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=25))
def test_pareto_mask_matches_brute_force(points):
    df = pd.DataFrame(points, columns=["a", "b", "c"], dtype=float)
    expect = [not any(all(q[k] <= p[k] for k in range(3)) and any(q[k] < p[k] for k in range(3)) for q in points)
              for p in points]
    assert list(pareto_mask(df, ["a", "b", "c"])) == expect


def test_fronts_per_workload_compare_designs_on_the_same_workload():
    df = pd.DataFrame({"seq": [1, 1, 2, 2], "lat": [1.0, 2.0, 10.0, 20.0], "area": [2.0, 1.0, 3.0, 4.0]})
    assert list(pareto_mask(df, ["lat", "area"])) == [True, True, False, False]
    assert list(pareto_mask_by(df, ["lat", "area"], "seq")) == [True, True, True, False]


def test_sensitivity_on_a_grid_isolates_the_axis():
    a, b = np.meshgrid([1, 2, 4], [10, 20, 30, 40], indexing="ij")
    df = pd.DataFrame({"a": a.ravel(), "b": b.ravel(), "ok": True})
    df["y"] = df.a ** 2 * df.b  # effect of a alone: (a / 1)^2, whatever b
    s = sensitivity(df, "a", ["y"], others=["a", "b"])
    assert s.attrs["relative"] and list(s.level) == [1, 2, 4]
    assert list(s.y_median) == [1, 4, 16] and list(s.y_min) == [1, 4, 16] and list(s.y_max) == [1, 4, 16]
    marginal = sensitivity(df, "a", ["y"])  # no other axes named: plain medians over the level
    assert not marginal.attrs["relative"] and list(marginal.y_median) == [25.0, 100.0, 400.0]


@pytest.mark.slow
def test_store_columns_and_roofline_against_closed_forms(report):
    d, _ = report
    df = Store(d / "store").points()
    ok = df[df.ok]
    assert len(df) == 6 and set(df.status) == {"ok", "excluded"} and (df[df.status == "excluded"]["size"] == 256).all()
    assert (ok.ops == 512 * ok.K * 512).all()  # one MAC per point of the GEMM's iteration space
    assert (ok.peak_ops_per_s == (ok["size"] ** 2 + 256) * 940e6).all()  # 2D + 1D PEs, one op per cycle, 940 MHz
    r = roofline(df)
    assert np.allclose(r.attained_ops_per_s, (ok.ops / ok.latency_s).to_numpy())
    assert np.allclose(r.ops_per_dram_byte, (ok.ops / ok.dram_bytes).to_numpy())
    assert np.allclose(r.ridge_ops_per_byte, (ok.peak_ops_per_s / ok.dram_bytes_per_s).to_numpy())
    assert (r.attained_ops_per_s <= np.minimum(r.peak_ops_per_s, r.dram_bytes_per_s * r.ops_per_dram_byte)).all()


def test_report_page_figures_and_table(report):
    d, info = report
    page = (d / "site" / "sweep.html").read_text()
    srcs = re.findall(r'<img src="([^"]+)"', page)
    names = {os.path.basename(s) for s in srcs}
    assert {"pareto.png", "sensitivity_size.png", "sensitivity_K.png", "energy_breakdown.png", "utilization.png",
            "roofline.png"} <= names
    for s in srcs:
        assert s.startswith("sweep_files/") and (d / "site" / s).stat().st_size > 1000
        assert (d / "site" / s).with_suffix(".svg").stat().st_size > 1000
    assert not [u for u in re.findall(r'(?:src|href)="([^"]+)"', page) if "://" in u]  # no network
    assert page.count("<tr>") == 1 + 6 + 3  # header + 6 points, and the spread table (header + 2 axes)
    assert "a small GEMM sweep for the report tests" in page and "4 ok, 0 infeasible, 2 excluded" in page
    assert info["points"] == 6 and len(info["figures"]) == len(srcs)


def test_report_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path), "-o", str(tmp_path / "r.html")]) == 1
    assert capsys.readouterr().err == (f"error: {tmp_path} <store>: holds no sweep results (no points/ folder); run "
                                       f"einsim sweep SPEC --out DIR first\n")
    assert main(["report", str(tmp_path), "-o", str(tmp_path)]) == 1
    assert "is a directory; give an HTML file name" in capsys.readouterr().err


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.slow
def test_report_opens_in_headless_chromium_with_every_figure_loaded(report):
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI") or os.environ.get("EINSIM_REQUIRE_BROWSER"):
            pytest.fail("chromium is missing (apt-get install chromium); CI needs it to check the report")
        pytest.skip("chromium is not installed")
    d, _ = report
    page = d / "site" / "sweep.html"
    with tempfile.TemporaryDirectory() as profile:
        out = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--virtual-time-budget=10000", "--dump-dom",
             f"{page.as_uri()}#selftest"], capture_output=True, text=True, timeout=180)
    m = re.search(r'<p id="selftest"([^>]*)>', out.stdout)
    assert m, out.stdout[-2000:] + out.stderr[-2000:]
    attrs = dict(re.findall(r'data-(\w+)="([^"]*)"', html_mod.unescape(m.group(1))))
    n_img = len(re.findall(r"<img ", page.read_text()))
    assert n_img >= 6 and attrs["images"] == attrs["loaded"] == str(n_img)
    assert attrs["sorted"] == "ascending"

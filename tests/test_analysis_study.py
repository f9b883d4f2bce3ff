"""The FuseMax study on a reduced set writes its tables, figures and report; the CLI evaluates one point."""

import json

import numpy as np
import pandas as pd
import pytest

from einsim.analysis.cli import main
from einsim.analysis.cli_study import run_study
from einsim.analysis.overlay import merge
from einsim.analysis.quirks import quirk_effects
from einsim.analysis.study import STUDY_DIR, config_specs, load_study, run_attention, run_end_to_end
from einsim.workloads.errors import SpecError


@pytest.mark.slow
def test_reduced_study_writes_everything(tmp_path):
    out = run_study("fusemax", tmp_path, models=["bert"], seq_lens=[1024, 4096])
    att = pd.read_csv(tmp_path / "attention.csv")
    e2e = pd.read_csv(tmp_path / "end_to_end.csv")
    assert len(att) == 10 and len(e2e) == 10 and att.ok.all()
    for col in ("model", "seq_len", "config", "cycles", "latency_s", "energy_pj", "dram_bytes", "util_2d", "util_1d"):
        assert col in att.columns
    assert set(att.config) == {"unfused", "flat", "cascade", "arch", "binding"}
    assert (e2e.set_index(["config", "seq_len"]).latency_s > att.set_index(["config", "seq_len"]).latency_s).all()
    for f in ("report.md", "utilization.png", "activity_2d.png", "pareto.png", "attention_speedup_vs_flat.png",
              "end_to_end_energy_vs_unfused.png"):
        assert (tmp_path / f).stat().st_size > 0
    report = (tmp_path / "report.md").read_text()
    assert "6.7x" in report and "binding vs flat" in report
    assert out["seconds"] > 0


@pytest.mark.slow
def test_cli_evaluate_json_and_errors(capsys, tmp_path):
    code = main(["evaluate", "--workload", "gemm", "--arch", "fusemax", "--mapping", "gemm",
                 "--set", "M=1024", "--set", "K=512", "--set", "N=768", "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and data["summary"]["cycles"] >= 1024 * 512 * 768 / 65536
    assert main(["evaluate", "--workload", "gemm", "--arch", "fusemx", "--mapping", "gemm"]) == 1
    assert "presets: flat, fusemax" in capsys.readouterr().err
    assert main(["study", "fusemax", "--engine", "event", "--models", "bert", "--seq-lens", "1024",
                 "--out", str(tmp_path)]) == 0
    assert (tmp_path / "attention.csv").exists()


@pytest.mark.slow
def test_study_writes_energy_breakdown_buffer_sweep_and_published(tmp_path):
    run_study("fusemax", tmp_path, models=["bert"], seq_lens=[1024])
    att = pd.read_csv(tmp_path / "attention.csv")
    energy = pd.read_csv(tmp_path / "energy.csv")
    assert list(energy.columns) == ["model", "seq_len", "config", "component", "action", "count", "energy_pj"]
    per_point = energy.groupby(["model", "seq_len", "config"]).energy_pj.sum()
    for _, r in att.iterrows():
        assert per_point[(r.model, r.seq_len, r.config)] == pytest.approx(r.energy_pj, rel=1e-9)
    assert {"global_buffer", "dram", "array2d", "array1d"} <= set(energy.component)
    # the buffer's energy per access and area come from CACTI for each capacity and rise with it
    sweep = pd.read_csv(tmp_path / "buffer_sweep.csv")
    assert list(sweep.capacity_mib) == [1, 2, 4, 8, 16, 32, 64] and sweep.ok.all()
    for col in ("read_pj", "write_pj", "area_mm2"):
        assert (np.diff(sweep[col]) > 0).all(), col
    at16 = sweep[sweep.capacity_mib == 16].iloc[0]
    assert at16.read_pj == pytest.approx(12512.7, rel=1e-4) and at16.area_mm2 == pytest.approx(84.2, rel=1e-3)
    assert (tmp_path / "buffer_sweep.png").stat().st_size > 0
    pub = pd.read_csv(tmp_path / "published.csv")
    assert len(pub) == 5 and (pub.latency_x > 0).all()
    report = (tmp_path / "report.md").read_text()
    assert "Buffer capacity sweep" in report and "Against the reference's published figures" in report


def test_artifact_study_matches_the_reference_closed_forms_at_bert_1k():
    # the artifact's latency model at BERT 1K (E = F = 64, 12 heads, batch 64): +Binding 154 cycles per 256 x 256
    # tile, +Architecture 458, and the published Unfused, FLAT and +Cascade figures
    # (analysis/studies/fusemax_published.csv); with its quirks as overlays einsim lands within 2% of each
    study = load_study("fusemax-artifact")
    att, _ = run_attention(study, models=["bert"], seq_lens=[1024], progress=False)
    lat = att.set_index("config").latency_s
    tiles = 64 * 12 * 4 * 4
    closed = {"binding": 154 * tiles / 940e6, "arch": 458 * tiles / 940e6}
    for cfg, want in closed.items():
        assert lat[cfg] == pytest.approx(want, rel=0.02), cfg
    pub = pd.read_csv(study.published, comment="#")
    pub = pub[(pub.model == "BERT") & (pub.seq_len == 1024)].set_index("config").latency_s
    for cfg in study.configs:
        assert lat[cfg] == pytest.approx(pub[cfg], rel=0.02), cfg


def test_overlay_merge_and_quirk_resolution():
    assert merge({"a": {"x": 1, "y": 2}, "b": 3}, {"a": {"y": None, "z": 4}}) == {"a": {"x": 1, "z": 4}, "b": 3}
    levels = [{"name": "dram", "bw": 1}, {"name": "gb", "cap": 2}]
    assert merge(levels, [{"name": "gb", "cap": 8}]) == [{"name": "dram", "bw": 1}, {"name": "gb", "cap": 8}]
    assert merge([1, 2], [3]) == [3]
    study = load_study("fusemax-artifact")
    assert study.models == load_study("fusemax").models        # extended
    flat_1k = config_specs(study, "flat", 1024)
    flat_1m = config_specs(study, "flat", 1048576)
    assert flat_1k.mapping.name == "flat" and flat_1m.mapping.name == "flat_offchip"
    assert "flat_fixed_long_sequences" in flat_1m.quirks and "flat_fixed_long_sequences" not in flat_1k.quirks
    casc = config_specs(study, "cascade", 1024)
    assert casc.arch.unit("array1d").native_ops["exp"] == ("alu", 1) and casc.arch.unit("array1d").energy_pj["exp"] == 0
    plain = config_specs(study, "cascade", 1024, without=frozenset({"cascade_sub_exp_two_cycles"}))
    assert plain.arch.unit("array1d").native_ops["exp"] == ("exp", 1)
    assert plain.arch.unit("array1d").energy_pj["exp"] == 0      # the other quirk stays
    arch_cfg = config_specs(study, "arch", 4096).arch.unit("array2d")
    assert arch_cfg.reduction_latency(256, "max") == 256 and arch_cfg.reduction_latency(256, "sum") == 0
    assert arch_cfg.expand("exp") == {"mac": 6.0}
    assert config_specs(study, "binding", 1024).arch.unit("array2d").rf_reads_per_op == 2 / 65536


@pytest.mark.slow
def test_quirk_errors_and_effects(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nextends: fusemax\nquirks:\n  - {name: q, what: w, source: s, configs: [nope]}\n"
                   "  - {name: r, what: w, source: s, configs: all}\n")
    with pytest.raises(SpecError) as exc:
        load_study(bad)
    text = str(exc.value)
    assert "quirks[0].configs: must be 'all' or a list of the study's configs" in text
    assert "quirks[1]: needs an overlay: cascade, arch or mapping" in text
    one = tmp_path / "one.yaml"
    one.write_text(f"name: one\nextends: {STUDY_DIR / 'fusemax.yaml'}\nquirks:\n"
                   "  - {name: slow_exp, what: w, source: s, configs: [cascade],\n"
                   "     arch: {units: {array1d: {pipelines: {alu: {exp: 1}, exp: null}}}}}\n")
    study = load_study(one)
    att, _ = run_attention(study, models=["bert"], seq_lens=[1024], progress=False)
    e2e = run_end_to_end(study, att, models=["bert"], seq_lens=[1024], progress=False)
    q = quirk_effects(study, att, e2e, models=["bert"], seq_lens=[1024]).iloc[0]
    # +Cascade's 1D array: 930 -> 1171 cycles a tile (LM 255, SLN 256 -> 512, SLD 255, PRM 1 -> 2, ...)
    assert q.configs == "cascade" and q.cascade_latency_x == pytest.approx(1.27, abs=0.02)
    assert q.attention_speedup_effect == 0 and q.end_to_end_energy_effect == 0    # not on the headline's configs

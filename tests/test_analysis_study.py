"""The FuseMax study on a reduced set writes its tables, figures and report; the CLI evaluates one point."""

import json

import pandas as pd

from einsim.analysis.cli import main
from einsim.analysis.cli_study import run_study


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

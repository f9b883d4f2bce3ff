"""The NeuPIMs serving study's data side and commands: request traces (CSV parsing with file:line errors, length
distributions, steady-state batches), a small serving study written as one set of files, and ``einsim simulate
--system``."""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from einsim.analysis.cli import main
from einsim.analysis.request_traces import LengthDistribution, draw_requests, read_trace, stationary_batch
from einsim.workloads.errors import SpecError


def _csv(tmp_path, text, name="t.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_read_trace(tmp_path):
    b = read_trace(_csv(tmp_path, "seq_len,ch_idx\n300,3\n\n12,0\n"))
    assert list(b.context) == [300, 12] and list(b.channel) == [3, 0]


def test_trace_errors_name_file_line_and_column(tmp_path):
    p = _csv(tmp_path, "seq_len,ch_idx\n300,3\nabc,1\n5,-2\n7\n9,40\n")
    with pytest.raises(SpecError) as e:
        read_trace(p, channels=32)
    text = str(e.value)
    assert f"{p}:3 seq_len: must be an integer >= 1, not 'abc'" in text
    assert f"{p}:4 ch_idx: must be in [0, 32), not '-2'" in text
    assert f"{p}:5 <row>: must have 2 fields (seq_len,ch_idx), not 1" in text
    assert f"{p}:6 ch_idx: must be in [0, 32), not '40'" in text
    with pytest.raises(SpecError, match=r"t2.csv:1 <header>: must be 'seq_len,ch_idx', not 'len,channel'"):
        read_trace(_csv(tmp_path, "len,channel\n1,2\n", "t2.csv"))
    with pytest.raises(SpecError, match="at least one request"):
        read_trace(_csv(tmp_path, "seq_len,ch_idx\n", "t3.csv"))
    with pytest.raises(SpecError, match="cannot read the trace"):
        read_trace(tmp_path / "missing.csv")


def test_length_distribution_means_and_cap():
    d = LengthDistribution(name="x", input_mean=80, output_mean=296, max_seq_len=2048)
    i, o = d.draw(200_000, np.random.default_rng(0))
    assert i.min() >= 1 and o.min() >= 1 and (i + o).max() <= 2048
    assert i.mean() == pytest.approx(80, rel=0.02) and o.mean() == pytest.approx(296 * 0.995, rel=0.03)
    r = draw_requests(d, 10, np.random.default_rng(1))
    assert len(r) == 10
    with pytest.raises(ValueError, match="at least 1 token"):
        LengthDistribution(name="x", input_mean=0.5, output_mean=3)


def test_stationary_batch_is_length_biased():
    """A request is in a continuously batched batch for its whole generation, so the batch holds long generations
    more often than the dataset does: the mean of (steps done + steps left) is about twice the mean output."""
    d = LengthDistribution(name="x", input_mean=20, output_mean=100, max_seq_len=100_000)
    rng = np.random.default_rng(2)
    ctx, left = stationary_batch(d, 50_000, rng)
    assert left.min() >= 1
    steps = (ctx - 1) + left                        # input + steps done + steps left; inputs average 20
    assert steps.mean() - 20 == pytest.approx(2 * 100, rel=0.05)


STUDY = """
name: tiny
kind: serving
models:
  gpt3-7b: {decode: gpt3-7b-decode, tp: 4, pp: 1}
datasets:
  alpaca: {input_mean: 12, output_mean: 56}
batches: [64]
configs: [npu-only, dual-rb, neupims]
units: {npu: systolic, pim: pim}
serving: {iterations: 4, time_every: 2, pool: 2, seed: 5}
interleave: {configs: [dual-rb]}
table4: {model: gpt3-7b, dataset: alpaca, batch: 64, configs: [npu-only, neupims]}
timeline: {model: gpt3-7b, dataset: alpaca, batch: 64, config: neupims, layers: 1}
paper: {npu_only_ratio: 2.4, table4: {neupims: {npu: 0.649, pim: 0.264}}}
"""


@pytest.mark.slow
def test_small_study_writes_one_set_of_outputs(tmp_path, capsys):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(STUDY)
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.txt").write_text("from an earlier run")
    assert main(["study", str(spec), "--out", str(out)]) == 0
    names = set(os.listdir(out))
    assert {"throughput.csv", "layers.csv", "interleave.csv", "report.md", "throughput_by_batch.png",
            "utilization.png", "timeline.png"} <= names
    assert "stale.txt" not in names                                   # the set replaced the old one whole
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".out")]   # no temporary or old directory left
    mask = os.umask(0)
    os.umask(mask)
    assert (out.stat().st_mode & 0o777) == 0o777 & ~mask
    thr = pd.read_csv(out / "throughput.csv")
    assert list(thr.columns[:9]) == ["model", "dataset", "batch", "config", "tokens_per_s", "iteration_s",
                                     "util_npu", "util_pim", "energy_pj"]
    assert set(thr.config) == {"npu-only", "dual-rb", "neupims"} and (thr.tokens_per_s > 0).all()
    lay = pd.read_csv(out / "layers.csv")
    assert set(lay.layer) == {"qkv", "attention", "out_proj", "ffn"}
    inter = pd.read_csv(out / "interleave.csv")
    assert inter.gain.iloc[0] == pytest.approx(inter.tokens_per_s_2.iloc[0] / inter.tokens_per_s_1.iloc[0])
    report = (out / "report.md").read_text()
    assert "NeuPIMs / npu-only" in report and "paper (abstract)" in report


def test_study_rejects_unknown_models(tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(STUDY)
    assert main(["study", str(spec), "--out", str(tmp_path / "o"), "--models", "gpt3-8b"]) == 1


def test_simulate_system_on_a_trace(tmp_path, capsys):
    trace = _csv(tmp_path, "seq_len,ch_idx\n" + "".join(f"{40 + 7 * k},{k % 4}\n" for k in range(8)))
    code = main(["simulate", "--system", "neupims", "--workload", "gpt3-7b-decode", "--trace", str(trace), "--tp",
                 "4", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["requests"] == 8 and out["cycles"] > 0 and out["layers"] == 32
    for c in ("GWRITE", "G_ACT", "COMP", "READRES"):
        assert out["commands"][c] == out["program_commands"][c] > 0


def test_simulate_system_errors(tmp_path, capsys):
    bad = _csv(tmp_path, "seq_len,ch_idx\n5,99\n")
    assert main(["simulate", "--system", "neupims", "--workload", "gpt3-7b-decode", "--trace", str(bad)]) == 1
    assert f"{bad}:2 ch_idx: must be in [0, 32), not '99'" in capsys.readouterr().err
    assert main(["simulate", "--system", "neupims", "--workload", "gpt3-7b-decode"]) == 1
    assert main(["simulate", "--workload", "gemm", "--mapping", "npu-gemm"]) == 1
    assert "--arch is required" in capsys.readouterr().err
    ok = _csv(tmp_path, "seq_len,ch_idx\n5,1\n", "ok.csv")
    assert main(["simulate", "--system", "neupims", "--workload", "gpt3-7b-decode", "--trace", str(ok), "--tp", "4",
                 "--pp", "3"]) == 1
    assert "pp: must divide the 32 layers of GPT3-7B-decode, not 3" in capsys.readouterr().err
    # GPT-3 175B on one device: its 96 heads' query and scores overflow a channel's PIM buffer (a well-formed point
    # that cannot run)
    assert main(["simulate", "--system", "neupims", "--workload", "gpt3-175b-decode", "--trace", str(ok)]) == 2
    assert capsys.readouterr().out.startswith("infeasible: group1 needs")


def test_neupims_study_file_loads():
    from einsim.analysis.serving_study import is_serving_study, load_serving_study

    assert is_serving_study("neupims") and not is_serving_study("fusemax")
    s = load_serving_study("neupims")
    assert s.configs == ("npu-only", "npu-pim-naive", "dual-rb", "bin-packing", "neupims")
    assert s.batches == (64, 128, 256, 512) and s.models["gpt3-30b"]["pp"] == 2
    assert Path(s.file).name == "neupims.yaml"

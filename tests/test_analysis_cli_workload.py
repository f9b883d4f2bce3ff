"""``einsim workload check|show`` as a user meets it: exit codes, messages without tracebacks, JSON keys."""

import json

from einsim.analysis.cli import main

SIZES = ["--set", "B=2", "--set", "H=2", "--set", "M=1024", "--set", "P=512", "--set", "E=64", "--set", "F=64",
         "--set", "M0=256"]


def test_check_library_ok(capsys):
    assert main(["workload", "check", "attention_1pass", "gemm"]) == 0
    assert "ok: attention_1pass (attention-1pass: 13 Einsums)" in capsys.readouterr().out


def test_check_reports_errors_without_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nranks: [M]\ntensors: {X: [M], Y: [M]}\neinsums:\n  - Y[m] = foo(X[m])\n")
    assert main(["workload", "check", str(bad), "gemm"]) == 1
    captured = capsys.readouterr()
    assert f"error: {bad}:5 einsums[0]: unknown operator 'foo'" in captured.err
    assert "Traceback" not in captured.err and "ok: gemm" in captured.out


def test_show_json_keys(capsys):
    assert main(["workload", "show", "attention_1pass", "--json", *SIZES]) == 0
    info = json.loads(capsys.readouterr().out)
    assert {"einsums", "op_counts", "passes"} <= set(info)
    assert info["passes"]["M"] == 1
    assert info["op_counts"]["mac"] == 2 * 2 * 1024 * 512 * (64 + 64)
    assert [e["name"] for e in info["einsums"]][:2] == ["SQ", "BQK"]


def test_show_text_and_bad_set(capsys):
    assert main(["workload", "show", "attention_3pass", *SIZES[:-2]]) == 0
    out = capsys.readouterr().out
    assert "passes:    B 1, H 1, M 3" in out and "total ops:" in out
    assert main(["workload", "show", "gemm", "--set", "M=x"]) == 1
    assert "error: --set M: size of rank M must be a positive integer, not 'x'" in capsys.readouterr().err


def test_unknown_library_name(capsys):
    assert main(["workload", "show", "attention_1pas"]) == 1
    assert "did you mean 'attention_1pass'" in capsys.readouterr().err

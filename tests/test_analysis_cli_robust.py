"""The CLI as a careless user meets it: every bad value is one line and exit 1, infeasible is exit 2, a crash is one
line and exit 70, output folders are checked first and written as one set with normal permissions."""

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from einsim.analysis import cli
from einsim.analysis.cli import main
from einsim.analysis.outputs import OutputSet

ROOT = Path(__file__).resolve().parents[1]
GEMM = ["evaluate", "--workload", "gemm", "--arch", "fusemax", "--mapping", "gemm"]
SIZES = ["--set", "M=512", "--set", "K=64", "--set", "N=512"]
ATTN = ["evaluate", "--workload", "attention_1pass", "--arch", "fusemax", "--mapping", "binding", "--set", "B=1",
        "--set", "H=1", "--set", "P=256", "--set", "E=64", "--set", "F=64"]


def run(argv, capsys):
    code = main(argv)
    err = capsys.readouterr().err
    return code, err.strip().splitlines()


@pytest.mark.parametrize(("item", "message"), [
    ("X=4", "error: --set X: unknown rank 'X'; ranks of cascade 'gemm': M, K, N"),
    ("M=0", "error: --set M: size of rank M must be a positive integer, not '0'"),
    ("M=-1", "error: --set M: size of rank M must be a positive integer, not '-1'"),
    ("M=abc", "error: --set M: size of rank M must be a positive integer, not 'abc'"),
    ("M=1024.7", "error: --set M: size of rank M must be a positive integer, not '1024.7'"),
    ("M=" + "9" * 30, "error: --set M: size of rank M must be a positive integer, not '" + "9" * 30 + "' (at most "
                      "2**62 = 4611686018427387904)"),
    ("M", "error: --set M: must look like RANK=N, e.g. --set M=4096"),
])
def test_bad_set_is_one_line_exit_1(item, message, capsys):
    sizes = ["--set", "K=64", "--set", "N=512"] + ([] if item.startswith("M") else ["--set", "M=512"])
    assert run(GEMM + sizes + ["--set", item], capsys) == (1, [message])


def test_huge_size_is_refused_before_the_simulator(capsys):
    code, lines = run(ATTN + ["--set", f"M={2 ** 62}"], capsys)
    assert code == 1 and len(lines) == 1 and "would have 7.56e+22 points, more than 4.61e+18" in lines[0], lines


def test_infeasible_is_exit_2(capsys):
    assert main(GEMM + ["--set", "M=64", "--set", "K=64", "--set", "N=64"]) == 2
    assert "infeasible: no candidate tile is feasible" in capsys.readouterr().out


def write_mapping(tmp_path, old, new, preset="binding"):
    text = (ROOT / "mappings/presets" / f"{preset}.yaml").read_text()
    assert old in text
    path = tmp_path / "m.yaml"
    path.write_text(text.replace(old, new))
    return str(path)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("cols: P}", "cols: Pp}", "groups[0].spatial.array2d.cols: unknown rank 'Pp' (did you mean 'P'?); ranks of "
                              "cascade 'attention-1pass': B, H, M, P, E, F, M1, M0"),
    ("array1d: {pes: P}", "array1d: {rows: P}", "groups[0].spatial.array1d.rows: unit 'array1d' has dimensions pes, "
                                                "not 'rows'"),
    ("on_chip: all", "on_chip: [NOSUCH]", "groups[0].on_chip[0]: unknown Einsum result 'NOSUCH'"),
    ("BQK: array2d", "BQK: array3d", "binding.BQK: unknown unit 'array3d' (did you mean 'array2d'?); units of "
                                     "architecture 'fusemax': array2d, array1d"),
    ("LM: array2d", "LMX: array2d", "binding.LMX: unknown Einsum 'LMX' (did you mean 'LM'?)"),
    ("cascade: attention-1pass", "cascade: attention-3pass", "cascade: this mapping is written for cascade "
                                                             "'attention-3pass', not 'attention-1pass'"),
])
def test_mapping_names_are_checked_against_the_point(old, new, message, tmp_path, capsys):
    path = write_mapping(tmp_path, old, new)
    argv = [a if a != "binding" else path for a in ATTN] + ["--set", "M=1024"]
    code, lines = run(argv, capsys)
    assert code == 1 and any(line.startswith(f"error: {path}:") and message in line for line in lines), lines


@pytest.mark.parametrize(("args", "message"), [
    (["--rows", "100000", "--cols", "100000", "--m", "8", "--k", "8", "--n", "8"],
     "this run needs about 1,192.1 GiB, more than the"),
    (["--rows", "8", "--cols", "8", "--m", "8", "--k", "1000000000", "--n", "8"], "this run needs about 357.6 GiB"),
    (["--rows", "100000", "--cols", "8", "--m", "16", "--k", "16", "--n", "16"],
     "this run would take about 3.2e+11 PE-cycle updates (~21 min), more than 1e+11; use a smaller array or GEMM"),
    (["--rows", "8", "--cols", "8", "--m", "8", "--k", "8", "--n", "8", "--seed", "-1"],
     "error: <command line> --seed: --seed must be an integer from 0 to 2**63 - 1, not -1"),
    (["--rows", "0", "--cols", "8", "--m", "8", "--k", "8", "--n", "8"],
     "error: <command line> --rows: --rows must be a positive integer, not 0"),
    (["--rows", "8", "--cols", "8", "--m", "8", "--k", "8", "--n", str(2 ** 70)],
     "error: <command line> --n: --n must be at most 2**62, not 1180591620717411303424"),
    (["--rows", "8", "--cols", "8", "--m", "8", "--k", "8"], "the following arguments are required: --n"),
])
def test_kernel_values_and_memory(args, message, capsys):
    code, lines = run(["kernel", "systolic", *args], capsys)
    assert code == 1 and len(lines) == 1 and message in lines[0], lines


@pytest.mark.parametrize(("value", "message"), [
    ("", "must be a comma-separated list of positive integers like 1024,4096, not ''"),
    ("abc", "must be a positive integer (at most 2**62 = 4611686018427387904), not 'abc' (in 'abc')"),
    ("0", "not '0' (in '0')"),
    ("1024.7", "not '1024.7' (in '1024.7')"),
    ("1024,", "must be a comma-separated list of positive integers like 1024,4096, not '1024,'"),
])
def test_study_seq_lens(value, message, tmp_path, capsys):
    code, lines = run(["study", "fusemax", "--seq-lens", value, "--out", str(tmp_path / "o")], capsys)
    assert code == 1 and len(lines) == 1 and "argument --seq-lens: " in lines[0] and message in lines[0], lines


def test_out_is_checked_before_any_work(tmp_path, capsys, monkeypatch):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert run(["study", "fusemax", "--out", str(afile)], capsys) == (1, [
        f"error: <command line> --out: '{afile}' is a file, not a folder; give a folder for the results"])
    assert run(["study", "fusemax", "--out", str(afile / "sub")], capsys) == (1, [
        f"error: <command line> --out: cannot make folder '{afile / 'sub'}': '{afile}' is a file"])
    code, lines = run(["study", "fusemax", "--out", "/proc/nosuch/x"], capsys)   # unwritable even for root
    assert code == 1 and len(lines) == 1 and lines[0].startswith("error: <command line> --out: cannot write under "
                                                                 "'/proc' (")
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    code, lines = run(["study", "fusemax", "--out", str(tmp_path / "new")], capsys)
    assert code == 1 and lines == [f"error: <command line> --out: cannot write under '{tmp_path}' (permission "
                                   f"denied); choose another folder with --out"]


def test_study_file_errors(tmp_path, capsys):
    text = (ROOT / "analysis/studies/fusemax.yaml").read_text()
    bad = tmp_path / "s.yaml"
    bad.write_text(text.replace("seq_lens: [1024, 4096, 16384, 65536, 262144, 1048576]", "seq_lens: '1024'")
                   .replace("sizes: [16, 32, 64, 128, 256, 512]", "sizes: [0, 0]")
                   .replace("reference: unfused", "reference: unfusd").replace("models: [bert,", "models: [bret,"))
    code, lines = run(["study", str(bad), "--out", str(tmp_path / "o")], capsys)
    assert code == 1
    assert f"error: {bad}:6 seq_lens: must be a list, not '1024'" in lines
    assert f"error: {bad}:23 pareto.sizes[0]: must be a positive integer, not 0" in lines


def test_study_references(tmp_path, capsys):
    text = (ROOT / "analysis/studies/fusemax.yaml").read_text()
    bad = tmp_path / "s.yaml"
    bad.write_text(text.replace("reference: unfused", "reference: unfusd").replace("models: [bert,", "models: [bret,")
                   .replace("arch: fusemax, mapping: arch", "arch: fusemx, mapping: arch"))
    code, lines = run(["study", str(bad), "--out", str(tmp_path / "o")], capsys)
    assert code == 1
    assert f"error: {bad}:8 reference: must be one of the configs (unfused, flat, cascade, arch, binding), not " \
           f"'unfusd' (did you mean 'unfused'?)" in lines
    assert any(line.startswith(f"error: {bad}:5 models[0]: unknown model 'bret' (did you mean 'bert'?)")
               for line in lines)
    assert any(line.startswith(f"error: {bad}:13 configs.arch.arch: unknown arch 'fusemx' (did you mean 'fusemax'?)")
               for line in lines)


def test_internal_error_is_one_line_exit_70(capsys, monkeypatch):
    import einsim.analysis.cli_workload as cw

    def boom(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cw, "_check", boom)
    code, lines = run(["workload", "check", "gemm"], capsys)
    assert code == 70 and len(lines) == 1
    assert lines[0].startswith("internal error: ZeroDivisionError: a bug (at test_analysis_cli_robust.py:")
    assert "rerun with --debug (or EINSIM_DEBUG=1) for the traceback" in lines[0]
    code, lines = run(["--debug", "workload", "check", "gemm"], capsys)
    assert code == 70 and lines[0] == "Traceback (most recent call last):" and lines[-1].startswith("internal error")


def test_interrupt_is_one_line_130(capsys, monkeypatch):
    def stop():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", stop)
    assert run(["workload", "check", "gemm"], capsys) == (130, ["interrupted"])


@pytest.mark.slow
def test_broken_pipe_ends_quietly():
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    cmd = f"{sys.executable} -m einsim.analysis.cli workload show attention_1pass | head -1"
    out = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.startswith("attention-1pass") and out.stderr == ""


def test_output_set_permissions_and_atomicity(tmp_path):
    target = tmp_path / "out"
    with OutputSet(target) as s:
        s.write("a.csv", lambda p: Path(p).write_text("1"))
    old_mask = os.umask(0o022)
    os.umask(old_mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o777 & ~old_mask
    assert stat.S_IMODE((target / "a.csv").stat().st_mode) == 0o666 & ~old_mask
    (target / "mine.txt").write_text("kept")
    with pytest.raises(RuntimeError), OutputSet(target) as s:
        s.write("a.csv", lambda p: Path(p).write_text("2"))
        raise RuntimeError("killed half way")
    assert (target / "a.csv").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]   # no temporary folder left
    with OutputSet(target) as s:
        s.write("a.csv", lambda p: Path(p).write_text("3"))
        s.write("b.csv", lambda p: Path(p).write_text("3"))
    assert [(target / f).read_text() for f in ("a.csv", "b.csv", "mine.txt")] == ["3", "3", "kept"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_bad_yaml_files_through_the_cli(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(textwrap.dedent("""\
        name: t
        ranks: [M]
        tensors: {A: [M], Z: [M]}
        einsums:
          - Z[m] = A[m] * sqrt(0 - M)
        """))
    code, lines = run(["workload", "show", str(bad), "--set", "M=4"], capsys)
    assert (code, lines) == (1, [f"error: {bad}:5 einsums[0]: sqrt(-4) is not a number in 'Z[m] = A[m] * "
                                 f"sqrt(0 - M)' for sizes M=4"])

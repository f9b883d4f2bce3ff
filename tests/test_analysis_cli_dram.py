"""``einsim dram bench|gemv`` as a user meets it: the JSON keys the issue asks for, exit codes, messages."""

import json

from einsim.analysis.cli import main


def test_bench_json_keys_and_unloaded_latency(capsys):
    assert main(["dram", "bench", "--preset", "hbm2", "--pattern", "row_hit", "--requests", "40", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert {"bandwidth_bytes_per_s", "peak_bytes_per_s", "mean_read_latency_cycles", "energy_pj_per_bit",
            "refresh_fraction"} <= set(info)
    assert info["median_read_latency_cycles"] == 16 == info["unloaded_latency_closed_form_cycles"]["open"]
    assert info["peak_bytes_per_s"] == 32 * 16 * 2e9 and info["requests"] == 40


def test_bench_stream_text(capsys):
    assert main(["dram", "bench", "--preset", "hbm3", "--pattern", "stream", "--requests", "20000"]) == 0
    out = capsys.readouterr().out
    assert "% of peak" in out and "energy      not available (no IDD figures)" in out


def test_trace_file(tmp_path, capsys):
    trace = tmp_path / "t.trace"
    trace.write_text("# DRAMsim3 format\n0x0 READ 0\n0x40 WRITE 3\n0x80 READ 5\n")
    assert main(["dram", "bench", "--trace", str(trace), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["requests"] == 3 and info["commands"]["WR"] == 1
    trace.write_text("0x0 READ 0\n0x40 FETCH 3\n")
    assert main(["dram", "bench", "--trace", str(trace)]) == 1
    err = capsys.readouterr().err
    assert f"error: {trace}:2 op: operation must be READ or WRITE, not 'FETCH'" in err and "Traceback" not in err


def test_gemv_json(capsys):
    assert main(["dram", "gemv", "--preset", "hbm2-pim", "--rows", "64", "--cols", "1024", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["cycles"] == info["closed_form_cycles"]
    assert info["commands"]["COMP"] == 2 * 2 * 32 and info["commands"]["READRES"] == 4
    assert info["commands"]["GWRITE"] == 2 and info["commands"]["G_ACT"] == 4 * 8
    assert main(["dram", "gemv", "--rows", "64", "--cols", "1024", "--row-buffers", "1", "--json"]) == 0
    single = json.loads(capsys.readouterr().out)
    assert single["row_buffers"] == 1 and single["cycles"] > info["cycles"]


def test_errors_and_infeasible_points(capsys):
    assert main(["dram", "bench", "--preset", "hbm7"]) == 1
    assert "presets: aim-like, hbm-pim, hbm2, hbm2-dramsim3, hbm2-pim, hbm3" in capsys.readouterr().err
    assert main(["dram", "gemv", "--preset", "hbm2", "--rows", "4", "--cols", "4"]) == 2
    assert "has no PIM" in capsys.readouterr().err
    assert main(["dram", "gemv", "--rows", "0", "--cols", "4"]) == 1
    assert "--rows must be a positive integer, not 0" in capsys.readouterr().err
    assert main(["dram", "gemv", "--rows", "40000000", "--cols", "4096"]) == 2
    assert "a bank has 32768" in capsys.readouterr().err

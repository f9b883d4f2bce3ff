"""The results store: atomic part files with normal permissions, leftovers of a killed run cleaned, one writer at a
time, resume without recomputation, and a real ``einsim sweep`` killed with SIGKILL mid-run and resumed."""

import glob
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from einsim.analysis import resolvers
from einsim.analysis.cli import main
from einsim.analysis.runner import run_sweep
from einsim.analysis.store import Store, StoreError
from einsim.analysis.sweep import sweep_from_text

BIN = Path(sys.executable).parent

GEMM = """\
name: store_test
base:
  workload: {cascade: gemm, sizes: {M: 512, K: 256, N: 512}}
  arch: fusemax
  mapping: gemm
axes:
  - path: workload.sizes.K
    values: [64, 128, 256]
  - path: arch.memory.global_buffer.capacity_bytes
    values: [1048576, 4194304]
batch_size: 2
"""

# 40 points of a small attention (0.02-0.2 s each): long enough to be killed mid-run, short enough for a test.
ATTENTION = """\
name: kill_test
base:
  workload: {cascade: attention_1pass, sizes: {B: 1, H: 1, M: 256, P: 256, E: 64, F: 64}}
  arch: fusemax
  mapping: binding
axes:
  - name: seq_len
    paths: [workload.sizes.M, workload.sizes.P]
    values: [256, 512, 1024, 2048]
  - name: buffer_bytes
    path: arch.memory.global_buffer.capacity_bytes
    range: {low: 1048576, high: 16777216, scale: log, n: 10, multiple_of: 65536}
batch_size: 2
"""


def _rows(n: int, start: int = 0) -> list[dict]:
    return [{"hash": f"h{i}", "status": "ok", "ok": True, "reason": "", "cycles": float(i)}
            for i in range(start, start + n)]


def test_a_batch_is_two_atomic_parts_with_normal_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        with Store(tmp_path / "s") as store:
            name = store.write_batch(_rows(3), [("h0", "array2d", "mac", 10.0, 171.6)])
            store.write_batch(_rows(2, 3), [])
    finally:
        os.umask(old)
    for sub in ("points", "energy"):
        files = sorted(os.listdir(tmp_path / "s" / sub))
        assert len(files) == 2 and name in files and not any(f.startswith(".") for f in files)
        assert all(os.stat(tmp_path / "s" / sub / f).st_mode & 0o777 == 0o644 for f in files)
    store = Store(tmp_path / "s")
    assert store.hashes() == {f"h{i}" for i in range(5)}
    assert list(store.points().cycles) == [0.0, 1.0, 2.0, 3.0, 4.0]
    e = store.energy()
    assert e.to_dict("records") == [{"hash": "h0", "component": "array2d", "action": "mac", "count": 10.0,
                                     "energy_pj": 171.6}]


def test_open_removes_what_a_killed_run_left_and_readers_ignore_uncommitted_energy(tmp_path):
    with Store(tmp_path) as store:
        store.write_batch(_rows(1), [("h0", "dram", "read", 1.0, 249.6)])
    (tmp_path / "points" / ".part-x.parquet.tmp").write_bytes(b"half a file")
    orphan = tmp_path / "energy" / "part-99999999999999999999-1-00001.parquet"
    orphan.write_bytes((tmp_path / "energy" / os.listdir(tmp_path / "energy")[0]).read_bytes())
    assert len(Store(tmp_path).energy()) == 1  # the orphan's rows are not read
    with Store(tmp_path):
        pass
    assert not orphan.exists() and not (tmp_path / "points" / ".part-x.parquet.tmp").exists()
    assert Store(tmp_path).hashes() == {"h0"}


def test_one_writer_at_a_time(tmp_path):
    with Store(tmp_path):
        with pytest.raises(StoreError, match="another einsim sweep is writing here"):
            Store(tmp_path).open()
    with Store(tmp_path):  # the lock went with the first writer
        pass


def test_an_unreadable_part_is_named(tmp_path):
    with Store(tmp_path) as store:
        store.write_batch(_rows(1), [])
    bad = tmp_path / "points" / "part-00000000000000000001-1-00001.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(StoreError, match=f"{bad}: not a readable Parquet part .*move it away"):
        Store(tmp_path).hashes()


def test_resume_skips_stored_points_and_recomputes_only_missing_parts(tmp_path):
    spec = sweep_from_text(GEMM, "s.yaml")
    first = run_sweep(spec, tmp_path, progress=False)
    assert (first.unique, first.evaluated, first.ok, first.stored_before) == (6, 6, 6, 0)
    again = run_sweep(spec, tmp_path, progress=False)
    assert (again.evaluated, again.stored_before) == (0, 6)
    parts = sorted((tmp_path / "points").glob("part-*.parquet"))
    lost = pq.read_table(parts[1]).num_rows
    parts[1].unlink()
    third = run_sweep(spec, tmp_path, progress=False)
    assert (third.evaluated, third.stored_before) == (lost, 6 - lost)
    df = Store(tmp_path).points()
    assert len(df) == 6 and df.hash.is_unique and df.ok.all()


def test_excluded_points_are_recorded_not_evaluated(tmp_path):
    spec = sweep_from_text(GEMM + "constraints: [capacity_bytes <= 2000000]\n", "s.yaml")
    run = run_sweep(spec, tmp_path, progress=False)
    assert (run.excluded, run.evaluated) == (3, 3)
    df = Store(tmp_path).points()
    ex = df[df.status == "excluded"]
    assert len(ex) == 3 and not ex.ok.any() and (ex.capacity_bytes == 4194304).all()
    assert ex.reason.str.startswith("constraint 'capacity_bytes <= 2000000' fails: capacity_bytes = 4.1943e+06").all()
    assert ex.cycles.isna().all() and (ex.area_mm2 > 0).all()
    assert run_sweep(spec, tmp_path, progress=False).excluded == 0


def test_points_that_fail_are_reported_not_stored(tmp_path, monkeypatch, capsys):
    def resolve(data, cascade, arch, sizes, label):
        raise RuntimeError("mapper crashed")

    broken = resolvers.MappingResolver(name="preset", load=resolvers.PRESET.load, resolve=resolve,
                                       ref="test_analysis_store:BROKEN")
    monkeypatch.setitem(resolvers.RESOLVERS, "preset", broken)
    monkeypatch.setattr(sys.modules[__name__], "BROKEN", broken, raising=False)
    spec_file = tmp_path / "s.yaml"
    spec_file.write_text(GEMM)
    assert main(["sweep", str(spec_file), "--out", str(tmp_path / "out"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "error: point 0: RuntimeError: mapper crashed" in err
    assert len(Store(tmp_path / "out").points()) == 0


def test_out_problems_are_one_line_before_any_work(tmp_path, capsys):
    spec_file = tmp_path / "s.yaml"
    spec_file.write_text(GEMM)
    f = tmp_path / "file.txt"
    f.write_text("x")
    assert main(["sweep", str(spec_file), "--out", str(f), "--quiet"]) == 1
    assert capsys.readouterr().err == f"error: --out {f}: exists and is not a directory; pick a folder name\n"
    assert main(["sweep", str(spec_file), "--out", str(f / "sub"), "--quiet"]) == 1
    assert capsys.readouterr().err == f"error: --out {f / 'sub'}: {f} is not a directory\n"
    if os.geteuid() != 0:  # root may write anywhere
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o555)
        assert main(["sweep", str(spec_file), "--out", str(ro / "out"), "--quiet"]) == 1
        assert "is not writable (permission denied)" in capsys.readouterr().err


def _parts(out: Path) -> list[str]:
    return sorted(glob.glob(str(out / "points" / "part-*.parquet")))


@pytest.mark.slow
def test_kill_9_mid_run_loses_nothing_written_and_recomputes_nothing(tmp_path):
    spec_file, out = tmp_path / "kill.yaml", tmp_path / "out"
    spec_file.write_text(ATTENTION)
    cmd = [str(BIN / "einsim"), "sweep", str(spec_file), "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 180
    while len(_parts(out)) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    before = pd.concat([pq.read_table(p).to_pandas() for p in _parts(out)], ignore_index=True)
    assert 6 <= len(before) < 40 and before.hash.is_unique and before.run.nunique() == 1

    resumed = subprocess.run(cmd + ["--json"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    run = json.loads(resumed.stdout)
    assert (run["unique"], run["stored_before"], run["evaluated"]) == (40, len(before), 40 - len(before))
    stored = pd.concat([pq.read_table(p).to_pandas() for p in _parts(out)], ignore_index=True)
    assert len(stored) == 40 and stored.hash.is_unique  # every point stored once: nothing recomputed
    kept = stored.set_index("hash").loc[before.hash]
    assert (kept.run == before.run.iloc[0]).all() and (kept.cycles.to_numpy() == before.cycles.to_numpy()).all()
    assert not list((out / "points").glob(".*.tmp")) and not list((out / "energy").glob(".*.tmp"))
    energy = Store(out).energy()
    assert set(energy.hash) == set(stored.hash)

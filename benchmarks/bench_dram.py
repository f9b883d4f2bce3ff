"""Command-level DRAM/PIM model: simulation speed and the validation table.

Speed: DRAM commands simulated per second of CPU time (one core; the kernel is single-threaded) on a streaming
read trace, a random read trace and NeuPIMs K-cache GEMVs beside a DRAM stream, against the plain-Python
reference; and against DRAMsim3 on its own HBM2 geometry (preset hbm2-dramsim3, queue 16 as its transaction queue):
einsim's cycles and speed on a stream and a random trace, and, when ``EINSIM_DRAMSIM3`` names a DRAMsim3 source tree
with einsim's driver built in it (benchmarks/dramsim3/build.sh), DRAMsim3's on the very same addresses.

Validation (as DRAMsim3 / Ramulator 2 are validated): unloaded read latency vs tRCD + CL + BL/2 (closed row),
CL + BL/2 (open), + tRP (conflict); streaming bandwidth vs the refresh-limited peak; random reads vs the
activation-bound closed form; refresh fraction vs tRFC / tREFI; PIM GEMV and GWRITE vs their closed forms.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

from einsim.arch.dram import load_dram
from einsim.sim import dram_timing as dt
from einsim.sim import dram_traces as traces
from einsim.sim import pim_gemv as pg
from einsim.sim.dram import DramPolicy, simulate_dram

__all__ = ["run", "validation_rows"]


def _cpu_best(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return best, out


def _speed_rows(smoke: bool) -> list[dict]:
    s = load_dram("hbm2")
    p = load_dram("hbm2-pim")
    repeat = 1 if smoke else 3
    cases = {
        "stream": (s, traces.stream(s, 20_000 if smoke else 800_000), None),
        "random": (s, traces.random(s, 5_000 if smoke else 200_000), None),
        "pim_kcache_beside_stream": (p, traces.stream(p, 5_000 if smoke else 200_000),
                                     pg.concat([pg.k_cache_program(p, 256 if smoke else 1024, 32, 128, channel=c)
                                                for c in range(p.units)])),
    }
    rows = []
    for (name, (spec, req, prog)), record in itertools.product(cases.items(), (True, False)):
        simulate_dram(spec, req, prog, trace=record)  # load the compiled kernel
        seconds, res = _cpu_best(lambda spec=spec, req=req, prog=prog, record=record:
                                 simulate_dram(spec, req, prog, trace=record), repeat)
        rate = res.n_commands / seconds
        how = "with trace" if record else "no trace, as DRAMsim3 / Ramulator run"
        rows.append({"benchmark": "dram_kernel", "metric": f"commands/s per core, {name} (numba, {how})",
                     "value": rate, "unit": "1/s", "target": 1e7,
                     "note": f"{res.n_commands} commands, {res.cycles} cycles, {spec.units} channels, CPU time"})
    small = dataclasses.replace(s, channels=2)
    req = traces.random(small, 300 if smoke else 2000, seed=1)
    seconds, res = _cpu_best(lambda: simulate_dram(small, req, reference=True), 1)
    t_jit, res_jit = _cpu_best(lambda: simulate_dram(small, req), 3)
    rows.append({"benchmark": "dram_kernel", "metric": "commands/s, random (python reference)",
                 "value": res.n_commands / seconds, "unit": "1/s", "target": None,
                 "note": f"numba speedup {seconds / t_jit:.0f}x on {res.n_commands} commands"})
    return rows


def _dramsim3(tree: Path, addresses, workdir: Path) -> dict[str, float]:
    """DRAMsim3's cycles, commands and CPU seconds on ``addresses`` (einsim's driver, built in ``tree``)."""
    driver, ini = tree / "einsim_driver", tree / "configs" / "HBM2_8Gb_x128.ini"
    if not driver.is_file() or not ini.is_file():
        raise SystemExit(f"EINSIM_DRAMSIM3={tree}: needs {driver.name} (benchmarks/dramsim3/build.sh {tree}) and "
                         f"configs/{ini.name} there")
    trace = workdir / "addresses.u64"
    addresses.astype("<u8").tofile(trace)
    done = subprocess.run([str(driver), str(ini), str(trace), str(workdir)], capture_output=True, text=True)
    result = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not result:
        raise SystemExit(f"{driver} failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", result[0])}


def _dramsim3_rows(smoke: bool) -> list[dict]:
    """einsim on DRAMsim3's HBM2 geometry and policy (hbm2-dramsim3; queue 16, refresh when due): commands/s
    and cycles of a stream and a random read trace; DRAMsim3's on the same addresses if ``EINSIM_DRAMSIM3`` is set."""
    s, policy = load_dram("hbm2-dramsim3"), DramPolicy(queue_size=16, refresh_postpone=0)
    tree = os.environ.get("EINSIM_DRAMSIM3")
    rows = []
    for name, req in (("stream", traces.stream(s, 20_000 if smoke else 1_000_000)),
                      ("random", traces.random(s, 5_000 if smoke else 200_000, seed=12345))):
        simulate_dram(s, req, policy=policy, trace=False)
        seconds, res = _cpu_best(lambda req=req: simulate_dram(s, req, policy=policy, trace=False),
                                 1 if smoke else 3)
        rate = res.n_commands / seconds
        rows.append({"benchmark": "dram_vs_dramsim3", "metric": f"einsim commands/s, {name} on hbm2-dramsim3",
                     "value": rate, "unit": "1/s", "target": None,
                     "note": f"{res.n_commands} commands, {res.cycles} cycles, {len(req)} reads, no trace"})
        if not tree:
            continue
        with tempfile.TemporaryDirectory() as work:
            ds3 = _dramsim3(Path(tree), req.address, Path(work))
        ds3_rate = ds3["commands"] / ds3["cpu_s"]
        rows.append({"benchmark": "dram_vs_dramsim3", "metric": f"DRAMsim3 commands/s, {name} (same addresses)",
                     "value": ds3_rate, "unit": "1/s", "target": None,
                     "note": f"{ds3['commands']:.0f} commands, {ds3['cycles']:.0f} cycles; einsim "
                             f"{rate / ds3_rate:.1f}x as fast"})
        rows.append({"benchmark": "dram_vs_dramsim3", "metric": f"einsim cycles / DRAMsim3 cycles, {name}",
                     "value": res.cycles / ds3["cycles"], "unit": "ratio", "target": 1.0,
                     "note": f"{res.cycles} vs {ds3['cycles']:.0f}"})
    return rows


def _row(metric, value, unit, want, note) -> dict:
    return {"benchmark": "dram_validation", "metric": metric, "value": value, "unit": unit, "target": want,
            "note": note}


def _latency_rows(s) -> list[dict]:
    """Unloaded read latency (one read at a time, from arrival to the last data beat) vs its closed form."""
    rows = []
    for pattern, page, state in (("row_hit", "open", "open"), ("row_miss", "closed", "closed"),
                                 ("row_miss", "open", "conflict")):
        run = simulate_dram(s, traces.generate(s, pattern, 200), policy=DramPolicy(page=page, refresh=False))
        lat = run.latency[1:]  # the first access opens the bank
        want = dt.read_latency_cycles(s, state)
        rows.append(_row(f"{s.name} unloaded read latency, {state} row", float(lat.mean()), "cycles", want,
                         f"{int((lat == want).sum())}/{lat.size} reads exactly the closed form"))
    return rows


def _stream_rows(s, n: int) -> list[dict]:
    """Streaming reads on one channel over many tREFI, every refresh that fell due paid (a run ends only when its
    refresh debt is paid), vs the refresh-limited peak: with the preset's ranks and with one rank."""
    rows = []
    for ranks in (s.ranks, 1):
        sr = dataclasses.replace(s, ranks=ranks)
        req = traces.stream(sr, n)
        run = simulate_dram(sr, req)
        limited = sr.peak_bytes_per_s * (1 - sr.trfc / sr.trefi)
        note = (f"{run.bandwidth_bytes_per_s / sr.peak_bytes_per_s:.2%} of peak over {run.cycles / sr.trefi:.0f} "
                f"tREFI, {run.commands['REF']} REF of {sr.ranks * run.cycles // sr.trefi} due")
        if ranks == 1:
            note += "; no other rank to hide a REF behind: the bound binds"
        else:
            due = simulate_dram(sr, req, policy=DramPolicy(refresh_postpone=0))
            note += (f"; each rank's REF hidden behind the other rank's transfers; DRAMsim3-style refresh when due: "
                     f"{due.bandwidth_bytes_per_s / limited:.3f}")
        rows.append(_row(f"{s.name} stream, {ranks} rank(s) / refresh-limited peak",
                         run.bandwidth_bytes_per_s / limited, "ratio", 0.97, note))
        if ranks > 1:
            rows.append(_row(f"{s.name} refresh fraction (stream, {ranks} ranks)", run.refresh_fraction, "ratio",
                             sr.trfc / sr.trefi, f"{run.commands['REF']} REF; tRFC/tREFI = {sr.trfc / sr.trefi:.4f}"))
    return rows


def _random_row(s, n: int) -> dict:
    run = simulate_dram(s, traces.random(s, n, seed=3), policy=DramPolicy(refresh_postpone=0))
    want = dt.transfer_cycles(s, n * s.burst_bytes, channels=s.units, pattern="random")
    return _row(f"{s.name} random reads: cycles / closed form", run.cycles / want, "ratio", 1.0,
                f"{run.cycles} vs {want:.0f} cycles; {dt.random_access_cycles(s):.3f} cycles per access "
                f"(tFAW/4/ranks = {s.tfaw / 4 / s.ranks:.3f})")


def _pim_rows() -> list[dict]:
    p = dataclasses.replace(load_dram("hbm2-pim"), channels=1)
    rows = []
    for rows_, cols, rb in ((32, 512, 2), (256, 4096, 2), (256, 4096, 1)):
        prog = pg.gemv_program(p, rows_, cols, row_buffers=rb)
        run = simulate_dram(p, pim=prog, policy=DramPolicy(refresh=False, row_buffers=rb))
        want = dt.pim_gemv_cycles(p, rows_, cols, row_buffers=rb)
        rows.append(_row(f"hbm2-pim GEMV {rows_}x{cols}, {rb} row buffer(s)", int(run.pim_done.max()), "cycles",
                         want, "kernel == closed form" if int(run.pim_done.max()) == want else "MISMATCH"))
    one_tile = simulate_dram(p, pim=pg.gemv_program(p, 32, 512, gwrite=False), policy=DramPolicy(refresh=False))
    neu = dt.neupims_gemv_estimate(p, 32, 1)
    rows.append(_row("hbm2-pim one tile vs NeuPIMs' closed form", int(one_tile.pim_done.max()) - neu, "cycles",
                     p.ranks - 1 + p.cl + p.burst_cycles, f"NeuPIMs {neu} + (ranks - 1) + CL + burst"))
    rows.append(_row("hbm2-pim GWRITE", p.gwrite_cycles, "cycles", (p.tccd_s + p.tccd_l) * 32,
                     "(tCCD_S + tCCD_L) * 32"))
    return rows


def validation_rows(smoke: bool) -> list[dict]:
    """The validation table: measured value, closed form, and the ratio or difference."""
    rows = []
    for name in ("hbm2", "hbm3"):
        s = dataclasses.replace(load_dram(name), channels=1, pseudo_channels=1)
        rows += _latency_rows(s)
        rows += _stream_rows(s, 40_000 if smoke else 400_000)  # about 20 / 200 tREFI
        rows.append(_random_row(s, 3000 if smoke else 24_000))
    return rows + _pim_rows()


def run(smoke: bool) -> list[dict]:
    return _speed_rows(smoke) + _dramsim3_rows(smoke) + validation_rows(smoke)


if __name__ == "__main__":
    for r in run(smoke=False):
        print(r)

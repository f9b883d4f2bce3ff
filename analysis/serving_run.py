"""Run a serving study end to end and write its outputs as one set: throughput.csv, layers.csv, interleave.csv,
the side experiments' tables, figures and report.md, all first in a temporary directory beside ``out`` that then
replaces it (a reader sees the old set or the new one, never a mix); files and the directory get the permissions
the umask gives.

Side experiments (each from the study YAML): ``table4`` (utilization of a point), ``timeline`` (one interleaved
iteration of two layers on the event engine, per resource), ``trace`` (per-command counts of one layer on a
NeuPIMs request trace: from the PIM programs and issued by the command-level kernel), ``crosscheck`` (each point's
first iteration on the event engine against the analytical model; with ``--crosscheck``) and ``prefill`` (time to
first token with the prompts run; with ``--prefill``).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .serving_study import (
    THROUGHPUT_COLUMNS,
    ServingStudy,
    build_system,
    load_serving_study,
    run_grid,
    run_point,
    select,
    start_state,
)

__all__ = ["run_serving_study", "timeline_frame", "trace_point", "crosscheck_frame", "prefill_frame"]


def timeline_frame(system, batch, layers: int = 2) -> pd.DataFrame:
    """The stage schedule of ``layers`` layers of one iteration of ``batch`` with two sub-batches, simulated event by
    event: one row per group occupation (resource, group, sub_batch, layer, start_us, end_us)."""
    import dataclasses

    from einsim.sim.engine_program import run
    from einsim.sim.simulate import program_of

    it = system.iteration(batch, sub_batches=2)
    plan = dataclasses.replace(it.plan, trips=np.array([layers * it.sub_batches], dtype=np.int64))
    prog = program_of(plan, None, int(plan.window))
    r = run(prog, exact=True, trace=100000)
    us = 1e6 / system.arch.clock_hz / prog.ticks_per_cycle
    rows = []
    for task, g, start in r.trace:
        k = prog.tasks.index(task)
        if prog.dur[k] == 0:
            continue
        group, res = task.split(":", 1)[1].split("@")
        rows.append({"resource": res, "group": group.split("#")[0], "sub_batch": g % it.sub_batches,
                     "layer": g // it.sub_batches, "start_us": start * us, "end_us": (start + prog.dur[k]) * us})
    return pd.DataFrame(rows)


def trace_point(system, batch) -> dict:
    """One decode iteration of ``batch`` (a NeuPIMs trace): its cycles (one layer and all the device's layers) and
    the PIM commands of one layer, counted from the programs and issued by the command-level kernel."""
    from einsim.arch.dram import load_dram
    from einsim.sim.decode_commands import AttentionShape, layer_commands, simulate_layer

    it = system.iteration(batch)
    out = {"requests": len(batch), "mean_context": float(batch.context.mean()), "sub_batches": it.sub_batches,
           "cycles": it.cycles, "layer_cycles": it.cycles / system.layers, "layers": system.layers,
           "iteration_s": system.summary(it)["iteration_s"], "commands": {}, "kernel": {}}
    pim = system.pim_units()
    attn = next(iter(system.ragged_layers()), None)
    if pim and attn is not None:
        spec = load_dram(pim[0].device)
        shape = AttentionShape.of_sizes(attn.sizes)
        out["commands"] = layer_commands(spec, shape, batch.context)
        run = simulate_layer(spec, shape, batch.context, batch.channel, row_buffers=pim[0].row_buffers)
        busy = run.counters[:, 10]
        out["kernel"] = {"commands": run.commands, "slowest_channel_cycles": int(busy.max()),
                         "mean_channel_cycles": float(busy[busy > 0].mean())}
    return out


def crosscheck_frame(study: ServingStudy) -> pd.DataFrame:
    """Per point of ``crosscheck``: the first decode iteration's cycles on the event engine and the analytical
    model (the same batch, the configuration's own sub-batch choice)."""
    from einsim.sim.serving import serve

    spec = study.extra["crosscheck"]
    rows = []
    for batch in spec["batches"]:
        for config in study.configs:
            init, pool = start_state(study, spec["model"], spec["dataset"], batch)
            cyc = {}
            for engine in ("analytical", "event"):
                system = build_system(study, spec["model"], config, engine=engine)
                run = serve(system, pool, max_batch=batch, iterations=1, initial=(init[0], init[1], None))
                cyc[engine] = run.iterations[0]["cycles"]
            rows.append({"model": spec["model"], "dataset": spec["dataset"], "batch": batch, "config": config,
                         "analytical_cycles": cyc["analytical"], "event_cycles": cyc["event"],
                         "rel_diff": cyc["event"] / cyc["analytical"] - 1.0})
    return pd.DataFrame(rows)


def prefill_frame(study: ServingStudy) -> pd.DataFrame:
    """Time to first token and end-to-end throughput with the prompts run (``prefill``), per dataset: the pool's
    requests all wait from time 0, so a request's TTFT includes its wait for a free slot; ``prefill_step_s`` is the
    mean prefill step (the TTFT of a request that finds a slot free)."""
    spec = study.extra["prefill"]
    rows = []
    for dataset in study.datasets:
        system = build_system(study, spec["model"], spec["config"])
        run = run_point(study, system, spec["model"], dataset, spec["batch"], iterations=spec["iterations"],
                        prefill=True)
        t = run.ttft_s
        steps = [r["prefill_s"] for r in run.iterations if r["joined"]]
        rows.append({"model": spec["model"], "dataset": dataset, "batch": spec["batch"], "config": spec["config"],
                     "requests_prefilled": len(t), "prefill_step_s": float(np.mean(steps)) if steps else np.nan,
                     "ttft_p50_s": float(np.median(t)) if len(t) else np.nan,
                     "ttft_p99_s": float(np.quantile(t, 0.99)) if len(t) else np.nan,
                     "decode_tokens_per_s": run.tokens_per_s, "e2e_tokens_per_s": run.e2e_tokens_per_s})
    return pd.DataFrame(rows)


def _publish(tmp: Path, out: Path) -> None:
    """Replace ``out`` by the finished directory ``tmp`` (the old set moved aside first, removed after)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o777 & ~mask)
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def run_serving_study(name, out, *, models=None, batches=None, workers: int = 1, crosscheck: bool = False,
                      prefill: bool = False, traces=None, progress: bool = True) -> dict:
    """Run the study and write its outputs (see the module docstring); returns the DataFrames and timings."""
    from tqdm import tqdm

    study = select(load_serving_study(name), models=models, batches=batches)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with tqdm(total=len(study.models), unit="model", desc=study.name, file=sys.stderr, disable=not progress) as bar:
        thr, layers, inter = run_grid(study, workers=workers, progress=bar.update)
    res = {"throughput": thr, "layers": layers, "interleave": inter, "grid_s": time.perf_counter() - t0}
    res.update(_side_experiments(study, thr, crosscheck=crosscheck, prefill=prefill, traces=traces))
    res["total_s"] = time.perf_counter() - t0
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        _write_outputs(tmp, study, res)
        _publish(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"wrote {out}/ (throughput.csv, layers.csv, interleave.csv, figures, report.md): grid in "
          f"{res['grid_s']:.1f} s, all in {res['total_s']:.1f} s", file=sys.stderr)
    return res


def _side_experiments(study: ServingStudy, thr: pd.DataFrame, *, crosscheck, prefill, traces) -> dict:
    from .request_traces import read_trace

    res = {}
    tl = study.extra.get("timeline")
    if tl and tl["model"] in study.models:
        system = build_system(study, tl["model"], tl["config"])
        init, _ = start_state(study, tl["model"], tl["dataset"], tl["batch"])
        from einsim.sim.decode import DecodeBatch

        batch = DecodeBatch(context=init[0], channel=np.arange(len(init[0])) % system.channels)
        res["timeline"] = timeline_frame(system, batch, tl.get("layers", 2))
    tr = study.extra.get("trace")
    if tr and traces and tr["model"] in study.models:
        path = Path(traces) / tr["file"]
        system = build_system(study, tr["model"], tr["config"])
        res["trace"] = {"file": str(path), **trace_point(system, read_trace(path, channels=system.channels))}
    if crosscheck and study.extra.get("crosscheck", {}).get("model") in study.models:
        t0 = time.perf_counter()
        res["crosscheck"] = crosscheck_frame(study)
        res["crosscheck_s"] = time.perf_counter() - t0
    if prefill and study.extra.get("prefill", {}).get("model") in study.models:
        res["prefill"] = prefill_frame(study)
    return res


def _write_outputs(tmp: Path, study: ServingStudy, res: dict) -> None:
    from . import serving_plots as plots
    from .serving_report import write_report

    thr = res["throughput"]
    cols = THROUGHPUT_COLUMNS + [c for c in thr.columns if c not in THROUGHPUT_COLUMNS]
    thr[cols].to_csv(tmp / "throughput.csv", index=False)
    res["layers"].to_csv(tmp / "layers.csv", index=False)
    res["interleave"].to_csv(tmp / "interleave.csv", index=False)
    for key in ("timeline", "crosscheck", "prefill"):
        if key in res:
            res[key].to_csv(tmp / f"{key}.csv", index=False)
    plots.plot_throughput(thr, tmp / "throughput_by_batch.png")
    if len(res["interleave"]):
        plots.plot_interleave(res["interleave"], tmp / "interleave.png")
    t4 = study.extra.get("table4")
    if t4 and t4["model"] in study.models and t4["batch"] in study.batches:
        d = thr[(thr.model == t4["model"]) & (thr.dataset == t4["dataset"]) & (thr.batch == t4["batch"])]
        plots.plot_utilization(d, study.extra.get("paper", {}).get("table4", {}),
                               f"{t4['model']}, batch {t4['batch']}, {t4['dataset']}", tmp / "utilization.png")
    if "timeline" in res:
        tl = study.extra["timeline"]
        plots.plot_timeline(res["timeline"], f"{tl['config']}: {tl['model']}, batch {tl['batch']}, "
                                             f"{tl['dataset']}, two sub-batches, {tl.get('layers', 2)} layers",
                            tmp / "timeline.png")
    write_report(tmp / "report.md", study, res)

"""``einsim study fusemax [--out DIR] [--engine analytical|event] [--models ..] [--seq-lens ..] [--quiet]``: run the
study, then write its CSVs, figures and Markdown report as one set (:mod:`analysis.outputs`): ``--out`` is checked
before any work, and the files appear together or not at all. A progress bar with rate and ETA shows on a terminal.
A study whose YAML says ``kind: serving`` (``einsim study neupims --out DIR [--models ...] [--batches ...]``) runs on
the serving path (:mod:`einsim.analysis.serving_run`)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from einsim.workloads.errors import SpecError, SpecIssue

from .cli_values import check_out_dir, int_list, name_list, positive_int
from .outputs import OutputSet, write_file

__all__ = ["register", "run_study"]

_atomic_write = write_file   # the single-file form, for callers that write one result file


def register(sub) -> None:
    p = sub.add_parser("study", help="run a packaged study (fusemax) and write tables, figures and a report")
    p.add_argument("study", help="study name (analysis/studies/<name>.yaml) or path")
    p.add_argument("--out", default=None, help="output directory (default out/<study>)")
    p.add_argument("--engine", choices=("analytical", "event"), default="analytical")
    p.add_argument("--models", type=name_list, default=None, help="comma-separated subset of models")
    p.add_argument("--seq-lens", type=int_list, default=None, help="comma-separated subset of sequence lengths")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--batches", type=int_list, default=None,
                   help="comma-separated subset of batch sizes (serving studies)")
    p.add_argument("--workers", type=positive_int, default=1, help="processes for a serving study (default 1)")
    p.add_argument("--crosscheck", action="store_true", help="serving study: cross-check points on the event engine")
    p.add_argument("--prefill", action="store_true", help="serving study: time to first token with prompts run")
    p.add_argument("--traces", default=None, help="serving study: NeuPIMs request-traces folder for the trace point")
    p.set_defaults(func=_main)


def _main(args) -> int:
    from .serving_study import is_serving_study

    out = check_out_dir(args.out or f"out/{Path(args.study).stem}")
    if is_serving_study(args.study):
        from .serving_run import run_serving_study

        run_serving_study(args.study, out, models=args.models, batches=args.batches, workers=args.workers,
                          crosscheck=args.crosscheck, prefill=args.prefill, traces=args.traces)
        return 0
    run_study(args.study, out, models=args.models, seq_lens=args.seq_lens, engine=args.engine,
              progress=not args.quiet)
    return 0


def _check_subset(study, models) -> None:
    unknown = [m for m in models or () if m not in study.models]
    if unknown:
        raise SpecError([SpecIssue("<command line>", None, "--models", f"{', '.join(unknown)} not in study "
                                   f"{study.name!r}; its models: {', '.join(study.models)}")])


def run_study(name, out: Path, *, models=None, seq_lens=None, engine="analytical", progress=False) -> dict:
    """Run the study and write its files into ``out``; return {"attention", "end_to_end", "pareto", "seconds"}.

    ``progress``: show a tqdm bar (rate, ETA) on stderr when it is a terminal."""
    from tqdm import tqdm

    from .study import check_study_specs, load_study, point_count, run_attention, run_end_to_end, run_pareto

    out = check_out_dir(out)
    t0 = time.perf_counter()
    study = load_study(name)
    _check_subset(study, models)
    check_study_specs(study)
    with tqdm(total=point_count(study, models=models, seq_lens=seq_lens), unit="point", file=sys.stderr,
              disable=None if progress else True, dynamic_ncols=True, desc=study.name) as bar:
        def tick(msg):
            bar.set_postfix_str(msg[:48], refresh=False)
            bar.update()

        att, act = run_attention(study, models=models, seq_lens=seq_lens, engine=engine, progress=tick)
        e2e = run_end_to_end(study, att, models=models, seq_lens=seq_lens, engine=engine, progress=tick)
        par = run_pareto(study, progress=tick) if study.pareto else None
    seconds = time.perf_counter() - t0
    with OutputSet(out) as files:
        _write_all(files, study, att, act, e2e, par, seconds, engine)
    print(f"wrote {out}/ (attention.csv, end_to_end.csv, figures, report.md) in {seconds:.1f} s", file=sys.stderr)
    return {"attention": att, "end_to_end": e2e, "pareto": par, "seconds": seconds}


def _write_all(files: OutputSet, study, att, act, e2e, par, seconds, engine) -> None:
    from . import plots
    from .report import write_report

    cols = ["model", "seq_len", "config", "ok", "cycles", "latency_s", "energy_pj", "dram_bytes", "util_2d", "util_1d"]
    att_out = att[cols + [c for c in att.columns if c not in cols and c != "reason"] + ["reason"]]
    files.write("attention.csv", lambda p: att_out.to_csv(p, index=False))
    files.write("end_to_end.csv", lambda p: e2e.to_csv(p, index=False))
    files.write("activity.csv", lambda p: act.to_csv(p, index=False))
    if par is not None:
        files.write("pareto.csv", lambda p: par.to_csv(p, index=False))
    figs = {}
    for df, kind in ((att, "attention"), (e2e, "end_to_end")):
        for base in dict.fromkeys((study.baseline, study.reference)):
            rel = plots.relative(df, base)
            f1 = f"{kind}_speedup_vs_{base}.png"
            files.write(f1, lambda p, rel=rel, base=base, kind=kind: plots.plot_relative(
                rel, base, "speedup", "speedup", f"{kind.replace('_', ' ')} speedup", p))
            f2 = f"{kind}_energy_vs_{base}.png"
            files.write(f2, lambda p, rel=rel, base=base, kind=kind: plots.plot_relative(
                rel, base, "energy_rel", "energy (relative)", f"{kind.replace('_', ' ')} energy", p, log=False))
            figs[(kind, base)] = (f1, f2)
    files.write("utilization.png", lambda p: plots.plot_utilization(att, p))
    files.write("activity_2d.png", lambda p: plots.plot_activity(act, att, p))
    if par is not None:
        files.write("pareto.png", lambda p: plots.plot_pareto(
            par, p, f"FuseMax array-size sweep ({study.pareto['model']}, {study.pareto['seq_len']})"))
    files.write("report.md", lambda p: write_report(p, study, att, e2e, par, figs, seconds, engine))

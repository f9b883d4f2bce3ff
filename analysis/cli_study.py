"""``einsim study fusemax [--out DIR] [--engine analytical|event] [--quick]``: run the study, write CSVs, figures
and a Markdown report (each file written to a temporary name and renamed). ``einsim study fusemax-artifact`` runs
the same study with the reference's quirks as YAML overlays and reports how much each moves the figures."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["register", "run_study"]


def register(sub) -> None:
    p = sub.add_parser("study", help="run a packaged study (fusemax, fusemax-artifact) and write tables, figures and "
                                     "a report")
    p.add_argument("study", help="study name (analysis/studies/<name>.yaml) or path")
    p.add_argument("--out", default=None, help="output directory (default out/<study>)")
    p.add_argument("--engine", choices=("analytical", "event"), default="analytical")
    p.add_argument("--models", default=None, help="comma-separated subset of models")
    p.add_argument("--seq-lens", default=None, help="comma-separated subset of sequence lengths")
    p.set_defaults(func=_main)


def _main(args) -> int:
    out = Path(args.out or f"out/{Path(args.study).stem}")
    models = args.models.split(",") if args.models else None
    lens = [int(s) for s in args.seq_lens.split(",")] if args.seq_lens else None
    run_study(args.study, out, models=models, seq_lens=lens, engine=args.engine)
    return 0


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def run_study(name, out: Path, *, models=None, seq_lens=None, engine="analytical") -> dict:
    """Run the study; return {"attention": df, "end_to_end": df, "pareto": df, "quirks": df, "seconds": wall time}."""
    import pandas as pd

    from . import plots
    from .quirks import quirk_effects
    from .report import published_comparison, write_report
    from .study import load_study, run_attention, run_buffer_sweep, run_end_to_end, run_pareto

    t0 = time.perf_counter()
    study = load_study(name)
    breakdown: list = []
    att, act = run_attention(study, models=models, seq_lens=seq_lens, engine=engine, breakdown=breakdown)
    e2e = run_end_to_end(study, att, models=models, seq_lens=seq_lens, engine=engine)
    par = run_pareto(study) if study.pareto else None
    sweep = run_buffer_sweep(study) if study.buffer_sweep else None
    quirks = (quirk_effects(study, att, e2e, models=models, seq_lens=seq_lens, engine=engine) if study.quirks
              else None)
    published = published_comparison(study, att)
    seconds = time.perf_counter() - t0
    out = Path(out)
    cols = ["model", "seq_len", "config", "ok", "cycles", "latency_s", "energy_pj", "dram_bytes", "util_2d", "util_1d"]
    att_out = att[cols + [c for c in att.columns if c not in cols and c != "reason"] + ["reason"]]
    _atomic_write(out / "attention.csv", lambda p: att_out.to_csv(p, index=False))
    _atomic_write(out / "end_to_end.csv", lambda p: e2e.to_csv(p, index=False))
    _atomic_write(out / "activity.csv", lambda p: act.to_csv(p, index=False))
    _atomic_write(out / "energy.csv", lambda p: pd.DataFrame(breakdown).to_csv(p, index=False))
    for nm, df in (("buffer_sweep", sweep), ("quirks", quirks), ("published", published)):
        if df is not None:
            _atomic_write(out / f"{nm}.csv", lambda p, df=df: df.to_csv(p, index=False))
    if sweep is not None:
        b = study.buffer_sweep
        _atomic_write(out / "buffer_sweep.png", lambda p: plots.plot_buffer_sweep(
            sweep, p, f"{b['config']}'s {b['level']} by capacity ({b['model']}, {b['seq_len']})"))
    if par is not None:
        _atomic_write(out / "pareto.csv", lambda p: par.to_csv(p, index=False))
    figs = {}
    for df, kind in ((att, "attention"), (e2e, "end_to_end")):
        for base in (study.baseline, study.reference):
            rel = plots.relative(df, base)
            f1 = f"{kind}_speedup_vs_{base}.png"
            _atomic_write(out / f1, lambda p, rel=rel, base=base, kind=kind: plots.plot_relative(
                rel, base, "speedup", "speedup", f"{kind.replace('_', ' ')} speedup", p))
            f2 = f"{kind}_energy_vs_{base}.png"
            _atomic_write(out / f2, lambda p, rel=rel, base=base, kind=kind: plots.plot_relative(
                rel, base, "energy_rel", "energy (relative)", f"{kind.replace('_', ' ')} energy", p, log=False))
            figs[(kind, base)] = (f1, f2)
    _atomic_write(out / "utilization.png", lambda p: plots.plot_utilization(att, p))
    _atomic_write(out / "activity_2d.png", lambda p: plots.plot_activity(act, att, p))
    if par is not None:
        _atomic_write(out / "pareto.png", lambda p: plots.plot_pareto(
            par, p, f"FuseMax array-size sweep ({study.pareto['model']}, {study.pareto['seq_len']})"))
    _atomic_write(out / "report.md", lambda p: write_report(p, study, att, e2e, par, figs, seconds, engine,
                                                           published=published, quirks=quirks, sweep=sweep))
    print(f"wrote {out}/ (attention.csv, end_to_end.csv, figures, report.md) in {seconds:.1f} s", file=sys.stderr)
    return {"attention": att, "end_to_end": e2e, "pareto": par, "quirks": quirks, "seconds": seconds}

"""The study's Markdown report: headline means beside the paper's, tables, and links to the figures."""

from __future__ import annotations

from pathlib import Path

from .plots import relative

__all__ = ["headline", "write_report"]

ENGINE_NAMES = {"analytical": "analytical model (rung 4)", "event": "tile-level event engine (rung 3)"}


def headline(df, baseline: str, config: str) -> dict:
    """Arithmetic means over the points of ``config`` of speedup and relative energy versus ``baseline``."""
    rel = relative(df, baseline)
    d = rel[rel.config == config]
    return {"speedup": float(d.speedup.mean()), "energy": float(d.energy_rel.mean()), "points": int(len(d))}


def write_report(path, study, att, e2e, par, figs, seconds, engine="analytical") -> None:
    final = list(study.configs)[-1]
    lines = [f"# {study.name} study", "",
             f"{len(study.models)} models x {len(att.seq_len.unique())} sequence lengths x {len(study.configs)} "
             f"configurations; timing from the {ENGINE_NAMES.get(engine, engine)}; wall time {seconds:.1f} s.", "",
             f"## Headline: {final} vs {study.baseline} (arithmetic means)", "",
             "| | speedup (ours) | speedup (paper) | energy (ours) | energy (paper) |", "|---|---|---|---|---|"]
    for kind, df in (("attention", att), ("end_to_end", e2e)):
        h = headline(df, study.baseline, final)
        p = study.paper.get(kind, {})
        lines.append(f"| {kind.replace('_', ' ')} ({h['points']} points) | {h['speedup']:.2f}x | "
                     f"{p.get('speedup', float('nan'))}x | {h['energy']:.2f} | {p.get('energy', float('nan'))} |")
    lines += ["", "## Mean speedup and energy of every configuration", "",
              f"| config | attention speedup vs {study.baseline} | attention energy | end-to-end speedup | "
              "end-to-end energy | mean util 2D | mean util 1D |", "|---|---|---|---|---|---|---|"]
    for cfg in study.configs:
        a = headline(att, study.baseline, cfg)
        e = headline(e2e, study.baseline, cfg)
        d = att[att.config == cfg]
        lines.append(f"| {cfg} | {a['speedup']:.2f}x | {a['energy']:.2f} | {e['speedup']:.2f}x | {e['energy']:.2f} "
                     f"| {d.util_2d.mean():.2f} | {d.util_1d.mean():.2f} |")
    lines += ["", f"## {final}: 2D utilization by sequence length (mean over models)", "",
              "| seq_len | " + " | ".join(str(s) for s in sorted(att.seq_len.unique())) + " |",
              "|---" * (1 + len(att.seq_len.unique())) + "|"]
    d = att[att.config == final]
    lines.append("| util_2d | " + " | ".join(f"{d[d.seq_len == s].util_2d.mean():.3f}"
                                              for s in sorted(att.seq_len.unique())) + " |")
    lines += ["", "## Figures", ""]
    for (kind, base), (f1, f2) in figs.items():
        lines += [f"- {kind.replace('_', ' ')} vs {base}: [speedup]({f1}), [energy]({f2})", "",
                  f"![{kind} speedup vs {base}]({f1})", ""]
    lines += ["![utilization](utilization.png)", "", "![2D activity](activity_2d.png)", ""]
    if par is not None:
        lines += ["## Array-size sweep", "", "![pareto](pareto.png)", "",
                  "| size | area mm2 | latency s | util 2D |", "|---|---|---|---|"]
        for _, r in par.iterrows():
            lines.append(f"| {r['size']}x{r['size']} | {r.area_mm2:.1f} | {r.latency_s:.4g} | {r.util_2d:.3f} |")
    lines += ["", "Tables: [attention.csv](attention.csv), [end_to_end.csv](end_to_end.csv), "
              "[activity.csv](activity.csv)" + (", [pareto.csv](pareto.csv)" if par is not None else ""), ""]
    Path(path).write_text("\n".join(lines), encoding="utf-8")

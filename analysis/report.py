"""The study's Markdown report: headline means beside the paper's, tables, and links to the figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .plots import relative

__all__ = ["headline", "write_report", "published_comparison"]

ENGINE_NAMES = {"analytical": "analytical model (rung 4)", "event": "tile-level event engine (rung 3)"}


def headline(df, baseline: str, config: str) -> dict:
    """Arithmetic means over the points of ``config`` of speedup and relative energy versus ``baseline``."""
    rel = relative(df, baseline)
    d = rel[rel.config == config]
    return {"speedup": float(d.speedup.mean()), "energy": float(d.energy_rel.mean()), "points": int(len(d))}


def published_comparison(study, att):
    """Per point, our attention latency and energy over the reference's published ones (None without them)."""
    if study.published is None:
        return None
    import pandas as pd

    pub = pd.read_csv(study.published, comment="#")
    m = att.merge(pub, on=["config", "model", "seq_len"], suffixes=("", "_published"))
    m["latency_x"] = m.latency_s / m.latency_s_published
    m["energy_x"] = m.energy_pj / m.energy_pj_published
    return m[["config", "model", "seq_len", "latency_s", "latency_s_published", "latency_x", "energy_pj",
              "energy_pj_published", "energy_x"]]


def _published_lines(study, cmp) -> list[str]:
    first = cmp[(cmp.model == cmp.model.iloc[0]) & (cmp.seq_len == cmp.seq_len.min())]
    model, seq = first.model.iloc[0], int(first.seq_len.iloc[0])
    lines = ["", f"## Against the reference's published figures ({study.published.name})", "",
             f"Ours over the reference's, per configuration: at {model} {seq} and the geometric mean (min, max) over "
             f"the {cmp.groupby('config').size().max()} points.", "",
             f"| config | latency {model} {seq}, reference (ms) | ours (ms) | ours / reference | latency, all points "
             "| energy, all points |", "|---|---|---|---|---|---|"]
    for cfg in study.configs:
        d = cmp[cmp.config == cfg]
        if d.empty:
            continue
        f = first[first.config == cfg]
        gl, ge = np.exp(np.log(d.latency_x).mean()), np.exp(np.log(d.energy_x).mean())
        lines.append(f"| {cfg} | {1e3 * f.latency_s_published.iloc[0]:.3f} | {1e3 * f.latency_s.iloc[0]:.3f} | "
                     f"{f.latency_x.iloc[0]:.3f} | {gl:.3f} ({d.latency_x.min():.3f}, {d.latency_x.max():.3f}) | "
                     f"{ge:.3f} ({d.energy_x.min():.3f}, {d.energy_x.max():.3f}) |")
    return lines


def _quirk_lines(study, quirks) -> list[str]:
    lines = ["", "## Quirks of the reference, as YAML overlays", "",
             "Each quirk's effect: the study with the quirk minus the study without it (headline means), and our "
             "latency and energy with / without it on each configuration it touches (geometric mean).", "",
             "| quirk | configurations (sequence lengths) | attention speedup | attention energy | end-to-end speedup "
             "| end-to-end energy | on the configurations it touches |", "|---|---|---|---|---|---|---|"]
    for _, q in quirks.iterrows():
        per = "; ".join(f"{c}: latency x{q[f'{c}_latency_x']:.3f}, energy x{q[f'{c}_energy_x']:.3f}"
                        for c in q.configs.split())
        lines.append(f"| **{q.quirk}**: {q.what} | {q.configs} ({q.seq_lens}) | {q.attention_speedup_effect:+.2f}x | "
                     f"{q.attention_energy_effect:+.3f} | {q.end_to_end_speedup_effect:+.2f}x | "
                     f"{q.end_to_end_energy_effect:+.3f} | {per} |")
    lines += ["", "Sources (FPSG-UIUC/micro24-fusemax-artifact):", ""]
    lines += [f"- {q.quirk}: {q.source}" for _, q in quirks.iterrows()]
    return lines


def _sweep_lines(study, sweep) -> list[str]:
    b = study.buffer_sweep
    lines = ["", f"## Buffer capacity sweep ({b['config']}'s {b['level']}, {b['model']} {b['seq_len']})", "",
             "Energy per row access and area from the component model (CACTI) for each capacity; the attention "
             "point evaluated on it.", "", "![buffer sweep](buffer_sweep.png)", "",
             "| MiB | read pJ | write pJ | area mm2 | attention latency s | attention energy J "
             "| of it in the buffer J |",
             "|---|---|---|---|---|---|---|"]
    for _, r in sweep.iterrows():
        lines.append(f"| {r.capacity_mib:g} | {r.read_pj:.0f} | {r.write_pj:.0f} | {r.area_mm2:.1f} | "
                     f"{r.latency_s:.4g} | {r.energy_pj / 1e12:.4g} | {r.buffer_energy_pj / 1e12:.4g} |")
    return lines


def write_report(path, study, att, e2e, par, figs, seconds, engine="analytical", *, published=None, quirks=None,
                 sweep=None) -> None:
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
    if published is not None and len(published):
        lines += _published_lines(study, published)
    if quirks is not None and len(quirks):
        lines += _quirk_lines(study, quirks)
    if sweep is not None:
        lines += _sweep_lines(study, sweep)
    tables = ["attention", "end_to_end", "activity", "energy"] + (["pareto"] if par is not None else [])
    tables += (["published"] if published is not None else []) + (["quirks"] if quirks is not None else [])
    tables += ["buffer_sweep"] if sweep is not None else []
    lines += ["", "Tables: " + ", ".join(f"[{t}.csv]({t}.csv)" for t in tables), ""]
    Path(path).write_text("\n".join(lines), encoding="utf-8")

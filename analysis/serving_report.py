"""The serving study's Markdown report: headline ratios beside the paper's, the per-batch view, sub-batch
interleaving, utilization (Table 4), the trace's command counts, the event-engine cross-check, timings, figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["ratios", "headline", "attention_slowdown_for", "write_report"]


def ratios(thr: pd.DataFrame, final: str, base: str) -> pd.DataFrame:
    """tokens/s of ``final`` over ``base`` per (model, dataset, batch)."""
    p = thr.pivot_table(index=["model", "dataset", "batch"], columns="config", values="tokens_per_s")
    return (p[final] / p[base]).rename("ratio").reset_index()


def headline(thr: pd.DataFrame, final: str, base: str, *, where=None) -> float:
    """Arithmetic mean of the throughput ratio over the points (optionally those ``where`` selects)."""
    r = ratios(thr, final, base)
    return float((r[where(r)] if where is not None else r).ratio.mean())


def _fmt(v, spec=".3g") -> str:
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else format(v, spec)


def _headline_lines(study, thr) -> list[str]:
    paper = study.extra.get("paper", {})
    final, cfgs = study.configs[-1], study.configs
    rows = [("NeuPIMs / npu-only", "npu-only", paper.get("npu_only_ratio")),
            ("NeuPIMs / naive NPU+PIM", "npu-pim-naive", paper.get("naive_ratio"))]
    lines = ["## Headline: throughput ratios, means over the study's points", "",
             "| ratio | einsim, all points | einsim, ShareGPT batch >= 256 | paper (abstract) | einsim / paper |",
             "|---|---|---|---|---|"]
    for label, base, p in rows:
        if base not in cfgs:
            continue
        allm = headline(thr, final, base)
        big = headline(thr, final, base, where=lambda r: (r.dataset == "sharegpt") & (r.batch >= 256))
        lines.append(f"| {label} | {allm:.2f}x | {big:.2f}x | {_fmt(p)}x | {allm / p:.2f} |" if p else
                     f"| {label} | {allm:.2f}x | {big:.2f}x | | |")
    lines += ["", "Per point (tokens/s of the final configuration over each baseline):", "",
              "| model | dataset | batch | mean batch | " + " | ".join(f"vs {c}" for c in cfgs[:-1]) + " |",
              "|---" * (4 + len(cfgs) - 1) + "|"]
    mean_b = thr[thr.config == final].set_index(["model", "dataset", "batch"]).mean_batch
    per = {c: ratios(thr, final, c).set_index(["model", "dataset", "batch"]).ratio for c in cfgs[:-1]}
    for key in mean_b.index:
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {mean_b[key]:.0f} | "
                     + " | ".join(f"{per[c][key]:.2f}" for c in cfgs[:-1]) + " |")
    return lines + [""]


def attention_slowdown_for(thr: pd.DataFrame, layers: pd.DataFrame, target: float, final: str,
                           base: str = "npu-only") -> float:
    """How many times slower the baseline's attention would have to run for the mean ratio ``final / base`` to
    reach ``target``: per point the baseline's time is its layers' serial sum (T), attention A of it, so with
    attention k times slower the ratio is (T - A + k A) / T_final; the mean over points is linear in k."""
    b = layers[layers.config == base].groupby(["model", "dataset", "batch"]).cycles
    total, att = b.sum(), layers[(layers.config == base) & (layers.layer == "attention")].set_index(
        ["model", "dataset", "batch"]).cycles
    tp = thr.set_index(["model", "dataset", "batch", "config"]).tokens_per_s
    keys = list(total.index)
    # at one batch, tokens/s is inversely proportional to the iteration's cycles: 1 / T_final = tps_final /
    # (tps_base T_base)
    rel = np.array([tp[k + (final,)] / (tp[k + (base,)] * total[k]) for k in keys])
    rest = np.array([(total[k] - att[k]) for k in keys]) * rel
    a = np.array([att[k] for k in keys]) * rel
    return float((target * len(keys) - rest.sum()) / a.sum())


def _why_lines(study, thr, layers) -> list[str]:
    paper = study.extra.get("paper", {})
    final, cfgs = study.configs[-1], study.configs
    lines = ["## Where the ratios come from", ""]
    if "npu-only" in cfgs and len(layers):
        nl = layers[layers.config == "npu-only"]
        share = (nl[nl.layer == "attention"].set_index(["model", "dataset", "batch"]).cycles
                 / nl.groupby(["model", "dataset", "batch"]).cycles.sum())
        by_ds = share.groupby(level="dataset").agg(["min", "max"])
        lines += ["Attention's share of the NPU-only iteration (the part PIM can take over): " + "; ".join(
            f"{ds} {r['min']:.0%} to {r['max']:.0%}" for ds, r in by_ds.iterrows()) + "."]
        if paper.get("npu_only_ratio"):
            k = attention_slowdown_for(thr, layers, paper["npu_only_ratio"], final)
            lines += [f"For the mean NeuPIMs / npu-only ratio to reach the paper's {paper['npu_only_ratio']}x, "
                      f"the NPU-only attention would have to run {k:.2f}x slower than einsim's (which streams the "
                      "KV caches at the DRAM bandwidth on the vector units)."]
    steps = [c for c in ("npu-pim-naive", "dual-rb", "bin-packing", final) if c in cfgs]
    if len(steps) > 1:
        lines += ["", "Mean gain of each NeuPIMs feature over the configuration before it:", "",
                  "| step | mean gain | ShareGPT batch >= 256 |", "|---|---|---|"]
        for a, b in zip(steps, steps[1:], strict=False):
            r = ratios(thr, b, a)
            big = r[(r.dataset == "sharegpt") & (r.batch >= 256)].ratio.mean()
            lines.append(f"| {a} -> {b} | {r.ratio.mean():.3f} | {big:.3f} |")
    return lines + [""]


def _interleave_lines(study, inter) -> list[str]:
    if not len(inter):
        return []
    frm = study.extra.get("paper", {}).get("interleave_from_batch")
    lines = ["## Sub-batch interleaving: tokens/s with two sub-batches over one", "",
             f"The paper (and its public simulator) enables interleaving from batch {frm} up. Dual row buffers "
             "(bin-packing) against a blocked PIM with one row buffer (npu-pim-naive):", "",
             "| model | dataset | " + " | ".join(f"{c}, batch {b}" for c in dict.fromkeys(inter.config)
                                               for b in sorted(inter.batch.unique())) + " |",
             "|---" * (2 + inter.config.nunique() * inter.batch.nunique()) + "|"]
    for (m, ds), d in inter.groupby(["model", "dataset"], sort=False):
        vals = [d[(d.config == c) & (d.batch == b)].gain for c in dict.fromkeys(inter.config)
                for b in sorted(inter.batch.unique())]
        lines.append(f"| {m} | {ds} | " + " | ".join(f"{v.iloc[0]:.2f}" if len(v) else "" for v in vals) + " |")
    helps = inter[inter.gain > 1.0]
    at = ", ".join(str(int(b)) for b in sorted(helps.batch.unique())) or "none"
    where = ", ".join(sorted(helps.config.unique())) or "none"
    lines += ["", f"Interleaving helps at {len(helps)} of {len(inter)} points: batches {at}; configurations {where}.",
              ""]
    return lines


def _table4_lines(study, thr) -> list[str]:
    t4 = study.extra.get("table4")
    if not t4:
        return []
    d = thr[(thr.model == t4["model"]) & (thr.dataset == t4["dataset"]) & (thr.batch == t4["batch"])]
    paper = study.extra.get("paper", {}).get("table4", {})
    lines = [f"## Utilization, {t4['model']}, batch {t4['batch']}, {t4['dataset']} (paper Table 4)", "",
             "util = work over peak (MACs done / MAC slots); busy = fraction of the time occupied (PIM: mean over "
             "channels). The paper does not say which it reports.", "",
             "| config | NPU util | NPU busy | PIM util | PIM busy | sub-batches | paper NPU | paper PIM |",
             "|---|---|---|---|---|---|---|---|"]
    for _, r in d.iterrows():
        p = paper.get(r.config, {})
        lines.append(f"| {r.config} | {r.util_npu:.3f} | {r.busy_npu:.3f} | {_fmt(r.util_pim, '.3f')} | "
                     f"{_fmt(r.busy_pim, '.3f')} | {r.sub_batches:.1f} | {_fmt(p.get('npu'))} | "
                     f"{_fmt(p.get('pim'))} |")
    return lines + ["", "![utilization](utilization.png)", ""]


def _trace_lines(res) -> list[str]:
    tr = res.get("trace")
    if not tr:
        return ["## Trace", "", "Not run: pass `--traces DIR` (NeuPIMs' request-traces folder).", ""]
    k = tr.get("kernel", {})
    lines = [f"## One decode iteration on `{Path(tr['file']).name}`", "",
             f"{tr['requests']} requests, mean context {tr['mean_context']:.0f}; the iteration takes "
             f"{tr['cycles']:.4g} cycles ({tr['layers']} layers, {tr['sub_batches']} sub-batch(es); "
             f"{tr['layer_cycles']:.4g} per layer).", "",
             "PIM commands of one layer's attention (NeuPIMs' KV layout):", "",
             "| command | from the programs | issued by the command-level kernel |", "|---|---|---|"]
    for c, v in tr.get("commands", {}).items():
        lines.append(f"| {c} | {v} | {k.get('commands', {}).get(c, '')} |")
    if k:
        lines += ["", f"The kernel also issues {k['commands'].get('ACT', 0)} ACT / {k['commands'].get('PRE', 0)} "
                  f"PRE (the GWRITE vector rows), {k['commands'].get('G_PRE', 0)} G_PRE and "
                  f"{k['commands'].get('REF', 0)} REF; its slowest channel takes {k['slowest_channel_cycles']} "
                  f"cycles (mean {k['mean_channel_cycles']:.0f}), refresh included.", ""]
    return lines


def _other_lines(study, res, thr) -> list[str]:
    lines = []
    ls = study.extra.get("paper", {}).get("llmservingsim")
    if ls:
        d = thr[(thr.model == ls["model"]) & (thr.dataset == ls["dataset"]) & (thr.batch == ls["batch"])
                & (thr.config == ls["config"])]
        if len(d):
            lines += [f"## {ls['model']}, {ls['dataset']}, batch {ls['batch']}, {ls['config']}", "",
                      f"einsim: {d.tokens_per_s.iloc[0]:,.0f} tokens/s (decode iterations, TP "
                      f"{int(d.tp.iloc[0])}); the LLMServingSim artifact: {ls['tokens_per_s']:,} tokens/s."]
            pre = res.get("prefill")
            if pre is not None:
                e = pre[(pre.model == ls["model"]) & (pre.dataset == ls["dataset"]) & (pre.batch == ls["batch"])
                        & (pre.config == ls["config"])]
                if len(e):
                    lines += [f"With the joining requests' prompts run as prefill steps: "
                              f"{e.e2e_tokens_per_s.iloc[0]:,.0f} tokens/s end to end."]
            lines.append("")
    if "crosscheck" in res:
        cc = res["crosscheck"]
        lines += ["## Event engine against the analytical model", "",
                  f"Each point's first decode iteration, every fusion group and the stage loop on the tile-level "
                  f"event engine ({res['crosscheck_s']:.1f} s); largest difference "
                  f"{100 * cc.rel_diff.abs().max():.2f}%.", "",
                  "| model | batch | config | analytical cycles | event cycles | difference |",
                  "|---|---|---|---|---|---|"]
        for _, r in cc.iterrows():
            lines.append(f"| {r.model} | {r.batch} | {r.config} | {r.analytical_cycles:.6g} | "
                         f"{r.event_cycles:.6g} | {100 * r.rel_diff:+.2f}% |")
        lines.append("")
    if "prefill" in res:
        lines += ["## Time to first token (prompts run on the NPU as requests join)", "",
                  "All of a point's requests wait from time 0, so TTFT includes the wait for a free slot; the prefill "
                  "step is what a request finding a free slot waits.", "",
                  "| model | dataset | batch | config | prefill step s | TTFT p50 s | TTFT p99 s | decode tok/s | "
                  "end-to-end tok/s |", "|---|---|---|---|---|---|---|---|---|"]
        for _, r in res["prefill"].iterrows():
            lines.append(f"| {r.model} | {r.dataset} | {r.batch} | {r.config} | {r.prefill_step_s:.3g} | "
                         f"{r.ttft_p50_s:.4g} | {r.ttft_p99_s:.4g} | {r.decode_tokens_per_s:,.0f} | "
                         f"{r.e2e_tokens_per_s:,.0f} |")
        lines.append("")
    return lines


def write_report(path, study, res: dict) -> None:
    thr = res["throughput"]
    lines = [f"# {study.name} study", "",
             f"{len(study.models)} models x {len(study.datasets)} datasets x {len(study.batches)} batch sizes x "
             f"{len(study.configs)} configurations ({', '.join(study.configs)}), each point "
             f"{study.serving['iterations']} decode iterations of continuous batching from a steady-state batch; "
             f"analytical model; the grid in {res['grid_s']:.1f} s, everything in {res['total_s']:.1f} s.", ""]
    lines += _headline_lines(study, thr)
    lines += ["![throughput by batch](throughput_by_batch.png)", ""]
    lines += _why_lines(study, thr, res["layers"])
    lines += _interleave_lines(study, res["interleave"])
    if len(res["interleave"]):
        lines += ["![interleaving](interleave.png)", ""]
    lines += _table4_lines(study, thr)
    if "timeline" in res:
        lines += ["## One interleaved iteration", "", "![timeline](timeline.png)", ""]
    lines += _trace_lines(res)
    lines += _other_lines(study, res, thr)
    lines += ["Tables: [throughput.csv](throughput.csv), [layers.csv](layers.csv), "
              "[interleave.csv](interleave.csv).", ""]
    Path(path).write_text("\n".join(lines), encoding="utf-8")

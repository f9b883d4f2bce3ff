"""Figures of a sweep report. Every function reads DataFrames only and writes ``<stem>.png`` and ``<stem>.svg``
(matplotlib, Agg backend)."""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .sweep_analysis import pareto_mask, pareto_mask_by  # noqa: E402

__all__ = ["plot_pareto", "plot_sensitivity", "plot_energy_breakdown", "plot_utilization", "plot_roofline",
           "column_label"]

_UNITS = {"_s": "s", "_pj": "pJ", "_mm2": "mm²", "_bytes": "B", "_per_s": "/s", "_pj_s": "pJ·s"}


def column_label(col: str) -> str:
    """``latency_s`` -> ``latency (s)``; ``energy_pj`` -> ``energy (pJ)``."""
    for suffix in sorted(_UNITS, key=len, reverse=True):
        if col.endswith(suffix) and len(col) > len(suffix):
            return f"{col[: -len(suffix)].replace('_', ' ')} ({_UNITS[suffix]})"
    return col.replace("_", " ")


def _name(col: str) -> str:
    return col.strip("_").replace("_", " ")


def _log_if_wide(ax, values, axis="y") -> None:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if len(v) and v.max() / v.min() > 20:
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
        (ax.yaxis if axis == "y" else ax.xaxis).set_minor_formatter(matplotlib.ticker.NullFormatter())
    else:
        ax.ticklabel_format(axis=axis, style="sci", scilimits=(-2, 4))


def _save(fig, stem, layout: bool = True) -> list[Path]:
    stem = Path(stem)
    out = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    if layout:
        fig.tight_layout()
    fig.savefig(out[0], dpi=110)
    fig.savefig(out[1])
    plt.close(fig)
    return out


def plot_pareto(df: pd.DataFrame, objectives, stem, group: str | None = None) -> list[Path]:
    """One panel per pair of (the first three) objectives: every ok point, the 2D front as a step line, and the
    points on the front over all objectives ringed. With ``group`` (a column naming the workload a point runs),
    fronts are drawn per group, one colour each: designs are compared on the same workload only."""
    ok = df[df.ok.astype(bool)]
    objs = list(objectives)[:3]
    pairs = list(itertools.combinations(objs, 2)) or [(objs[0], objs[0])]
    groups = list(ok.groupby(group, sort=True)) if group else [("all points", ok)]
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(groups))) if group else ["tab:red"]
    full = pareto_mask_by(ok, objectives, group)
    fig, axes = plt.subplots(1, len(pairs), figsize=(4.6 * len(pairs), 4), squeeze=False)
    for ax, (x, y) in zip(axes[0], pairs):
        ax.scatter(ok[x], ok[y], s=8, color="0.75")
        for c, (name, g) in zip(colours, groups):
            front = g[pareto_mask(g, [x, y])].sort_values(x)
            ax.step(front[x], front[y], where="post", color=c, lw=1.3, label=str(name) if group else "front")
            ax.scatter(front[x], front[y], s=14, color=c)
        ax.scatter(ok[x][full], ok[y][full], s=46, facecolors="none", edgecolors="black", lw=0.6,
                   label="front, all objectives")
        _log_if_wide(ax, ok[x], "x")
        _log_if_wide(ax, ok[y], "y")
        ax.set_xlabel(column_label(x))
        ax.set_ylabel(column_label(y))
        ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center right", fontsize=7, title=_name(group) if group else None)
    fig.suptitle("Pareto fronts (lower is better)" + (f", per {_name(group)}" if group else ""))
    fig.tight_layout(rect=(0, 0, 0.86, 1))
    return _save(fig, stem, layout=False)


def plot_sensitivity(sens: pd.DataFrame, axis: str, objectives, stem) -> list[Path]:
    """Per objective: its median over the points at each level of ``axis`` with the min-max band (relative to the
    first level when ``sens.attrs["relative"]``, see :func:`sweep_analysis.sensitivity`)."""
    rel = sens.attrs.get("relative", False)
    objs = list(objectives)
    fig, axes = plt.subplots(1, len(objs), figsize=(3.8 * len(objs), 3.2), squeeze=False)
    numeric = pd.api.types.is_numeric_dtype(sens["level"])
    x = sens["level"].astype(float) if numeric else np.arange(len(sens))
    for ax, obj in zip(axes[0], objs):
        med, lo, hi = (sens[f"{obj}_{k}"].astype(float) for k in ("median", "min", "max"))
        ax.fill_between(x, lo, hi, alpha=0.2, color="tab:blue", label="min-max")
        ax.plot(x, med, "o-", color="tab:blue", label="median")
        if numeric:
            _log_if_wide(ax, x, "x")
        else:
            ax.set_xticks(x, sens["level"].astype(str), rotation=30)
        _log_if_wide(ax, pd.concat([lo, hi]), "y")
        ax.set_xlabel(axis)
        if rel:
            ax.set_title(column_label(obj), fontsize=10)
        ax.set_ylabel(f"relative to {axis} = {sens.attrs['first']}" if rel else column_label(obj))
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"sensitivity to {axis} " + ("(other axes fixed, over all their values)" if rel
                                               else "(other axes marginalised)"))
    return _save(fig, stem)


def plot_energy_breakdown(table: pd.DataFrame, labels, stem) -> list[Path]:
    """Stacked bars: energy by component (columns of ``table``) per point (rows), labelled by ``labels``."""
    fig, ax = plt.subplots(figsize=(max(5.0, 0.32 * len(table) + 2), 4))
    bottom = np.zeros(len(table))
    for comp in table.columns:
        v = table[comp].to_numpy(dtype=float)
        ax.bar(np.arange(len(table)), v, bottom=bottom, label=comp)
        bottom += v
    ax.set_xticks(np.arange(len(table)), list(labels), rotation=90, fontsize=7)
    ax.set_ylabel("energy (pJ)")
    ax.set_xlabel("point (Pareto front)")
    ax.legend(fontsize=7)
    ax.set_title("energy by component")
    return _save(fig, stem)


def plot_utilization(df: pd.DataFrame, level_col: str, unit_cols, stem) -> list[Path]:
    """Per unit: the distribution (box plot) of its utilization at each level of ``level_col``."""
    ok = df[df.ok.astype(bool)]
    units = list(unit_cols)
    fig, axes = plt.subplots(1, len(units), figsize=(4.4 * len(units), 3.4), squeeze=False)
    levels = sorted(ok[level_col].dropna().unique())
    for ax, col in zip(axes[0], units):
        data = [ok[ok[level_col] == lv][col].dropna().to_numpy() for lv in levels]
        ax.boxplot(data, tick_labels=[f"{lv:.4g}" if isinstance(lv, float) else str(lv) for lv in levels])
        ax.set_ylim(0, 1.05)
        ax.set_xlabel(level_col)
        ax.set_ylabel(col.replace("util_", "utilization of "))
        ax.tick_params(axis="x", rotation=30)
        ax.grid(alpha=0.3)
    fig.suptitle("utilization")
    return _save(fig, stem)


def plot_roofline(r: pd.DataFrame, stem) -> list[Path]:
    """Operational intensity (ops per DRAM byte) vs attained ops/s, under each architecture's roof
    min(peak ops/s, DRAM bandwidth x intensity); points share their roof's colour."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    roofs = r.groupby(["peak_ops_per_s", "dram_bytes_per_s"], sort=True)
    colours = plt.cm.viridis(np.linspace(0, 0.9, max(len(roofs), 1)))
    xs = r.ops_per_dram_byte.astype(float)
    lo = max(xs.min() / 4, 1e-3) if len(xs) else 0.1
    hi = max(xs.max() * 4, lo * 100) if len(xs) else 1e4
    grid = np.geomspace(lo, hi, 200)
    for c, ((peak, bw), pts) in zip(colours, roofs):
        ax.plot(grid, np.minimum(peak, bw * grid), color=c, lw=1.2, label=f"peak {peak:.3g} op/s, {bw:.3g} B/s")
        ax.scatter(pts.ops_per_dram_byte, pts.attained_ops_per_s, s=12, color=c)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("operational intensity (ops / DRAM byte)")
    ax.set_ylabel("attained throughput (ops / s)")
    ax.grid(alpha=0.3, which="both")
    if len(roofs) <= 10:
        ax.legend(fontsize=6)
    ax.set_title("roofline per point")
    return _save(fig, stem)

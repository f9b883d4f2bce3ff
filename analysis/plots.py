"""Figures of the FuseMax study. Every function reads DataFrames only and writes one PNG (matplotlib Agg)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

__all__ = ["relative", "plot_relative", "plot_utilization", "plot_activity", "plot_pareto",
           "plot_buffer_sweep"]


def _len_label(s: int) -> str:
    return f"{s // 1048576}M" if s >= 1048576 else f"{s // 1024}K"


def relative(df: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Add ``speedup`` (baseline latency / latency) and ``energy_rel`` (energy / baseline energy) per point."""
    base = df[df.config == baseline].set_index(["model", "seq_len"])
    out = df.copy()
    key = list(zip(out.model, out.seq_len, strict=True))
    out["speedup"] = [base.loc[k, "latency_s"] for k in key] / out.latency_s.to_numpy()
    out["energy_rel"] = out.energy_pj.to_numpy() / np.array([base.loc[k, "energy_pj"] for k in key])
    return out


def plot_relative(df: pd.DataFrame, baseline: str, column: str, ylabel: str, title: str, path, log=True):
    """Grouped bars: one panel per model, sequence lengths on x, one bar per configuration."""
    models = list(dict.fromkeys(df.model))
    configs = list(dict.fromkeys(df.config))
    lens = sorted(df.seq_len.unique())
    fig, axes = plt.subplots(1, len(models), figsize=(4 * len(models), 3.2), sharey=True, squeeze=False)
    w = 0.8 / len(configs)
    for ax, model in zip(axes[0], models, strict=True):
        d = df[df.model == model]
        for i, cfg in enumerate(configs):
            v = [d[(d.config == cfg) & (d.seq_len == s)][column].mean() for s in lens]
            ax.bar(np.arange(len(lens)) + (i - (len(configs) - 1) / 2) * w, v, w, label=cfg)
        ax.axhline(1.0, color="k", lw=0.6)
        ax.set_xticks(np.arange(len(lens)), [_len_label(s) for s in lens])
        ax.set_title(model)
        ax.set_xlabel("sequence length")
        if log:
            ax.set_yscale("log")
    axes[0][0].set_ylabel(ylabel)
    axes[0][-1].legend(fontsize=7)
    fig.suptitle(f"{title} (relative to {baseline})")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_utilization(df: pd.DataFrame, path):
    """2D and 1D array utilization per configuration by sequence length (mean over models)."""
    lens = sorted(df.seq_len.unique())
    configs = list(dict.fromkeys(df.config))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
    w = 0.8 / len(configs)
    for ax, col, name in ((axes[0], "util_1d", "1D array"), (axes[1], "util_2d", "2D array")):
        for i, cfg in enumerate(configs):
            v = [df[(df.config == cfg) & (df.seq_len == s)][col].mean() for s in lens]
            ax.bar(np.arange(len(lens)) + (i - (len(configs) - 1) / 2) * w, v, w, label=cfg)
        ax.set_xticks(np.arange(len(lens)), [_len_label(s) for s in lens])
        ax.set_title(f"{name} utilization (mean over models)")
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("sequence length")
    axes[0].set_ylabel("utilization")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_activity(act: pd.DataFrame, points: pd.DataFrame, path, resource="array2d"):
    """Share of time the 2D array spends on each Einsum, per configuration and sequence length (one model)."""
    a = act[act.resource == resource]
    model = a.model.iloc[0]
    a = a[a.model == model]
    configs = list(dict.fromkeys(a.config))
    lens = sorted(a.seq_len.unique())
    einsums = list(dict.fromkeys(a.einsum))
    fig, axes = plt.subplots(1, len(configs), figsize=(3.2 * len(configs), 3.4), sharey=True, squeeze=False)
    for ax, cfg in zip(axes[0], configs, strict=True):
        bottom = np.zeros(len(lens))
        for e in einsums:
            v = []
            for s in lens:
                cyc = points[(points.model == model) & (points.config == cfg) & (points.seq_len == s)].cycles
                tot = float(cyc.iloc[0]) * _pes(a) if len(cyc) else np.nan
                v.append(a[(a.config == cfg) & (a.seq_len == s) & (a.einsum == e)].pe_cycles.sum() / tot)
            ax.bar(range(len(lens)), v, bottom=bottom, label=e)
            bottom += np.nan_to_num(v)
        ax.set_xticks(range(len(lens)), [_len_label(s) for s in lens], fontsize=7)
        ax.set_title(cfg)
    axes[0][0].set_ylabel(f"{resource} utilization by Einsum")
    axes[0][-1].legend(fontsize=6)
    fig.suptitle(f"Per-Einsum activity of the 2D array ({model})")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _pes(a: pd.DataFrame) -> float:
    return float(a.attrs.get("pes", 65536))


def plot_pareto(df: pd.DataFrame, path, title: str):
    """Area vs latency over the PE-array size sweep, Pareto-optimal points joined."""
    d = df[df.ok].sort_values("area_mm2")
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.scatter(d.area_mm2, d.latency_s)
    for _, r in d.iterrows():
        ax.annotate(f"{r['size']}x{r['size']}", (r.area_mm2, r.latency_s), fontsize=7)
    best = np.minimum.accumulate(d.latency_s.to_numpy())
    front = d[d.latency_s.to_numpy() <= best]
    ax.plot(front.area_mm2, front.latency_s, "r-", lw=0.8, label="Pareto front")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("area (mm$^2$)")
    ax.set_ylabel("latency (s)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_buffer_sweep(df: pd.DataFrame, path, title: str):
    """Energy per row access (read, write) and area of a buffer against its capacity, and the attention energy the
    point spends in it."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    x = df.capacity_mib
    axes[0].plot(x, df.read_pj / 1e3, "o-", label="read")
    axes[0].plot(x, df.write_pj / 1e3, "s-", label="write")
    axes[0].set_ylabel("energy per row access (nJ)")
    axes[0].legend(fontsize=7)
    axes[1].plot(x, df.area_mm2, "o-")
    axes[1].set_ylabel("area (mm$^2$)")
    axes[2].plot(x, df.buffer_energy_pj / 1e12, "o-", label="in the buffer")
    axes[2].plot(x, df.energy_pj / 1e12, "s-", label="all of attention")
    axes[2].set_ylabel("attention energy (J)")
    axes[2].legend(fontsize=7)
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xticks(list(x), [f"{v:g}" for v in x])
        ax.set_xlabel("capacity (MiB)")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)

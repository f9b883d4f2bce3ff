"""Figures of the serving study. Every function reads DataFrames only and writes one PNG (matplotlib Agg)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

__all__ = ["plot_throughput", "plot_utilization", "plot_timeline", "plot_interleave"]


def plot_throughput(df: pd.DataFrame, path) -> None:
    """Tokens/s against batch size: one panel per (dataset, model), one line per configuration."""
    models, datasets = list(dict.fromkeys(df.model)), list(dict.fromkeys(df.dataset))
    configs = list(dict.fromkeys(df.config))
    fig, axes = plt.subplots(len(datasets), len(models), figsize=(3.6 * len(models), 3.0 * len(datasets)),
                             squeeze=False)
    for i, ds in enumerate(datasets):
        for j, m in enumerate(models):
            ax = axes[i][j]
            d = df[(df.dataset == ds) & (df.model == m)]
            for cfg in configs:
                c = d[d.config == cfg].sort_values("batch")
                ax.plot(c.batch, c.tokens_per_s / 1e3, marker="o", ms=3, label=cfg)
            ax.set_xscale("log", base=2)
            ax.set_xticks(sorted(d.batch.unique()), [str(b) for b in sorted(d.batch.unique())])
            ax.set_title(f"{m}, {ds}", fontsize=9)
            ax.set_xlabel("batch")
            if j == 0:
                ax.set_ylabel("thousand tokens/s")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_utilization(df: pd.DataFrame, paper: dict, title: str, path) -> None:
    """NPU and PIM utilization (work over peak, and the fraction of time busy) per configuration, beside the
    paper's figures (``paper``: config -> {npu, pim}) as markers."""
    configs = list(df.config)
    cols = [("util_npu", "NPU MAC util"), ("busy_npu", "NPU busy"), ("util_pim", "PIM MAC util"),
            ("busy_pim", "PIM busy")]
    x = np.arange(len(configs))
    w = 0.8 / len(cols)
    fig, ax = plt.subplots(figsize=(1.6 * len(configs) + 2, 3.4))
    for i, (c, label) in enumerate(cols):
        ax.bar(x + (i - (len(cols) - 1) / 2) * w, df[c].fillna(0.0).to_numpy(), w, label=label)
    for k, cfg in enumerate(configs):
        for key, mk, dx in (("npu", "v", -0.25), ("pim", "^", 0.25)):
            if cfg in paper:
                ax.plot(k + dx, paper[cfg][key], mk, color="k", ms=7,
                        label=f"paper {key.upper()}" if k == configs.index(next(c for c in configs if c in paper))
                        else None)
    ax.set_xticks(x, configs, fontsize=8)
    ax.set_ylabel("fraction")
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_timeline(df: pd.DataFrame, title: str, path) -> None:
    """A Gantt chart of a stage schedule: one row per resource, bars coloured by sub-batch and labelled by layer
    (columns resource, group, sub_batch, layer, start_us, end_us)."""
    resources = list(dict.fromkeys(df.resource))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, ax = plt.subplots(figsize=(10, 0.6 * len(resources) + 1.4))
    for _, r in df.iterrows():
        y = resources.index(r.resource)
        ax.barh(y, r.end_us - r.start_us, left=r.start_us, color=colors[int(r.sub_batch) % len(colors)],
                edgecolor="k", lw=0.3)
        if r.end_us - r.start_us > 0.04 * df.end_us.max():
            ax.text((r.start_us + r.end_us) / 2, y, f"{r.group} L{int(r.layer)}", ha="center", va="center",
                    fontsize=6)
    for sb in sorted(df.sub_batch.unique()):
        ax.barh(-10, 0, color=colors[int(sb) % len(colors)], label=f"sub-batch {int(sb)}")
    ax.set_yticks(range(len(resources)), resources)
    ax.set_ylim(-0.6, len(resources) - 0.4)
    ax.set_xlabel("time (us)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_interleave(df: pd.DataFrame, path) -> None:
    """Throughput with two sub-batches over one, by batch, per configuration (one panel per model and dataset)."""
    keys = list(dict.fromkeys(zip(df.model, df.dataset, strict=True)))
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 2.9), squeeze=False, sharey=True)
    for ax, (m, ds) in zip(axes[0], keys, strict=True):
        d = df[(df.model == m) & (df.dataset == ds)]
        for cfg in dict.fromkeys(d.config):
            c = d[d.config == cfg].sort_values("batch")
            ax.plot(c.batch, c.gain, marker="o", ms=3, label=cfg)
        ax.axhline(1.0, color="k", lw=0.6)
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted(d.batch.unique()), [str(b) for b in sorted(d.batch.unique())])
        ax.set_title(f"{m}, {ds}", fontsize=8)
        ax.set_xlabel("batch")
    axes[0][0].set_ylabel("tokens/s, 2 sub-batches / 1")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)

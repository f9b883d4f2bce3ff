"""Tables a sweep report is made of, computed from the store's DataFrames only: Pareto fronts, per-axis
sensitivity, energy by component and roofline coordinates."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["pareto_mask", "pareto_mask_by", "axis_levels", "sensitivity", "sensitivity_summary",
           "energy_by_component", "roofline"]

_MAX_LEVELS = 12
_BINS = 8


def pareto_mask(df: pd.DataFrame, objectives) -> np.ndarray:
    """True for the rows no other row dominates (all objectives minimised; rows with a NaN objective are never on
    the front). A row dominates another if it is <= in every objective and < in at least one."""
    x = df[list(objectives)].to_numpy(dtype=float)
    valid = ~np.isnan(x).any(axis=1)
    mask = valid.copy()
    xs = x[valid]
    idx = np.flatnonzero(valid)
    for i, row in zip(idx, xs):
        le = (xs <= row).all(axis=1)
        lt = (xs < row).any(axis=1)
        if (le & lt).any():
            mask[i] = False
    return mask


def pareto_mask_by(df: pd.DataFrame, objectives, group: str | None = None) -> np.ndarray:
    """:func:`pareto_mask` within each value of the column ``group`` (all rows together without one)."""
    if not group:
        return pareto_mask(df, objectives)
    mask = np.zeros(len(df), dtype=bool)
    for _, idx in df.groupby(group, sort=False).indices.items():
        mask[idx] = pareto_mask(df.iloc[idx], objectives)
    return mask


def axis_levels(values: pd.Series) -> pd.Series:
    """The level each row's axis value falls in: the value itself when there are at most 12 distinct values, else
    one of 8 quantile bins labelled by its median (random and Latin-hypercube designs draw many distinct values)."""
    distinct = values.dropna().unique()
    if len(distinct) <= _MAX_LEVELS or not pd.api.types.is_numeric_dtype(values):
        return values
    bins = pd.qcut(values, _BINS, duplicates="drop")
    return values.groupby(bins, observed=True).transform("median")


def _relative(ok: pd.DataFrame, levels: pd.Series, objectives, others) -> pd.DataFrame | None:
    """Each row's objectives divided by those of the row with the same values of the ``others`` axes at this axis's
    first level; None unless the design is matched that way (a grid: one row per combination)."""
    others = [o for o in others if o in ok.columns]
    if not others:
        return None
    key = ok[others].astype(str).agg("\x1f".join, axis=1)
    if pd.Series(list(zip(key, levels.astype(str)))).duplicated().any():
        return None
    first = levels == levels.min()
    base = ok.loc[first, list(objectives)].set_axis(key[first].to_numpy())
    matched = key.isin(base.index)
    if matched.mean() < 0.5:
        return None
    return ok.loc[matched, list(objectives)] / base.loc[key[matched]].to_numpy()


def sensitivity(df: pd.DataFrame, axis: str, objectives, others=()) -> pd.DataFrame:
    """Per level of ``axis``: n and, per objective, the median, min and max over the ok rows. On a matched design
    (a grid over ``axis`` and ``others``) the objectives are first divided by their value at the axis's first level
    with the other axes fixed (``attrs["relative"]`` True): the curve then shows this axis's effect alone.
    Otherwise the other axes are marginalised. Columns: level, n, <obj>_median, <obj>_min, <obj>_max."""
    ok = df[df.ok.astype(bool)]
    if ok.empty:
        return pd.DataFrame(columns=["level", "n"])
    levels = axis_levels(ok[axis])
    binned = not levels.equals(ok[axis])
    rel = None if binned else _relative(ok, levels, objectives, [o for o in others if o != axis])
    values = ok[list(objectives)] if rel is None else rel
    g = values.groupby(levels.loc[values.index], sort=True)
    out = pd.DataFrame({"n": g.size()})
    for obj in objectives:
        out[f"{obj}_median"] = g[obj].median()
        out[f"{obj}_min"] = g[obj].min()
        out[f"{obj}_max"] = g[obj].max()
    out.index.name = "level"
    out = out.reset_index()
    out.attrs["relative"] = rel is not None
    out.attrs["first"] = levels.min()
    return out


def sensitivity_summary(df: pd.DataFrame, axes, objectives) -> pd.DataFrame:
    """Rows (axis, objective, spread): spread = largest / smallest median over the axis's levels (1 = no effect)."""
    rows = []
    for a in axes:
        s = sensitivity(df, a, objectives, axes)
        for obj in objectives:
            med = s.get(f"{obj}_median", pd.Series(dtype=float)).astype(float)
            med = med[med > 0]
            rows.append({"axis": a, "objective": obj,
                         "spread": float(med.max() / med.min()) if len(med) else float("nan")})
    return pd.DataFrame(rows, columns=["axis", "objective", "spread"])


def energy_by_component(energy: pd.DataFrame, hashes=None) -> pd.DataFrame:
    """Energy (pJ) per point (rows: hash) and component (columns), optionally for ``hashes`` in that order."""
    e = energy if hashes is None else energy[energy.hash.isin(list(hashes))]
    table = e.pivot_table(index="hash", columns="component", values="energy_pj", aggfunc="sum", fill_value=0.0)
    if hashes is not None:
        table = table.reindex([h for h in hashes if h in table.index])
    return table


def roofline(df: pd.DataFrame) -> pd.DataFrame:
    """The ok rows' roofline coordinates: ops_per_dram_byte, attained_ops_per_s, and their architecture's
    peak_ops_per_s and dram_bytes_per_s (the ridge point is peak / bandwidth ops per byte)."""
    cols = ["hash", "ops_per_dram_byte", "attained_ops_per_s", "peak_ops_per_s", "dram_bytes_per_s"]
    ok = df[df.ok.astype(bool)]
    if ok.empty or not set(cols) <= set(ok.columns):
        return pd.DataFrame(columns=cols)
    r = ok[cols].copy()
    r = r[np.isfinite(r.ops_per_dram_byte.astype(float)) & np.isfinite(r.attained_ops_per_s.astype(float))]
    r["ridge_ops_per_byte"] = r.peak_ops_per_s / r.dram_bytes_per_s
    return r.reset_index(drop=True)

"""How much each quirk of a study moves its figures: the study run again with one quirk left out at a time.

For each quirk, the configurations (and sequence lengths) it touches are evaluated without it, the rest kept; the
effect is (with the quirk) - (without it) on the headline means (the final configuration against the baseline,
attention and end to end), and the geometric-mean ratio (with / without) of latency and energy on each touched
configuration.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .report import headline
from .study import Study, run_attention, run_end_to_end

__all__ = ["quirk_effects"]

_KEY = ["model", "seq_len", "config"]


def _replace(df: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``df`` with the rows ``new`` has (by model, seq_len, config) taken from ``new``."""
    idx = df.set_index(_KEY)
    idx.loc[new.set_index(_KEY).index, new.columns.difference(_KEY)] = new.set_index(_KEY)[
        new.columns.difference(_KEY)]
    return idx.reset_index()


def _geomean_ratio(a: pd.DataFrame, b: pd.DataFrame, col: str) -> float:
    m = a.merge(b, on=_KEY, suffixes=("", "_b"))
    return float(np.exp(np.mean(np.log(m[col] / m[f"{col}_b"]))))


def quirk_effects(study: Study, att: pd.DataFrame, e2e: pd.DataFrame, *, models=None, seq_lens=None,
                  engine="analytical") -> pd.DataFrame:
    """One row per quirk: what it is, where it applies, and its effect (see the module docstring)."""
    final = list(study.configs)[-1]
    full = {k: headline(df, study.baseline, final) for k, df in (("attention", att), ("end_to_end", e2e))}
    lens = list(seq_lens or study.seq_lens)
    rows = []
    for q in study.quirks:
        touched = [c for c in study.configs if c in q.configs]
        q_lens = [s for s in lens if q.seq_lens is None or s in q.seq_lens]
        row = {"quirk": q.name, "what": q.what, "source": q.source, "configs": " ".join(touched),
               "seq_lens": "all" if q.seq_lens is None else " ".join(str(s) for s in q.seq_lens)}
        if not q_lens:      # none of the sequence lengths run: no effect here
            rows.append({**row, **{f"{k}_{m}_effect": 0.0 for k in ("attention", "end_to_end")
                                   for m in ("speedup", "energy")},
                         **{f"{c}_{m}_x": float("nan") for c in touched for m in ("latency", "energy")}})
            continue
        kw = {"models": models, "seq_lens": q_lens, "configs": touched, "progress": False, "engine": engine,
              "without": frozenset({q.name})}
        a_wo, _ = run_attention(study, **kw)
        e_wo = run_end_to_end(study, a_wo, **kw)
        att_wo, e2e_wo = _replace(att, a_wo), _replace(e2e, e_wo)
        for kind, without in (("attention", att_wo), ("end_to_end", e2e_wo)):
            h = headline(without, study.baseline, final)
            row[f"{kind}_speedup_effect"] = full[kind]["speedup"] - h["speedup"]
            row[f"{kind}_energy_effect"] = full[kind]["energy"] - h["energy"]
        for cfg in touched:
            cur = att[(att.config == cfg) & att.seq_len.isin(q_lens)]
            row[f"{cfg}_latency_x"] = _geomean_ratio(cur, a_wo[a_wo.config == cfg], "latency_s")
            row[f"{cfg}_energy_x"] = _geomean_ratio(cur, a_wo[a_wo.config == cfg], "energy_pj")
        rows.append(row)
    return pd.DataFrame(rows)

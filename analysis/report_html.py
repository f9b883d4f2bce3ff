"""The HTML report of a sweep store: Pareto fronts, sensitivity per axis, energy by component, utilization, a
roofline per point and a sortable table of every point.

``REPORT.html`` references its figures relatively in ``REPORT_files/`` (a PNG shown, an SVG linked), so the folder
can be copied or served as is; the page needs no network (its table sorter is a few lines of plain JavaScript).
Opened as ``REPORT.html#selftest`` the page checks itself after loading: ``#selftest`` gets ``data-images`` and
``data-loaded`` (figures present and loaded) and ``data-sorted`` (``ascending`` if sorting by latency works).
"""

from __future__ import annotations

import html
import json
import math
import os
import time
from pathlib import Path

import pandas as pd

from . import sweep_analysis as sa
from . import sweep_plots as sp
from .store import open_existing

__all__ = ["build_report"]

_MAX_ROWS = 5000
_SCRIPT = """
function cellKey(row, i) {
  const v = row.cells[i].dataset.v;
  if (v === undefined || v === '') return null;
  const n = Number(v);
  return isNaN(n) ? v : n;
}
function sortTable(th) {
  const head = th.parentNode, i = [...head.children].indexOf(th);
  const asc = th.dataset.dir !== 'asc';
  [...head.children].forEach(h => { h.dataset.dir = ''; });
  th.dataset.dir = asc ? 'asc' : 'desc';
  const body = th.closest('table').tBodies[0];
  const rows = [...body.rows];
  rows.sort((a, b) => {
    const x = cellKey(a, i), y = cellKey(b, i);
    if (x === null || y === null) return (x === null) - (y === null);
    const c = (typeof x === 'number' && typeof y === 'number') ? x - y : String(x).localeCompare(String(y));
    return asc ? c : -c;
  });
  rows.forEach(r => body.appendChild(r));
}
document.querySelectorAll('table.sortable th').forEach(th => th.addEventListener('click', () => sortTable(th)));
window.addEventListener('load', () => {
  const st = document.getElementById('selftest');
  const imgs = [...document.images];
  st.dataset.images = imgs.length;
  st.dataset.loaded = imgs.filter(im => im.complete && im.naturalWidth > 0).length;
  if (location.hash !== '#selftest') return;
  const th = document.querySelector('#points th[data-col="latency_s"]');
  if (!th) { st.dataset.sorted = 'no latency column'; return; }
  sortTable(th);
  const i = [...th.parentNode.children].indexOf(th);
  const v = [...th.closest('table').tBodies[0].rows].map(r => cellKey(r, i)).filter(x => x !== null);
  st.dataset.sorted = v.every((x, k) => k === 0 || v[k - 1] <= x) && v.length > 0 ? 'ascending' : 'no';
  st.textContent = `images ${st.dataset.loaded}/${st.dataset.images}, table ${st.dataset.sorted}`;
});
"""
_STYLE = """
body { font-family: sans-serif; margin: 1.5em; max-width: 1400px; }
table { border-collapse: collapse; font-size: 12px; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
th { background: #eee; cursor: pointer; position: sticky; top: 0; }
th[data-dir=asc]::after { content: ' \\25B2'; } th[data-dir=desc]::after { content: ' \\25BC'; }
td.s { text-align: left; } img { max-width: 100%; } figure { margin: 1em 0; }
.scroll { max-height: 600px; overflow: auto; }
"""


def _fmt(v) -> tuple[str, str]:
    """(shown text, sort key) of a cell."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "", ""
    if isinstance(v, bool):
        return str(v).lower(), str(int(v))
    if isinstance(v, int | float):
        return f"{v:.4g}", repr(float(v))
    return str(v), str(v)


def _table(df: pd.DataFrame, cols, table_id: str = "") -> str:
    head = "".join(f'<th data-col="{html.escape(c)}">{html.escape(c)}</th>' for c in cols)
    body = []
    for row in df[cols].itertuples(index=False):
        cells = []
        for v in row:
            text, key = _fmt(v.item() if hasattr(v, "item") else v)
            cls = "" if key == "" or _is_num(key) else ' class="s"'
            cells.append(f'<td data-v="{html.escape(key)}"{cls}>{html.escape(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    tid = f' id="{table_id}"' if table_id else ""
    return (f'<div class="scroll"><table class="sortable"{tid}><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _is_num(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _figure(paths, title: str, caption: str, base: Path) -> str:
    png, svg = (p.relative_to(base).as_posix() for p in paths)
    return (f'<figure><img src="{html.escape(png)}" alt="{html.escape(title)}"><figcaption>{html.escape(caption)} '
            f'(<a href="{html.escape(svg)}">SVG</a>)</figcaption></figure>')


def _meta(store) -> dict:
    path = store.root / "sweep.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    return {"name": store.root.name, "axes": [], "objectives": ["latency_s", "energy_pj", "area_mm2"]}


def _workload_groups(df: pd.DataFrame, meta: dict) -> str | None:
    """Add a ``_workload`` column naming each row's workload (the values of the axes that change only the workload,
    in their order) and return its name; None when no axis changes the workload."""
    axes = [a["name"] for a in meta["axes"] if a["name"] in df.columns
            and all(p.split(".")[0] == "workload" for p in a["paths"])]
    if not axes:
        return None
    keys = list(zip(*(df[a] for a in axes)))
    label = {k: ", ".join(f"{a}={v}" for a, v in zip(axes, k)) for k in keys}
    order = [label[k] for k in sorted(set(keys))]
    df["_workload"] = pd.Categorical([label[k] for k in keys], categories=order, ordered=True)
    return "_workload"


def _figures(df, energy, meta, files: Path, base: Path) -> list[str]:
    """Draw every figure into ``files``; return their HTML."""
    group = _workload_groups(df, meta)
    ok = df[df.ok.astype(bool)]
    objectives = [o for o in meta["objectives"] if o in df.columns]
    axes = [a["name"] for a in meta["axes"] if a["name"] in df.columns]
    per = " for each workload (the values of the axes that change the workload)" if group else ""
    out = []
    if len(ok) and objectives:
        out.append("<h2>Pareto fronts</h2>" + _figure(
            sp.plot_pareto(df, objectives, files / "pareto", group), "Pareto fronts",
            f"{len(ok)} feasible points; lines: the front of each pair of objectives{per}; ringed: the front over "
            f"{', '.join(objectives)}{per}.", base))
        out.append("<h2>Sensitivity</h2>")
        for a in axes:
            sens = sa.sensitivity(df, a, objectives, axes)
            how = (f"relative to its value at {a} = {sens.attrs['first']} with the other axes fixed"
                   if sens.attrs.get("relative") else "over the points at that level")
            out.append(_figure(sp.plot_sensitivity(sens, a, objectives, files / f"sensitivity_{a}"),
                               f"sensitivity to {a}", f"median and range of each objective at each level of {a}, "
                               f"{how}.", base))
        summary = sa.sensitivity_summary(df, axes, objectives)
        if len(summary):
            wide = summary.pivot(index="axis", columns="objective", values="spread").reset_index()
            out.append("<p>Spread (largest / smallest median over an axis's levels; 1 = no effect):</p>"
                       + _table(wide, list(wide.columns)))
        front = ok[sa.pareto_mask_by(ok, objectives, group)]
        front = front.sort_values([group, objectives[0]] if group else [objectives[0]]).head(40)
        table = sa.energy_by_component(energy, front.hash)
        if len(table):
            labels = [f"#{p}" for p in front.set_index("hash").loc[table.index, "point"]]
            out.append("<h2>Energy by component</h2>" + _figure(
                sp.plot_energy_breakdown(table, labels, files / "energy_breakdown"), "energy by component",
                f"energy of the Pareto-front points (over all objectives{per}; at most 40), by component.", base))
    units = [c for c in df.columns if c.startswith("util_")]
    if len(ok) and units and axes:
        binned = df.assign(**{axes[0]: sa.axis_levels(df[axes[0]])})
        out.append("<h2>Utilization</h2>" + _figure(
            sp.plot_utilization(binned, axes[0], units, files / "utilization"), "utilization",
            f"utilization of each unit by {axes[0]}.", base))
    roof = sa.roofline(df)
    if len(roof):
        out.append("<h2>Roofline</h2>" + _figure(
            sp.plot_roofline(roof, files / "roofline"), "roofline",
            "each point's operational intensity and attained throughput (ops = the cascade's op counts, a MAC is "
            "one op) under its architecture's roof: peak = PEs x pipelines x clock; DRAM bandwidth.", base))
    return out


def _summary(df: pd.DataFrame, meta: dict) -> str:
    counts = df.status.value_counts().to_dict() if len(df) else {}
    parts = ", ".join(f"{counts.get(k, 0)} {k}" for k in ("ok", "infeasible", "excluded"))
    runs = df.run.nunique() if "run" in df else 0
    secs = float(df.seconds.sum()) if "seconds" in df else 0.0
    lines = [f"<p>{len(df)} points: {parts}. {runs} run(s); {secs:.1f} s of evaluation in all.</p>"]
    if meta.get("description"):
        lines.insert(0, f"<p>{html.escape(meta['description'])}</p>")
    if meta.get("constraints"):
        lines.append(f"<p>Constraints: {html.escape('; '.join(meta['constraints']))}.</p>")
    return "\n".join(lines)


def build_report(store_dir, out_html) -> dict:
    """Write ``out_html`` and its figures (in ``<stem>_files/``); return {"html", "figures", "points"}."""
    store = open_existing(store_dir)
    df, energy = store.points(), store.energy()
    meta = _meta(store)
    out_html = Path(out_html)
    files = out_html.parent / f"{out_html.stem}_files"
    files.mkdir(parents=True, exist_ok=True)
    figures = _figures(df, energy, meta, files, out_html.parent)
    axes = [a["name"] for a in meta["axes"] if a["name"] in df.columns]
    cols = list(dict.fromkeys(["point", "status", *axes, *[o for o in meta["objectives"] if o in df.columns],
                               "cycles", "latency_s", "energy_pj", "area_mm2", "edp_pj_s", "dram_bytes",
                               *sorted(c for c in df.columns if c.startswith("util_")), "reason"]))
    cols = [c for c in cols if c in df.columns]
    shown = df.sort_values("point", kind="stable").head(_MAX_ROWS) if "point" in df else df
    note = f" (first {_MAX_ROWS} of {len(df)})" if len(df) > _MAX_ROWS else ""
    spec_text = (store.root / "sweep.yaml").read_text(encoding="utf-8") if (store.root / "sweep.yaml").exists() else ""
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>einsim sweep {html.escape(meta['name'])}</title>
<style>{_STYLE}</style></head><body>
<h1>Sweep {html.escape(meta['name'])}</h1>
<p id="selftest"></p>
{_summary(df, meta)}
{''.join(figures)}
<h2>Points{note}</h2><p>Click a column to sort.</p>
{_table(shown, cols, "points")}
<h2>Spec</h2><details><summary>sweep.yaml</summary><pre>{html.escape(spec_text)}</pre></details>
<p><small>einsim report, {time.strftime('%Y-%m-%d %H:%M')}, from {html.escape(str(store.root))}</small></p>
<script>{_SCRIPT}</script>
</body></html>
"""
    tmp = out_html.with_name(f".{out_html.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out_html)
    return {"html": out_html, "figures": sorted(files.glob("*.png")), "points": len(df)}

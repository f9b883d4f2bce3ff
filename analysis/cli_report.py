"""``einsim report DIR [-o REPORT]``: an HTML report of a sweep store (figures in ``REPORT_files/`` beside it)."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["register"]


def register(sub) -> None:
    p = sub.add_parser("report", help="build the HTML report of a sweep's results store",
                       description="Pareto fronts, sensitivity per axis, energy by component, utilization, a "
                                   "roofline per point and a sortable table, as one HTML page with PNG/SVG figures.")
    p.add_argument("store", metavar="DIR", help="results folder of einsim sweep")
    p.add_argument("-o", "--output", metavar="REPORT", default=None,
                   help="HTML file to write (default DIR/report.html)")
    p.set_defaults(func=_main)


def _main(args) -> int:
    from .report_html import build_report
    from .store import StoreError, out_dir_problem

    out = Path(args.output or Path(args.store) / "report.html")
    if out.exists() and out.is_dir():
        print(f"error: -o {out}: is a directory; give an HTML file name", file=sys.stderr)
        return 1
    problem = out_dir_problem(out.parent)
    if problem:
        print(f"error: {problem.replace('--out', '-o', 1)}", file=sys.stderr)
        return 1
    try:
        info = build_report(args.store, out)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {info['html']} ({info['points']} points, {len(info['figures'])} figures)", file=sys.stderr)
    return 0

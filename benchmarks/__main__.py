"""`python -m benchmarks [--smoke]`: run every benchmarks/bench_*.py module's run(smoke) and print one table.

Each module exposes ``run(smoke: bool) -> list[dict]`` with rows of keys benchmark, metric, value, unit, target,
note, and optionally ``key``: with ``--json`` the rows that have one are printed as one JSON object {key: value}
(``python -m benchmarks --only mapper --json``). Smoke mode runs small sizes so CI finishes in seconds; targets are
judged on full runs.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
from pathlib import Path

COLUMNS = ("benchmark", "metric", "value", "unit", "target", "note")


def _modules():
    here = Path(__file__).resolve().parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes, seconds in all (CI)")
    parser.add_argument("--only", default=None, help="run only bench_<ONLY>")
    parser.add_argument("--json", action="store_true", help="print {key: value} of the keyed rows as JSON")
    args = parser.parse_args(argv)
    rows, failed = [], []
    for name in _modules():
        if args.only and name != f"bench_{args.only}":
            continue
        t0 = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            rows.extend(module.run(args.smoke))
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            failed.append(name)
            rows.append({"benchmark": name, "metric": "error", "value": None, "unit": "", "target": "",
                         "note": f"{type(exc).__name__}: {exc}"})
        print(f"{name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    if args.json:
        import json

        print(json.dumps({row["key"]: row["value"] for row in rows if row.get("key")}))
        return 1 if failed else 0
    table = [[_fmt(row.get(c)) for c in COLUMNS] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in table)) if table else len(c) for i, c in enumerate(COLUMNS)]
    print("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)))
    for r in table:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

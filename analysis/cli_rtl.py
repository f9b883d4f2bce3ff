"""`einsim rtl check [--json]`: run the RTL co-simulation suite and print block, config, cycles and value match."""

from __future__ import annotations

import json
import sys
import time

__all__ = ["register"]

_KEYS = ("block", "config", "rtl_cycles", "sim_cycles", "values_match")


def register(subparsers) -> None:
    parser = subparsers.add_parser("rtl", help="Verilog blocks under cocotb vs the register-level simulator")
    sub = parser.add_subparsers(dest="rtl_command", metavar="ACTION")
    sub.required = True
    check = sub.add_parser("check", help="run every block's co-simulation configurations")
    check.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    check.set_defaults(func=_check)


def _check(args) -> int:
    from einsim.rtl import cosim

    if not cosim.simulator_available():
        print("error: Icarus Verilog (iverilog, vvp) is not on PATH; install it (e.g. `make iverilog`)",
              file=sys.stderr)
        return 1
    t0 = time.perf_counter()

    def progress(result):
        mark = "ok" if result.ok else "MISMATCH"
        print(f"[{time.perf_counter() - t0:6.1f}s] {result.block:<15} {result.config:<24} {mark}"
              + (f"  {result.detail}" if result.detail else ""), file=sys.stderr)

    results = cosim.run_all(progress=progress)
    if args.json:
        print(json.dumps([{key: getattr(r, key) for key in _KEYS} for r in results], indent=1))
    else:
        rows = [[r.block, r.config, str(r.rtl_cycles), str(r.sim_cycles), "yes" if r.values_match else "NO"]
                for r in results]
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(_KEYS)]
        print("  ".join(h.ljust(w) for h, w in zip(_KEYS, widths, strict=True)))
        for row in rows:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        bad = sum(not r.ok for r in results)
        print(f"{len(results)} configurations, {len(results) - bad} exact, {bad} mismatched "
              f"({time.perf_counter() - t0:.0f} s)")
    return 0 if all(r.ok for r in results) else 1

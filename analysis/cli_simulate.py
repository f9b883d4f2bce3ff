"""``einsim simulate --workload W --arch A --mapping M [--set R=N ...] [--exact] [--json]``: one point on the event
engine (rung 3), printed like ``einsim evaluate`` with the analytical cycles and the engine's event counts beside."""

from __future__ import annotations

import json

from .cli_evaluate import _sizes

__all__ = ["register"]


def register(sub) -> None:
    p = sub.add_parser("simulate", help="simulate one workload on an architecture with a mapping (event engine)")
    p.add_argument("--workload", required=True, help="cascade library name or YAML path")
    p.add_argument("--arch", required=True, help="architecture preset name or YAML path")
    p.add_argument("--mapping", required=True, help="mapping preset name or YAML path")
    p.add_argument("--set", action="append", default=[], metavar="R=N", help="rank size, e.g. --set M=4096")
    p.add_argument("--exact", action="store_true", help="simulate every event (no steady-state extrapolation)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_main)


def _main(args) -> int:
    import arch
    import mappings
    import workloads
    from sim import simulate

    c = workloads.load_cascade(args.workload)
    a = arch.load_arch(args.arch)
    m = mappings.load_mapping(args.mapping)
    r = simulate(c, a, m, _sizes(args.set), exact=args.exact)
    if args.json:
        print(json.dumps({"ok": r.ok, "reason": r.reason, "summary": r.summary, "choices": r.choices,
                          "energy": [dict(zip(("component", "action", "count", "energy_pj"), e, strict=True))
                                     for e in r.energy]}, default=float, indent=2))
    elif not r.ok:
        print(f"infeasible: {r.reason}")
    else:
        for k, v in r.summary.items():
            print(f"{k:24s} {v:.6g}" if isinstance(v, float) else f"{k:24s} {v}")
    return 0 if r.ok else 2

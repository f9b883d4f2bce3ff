"""``einsim evaluate --workload W --arch A --mapping M [--set R=N ...] [--json]``: evaluate one point."""

from __future__ import annotations

import json

from workloads.errors import SpecError, SpecIssue

__all__ = ["register"]


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate one workload on an architecture with a mapping (analytical model)")
    p.add_argument("--workload", required=True, help="cascade library name or YAML path")
    p.add_argument("--arch", required=True, help="architecture preset name or YAML path")
    p.add_argument("--mapping", required=True, help="mapping preset name or YAML path")
    p.add_argument("--set", action="append", default=[], metavar="R=N", help="rank size, e.g. --set M=4096")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_main)


def _sizes(items) -> dict:
    sizes, issues = {}, []
    for item in items:
        rank, _, value = item.partition("=")
        try:
            sizes[rank.strip()] = int(value)
        except ValueError:
            issues.append(SpecIssue("--set", None, item, f"must be RANK=INTEGER like M=4096, not {item!r}"))
    if issues:
        raise SpecError(issues)
    return sizes


def _main(args) -> int:
    import arch
    import mappings
    import workloads
    from sim import evaluate

    c = workloads.load_cascade(args.workload)
    a = arch.load_arch(args.arch)
    m = mappings.load_mapping(args.mapping)
    r = evaluate(c, a, m, _sizes(args.set))
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

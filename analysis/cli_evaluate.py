"""``einsim evaluate --workload W --arch A --mapping M [--set R=N ...] [--json]``: evaluate one point.

The point arguments and the printing are shared with ``einsim simulate`` (:mod:`analysis.cli_simulate`).
"""

from __future__ import annotations

import json

from .cli_workload import parse_sets

__all__ = ["register", "add_point_arguments", "run_point"]


def add_point_arguments(p) -> None:
    """The arguments that name one design point: workload, architecture, mapping and rank sizes."""
    p.add_argument("--workload", required=True, help="cascade library name or YAML path")
    p.add_argument("--arch", required=True, help="architecture preset name or YAML path")
    p.add_argument("--mapping", required=True, help="mapping preset name or YAML path")
    p.add_argument("--set", action="append", default=[], metavar="R=N", help="rank size, e.g. --set M=4096")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def run_point(args, model, **options) -> int:
    """Load the point named by ``args``, run ``model(workload, arch, mapping, sizes, **options)``, print the Result.

    The command-line sizes, and the mapping's names against the workload and architecture, are checked first (a
    SpecError: exit 1). Exit status 0 for a feasible point, 2 for an infeasible one (the reason is printed).
    """
    import einsim.arch as arch
    import einsim.mappings as mappings
    import einsim.workloads as workloads
    from einsim.mappings.crosscheck import check_mapping_against

    from .guard import load_spec

    sets = parse_sets(args.set)
    cascade = workloads.load_cascade(args.workload)
    spec = load_spec(arch.load_arch, args.arch, "architecture")
    mapping = load_spec(mappings.load_mapping, args.mapping, "mapping")
    check_mapping_against(cascade, spec, mapping)
    cascade.bind({**sets, **{k: v for k, v in mapping.partitions.items() if k not in sets}}, source="--set")
    r = model(cascade, spec, mapping, sets, **options)
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


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate one workload on an architecture with a mapping (analytical model)")
    add_point_arguments(p)
    p.set_defaults(func=_main)


def _main(args) -> int:
    from einsim.sim import evaluate

    return run_point(args, evaluate)

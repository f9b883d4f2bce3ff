"""``einsim evaluate --workload W --arch A --mapping M [--set R=N ...] [--json]``: evaluate one point.

The point arguments and the printing are shared with ``einsim simulate`` (:mod:`analysis.cli_simulate`).
"""

from __future__ import annotations

import json

from .cli_values import positive_int
from .cli_workload import parse_sets

__all__ = ["register", "add_point_arguments", "run_point"]


def add_point_arguments(p, *, arch_required: bool = True) -> None:
    """The arguments that name one design point: a workload (or a whole model layer), an architecture, a mapping
    (or a mapping set for a model) and rank sizes (a model's parameters)."""
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--workload", help="cascade library name or YAML path")
    what.add_argument("--model", help="model preset (e.g. gpt3-7b-prefill) or YAML path: every layer of it")
    p.add_argument("--arch", required=arch_required, help="architecture preset name or YAML path")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--mapping", help="mapping preset name or YAML path (with --workload)")
    how.add_argument("--mappings", help="mapping set (e.g. npu) giving each layer's mapping (with --model)")
    p.add_argument("--seq-len", type=positive_int, default=2048, help="sequence length S of a --model (default 2048)")
    p.add_argument("--set", action="append", default=[], metavar="R=N",
                   help="rank size (a model's parameter with --model), e.g. --set M=4096")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _check_pairing(args) -> None:
    from einsim.workloads.errors import SpecError, SpecIssue

    if args.workload and not args.mapping:
        raise SpecError([SpecIssue("<command line>", None, "--mapping", "--workload needs --mapping")])
    if args.model and not args.mappings:
        raise SpecError([SpecIssue("<command line>", None, "--mappings", "--model needs --mappings (e.g. npu)")])


def run_point(args, model, **options) -> int:
    """Load the point named by ``args``, run ``model(workload, arch, mapping, sizes, **options)``, print the Result.

    The command-line sizes, and the mapping's names against the workload and architecture, are checked first (a
    SpecError: exit 1). Exit status 0 for a feasible point, 2 for an infeasible one (the reason is printed).
    """
    import einsim.arch as arch
    import einsim.mappings as mappings
    import einsim.workloads as workloads
    from einsim.mappings.crosscheck import check_mapping_against

    _check_pairing(args)
    if args.model:
        from .cli_model import run_model

        return run_model(args, model)
    sets = parse_sets(args.set)
    cascade = workloads.load_cascade(args.workload)
    spec = arch.load_arch(args.arch)
    mapping = mappings.load_mapping(args.mapping)
    check_mapping_against(cascade, spec, mapping)
    cascade.bind({**sets, **{k: v for k, v in mapping.partitions.items() if k not in sets}}, source="--set")
    r = _run_model(model, args.arch, cascade, spec, mapping, sets, **options)
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


def _run_model(model, arch_name, *args, **options):
    """``model(*args, **options)``; a component model (CACTI) that rejects the architecture's values is a SpecError
    naming the architecture file, not an internal error."""
    from einsim.arch.cacti import ComponentError
    from einsim.workloads.errors import SpecError, SpecIssue

    try:
        return model(*args, **options)
    except ComponentError as exc:
        raise SpecError([SpecIssue(str(arch_name), None, "<top>", f"a component model cannot take this "
                                   f"architecture's values: {str(exc)[:300]}")]) from None


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate one workload on an architecture with a mapping (analytical model)")
    add_point_arguments(p)
    p.set_defaults(func=_main)


def _main(args) -> int:
    from einsim.sim import evaluate

    return run_point(args, evaluate)

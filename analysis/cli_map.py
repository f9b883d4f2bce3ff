"""``einsim map --workload W --arch A [--mapping TEMPLATE] [--constraints C] [--objective cycles|energy|edp|weighted]
[--budget N | --seconds S] [--seed N] [--method M] [--set R=N ...] [--json] [--out FILE] [--pareto FILE]``: search
the mapspace (:func:`einsim.sim.search.search`) and print the best mapping as mapping YAML, its result as ``#``
comments (so the output is a mapping file ``einsim evaluate --mapping`` loads). ``--json`` prints ``mapping`` (the
YAML text), ``summary`` (as ``einsim evaluate``), ``evaluated`` (tile rows evaluated), ``seconds``,
``lower_bound_cycles`` and ``gap`` (cycles over the bound, minus 1). Exit status 2 if no feasible mapping is found.
"""

from __future__ import annotations

import json
import sys

from .cli_workload import parse_sets

__all__ = ["register", "run_search", "header"]


def register(sub) -> None:
    p = sub.add_parser("map", help="search the mapspace for the best mapping of a workload on an architecture")
    p.add_argument("--workload", required=True, help="cascade library name or YAML path")
    p.add_argument("--arch", required=True, help="architecture preset name or YAML path")
    p.add_argument("--mapping", help="template mapping (preset or YAML): fixes fusion, binding, loop orders; its "
                                     "best_of lists are the tile candidates")
    p.add_argument("--constraints", help="constraints YAML (docs/mapper.md)")
    p.add_argument("--objective", default="cycles", choices=("cycles", "energy", "edp", "weighted"))
    p.add_argument("--weights", default="1,0", metavar="WC,WE",
                   help="weighted objective: WC x cycles + WE x energy_pj (default 1,0)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--budget", type=int, metavar="N", help="tile rows to evaluate (deterministic for a seed)")
    budget.add_argument("--seconds", type=float, metavar="S", help="wall-clock budget in seconds")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--method", default="auto", choices=("auto", "exhaustive", "random", "anneal"))
    p.add_argument("--set", action="append", default=[], metavar="R=N", help="rank size, e.g. --set M=4096")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--out", metavar="FILE", help="also write the mapping YAML to FILE")
    p.add_argument("--pareto", metavar="FILE", help="write the Pareto front (cycles vs energy) as YAML to FILE")
    p.set_defaults(func=_main)


def _weights(text: str) -> tuple[float, float]:
    from einsim.workloads.errors import SpecError, SpecIssue

    try:
        wc, we = (float(x) for x in text.split(","))
    except ValueError:
        raise SpecError([SpecIssue("<command line>", None, "--weights", f"must be two numbers WC,WE, not "
                                                                        f"{text!r}")]) from None
    return wc, we


def run_search(args):
    """Load the point named by ``args`` and search it; the SearchResult."""
    import einsim.arch as arch
    import einsim.mappings as mappings
    import einsim.workloads as workloads
    from einsim.mappings.constraints import load_constraints
    from einsim.sim.search import search
    from einsim.sim.tilesearch import Objective

    cascade = workloads.load_cascade(args.workload)
    a = arch.load_arch(args.arch)
    template = mappings.load_mapping(args.mapping) if args.mapping else None
    constraints = load_constraints(args.constraints) if args.constraints else None
    objective = Objective(kind=args.objective, weights=_weights(args.weights))
    return search(cascade, a, parse_sets(args.set), constraints=constraints, template=template, objective=objective,
                  method=args.method, evaluations=args.budget, seconds=args.seconds, seed=args.seed)


def header(r, workload: str, arch: str) -> str:
    """Comment lines describing a search and its result."""
    lines = [f"einsim map: {workload} on {arch}, objective {r.objective.kind}, method {r.method}",
             f"evaluated {r.evaluated} tile choices of {r.structures} structures in {r.seconds:.1f} s "
             f"({r.pruned} more dropped by capacity before evaluation)"]
    if r.result.ok:
        s = r.result.summary
        lb = r.lower_bound
        lines.append(f"cycles {s['cycles']:.6g}, energy {s['energy_pj']:.6g} pJ; lower bound {lb.cycles:.6g} cycles "
                     f"(compute {lb.compute_cycles:.6g}, DRAM {lb.dram_cycles:.6g}), gap {100 * r.gap:.3g}%")
    return "\n".join(lines)


def _main(args) -> int:
    from einsim.mappings.dump import mapping_to_yaml

    r = run_search(args)
    text = mapping_to_yaml(r.mapping, header(r, args.workload, args.arch)) if r.mapping is not None else None
    if args.out and text:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    if args.pareto:
        _write_pareto(args.pareto, r)
    if args.json:
        print(json.dumps({"mapping": text, "summary": r.result.summary, "evaluated": r.evaluated,
                          "seconds": r.seconds, "lower_bound_cycles": r.lower_bound.cycles,
                          "gap": r.gap if r.result.ok else None}, default=float, indent=2))
    elif text:
        print(text, end="")
        for k, v in r.result.summary.items():
            print(f"# {k:24s} {v:.6g}" if isinstance(v, float) else f"# {k:24s} {v}")
    if not r.result.ok:
        print(f"infeasible: {r.result.reason}", file=sys.stderr)
        return 2
    return 0


def _write_pareto(path: str, r) -> None:
    import yaml

    from einsim.mappings.dump import mapping_to_yaml

    front = [{"cycles": float(c), "energy_pj": float(e), "mapping": mapping_to_yaml(m)} for c, e, m in r.pareto]
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(front, f, sort_keys=False, width=120)

"""``einsim workload check|show``: validate cascade files and print their Einsums, op counts and passes."""

from __future__ import annotations

import argparse
import json
import sys

from einsim.workloads import load_cascade, op_counts, passes, total_ops
from einsim.workloads.errors import SpecError, SpecIssue

__all__ = ["register", "parse_sets"]


def parse_sets(items) -> dict[str, int]:
    """Parse ``--set R=N`` items into {rank: int}; SpecError naming every bad item otherwise (a name, then a positive
    integer of at most 2**62)."""
    from .cli_values import MAX_INT, positive_int

    out: dict[str, int] = {}
    issues = []
    for item in items or ():
        rank, sep, value = item.partition("=")
        rank = rank.strip()
        if not sep or not rank:
            issues.append(SpecIssue("--set", None, item, "must look like RANK=N, e.g. --set M=4096"))
            continue
        if not rank.isidentifier():
            issues.append(SpecIssue("--set", None, rank, f"a rank is a name like M or M0, not {rank!r}"))
            continue
        try:
            n = positive_int(value)
        except argparse.ArgumentTypeError:
            hint = f" (at most 2**62 = {MAX_INT})" if value.strip().isdigit() and int(value) > MAX_INT else ""
            issues.append(SpecIssue("--set", None, rank, f"size of rank {rank} must be a positive integer, not "
                                                          f"{value!r}{hint}"))
            continue
        if rank in out and out[rank] != n:
            issues.append(SpecIssue("--set", None, rank, f"rank {rank} has two sizes: {out[rank]} and {n}"))
        out[rank] = n
    if issues:
        raise SpecError(issues)
    return out


def register(sub) -> None:
    p = sub.add_parser("workload", help="check and inspect Einsum cascades")
    wsub = p.add_subparsers(dest="workload_command", metavar="ACTION")
    wsub.required = True
    c = wsub.add_parser("check", help="validate cascade files (exit 1 with every error found)")
    c.add_argument("files", nargs="+", metavar="FILE", help="cascade YAML paths or library names")
    c.set_defaults(func=_check)
    s = wsub.add_parser("show", help="print Einsums, op counts per Einsum and in total, and passes per rank")
    s.add_argument("file", metavar="FILE", help="cascade YAML path or library name (e.g. attention_1pass)")
    s.add_argument("--set", action="append", default=[], metavar="R=N", help="size of rank R (repeatable)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=_show)


def _check(args) -> int:
    bad = 0
    for f in args.files:
        try:
            c = load_cascade(f)
        except SpecError as exc:
            bad += 1
            for issue in exc.issues:
                print(f"error: {issue}", file=sys.stderr)
            continue
        print(f"ok: {f} ({c.name}: {len(c.einsums)} Einsums)")
    return 1 if bad else 0


def _show(args) -> int:
    c = load_cascade(args.file)
    sizes = c.bind(parse_sets(args.set), source="--set") if args.set else None
    per = op_counts(c, sizes) if sizes else None
    info = {
        "name": c.name,
        "file": c.file,
        "ranks": list(c.ranks),
        "partitions": {k: list(v) for k, v in c.partitions.items()},
        "sizes": sizes,
        "einsums": [{"name": e.name, "text": e.text, "ranks": list(e.indices), "reduced": list(e.reduced),
                     "reduce_op": e.reduce_op, "iterative": e.iterative,
                     "op_counts": per[e.name] if per else None} for e in c.einsums],
        "op_counts": total_ops(per) if per else None,
        "passes": passes(c),
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{c.name}  ({c.file})")
    if c.description:
        print(f"  {c.description}")
    print(f"  ranks: {', '.join(c.ranks)}" + "".join(f"; {k} = {' x '.join(v)}" for k, v in c.partitions.items()))
    if sizes:
        print("  sizes: " + ", ".join(f"{k}={v}" for k, v in sizes.items()))
    width = max(len(e.text) for e in c.einsums)
    print("\n  Einsums" + (" " * (width - 5) + "ops" if per else ""))
    for e in c.einsums:
        ops = ", ".join(f"{k} {v:,}" for k, v in sorted(per[e.name].items())) if per else ""
        print(f"    {e.text:<{width}}  {ops}")
    if per:
        print("\n  total ops: " + ", ".join(f"{k} {v:,}" for k, v in info["op_counts"].items()))
    else:
        print("\n  (give sizes with --set R=N to count ops)")
    print("  passes:    " + ", ".join(f"{r} {n}" for r, n in info["passes"].items()))
    return 0

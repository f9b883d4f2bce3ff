"""``einsim sweep SPEC --out DIR [--workers N | --scheduler ADDR] [--quiet] [--json]``: run a design sweep into a
resumable Parquet store (see docs/sweeps.md). Exit 0 when every point was stored, 1 for bad input or points that
failed with an error (they are not stored, so a rerun retries them)."""

from __future__ import annotations

import json
import sys

__all__ = ["register"]


def _positive(text: str) -> int:
    import argparse

    try:
        n = int(text)
    except ValueError:
        n = 0
    if n <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}")
    return n


def register(sub) -> None:
    p = sub.add_parser("sweep", help="run a design sweep (grid, random or Latin hypercube) into a results store",
                       description="Evaluate every point of a sweep spec and store the results in DIR (Parquet). "
                                   "A rerun resumes: stored points are skipped.")
    p.add_argument("spec", help="sweep spec YAML (or the name of a packaged sweep in analysis/sweeps/)")
    p.add_argument("--out", required=True, metavar="DIR", help="results folder (created; resumed if it exists)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive, metavar="N", help="start a local Dask cluster of N processes")
    where.add_argument("--scheduler", metavar="ADDR", help="use a running Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    p.add_argument("--json", action="store_true", help="print what the run did as JSON on stdout")
    p.set_defaults(func=_main)


def _main(args) -> int:
    from .runner import RunError, run_sweep
    from .store import StoreError, out_dir_problem
    from .sweep import load_sweep

    spec = load_sweep(args.spec)
    problem = out_dir_problem(args.out)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    try:
        run = run_sweep(spec, args.out, workers=args.workers, scheduler=args.scheduler, progress=not args.quiet)
    except (StoreError, RunError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(run.as_dict(), indent=2))
    if not args.quiet:
        print(f"sweep {run.sweep}: evaluated {run.evaluated} ({run.ok} ok, {run.infeasible} infeasible, "
              f"{run.errors} errors), excluded {run.excluded}, {run.stored_before} already stored; "
              f"{run.unique} points in {run.out} after {run.seconds:.1f} s", file=sys.stderr)
    for msg in run.error_messages[:10]:
        print(f"error: {msg}", file=sys.stderr)
    if run.errors > 10:
        print(f"error: ... and {run.errors - 10} more points failed", file=sys.stderr)
    return 1 if run.errors else 0

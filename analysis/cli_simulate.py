"""``einsim simulate --workload W --arch A --mapping M [--set R=N ...] [--exact] [--json]``: one point on the event
engine (rung 3), printed like ``einsim evaluate`` with the analytical cycles and the engine's event counts beside."""

from __future__ import annotations

from .cli_evaluate import add_point_arguments, run_point

__all__ = ["register"]


def register(sub) -> None:
    p = sub.add_parser("simulate", help="simulate one workload on an architecture with a mapping (event engine)")
    add_point_arguments(p)
    p.add_argument("--exact", action="store_true", help="simulate every event (no steady-state extrapolation)")
    p.set_defaults(func=_main)


def _main(args) -> int:
    from einsim.sim import simulate

    return run_point(args, simulate, exact=args.exact)

"""``einsim simulate --workload W --arch A --mapping M [--set R=N ...] [--exact] [--json]``: one point on the event
engine (rung 3), printed like ``einsim evaluate`` with the analytical cycles and the engine's event counts beside.

``einsim simulate --system S --workload MODEL --trace FILE [--tp N] [--pp N] [--json]``: one decode iteration of a
decode model preset served by serving configuration S (``mappings/presets/serving/``) over the batch of a request
trace (CSV ``seq_len,ch_idx``), its groups and stages on the event engine: the iteration's cycles and the PIM
commands of one layer's attention under ``commands`` (issued by the command-level DRAM/PIM kernel).
"""

from __future__ import annotations

import json

from .cli_evaluate import add_point_arguments, run_point

__all__ = ["register"]


def register(sub) -> None:
    p = sub.add_parser("simulate", help="simulate one workload on an architecture with a mapping (event engine), "
                                        "or a decode iteration of a serving system over a request trace")
    add_point_arguments(p, arch_required=False)
    p.add_argument("--exact", action="store_true", help="simulate every event (no steady-state extrapolation)")
    p.add_argument("--system", help="serving configuration preset or YAML (with --workload MODEL --trace FILE)")
    p.add_argument("--trace", help="request trace CSV (seq_len,ch_idx), with --system")
    p.add_argument("--tp", type=int, default=None, help="tensor-parallel degree (with --system)")
    p.add_argument("--pp", type=int, default=None, help="pipeline-parallel degree (with --system)")
    p.set_defaults(func=_main)


def _usage(path: str, message: str):
    from einsim.workloads.errors import SpecError, SpecIssue

    return SpecError([SpecIssue("<command line>", None, path, message)])


def _main(args) -> int:
    from einsim.sim import simulate

    if args.system or args.trace:
        return _system(args)
    if not args.arch:
        raise _usage("--arch", "--arch is required (or --system with --trace for a serving system)")
    return run_point(args, simulate, exact=args.exact)


def _system(args) -> int:
    from einsim.sim.decode import DecodeSystem
    from einsim.sim.errors import Infeasible

    from .request_traces import read_trace
    from .serving_run import trace_point

    if not (args.system and args.trace and args.workload):
        raise _usage("--system", "--system, --trace and --workload (a decode model preset) go together")
    for name, v in (("--tp", args.tp), ("--pp", args.pp)):
        if v is not None and v < 1:
            raise _usage(name, f"must be a positive integer, not {v}")
    system = DecodeSystem.load(args.workload, args.system, tp=args.tp, pp=args.pp, engine="event")
    batch = read_trace(args.trace, channels=system.channels)
    try:
        res = trace_point(system, batch)
    except Infeasible as exc:
        print(f"infeasible: {exc}")
        return 2
    out = {"system": args.system, "workload": args.workload, "trace": args.trace, "tp": system.tp, "pp": system.pp,
           **{k: v for k, v in res.items() if k not in ("commands", "kernel")},
           "tokens_per_s": res["requests"] * system.arch.clock_hz / res["cycles"],
           "commands": res["kernel"].get("commands", {}), "program_commands": res["commands"],
           "pim_slowest_channel_cycles": res["kernel"].get("slowest_channel_cycles")}
    if args.json:
        print(json.dumps(out, default=float, indent=2))
    else:
        for k, v in out.items():
            print(f"{k:28s} {v:.6g}" if isinstance(v, float) else f"{k:28s} {v}")
    return 0

"""`einsim dram bench|gemv`: run the command-level DRAM/PIM model on a request pattern or one PIM GEMV."""

from __future__ import annotations

import dataclasses
import json
import sys
import time

__all__ = ["register"]

_DEFAULT_REQUESTS = {"stream": 400_000, "random": 100_000, "strided": 100_000, "row_hit": 2_000, "row_miss": 2_000}


def register(subparsers) -> None:
    parser = subparsers.add_parser("dram", help="the command-level DRAM / PIM timing model")
    sub = parser.add_subparsers(dest="dram_command", metavar="ACTION")
    sub.required = True
    b = sub.add_parser("bench", help="bandwidth, latency and energy of a request pattern")
    b.add_argument("--preset", default="hbm2", help="DRAM preset name or YAML path (default hbm2)")
    b.add_argument("--pattern", default="stream", choices=("stream", "random", "strided", "row_hit", "row_miss"),
                   help="row_hit / row_miss issue one read at a time (unloaded latency)")
    b.add_argument("--trace", default=None, help="a DRAMsim3-format trace file instead of --pattern")
    b.add_argument("--requests", type=int, default=None, help="number of requests (default by pattern)")
    b.add_argument("--stride", type=int, default=4096, help="bytes between requests of --pattern strided")
    b.add_argument("--write-fraction", type=float, default=0.0, help="fraction of writes (stream/random/strided)")
    b.add_argument("--rate", type=float, default=None,
                   help="offered requests per cycle over the device (stream/random/strided); default: the pattern's "
                        "closed-form throughput (the data-bus peak for stream and strided, the activation bound for "
                        "random); 0 presents them all at cycle 0")
    b.add_argument("--page", choices=("open", "closed"), default="open")
    b.add_argument("--scheduler", choices=("frfcfs", "fcfs"), default="frfcfs")
    b.add_argument("--queue-size", type=int, default=32, help="request queue entries per channel")
    b.add_argument("--refresh-postpone", type=int, default=8, help="refreshes a rank may owe (0: refresh when due)")
    b.add_argument("--no-refresh", action="store_true")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.set_defaults(func=_bench)
    g = sub.add_parser("gemv", help="cycles and commands of one PIM GEMV (NeuPIMs' layout) on one channel")
    g.add_argument("--preset", default="hbm2-pim", help="PIM preset name or YAML path (default hbm2-pim)")
    g.add_argument("--rows", type=int, required=True, help="output elements R (matrix rows)")
    g.add_argument("--cols", type=int, required=True, help="vector length C (matrix columns)")
    g.add_argument("--row-buffers", type=int, choices=(1, 2), default=None, help="default: the preset's")
    g.add_argument("--segment", type=int, default=None, help="elements per dot product (a head); default: a row")
    g.add_argument("--refresh", action="store_true", help="simulate refresh too (the closed form has none)")
    g.add_argument("--json", action="store_true", help="print one JSON object")
    g.set_defaults(func=_gemv)


def _bad(flag: str, message: str):
    from einsim.workloads.errors import SpecError, SpecIssue

    return SpecError([SpecIssue("<command line>", None, flag, message)])


def _rate(spec, args) -> float | None:
    """Offered load in requests per cycle: --rate, else the pattern's closed-form throughput."""
    from einsim.sim import dram_timing as dt

    if args.rate is not None:
        if args.rate < 0:
            raise _bad("--rate", f"--rate must be >= 0 requests per cycle, not {args.rate!r}")
        return args.rate or None
    if args.pattern == "random":
        return spec.units / dt.random_access_cycles(spec)
    return spec.units / spec.burst_cycles


def _bench(args) -> int:
    import numpy as np

    from einsim.arch.dram import load_dram
    from einsim.sim import dram_timing as dt
    from einsim.sim import dram_traces as traces
    from einsim.sim.dram import DramPolicy, simulate_dram

    spec = load_dram(args.preset)
    n = args.requests if args.requests is not None else _DEFAULT_REQUESTS[args.pattern]
    if n < 1:
        raise _bad("--requests", f"--requests must be a positive integer, not {n!r}")
    try:
        policy = DramPolicy(page=args.page, scheduler=args.scheduler, queue_size=args.queue_size,
                            refresh=not args.no_refresh, refresh_postpone=args.refresh_postpone)
        if args.trace:
            req = traces.read_trace(args.trace)
        else:
            kw = {}
            if args.pattern in ("stream", "random", "strided"):
                kw = {"seed": args.seed, "write_fraction": args.write_fraction, "rate": _rate(spec, args)}
            if args.pattern == "strided":
                kw["stride"] = args.stride
            req = traces.generate(spec, args.pattern, n, **kw)
    except ValueError as exc:
        raise _bad("<options>", str(exc)) from None
    t0 = time.process_time()
    run = simulate_dram(spec, req, policy=policy, trace=False)  # the report needs no command trace
    seconds = time.process_time() - t0
    lat = run.latency[~req.is_write]
    by_state = {name: float(lat[run.row_state[~req.is_write] == i].mean())
                for i, name in enumerate(("hit", "miss", "conflict")) if np.any(run.row_state[~req.is_write] == i)}
    energy = run.energy_pj_per_bit
    report = {
        "preset": spec.name, "pattern": "trace" if args.trace else args.pattern, "requests": len(req),
        "channels_used": int(np.unique(run.channel).size), "cycles": run.cycles, "tck_ns": spec.tck_ns,
        "bandwidth_bytes_per_s": run.bandwidth_bytes_per_s, "peak_bytes_per_s": spec.peak_bytes_per_s,
        "refresh_limited_peak_bytes_per_s": spec.peak_bytes_per_s * (1 - spec.trfc / spec.trefi),
        "mean_read_latency_cycles": float(lat.mean()) if lat.size else None,
        "median_read_latency_cycles": float(np.median(lat)) if lat.size else None,
        "read_latency_by_row_state_cycles": by_state,
        "unloaded_latency_closed_form_cycles": {k: dt.read_latency_cycles(spec, k)
                                                for k in ("open", "closed", "conflict")},
        "energy_pj_per_bit": energy, "refresh_fraction": run.refresh_fraction,
        "refresh_fraction_closed_form": spec.trfc / spec.trefi, "commands": run.commands,
        "policy": {"page": policy.page, "scheduler": policy.scheduler, "queue_size": policy.queue_size,
                   "refresh": policy.refresh, "refresh_postpone": policy.refresh_postpone},
        "last_arrival_cycle": int(req.arrive[-1]), "sim_seconds": seconds,
    }
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    peak = spec.peak_bytes_per_s
    print(f"{spec.name}: {report['pattern']}, {len(req)} requests on {report['channels_used']} channel(s), "
          f"{policy.page} page, {policy.scheduler}")
    print(f"bandwidth   {run.bandwidth_bytes_per_s / 1e9:.2f} GB/s = {run.bandwidth_bytes_per_s / peak:.1%} of peak "
          f"{peak / 1e9:.1f} GB/s ({run.cycles} cycles of {spec.tck_ns} ns)")
    if lat.size:
        states = ", ".join(f"{k} {v:.1f}" for k, v in by_state.items())
        print(f"latency     mean {lat.mean():.1f} cycles, median {np.median(lat):.0f} ({states}); unloaded closed "
              f"form: open {dt.read_latency_cycles(spec, 'open')}, closed {dt.read_latency_cycles(spec, 'closed')}, "
              f"conflict {dt.read_latency_cycles(spec, 'conflict')}")
    print("energy      " + (f"{energy:.2f} pJ/bit" if energy is not None else "not available (no IDD figures)"))
    print(f"refresh     {run.refresh_fraction:.2%} of rank time (tRFC/tREFI = {spec.trfc / spec.trefi:.2%})")
    print("commands    " + ", ".join(f"{k} {v}" for k, v in run.commands.items() if v))
    return 0


def _gemv(args) -> int:
    from einsim.arch.dram import load_dram
    from einsim.sim import dram_timing as dt
    from einsim.sim import pim_gemv as pg
    from einsim.sim.dram import DramPolicy, simulate_dram

    spec = load_dram(args.preset)
    for flag, v in (("--rows", args.rows), ("--cols", args.cols)):
        if v < 1:
            raise _bad(flag, f"{flag} must be a positive integer, not {v!r}")
    if args.segment is not None and args.segment < 1:
        raise _bad("--segment", f"--segment must be a positive integer, not {args.segment!r}")
    if not spec.has_pim:
        print(f"infeasible: memory {spec.name!r} has no PIM (pim.mac_lanes is 0); try --preset hbm2-pim",
              file=sys.stderr)
        return 2
    rb = args.row_buffers or spec.row_buffers
    one = dataclasses.replace(spec, channels=1, pseudo_channels=1)
    try:
        layout = pg.gemv_layout(one, args.rows, args.cols, args.segment)
        prog = pg.gemv_program(one, args.rows, args.cols, segment=args.segment, row_buffers=rb)
    except ValueError as exc:
        print(f"infeasible: {exc}", file=sys.stderr)
        return 2
    t0 = time.process_time()
    run = simulate_dram(one, pim=prog, policy=DramPolicy(row_buffers=rb, refresh=args.refresh))
    seconds = time.process_time() - t0
    cycles = int(run.pim_done.max())
    closed = dt.pim_gemv_cycles(one, args.rows, args.cols, row_buffers=rb, segment=args.segment)
    report = {
        "preset": spec.name, "rows": args.rows, "cols": args.cols, "segment": args.segment, "row_buffers": rb,
        "cycles": cycles, "closed_form_cycles": closed, "time_ns": cycles * spec.tck_ns,
        "tiles": layout.tiles, "chunks": layout.chunks,
        "commands": {k: v for k, v in run.commands.items() if v},
        "macs": layout.comps * spec.mac_lanes * spec.banks_per_channel,
        "neupims_tile_estimate_cycles": dt.neupims_gemv_estimate(one, sum(layout.segments[0]),
                                                                 len(layout.segments[0])),
        "refresh": args.refresh, "sim_seconds": seconds,
    }
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"{spec.name}: GEMV {args.rows} x {args.cols} on one channel ({spec.banks_per_channel} banks, "
          f"{rb} row buffer(s)), {layout.tiles} tile(s) x {layout.chunks} chunk(s)")
    print(f"cycles      {cycles} ({cycles * spec.tck_ns:.0f} ns); closed form {closed}")
    print("commands    " + ", ".join(f"{k} {v}" for k, v in report["commands"].items()))
    return 0

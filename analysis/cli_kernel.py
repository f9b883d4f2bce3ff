"""`einsim kernel systolic ...`: run the register-level systolic-array kernel on a random GEMM and check it.

The micro-architecture flags are those of arch.systolic.SystolicArraySpec; ``--preset`` starts from a timing preset
(arch/presets/systolic/) and explicit flags override it. Bad values get one line each and exit status 1.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np

__all__ = ["register", "memory_estimate", "available_memory"]

_INT_FLAGS = ("rows", "cols", "m", "k", "n", "mac_latency", "acc_latency", "weight_load_cycles", "min_interval")


def register(subparsers) -> None:
    parser = subparsers.add_parser("kernel", help="run a register-level kernel on random data")
    sub = parser.add_subparsers(dest="kernel", metavar="KERNEL")
    sub.required = True
    p = sub.add_parser("systolic", help="an R x C systolic array running an M x K x N GEMM")
    p.add_argument("--rows", required=True, help="PE rows R")
    p.add_argument("--cols", required=True, help="PE columns C")
    p.add_argument("--dataflow", default="ws", help="os | ws | is (default ws)")
    p.add_argument("--m", required=True)
    p.add_argument("--k", required=True)
    p.add_argument("--n", required=True)
    p.add_argument("--preset", default=None,
                   help="scalesim | onnxim: the parameters that reproduce that tool's timing rules; the flags below "
                        "override them")
    p.add_argument("--overlap", action="store_true",
                   help="double-buffer: successive folds overlap (WS/IS preload the next weights while streaming)")
    p.add_argument("--drain", default=None,
                   help="OS accumulator drain: in_place (default) | shift | shadow_shift | parallel")
    p.add_argument("--mac-latency", dest="mac_latency", default=None, help="multiplier pipeline stages (default 1)")
    p.add_argument("--acc-latency", dest="acc_latency", default=None, help="adder pipeline stages (default 1)")
    p.add_argument("--skew", default=None, help="array (default) | edge: de-skew buffers at the bottom edge")
    p.add_argument("--weight-load-cycles", dest="weight_load_cycles", default=None,
                   help="WS/IS: cycles a weight takes to move down one row while loaded (default 1)")
    p.add_argument("--weight-path", dest="weight_path", default=None,
                   help="WS/IS: chain (default: the weight registers shift) | pipeline (a separate load pipeline)")
    p.add_argument("--min-interval", dest="min_interval", default=None,
                   help="minimum stream steps per fold (default 1)")
    p.add_argument("--exact", action="store_true",
                   help="simulate every fold cycle by cycle (default: one fold sequence + one fold per shape)")
    p.add_argument("--dtype", default="int",
                   help="int: int8-range operands, exact int64 results (default); float: standard-normal float64")
    p.add_argument("--seed", default="0")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_systolic)


def _flag_error(name: str, message: str):
    from einsim.workloads.errors import SpecError, SpecIssue

    return SpecError([SpecIssue("<command line>", None, f"--{name.replace('_', '-')}", message)])


def _int_flag(name: str, text: str) -> int:
    flag = f"--{name.replace('_', '-')}"
    try:
        value = int(text)
    except ValueError:
        raise _flag_error(name, f"{flag} must be a positive integer, not {text!r}") from None
    if name == "seed" and not 0 <= value < 2 ** 63:
        raise _flag_error(name, f"{flag} must be an integer from 0 to 2**63 - 1, not {value!r}")
    if value <= 0 and name != "seed":
        raise _flag_error(name, f"{flag} must be a positive integer, not {value!r}")
    if value > 2 ** 62:
        raise _flag_error(name, f"{flag} must be at most 2**62, not {value!r}")
    return value


def memory_estimate(rows: int, cols: int, m: int, k: int, n: int) -> int:
    """Bytes the run needs at most, roughly: operands and their 64-bit working copies, the output, its cycle map and
    the numpy check, and the PE array's registers (an upper estimate, to refuse a run before allocating)."""
    return 8 * (3 * (m * k + k * n) + 4 * m * n + 16 * rows * cols)


def available_memory() -> int:
    """Bytes of memory available now (MemAvailable on Linux; physical memory elsewhere)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


#: PE-cycle updates a run may take (about 7 minutes at the kernel's ~2.5e8 updates/s on one core); more is refused
MAX_PE_CYCLES = 1e11


def _check_work(args, spec, gemm_cycles) -> None:
    """Refuse a run that would take many minutes: PE-cycle updates = PEs x simulated cycles (every cycle with
    --exact; a few folds of about rows + cols + the longest GEMM side otherwise)."""
    total = gemm_cycles(spec, args.m, args.k, args.n)
    fold = args.rows + args.cols + max(args.m, args.k, args.n)
    updates = args.rows * args.cols * (total if args.exact else min(total, 4 * fold))
    if updates > MAX_PE_CYCLES:
        raise _flag_error("rows/--cols/--m/--k/--n", f"this run would take about {updates:.2g} PE-cycle updates "
                                                     f"(~{updates / 2.5e8 / 60:,.0f} min), more than "
                                                     f"{MAX_PE_CYCLES:.0e}; use a smaller array or GEMM"
                                                     + (", or drop --exact" if args.exact else ""))


def _check_memory(args) -> None:
    need, have = memory_estimate(args.rows, args.cols, args.m, args.k, args.n), available_memory()
    if need > have:
        raise _flag_error("rows/--cols/--m/--k/--n", f"this run needs about {need / 2**30:,.1f} GiB, more than the "
                                                     f"{have / 2**30:,.1f} GiB of memory available; use a smaller "
                                                     f"array or GEMM")


def _spec(args):
    """The SystolicArraySpec of the flags (preset first, explicit flags over it); SpecError on a bad value."""
    from einsim.arch.systolic import MICRO_KEYS, SystolicArraySpec, load_systolic_preset
    from einsim.workloads.errors import SpecError, SpecIssue

    params = {}
    if args.preset is not None:
        try:
            params = load_systolic_preset(args.preset, args.dataflow)
        except SpecError as exc:  # an unknown preset, or a dataflow the preset does not cover
            raise _flag_error("preset", exc.issues[0].message) from None
    for key in MICRO_KEYS:
        value = getattr(args, key, None)
        if key == "double_buffer":
            params[key] = params.get(key, False) or args.overlap
        elif value is not None:
            params[key] = _int_flag(key, value) if key in _INT_FLAGS else value
    try:
        return SystolicArraySpec(rows=args.rows, cols=args.cols, dataflow=args.dataflow, **params)
    except SpecError as exc:  # name the flag, not the spec field
        flags = {"double_buffer": "--overlap"}
        raise SpecError([SpecIssue("<command line>", None, flags.get(i.path, "--" + i.path.replace("_", "-")),
                                   i.message) for i in exc.issues]) from None


def _operands(args):
    rng = np.random.default_rng(args.seed)
    if args.dtype == "int":
        return rng.integers(-128, 128, (args.m, args.k), dtype=np.int8), rng.integers(-128, 128, (args.k, args.n),
                                                                                     dtype=np.int8)
    return rng.standard_normal((args.m, args.k)), rng.standard_normal((args.k, args.n))


def _values_match(args, a, b, out) -> bool:
    if args.dtype == "int" and 128 * 128 * args.k < 2 ** 53:  # float64 BLAS is exact for these integers
        return bool(np.array_equal(out, (a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)))
    if args.dtype == "float":
        return bool(np.allclose(out, a @ b, rtol=1e-9, atol=1e-9))
    return bool(np.array_equal(out, a.astype(np.int64) @ b.astype(np.int64)))


def _systolic(args) -> int:
    from einsim.sim.systolic_gemm import scalesim_cycles, simulate_gemm
    from einsim.sim.systolic_timing import gemm_cycles

    for name in _INT_FLAGS[:5] + ("seed",):
        setattr(args, name, _int_flag(name, getattr(args, name)))
    if args.dtype not in ("int", "float"):
        raise _flag_error("dtype", f"--dtype must be one of int, float, not {args.dtype!r}")
    _check_memory(args)
    spec = _spec(args)
    _check_work(args, spec, gemm_cycles)
    a, b = _operands(args)
    t0 = time.perf_counter()
    run = simulate_gemm(spec, a, b, exact=args.exact)
    wall = time.perf_counter() - t0
    t1 = time.perf_counter()
    values_ok = _values_match(args, a, b, run.out)
    check_seconds = time.perf_counter() - t1
    report = {
        "rows": spec.rows, "cols": spec.cols, "dataflow": spec.dataflow, "preset": args.preset,
        "overlap": spec.double_buffer, **spec.micro(),
        "m": args.m, "k": args.k, "n": args.n, "dtype": args.dtype,
        "mode": run.mode, "folds": run.folds, "simulated_folds": run.simulated_folds,
        "cycles": run.cycles, "first_output_cycle": run.first_output,
        "closed_form_cycles": gemm_cycles(spec, args.m, args.k, args.n),
        "scalesim_cycles": scalesim_cycles(spec, args.m, args.k, args.n),
        "utilization": run.utilization(spec), "values_match_numpy": values_ok,
        "counters": run.counters, "pe_cycle_updates": run.pe_cycles,
        "kernel_seconds": run.kernel_seconds, "load_seconds": run.load_seconds, "wall_seconds": wall,
        "check_seconds": check_seconds,
    }
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        _print_report(spec, args, run, report)
    return 0 if values_ok else 1


def _print_report(spec, args, run, report) -> None:
    mode = (f"exact: all {run.folds} folds simulated cycle by cycle" if run.mode == "exact" else
            f"fast: {run.simulated_folds} of {run.folds} folds simulated cycle by cycle, the other folds' "
            f"timing from the simulated fold pipeline, their values from per-fold products")
    micro = ", ".join(f"{k} {v}" for k, v in spec.micro().items())
    print(f"systolic {spec.rows}x{spec.cols} {spec.dataflow.upper()}"
          f"{f' (preset {args.preset})' if args.preset else ''}, GEMM {args.m}x{args.k}x{args.n} ({args.dtype})")
    print(f"micro-arch   {micro}")
    print(f"mode         {mode}")
    print(f"cycles       {run.cycles}  (closed form: {report['closed_form_cycles']}; SCALE-Sim stall-free: "
          f"{report['scalesim_cycles']}); first output in cycle {run.first_output}")
    print(f"utilization  {report['utilization']:.4f}  (MACs / (PEs x cycles))")
    print(f"values       {'match' if report['values_match_numpy'] else 'DIFFER from'} numpy")
    print("counters     " + ", ".join(f"{k} {v}" for k, v in run.counters.items()))
    load = f" incl. Numba load {run.load_seconds:.3f} s" if run.mode == "fast" else ""
    print(f"wall time    {report['wall_seconds']:.3f} s (kernel {run.kernel_seconds:.3f} s{load}, "
          f"{run.pe_cycles:.3g} PE-cycle updates; numpy check {report['check_seconds']:.3f} s)")

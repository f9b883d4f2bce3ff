"""`einsim kernel systolic ...`: run the register-level systolic-array kernel on a random GEMM and check it."""

from __future__ import annotations

import json
import time

import numpy as np

from .cli_values import bounded_int, positive_int

__all__ = ["register", "memory_estimate", "available_memory"]


def register(subparsers) -> None:
    parser = subparsers.add_parser("kernel", help="run a register-level kernel on random data")
    sub = parser.add_subparsers(dest="kernel", metavar="KERNEL")
    sub.required = True
    p = sub.add_parser("systolic", help="an R x C systolic array running an M x K x N GEMM")
    p.add_argument("--rows", type=positive_int, required=True, help="PE rows R")
    p.add_argument("--cols", type=positive_int, required=True, help="PE columns C")
    p.add_argument("--dataflow", choices=("os", "ws", "is"), default="ws")
    p.add_argument("--m", type=positive_int, required=True)
    p.add_argument("--k", type=positive_int, required=True)
    p.add_argument("--n", type=positive_int, required=True)
    p.add_argument("--overlap", action="store_true",
                   help="double-buffer the stationary operand so successive folds pipeline")
    p.add_argument("--drain", choices=("in_place", "shift"), default="in_place",
                   help="OS accumulator drain: read every PE in place, or shift each column out through the bottom "
                        "edge (a second drain bank with --overlap)")
    p.add_argument("--exact", action="store_true",
                   help="simulate every fold cycle by cycle (default: one fold sequence + one fold per shape)")
    p.add_argument("--dtype", choices=("int", "float"), default="int",
                   help="int: int8-range operands, exact int64 results; float: standard-normal float64")
    p.add_argument("--seed", type=bounded_int(0, 2 ** 63 - 1), default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_systolic)


def memory_estimate(rows: int, cols: int, m: int, k: int, n: int) -> int:
    """Bytes the run needs at most, roughly: operands and their 64-bit working copies, the output, its cycle map and
    the numpy check, and the PE array's registers (an upper estimate, to refuse a run before allocating)."""
    return 8 * (3 * (m * k + k * n) + 4 * m * n + 16 * rows * cols)


def _check_memory(args) -> None:
    from einsim.workloads.errors import SpecError, SpecIssue

    need = memory_estimate(args.rows, args.cols, args.m, args.k, args.n)
    have = available_memory()
    if need > have:
        raise SpecError([SpecIssue("<command line>", None, "--rows/--cols/--m/--k/--n",
                                   f"this run needs about {need / 2**30:,.1f} GiB, more than the "
                                   f"{have / 2**30:,.1f} GiB of memory available; use a smaller array or GEMM")])


def available_memory() -> int:
    """Bytes of memory available now (MemAvailable on Linux; physical memory elsewhere)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import os

    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _systolic(args) -> int:
    from einsim.arch.systolic import SystolicArraySpec
    from einsim.sim.systolic_gemm import scalesim_cycles, simulate_gemm

    _check_memory(args)
    spec = SystolicArraySpec(rows=args.rows, cols=args.cols, dataflow=args.dataflow, double_buffer=args.overlap,
                             drain=args.drain)
    rng = np.random.default_rng(args.seed)
    if args.dtype == "int":
        a = rng.integers(-128, 128, (args.m, args.k), dtype=np.int8)
        b = rng.integers(-128, 128, (args.k, args.n), dtype=np.int8)
    else:
        a = rng.standard_normal((args.m, args.k))
        b = rng.standard_normal((args.k, args.n))
    t0 = time.perf_counter()
    run = simulate_gemm(spec, a, b, exact=args.exact)
    wall = time.perf_counter() - t0
    t1 = time.perf_counter()
    if args.dtype == "int" and 128 * 128 * args.k < 2 ** 53:  # float64 BLAS is exact for these integers
        want = (a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)
        values_ok = bool(np.array_equal(run.out, want))
    else:
        want = a @ b if args.dtype == "float" else a.astype(np.int64) @ b.astype(np.int64)
        values_ok = bool(np.allclose(run.out, want, rtol=1e-9, atol=1e-9)) if args.dtype == "float" else \
            bool(np.array_equal(run.out, want))
    check_seconds = time.perf_counter() - t1
    report = {
        "rows": spec.rows, "cols": spec.cols, "dataflow": spec.dataflow, "overlap": spec.double_buffer,
        "drain": spec.drain,
        "m": args.m, "k": args.k, "n": args.n, "dtype": args.dtype,
        "mode": run.mode, "folds": run.folds, "simulated_folds": run.simulated_folds,
        "cycles": run.cycles, "scalesim_cycles": scalesim_cycles(spec, args.m, args.k, args.n),
        "utilization": run.utilization(spec), "values_match_numpy": values_ok,
        "counters": run.counters, "pe_cycle_updates": run.pe_cycles,
        "kernel_seconds": run.kernel_seconds, "load_seconds": run.load_seconds, "wall_seconds": wall,
        "check_seconds": check_seconds,
    }
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        mode = (f"exact: all {run.folds} folds simulated cycle by cycle" if run.mode == "exact" else
                f"fast: {run.simulated_folds} of {run.folds} folds simulated cycle by cycle, the other folds' "
                f"timing from the simulated fold pipeline, their values from per-fold products")
        print(f"systolic {spec.rows}x{spec.cols} {spec.dataflow.upper()}"
              f"{' double-buffered' if spec.double_buffer else ''}"
              f"{', shift drain' if spec.drain == 'shift' else ''}, GEMM {args.m}x{args.k}x{args.n} ({args.dtype})")
        print(f"mode         {mode}")
        print(f"cycles       {run.cycles}  (SCALE-Sim stall-free: {report['scalesim_cycles']})")
        print(f"utilization  {report['utilization']:.4f}  (MACs / (PEs x cycles))")
        print(f"values       {'match' if values_ok else 'DIFFER from'} numpy")
        print("counters     " + ", ".join(f"{k} {v}" for k, v in run.counters.items()))
        load = f" incl. Numba load {run.load_seconds:.3f} s" if run.mode == "fast" else ""
        print(f"wall time    {wall:.3f} s (kernel {run.kernel_seconds:.3f} s{load}, {run.pe_cycles:.3g} PE-cycle "
              f"updates; numpy check {check_seconds:.3f} s)")
    return 0 if values_ok else 1

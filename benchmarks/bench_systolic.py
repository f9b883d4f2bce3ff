"""Register-level systolic-array kernel: PE-cycle updates per second (Numba vs the Python reference) and the wall
time of `einsim kernel systolic --rows 128 --cols 128 --dataflow ws --m 2048 --k 2048 --n 2048`.

A PE-cycle update is one PE's registers stepped through one clock cycle (rows x cols x simulated cycles). The
reference (sim/kernels/systolic_reference.py) computes the same results from the dataflow, not by stepping
registers, so its rate is counted in the same PE-cycles of the simulated schedule.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np

from ._timing import best_of

__all__ = ["run"]


def _ws_args(R, C, T, F, seed=0):
    from einsim.arch.systolic import SystolicArraySpec
    from einsim.sim.kernels.systolic import kernel_parameters

    rng = np.random.default_rng(seed)
    stationary = rng.integers(-128, 128, (F, R, C))
    stream = rng.integers(-128, 128, (1, T, R))
    z = np.zeros(F, np.int64)
    ua = kernel_parameters(SystolicArraySpec(rows=R, cols=C, dataflow="ws"))
    return (ua, stationary, stream, z, 1, z, np.full(F, R), np.full(F, C))


def run(smoke: bool) -> list[dict]:
    from einsim.sim.kernels import systolic, systolic_reference

    rows = []
    R, C, T, F = (32, 32, 64, 2) if smoke else (128, 128, 2048, 2)
    args = _ws_args(R, C, T, F)
    systolic.ws_kernel(*_ws_args(2, 2, 2, 1))  # load the compiled kernel from the cache
    seconds, out = best_of(lambda: systolic.ws_kernel(*args), 1 if smoke else 3)
    pe_cycles = R * C * int(out[3])
    rows.append({"benchmark": "systolic", "metric": "numba PE-cycle updates/s", "value": pe_cycles / seconds,
                 "unit": "1/s", "target": ">= 1e8", "note": f"WS {R}x{C}, T={T}, {F} folds, one core"})
    r_small, t_small = (8, 16) if smoke else (16, 64)
    ref_args = _ws_args(r_small, r_small, t_small, 2)
    ref_seconds, ref_out = best_of(lambda: systolic_reference.ws_kernel(*ref_args), 1)
    ref_rate = r_small * r_small * int(ref_out[3]) / ref_seconds
    rows.append({"benchmark": "systolic", "metric": "python reference PE-cycle updates/s", "value": ref_rate,
                 "unit": "1/s", "target": "", "note": f"WS {r_small}x{r_small}, T={t_small}; numba is "
                 f"{pe_cycles / seconds / ref_rate:.0f}x faster"})

    size = 256 if smoke else 2048
    cmd = [sys.executable, "-m", "einsim.analysis.cli", "kernel", "systolic", "--rows", "128", "--cols", "128",
           "--dataflow", "ws", "--m", str(size), "--k", str(size), "--n", str(size), "--json"]
    # one BLAS thread for the values beside the kernel's worker thread: the machine's two cores, not oversubscribed
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    process = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"einsim kernel systolic failed: {done.stderr.strip() or done.stdout.strip()}")
    import json

    report = json.loads(done.stdout)
    note = f"{size}^3 on 128x128 WS, {report['mode']} mode, {report['simulated_folds']}/{report['folds']} folds"
    rows.append({"benchmark": "systolic", "metric": f"kernel systolic {size}^3 simulation time",
                 "value": report["kernel_seconds"], "unit": "s", "target": "well under 1",
                 "note": note + f", {report['cycles']} cycles, incl. {report['load_seconds']:.2f} s Numba load"})
    rows.append({"benchmark": "systolic", "metric": f"kernel systolic {size}^3 wall time (sim + values)",
                 "value": report["wall_seconds"], "unit": "s", "target": "well under 1",
                 "note": "every fold's values from per-fold products (one-thread BLAS) beside the simulation thread"})
    rows.append({"benchmark": "systolic", "metric": f"kernel systolic {size}^3 process time", "value": process,
                 "unit": "s", "target": "", "note": "whole command: interpreter, imports, data, numpy check"})
    return rows

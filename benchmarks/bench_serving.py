"""The NeuPIMs serving study on the analytical path (analysis/studies/neupims.yaml): wall time of its grid (3 models
x 2 datasets x 4 batches x 5 configurations plus the forced-interleaving runs) on 2 worker processes, CPU time, and
the time of one decode iteration of GPT-3 7B at batch 512 on NeuPIMs (costs cached). Smoke: one model, one batch."""

from __future__ import annotations

import resource
import time

import numpy as np

from ._timing import best_of

__all__ = ["run"]


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the worker processes)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run(smoke: bool) -> list[dict]:
    from einsim.analysis.serving_study import load_serving_study, run_grid, select
    from einsim.sim.decode import DecodeBatch, DecodeSystem

    study = load_serving_study("neupims")
    if smoke:
        study = select(study, models=["gpt3-7b"], batches=[64])
    c0, t0 = _cpu(), time.perf_counter()
    thr, _, _ = run_grid(study, workers=2)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    system = DecodeSystem.load("gpt3-7b-decode", "neupims", tp=4)
    rng = np.random.default_rng(0)
    batch = DecodeBatch(context=rng.integers(1, 2048, 512), channel=np.arange(512) % 32)
    system.iteration(batch)
    t_it, _ = best_of(lambda: system.iteration(batch), 1 if smoke else 5)
    return [
        {"benchmark": "serving_study", "metric": "grid wall time, 2 workers", "value": wall, "unit": "s",
         "target": None if smoke else 60.0, "note": f"{len(thr)} points, {cpu:.1f} s of CPU (workers included)"},
        {"benchmark": "serving_study", "metric": "decode iteration, 7B batch 512, cached costs", "value": t_it,
         "unit": "s", "target": 0.05, "note": "sub-batches 1 and 2 timed, the faster kept"},
    ]

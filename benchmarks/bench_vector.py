"""Throughput of the register-level vector PE array kernel (Numba vs the plain-Python reference).

vector: FuseMax's 1-pass softmax cascade on a 256-lane array; metric lane-cycle updates/s (cycles x lanes).
(The PIM bank is simulated by the command-level DRAM/PIM model: benchmarks/bench_dram.py.)
"""

from __future__ import annotations

import numpy as np

from einsim.arch.vector_unit import VectorUnitSpec
from einsim.sim import vector_program as vp

from ._timing import best_of

__all__ = ["run"]



def _softmax_case(lanes: int, n_steps: int):
    spec = VectorUnitSpec(lanes=lanes)
    rng = np.random.default_rng(0)
    beats = [np.full(lanes, -(2.0**14))]
    for _ in range(n_steps):
        beats += [rng.normal(size=lanes) * 3.0, rng.normal(size=lanes)]
    return spec, vp.online_softmax_program(n_steps), np.array(beats)


def run(smoke: bool) -> list[dict]:
    rows = []
    repeat = 1 if smoke else 3
    # vector PE array
    spec, prog, beats = _softmax_case(256, 20 if smoke else 2000)
    vp.run(spec, prog, beats)  # compile / load the cache
    t_jit, res = best_of(lambda: vp.run(spec, prog, beats), repeat)
    lane_cycles = res.counters["lane_cycles"]
    rspec, rprog, rbeats = _softmax_case(256, 2 if smoke else 20)
    t_ref, rres = best_of(lambda: vp.run(rspec, rprog, rbeats, reference=True), 1)
    jit_rate = lane_cycles / t_jit
    ref_rate = rres.counters["lane_cycles"] / t_ref
    rows += [
        {"benchmark": "vector_pe_kernel", "metric": "lane-cycle updates/s (numba)", "value": jit_rate,
         "unit": "1/s", "target": 1e8, "note": f"1-pass softmax, 256 lanes, {res.cycles} cycles"},
        {"benchmark": "vector_pe_kernel", "metric": "lane-cycle updates/s (python reference)", "value": ref_rate,
         "unit": "1/s", "target": None, "note": f"numba speedup {jit_rate / ref_rate:.0f}x"},
    ]
    return rows


if __name__ == "__main__":
    for row in run(smoke=False):
        print(row)

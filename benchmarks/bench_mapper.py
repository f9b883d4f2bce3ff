"""Mapper: evaluations per second through the batched evaluation primitive (:func:`einsim.sim.fastpath.
evaluate_group_tiles`), for a single-Einsum GEMM group and a fused 1-pass attention group, and (full runs) the
GEMM search of issue 13.

Rows are the tile rows the mapper would hand over: a heuristic seed structure's rows after capacity pruning, best
bound first (:class:`einsim.sim.tilesearch.StructureSearch`), evaluated in one call per batch. Issue 13's targets
(per core): >= 100,000/s for GEMM, >= 10,000/s for fused attention groups.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

__all__ = ["run"]

ARRAY128 = Path(__file__).resolve().parent.parent / "tests" / "data" / "array128.yaml"
BERT_4K = dict(B=64, H=12, M=4096, P=4096, E=64, F=64)


def _rows(space, partition, start, end, n):
    """A seed structure of the segment and ``n`` of its candidate rows (repeated if it has fewer)."""
    from einsim.sim.seeds import seed_structures
    from einsim.sim.tilesearch import Objective, StructureSearch

    s, row = seed_structures(space, partition, start, end)[0]
    ss = StructureSearch(space, partition, start, end, s, Objective(), np.random.default_rng(0), seed_rows=[row])
    rows = ss._queue[:n]
    return ss, np.resize(rows, (n, rows.shape[1]))


def _rate(workload, arch_name, sizes, n) -> tuple[float, str]:
    from einsim.arch import load_arch
    from einsim.mappings.mapspace import Mapspace
    from einsim.sim.fastpath import evaluate_group_tiles
    from einsim.sim.seeds import seed_partition
    from einsim.workloads import load_cascade

    c, a = load_cascade(workload), load_arch(arch_name)
    space = Mapspace(c, a, sizes)
    part = space.partition_options[seed_partition(space)]
    ss, rows = _rows(space, part, 0, len(space.names), n)
    evaluate_group_tiles(c, ss.sizes, a, ss.mapping, ss.group, rows[:1])   # warm caches
    t0 = time.perf_counter()
    out = evaluate_group_tiles(c, ss.sizes, a, ss.mapping, ss.group, rows)
    seconds = time.perf_counter() - t0
    return n / seconds, f"{n} rows in one call, {int(out.ok.sum())} feasible; loops {list(ss.s.loops)}"


def _gemm_search(seconds: float) -> dict:
    from einsim.arch import load_arch
    from einsim.sim.search import search
    from einsim.workloads import load_cascade

    r = search(load_cascade("gemm"), load_arch(ARRAY128), dict(M=2048, K=2048, N=2048), seconds=seconds)
    ideal = 2048 ** 3 / (128 * 128)
    first = next((t for t, _, cyc, _ in r.trace if ideal / cyc >= 0.99), float("nan"))
    return {"benchmark": "mapper", "metric": "einsim map GEMM 2048^3, 128x128, 16 MiB: % of ideal cycles",
            "value": 100 * ideal / r.result.summary["cycles"], "unit": "%", "target": ">= 99 within 10 s",
            "note": f"{r.evaluated} rows in {r.seconds:.1f} s; >= 99% first after {first:.2f} s"}


def run(smoke: bool) -> list[dict]:
    n_gemm, n_att = (20, 4) if smoke else (2000, 400)
    gemm_sizes = dict(M=256, K=256, N=256) if smoke else dict(M=2048, K=2048, N=2048)
    att_sizes = dict(BERT_4K, B=2, M=512, P=512) if smoke else BERT_4K
    g, g_note = _rate("gemm", str(ARRAY128), gemm_sizes, n_gemm)
    at, a_note = _rate("attention_1pass", "fusemax", att_sizes, n_att)
    rows = [
        {"benchmark": "mapper", "metric": "GEMM group evaluations/s", "value": g, "unit": "1/s",
         "target": ">= 100000", "note": g_note, "key": "gemm_evals_per_s"},
        {"benchmark": "mapper", "metric": "fused attention group evaluations/s", "value": at, "unit": "1/s",
         "target": ">= 10000", "note": f"1-pass, FuseMax, 13 Einsums in one group; {a_note}",
         "key": "attention_evals_per_s"},
    ]
    if not smoke:
        rows.append(_gemm_search(10.0))
    return rows

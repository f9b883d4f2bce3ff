"""The mapper: resolve tile candidate lists (``{best_of: [...]}``) by exhaustive search over their product.

It keeps the feasible choice with the fewest cycles (the largest tiles on ties). The search space is what the
mapping YAML lists, so a design's choice (FLAT's row granularity by sequence length) is data, not code.
"""

from __future__ import annotations

import itertools

from einsim.arch.spec import ArchSpec
from einsim.mappings.spec import MappingSpec
from einsim.workloads import Cascade

from .result import Result

__all__ = ["best_mapping"]


def best_mapping(workload: Cascade, arch: ArchSpec, mapping: MappingSpec, sizes: dict):
    """(chosen MappingSpec, its Result); if no candidate is feasible, the Result of the largest one."""
    from .evaluate import evaluate_fixed

    keys = mapping.choices
    cands = [mapping.groups[g].loops[i].candidates for g, i in keys]
    best = None
    first_fail = None
    for combo in itertools.product(*cands):
        m = mapping.with_tiles(dict(zip(keys, combo, strict=True)))
        r = evaluate_fixed(workload, arch, m, sizes)
        if not r.ok:
            if first_fail is None or "does not divide" in first_fail.reason:
                first_fail = r
            continue
        if best is None or r.summary["cycles"] < best[1].summary["cycles"] * (1 - 1e-9):
            choice = {f"{m.groups[g].loops[i].rank}@{g}.{i}": t for (g, i), t in zip(keys, combo, strict=True)}
            best = (m, Result(ok=True, summary={**r.summary, **{f"tile_{k}": v for k, v in choice.items()}},
                              energy=r.energy, activity=r.activity, choices=choice))
    if best is None:
        return mapping, Result.infeasible(f"no candidate tile is feasible; e.g. {first_fail.reason}")
    return best

"""The mapper: resolve tile candidate lists (``{best_of: [...]}``) by exhaustive search over their product.

It keeps the feasible choice with the fewest cycles; among choices within CYCLE_TOLERANCE of the fewest (closer than
the timing models agree with each other, so not a real difference) the one with the least energy, then the largest
tiles. The search space is what the mapping YAML lists, so a design's choice (FLAT's row granularity by sequence
length) is data, not code.
"""

from __future__ import annotations

import itertools

from einsim.arch.spec import ArchSpec
from einsim.mappings.spec import MappingSpec
from einsim.workloads import Cascade

from .result import Result

__all__ = ["best_mapping", "CYCLE_TOLERANCE"]

#: relative cycle difference below which two choices count as equally fast (the event engine and the closed form
#: agree to about 0.3% on the FuseMax study; a 0.01% faster fill is no reason to move 3x the DRAM traffic)
CYCLE_TOLERANCE = 1e-4


def best_mapping(workload: Cascade, arch: ArchSpec, mapping: MappingSpec, sizes: dict):
    """(chosen MappingSpec, its Result); if no candidate is feasible, the Result of the largest one."""
    from .evaluate import evaluate_fixed

    keys = mapping.choices
    cands = [mapping.groups[g].loops[i].candidates for g, i in keys]
    feasible = []
    first_fail = None
    for combo in itertools.product(*cands):      # candidates largest first
        m = mapping.with_tiles(dict(zip(keys, combo, strict=True)))
        r = evaluate_fixed(workload, arch, m, sizes)
        if not r.ok:
            if first_fail is None or "does not divide" in first_fail.reason:
                first_fail = r
            continue
        feasible.append((m, combo, r))
    if not feasible:
        return mapping, Result.infeasible(f"no candidate tile is feasible; e.g. {first_fail.reason}")
    fastest = min(r.summary["cycles"] for _, _, r in feasible)
    near = [x for x in feasible if x[2].summary["cycles"] <= fastest * (1 + CYCLE_TOLERANCE)]
    m, combo, r = min(near, key=lambda x: x[2].summary["energy_pj"])   # the first (largest) on equal energy
    choice = {f"{m.groups[g].loops[i].rank}@{g}.{i}": t for (g, i), t in zip(keys, combo, strict=True)}
    return m, Result(ok=True, summary={**r.summary, **{f"tile_{k}": v for k, v in choice.items()}},
                     energy=r.energy, activity=r.activity, choices=choice)

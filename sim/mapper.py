"""The mapper: resolve tile candidate lists (``{best_of: [...]}``) by exhaustive search over their product.

Fusion groups run one after the other and each group's plan depends only on its own tiles, so every group's
candidates are searched on their own: per group, the feasible choice with the fewest cycles (the largest tiles on
ties, candidates being listed largest first). The search space is what the mapping YAML lists, so a design's choice
(FLAT's row granularity by sequence length) is data, not code.
"""

from __future__ import annotations

import itertools

import numpy as np

from einsim.arch.spec import ArchSpec
from einsim.mappings.spec import MappingSpec
from einsim.workloads import Cascade
from einsim.workloads.errors import SpecError

from .fastpath import evaluate_group_tiles, group_choices
from .result import Result

__all__ = ["best_mapping", "best_group_tiles"]


def best_group_tiles(workload: Cascade, sizes: dict, arch: ArchSpec, mapping: MappingSpec, group: int):
    """(tiles {(group, loop): tile} with the fewest cycles for ``group``, None) or (None, the first reason a
    candidate was infeasible, preferring one that is not a mere non-dividing tile)."""
    keys = group_choices(mapping, group)
    combos = np.array(list(itertools.product(*(mapping.groups[g].loops[i].candidates for g, i in keys))),
                      dtype=np.int64).reshape(-1, len(keys))
    batch = evaluate_group_tiles(workload, sizes, arch, mapping, group, combos)
    if not batch.ok.any():
        reasons = [batch.reasons[r] for r in sorted(batch.reasons)]
        return None, next((r for r in reasons if "does not divide" not in r), reasons[0] if reasons else "")
    best = None
    for row in np.nonzero(batch.ok)[0]:     # rows in candidate order: the largest tiles first, kept on ties
        if best is None or batch.cycles[row] < batch.cycles[best] * (1 - 1e-9):
            best = row
    return dict(zip(keys, (int(t) for t in combos[best]), strict=True)), None


def best_mapping(workload: Cascade, arch: ArchSpec, mapping: MappingSpec, sizes: dict):
    """(chosen MappingSpec, its Result); if a group has no feasible candidate, the mapping and the reason."""
    from .evaluate import bind_sizes, evaluate_fixed

    try:
        s = bind_sizes(workload, mapping, sizes)
    except SpecError as exc:
        return mapping, Result.infeasible(f"sizes do not fit the cascade: {exc}")
    chosen = {}
    for g in sorted({g for g, _ in mapping.choices}):
        tiles, why = best_group_tiles(workload, s, arch, mapping, g)
        if tiles is None:
            return mapping, Result.infeasible(f"no candidate tile is feasible; e.g. {why}")
        chosen.update(tiles)
    m = mapping.with_tiles(chosen)
    r = evaluate_fixed(workload, arch, m, sizes)
    if not r.ok:
        return m, r
    choice = {f"{m.groups[g].loops[i].rank}@{g}.{i}": t for (g, i), t in chosen.items()}
    return m, Result(ok=True, summary={**r.summary, **{f"tile_{k}": v for k, v in choice.items()}},
                     energy=r.energy, activity=r.activity, choices=choice)

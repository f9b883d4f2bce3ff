"""Pass analysis (FuseMax, Nayak et al. MICRO 2024, Sec. III): how many times any mapping must traverse a rank.

An Einsum *traverses* rank R when its iteration space covers every element of R's fibers: it iterates R itself, or
all of R's partition sub-ranks (M1 and M0 for M = M1 x M0). A value is *complete* for R when it depends on a whole
R fiber: a reduction that removes every index of R, the final iterate of a recurrence along a sub-rank (RNV[.., M1,
..]), or anything computed from a complete value. A traversal that reads a value completed by an earlier traversal
cannot start before that traversal ends, so it begins a new pass. Einsums over one sub-rank only (M1 statistics)
touch a reduced fiber and start no pass. Passes(R) is the largest pass number of a traversing Einsum.
"""

from __future__ import annotations

from .cascade import Cascade, is_carried
from .expr import index_vars

__all__ = ["passes", "einsum_passes"]


def _family(cascade: Cascade, rank: str) -> set[str]:
    return {rank, *cascade.partitions.get(rank, ())}


def _traverses(e, rank, family) -> bool:
    parts = family - {rank}
    return rank in e.indices or (bool(parts) and parts <= set(e.indices))


def einsum_passes(cascade: Cascade, rank: str) -> dict[str, int]:
    """Pass number of each Einsum over ``rank`` (0 for Einsums that do not traverse it)."""
    family = _family(cascade, rank)
    tensor_pass: dict[str, int] = {}
    complete: dict[str, bool] = {}
    result: dict[str, int] = {}
    for e in cascade.einsums:
        reads = []
        for op in e.inputs:
            if is_carried(op, cascade.iterated.get(op.tensor)) and op.tensor == e.name:
                continue
            p = tensor_pass.get(op.tensor, 0)
            final_iterate = cascade.iterated.get(op.tensor) in family and any(
                r in family and not index_vars(ix) for ix, r in zip(op.index, op.ranks))
            reads.append((p, complete.get(op.tensor, False) or final_iterate))
        if _traverses(e, rank, family):
            p = max([1] + [p + 1 if c else max(p, 1) for p, c in reads])
            result[e.name] = p
            complete[e.name] = not (family & set(e.output.ranks))
        else:
            p = max([0] + [p for p, _ in reads])
            result[e.name] = 0
            reduces_all = bool(family & set(e.reduced)) and not (family & set(e.output.ranks))
            complete[e.name] = reduces_all or any(c for _, c in reads)
        tensor_pass[e.name] = p
    return result


def passes(cascade: Cascade) -> dict[str, int]:
    """Rank -> number of passes over that rank's fibers any mapping needs, for every declared rank."""
    return {r: max(einsum_passes(cascade, r).values(), default=0) for r in cascade.ranks}

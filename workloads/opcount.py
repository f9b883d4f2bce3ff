"""Operation counts of an Einsum for bound sizes, by op kind (mac, mul, add, max, exp, div, ...).

Per point of the iteration space an Einsum applies its expression once; operator kinds come from the registry and a
subexpression that reads no tensor (``1 / sqrt(E)``) is folded once and costs nothing per point. A sum-reduction of a
product fuses each multiply with its accumulate into one ``mac`` per point; any other reduction costs one op of the
reduction's kind per combining step (points - output points).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from . import operators
from .cascade import Cascade, Einsum
from .expr import Apply, is_constant

__all__ = ["op_counts", "einsum_ops", "ops_per_point", "total_ops"]


def ops_per_point(e: Einsum) -> dict[str, int]:
    """Op kinds per point of the iteration space (a fused multiply-accumulate counted as one ``mac``)."""
    counts: Counter = Counter()

    def walk(x, top=False):
        if not isinstance(x, Apply) or is_constant(x):
            return
        if top and x.op == "mul" and e.reduce_op == "sum" and e.reduced:
            counts["mac"] += 1
        else:
            for kind, n in operators.map_op(x.op).kinds.items():
                counts[kind] += n
        for a in x.args:
            walk(a)

    walk(e.expr, top=True)
    return dict(counts)


def einsum_ops(e: Einsum, sizes: Mapping[str, int]) -> dict[str, int]:
    """Ops by kind for one Einsum over its whole iteration space."""
    points = e.points(sizes)
    per = ops_per_point(e)
    counts = {k: n * points for k, n in per.items()}
    fused = "mac" in per
    if e.reduced and not fused:
        kind = operators.reduce_op(e.reduce_op).kind
        counts[kind] = counts.get(kind, 0) + points - e.output_points(sizes)
    return {k: v for k, v in counts.items() if v}


def op_counts(cascade: Cascade, sizes: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """Einsum name -> {op kind -> count} for every Einsum of the cascade."""
    return {e.name: einsum_ops(e, sizes) for e in cascade.einsums}


def total_ops(counts: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    """Sum per-Einsum counts into one {op kind -> count}."""
    total: Counter = Counter()
    for per in counts.values():
        total.update(per)
    return dict(sorted(total.items()))

"""A numpy reference evaluator: runs any cascade on given inputs in float64, straight from the Einsum semantics.

Each Einsum is evaluated over its whole iteration space with broadcasting: every read is gathered with index arrays,
the expression is applied elementwise, the reduced ranks are folded with the reduction operator, and the result is
scattered into the output. Einsums that iterate along a rank (``RM[m1+1] = max(RM[m1], ...)``) run one iterate at a
time, together with every Einsum of the same rank, in dependency order. Meant for checking, not for speed.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from . import operators
from .cascade import Cascade, Einsum
from .errors import SpecError, SpecIssue
from .expr import Apply, IAdd, IConst, IVar, Num, Read, Size

__all__ = ["evaluate_reference", "random_inputs"]


def random_inputs(cascade: Cascade, sizes: Mapping[str, int], *, seed: int = 0, scale: float = 1.0) -> dict:
    """Standard-normal inputs (times ``scale``) for every input tensor of a cascade."""
    rng = np.random.default_rng(seed)
    return {t: scale * rng.standard_normal(cascade.tensor_shape(t, sizes)) for t in cascade.inputs}


def evaluate_reference(cascade: Cascade, inputs: Mapping[str, np.ndarray], sizes: Mapping[str, int]) -> dict:
    """Evaluate ``cascade`` on ``inputs`` (tensor name -> array) for bound ``sizes``; return every tensor."""
    sizes = dict(sizes)
    tensors: dict[str, np.ndarray] = {}
    for t in cascade.inputs:
        shape = cascade.tensor_shape(t, sizes)
        if t not in inputs:
            raise SpecError([SpecIssue(cascade.file, None, f"inputs.{t}", f"missing input tensor {t} of shape "
                                                                          f"{shape}")])
        arr = np.asarray(inputs[t], dtype=np.float64)
        if arr.shape != shape:
            raise SpecError([SpecIssue(cascade.file, None, f"inputs.{t}", f"input {t} must have shape {shape}, not "
                                                                          f"{arr.shape}")])
        tensors[t] = arr
    for e in cascade.einsums:
        shape = cascade.tensor_shape(e.name, sizes)
        it = cascade.iterated.get(e.name)
        fill = cascade.init.get(e.name, 0.0) if it else np.nan
        tensors[e.name] = np.full(shape, fill, dtype=np.float64)

    loops = _iteration_groups(cascade)
    done: set[str] = set()
    for e in cascade.einsums:
        if e.name in done:
            continue
        group = loops.get(e.name)
        if group is None:
            _evaluate(e, tensors, sizes, {})
            done.add(e.name)
            continue
        rank, members = group
        for step in range(sizes[rank]):
            for m in members:
                _evaluate(m, tensors, sizes, {rank.lower(): step})
        done.update(m.name for m in members)
    return tensors


def _iteration_groups(cascade: Cascade) -> dict[str, tuple[str, list[Einsum]]]:
    """Map each Einsum that must run iterate by iterate to (rank, all Einsums stepping together on that rank)."""
    ranks = {e.iterative for e in cascade.einsums if e.iterative}
    groups = {}
    for rank in ranks:
        members = [e for e in cascade.einsums if rank in e.indices and rank not in e.reduced]
        names = {m.name for m in members}
        first = min(i for i, e in enumerate(cascade.einsums) if e.name in names)
        last = max(i for i, e in enumerate(cascade.einsums) if e.name in names)
        between = [e for e in cascade.einsums[first:last + 1] if e.name not in names]
        for e in between:
            if any(op.tensor in names for op in e.inputs):
                raise SpecError([SpecIssue(cascade.file, e.line, e.name,
                                           f"{e.name} needs results of the {rank} iteration but runs outside it; "
                                           f"the reference evaluator cannot order it")])
        for m in members:
            groups[m.name] = (rank, members)
    return groups


def _index_array(ix, axes: Mapping[str, int], ndim: int, sizes, fixed):
    """An integer array (broadcastable over the iteration space) or int for an index expression."""
    if isinstance(ix, IVar):
        if ix.name in fixed:
            return fixed[ix.name]
        shape = [1] * ndim
        shape[axes[ix.name]] = sizes[ix.name]
        return np.arange(sizes[ix.name]).reshape(shape)
    if isinstance(ix, IConst):
        return sizes[ix.value] if isinstance(ix.value, str) else ix.value
    a = _index_array(ix.a, axes, ndim, sizes, fixed)
    b = _index_array(ix.b, axes, ndim, sizes, fixed)
    return a + b if isinstance(ix, IAdd) else a * b


def _evaluate(e: Einsum, tensors, sizes, fixed: Mapping[str, int]) -> None:
    rank_of = {r.lower(): r for r in e.indices}
    free = [v for v in rank_of if v not in fixed]
    axes = {v: i for i, v in enumerate(free)}
    ndim = len(free)
    vsizes = {**sizes, **{v: sizes[rank_of[v]] for v in rank_of}}  # ranks by name and loop indices by name

    def gather(op):
        idx = tuple(_index_array(ix, axes, ndim, vsizes, fixed) for ix in op.index)
        return tensors[op.tensor][idx]

    def value(x):
        if isinstance(x, Num):
            return x.value
        if isinstance(x, Size):
            return float(sizes[x.rank])
        if isinstance(x, Read):
            return gather(x.access)
        if isinstance(x, Apply):
            return operators.map_op(x.op).fn(*(value(a) for a in x.args))
        raise TypeError(x)

    with np.errstate(invalid="ignore", over="ignore"):
        val = np.broadcast_to(value(e.expr), tuple(sizes[rank_of[v]] for v in free))
        red = tuple(axes[r.lower()] for r in e.reduced if r.lower() in axes)
        if red:
            val = operators.reduce_op(e.reduce_op).fn(val, axis=red)
    kept = [v for v in free if rank_of[v] not in e.reduced]
    out_axes = {v: i for i, v in enumerate(kept)}
    idx = tuple(_index_array(ix, out_axes, len(kept), vsizes, fixed) for ix in e.output.index)
    tensors[e.name][idx] = val

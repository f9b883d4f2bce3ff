"""Compute operators of Extended Einsums: a registry a user can extend from their own code.

Each map operator has a numpy implementation (float64 arrays in, array out), an arity, and the op kinds one
application costs (``{"add": 1, "exp": 1}`` for sub-then-exp). Reduction operators have an identity and a numpy
reduction. Op kinds are the vocabulary architectures cost: mac, mul, add (add or subtract), max, exp, div.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

__all__ = ["MapOp", "ReduceOp", "register", "register_reduction", "map_op", "reduce_op", "map_ops", "reduce_ops",
           "BINARY_SYMBOLS"]


@dataclass(frozen=True, kw_only=True)
class MapOp:
    """An elementwise operator: ``fn(*arrays) -> array`` costing ``kinds`` per application."""

    name: str
    arity: int
    fn: Callable
    kinds: Mapping[str, int] = field(default_factory=dict)
    doc: str = ""


@dataclass(frozen=True, kw_only=True)
class ReduceOp:
    """A reduction operator: ``fn(array, axis=axes)``, with ``identity`` and op ``kind`` per combining step."""

    name: str
    fn: Callable
    identity: float
    kind: str


_MAP: dict[str, MapOp] = {}
_REDUCE: dict[str, ReduceOp] = {}

# Python operator symbols in Einsum expressions and the registry entries they mean.
BINARY_SYMBOLS = {"+": "add", "-": "sub", "*": "mul", "/": "div"}


def register(name: str, fn: Callable, *, arity: int, kinds: Mapping[str, int], doc: str = "",
             replace: bool = False) -> MapOp:
    """Add a map operator usable in Einsum expressions as ``name(a, b, ...)``.

    ``kinds`` maps op kinds to how many of each one application costs, e.g. ``{"add": 1, "exp": 1}``.
    """
    if not name.isidentifier():
        raise ValueError(f"operator name must be an identifier, not {name!r}")
    if name in _MAP and not replace:
        raise ValueError(f"operator {name!r} is already registered; pass replace=True to redefine it")
    if not isinstance(arity, int) or arity < 1:
        raise ValueError(f"arity must be a positive integer, not {arity!r}")
    op = MapOp(name=name, arity=arity, fn=fn, kinds=MappingProxyType(dict(kinds)), doc=doc)
    _MAP[name] = op
    return op


def register_reduction(name: str, fn: Callable, *, identity: float, kind: str, replace: bool = False) -> ReduceOp:
    """Add a reduction usable as ``OUT[..] = name over r of expr``."""
    if name in _REDUCE and not replace:
        raise ValueError(f"reduction {name!r} is already registered; pass replace=True to redefine it")
    op = ReduceOp(name=name, fn=fn, identity=identity, kind=kind)
    _REDUCE[name] = op
    return op


def map_op(name: str) -> MapOp | None:
    return _MAP.get(name)


def reduce_op(name: str) -> ReduceOp | None:
    return _REDUCE.get(name)


def map_ops() -> tuple[str, ...]:
    return tuple(sorted(_MAP))


def reduce_ops() -> tuple[str, ...]:
    return tuple(sorted(_REDUCE))


def _gelu(x):
    # tanh form (Hendrycks & Gimpel 2016), as most inference stacks compute it
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))


def _silu(x):
    return x / (1.0 + np.exp(-x))


register("add", np.add, arity=2, kinds={"add": 1}, doc="a + b")
register("sub", np.subtract, arity=2, kinds={"add": 1}, doc="a - b (an adder subtracts)")
register("mul", np.multiply, arity=2, kinds={"mul": 1}, doc="a * b")
register("div", np.divide, arity=2, kinds={"div": 1}, doc="a / b")
register("neg", np.negative, arity=1, kinds={}, doc="-a (a sign flip, free)")
register("max", np.maximum, arity=2, kinds={"max": 1}, doc="larger of a and b")
register("min", np.minimum, arity=2, kinds={"max": 1}, doc="smaller of a and b (a comparator, costed as max)")
register("exp", np.exp, arity=1, kinds={"exp": 1}, doc="e^a")
register("sub_exp", lambda a, b: np.exp(a - b), arity=2, kinds={"add": 1, "exp": 1}, doc="e^(a - b)")
register("sqrt", np.sqrt, arity=1, kinds={"div": 1}, doc="square root (costed as a divide)")
register("recip", lambda a: 1.0 / a, arity=1, kinds={"div": 1}, doc="1 / a")
# GELU, tanh form: x^3 (2 mul), 0.044715x^3 (1), +x (1 add), *sqrt(2/pi) (1), tanh(y) = 1 - 2/(e^(2y)+1)
# (1 mul, 1 exp, 2 add, 1 div), 1+tanh (1 add), 0.5x (1 mul), product (1 mul).
register("gelu", _gelu, arity=1, kinds={"mul": 6, "add": 4, "exp": 1, "div": 1}, doc="GELU, tanh approximation")
# SiLU = x / (1 + e^-x): 1 exp, 1 add, 1 div (the sign flip is free).
register("silu", _silu, arity=1, kinds={"exp": 1, "add": 1, "div": 1}, doc="x * sigmoid(x)")

register_reduction("sum", np.sum, identity=0.0, kind="add")
register_reduction("max", np.max, identity=-np.inf, kind="max")
register_reduction("min", np.min, identity=np.inf, kind="max")

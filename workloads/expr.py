"""Einsum expression syntax: ``OUT[i,j] = [op over r, s of] expression``.

The right side is an arithmetic expression over tensor reads ``T[i, k]``, numbers, rank sizes (``E`` in
``1 / sqrt(E)``) and operator calls (``max(a, b)``, ``sub_exp(a, b)``, user operators). Index expressions are
lowercase rank names (``m1``), an iterated output ``m1+1``, a fixed entry given by a size (``M1``, the last iterate),
or affine forms such as ``m1*M0+m0`` that view a rank through its partition. Parsed with Python's ``ast`` module
and a whitelist of node types: nothing is ever evaluated.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass

from .operators import BINARY_SYMBOLS

__all__ = ["ExprError", "Num", "Size", "Read", "Apply", "IVar", "IConst", "IAdd", "IMul", "Access",
           "parse_einsum_text", "index_vars", "expr_reads", "is_constant"]


class ExprError(ValueError):
    """A malformed Einsum expression; the message says what and where in the text."""


# ----- index expressions -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IVar:
    """A loop index, named by its rank in lowercase (``m1`` ranges over rank ``M1``)."""

    name: str

    def __str__(self):
        return self.name


@dataclass(frozen=True)
class IConst:
    """A fixed index: an integer or a rank size (``M1`` is the index one past the last iteration)."""

    value: int | str

    def __str__(self):
        return str(self.value)


@dataclass(frozen=True)
class IAdd:
    a: object
    b: object

    def __str__(self):
        return f"{self.a}+{self.b}"


@dataclass(frozen=True)
class IMul:
    a: object
    b: object

    def __str__(self):
        return f"{self.a}*{self.b}"


@dataclass(frozen=True)
class Access:
    """A tensor read or write, ``T[i, j]``: the tensor name and one index expression per dimension."""

    tensor: str
    index: tuple

    def __str__(self):
        return f"{self.tensor}[{','.join(str(i) for i in self.index)}]"


# ----- value expressions -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Size:
    """The size of a rank used as a number (``E`` in ``1/sqrt(E)``)."""

    rank: str


@dataclass(frozen=True)
class Read:
    access: Access


@dataclass(frozen=True)
class Apply:
    """An operator from the registry applied to arguments (binary symbols map to add/sub/mul/div)."""

    op: str
    args: tuple


#: limits on one Einsum's text: longer or deeper expressions are refused with a message, never a RecursionError
MAX_CHARS = 2000
MAX_DEPTH = 64
_LHS = re.compile(r"^\s*([A-Za-z_]\w*)\s*\[([^\]]*)\]\s*$")
_REDUCE = re.compile(r"^\s*([A-Za-z_]\w*)\s+over\s+([A-Za-z_][\w\s,]*?)\s+of\s(.*)$", re.S)
_BIN = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


def _index(node) -> object:
    if isinstance(node, ast.Name):
        return IVar(node.id) if node.id[0].islower() else IConst(node.id)
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        if node.value < 0:
            raise ExprError(f"index must not be negative, not {node.value}")
        return IConst(node.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return IAdd(_index(node.left), _index(node.right))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return IMul(_index(node.left), _index(node.right))
    raise ExprError(f"unsupported index expression {ast.unparse(node)!r}: use rank indices like m1, m1+1, M1 "
                    f"or m1*M0+m0")


def _access(node: ast.Subscript) -> Access:
    if not isinstance(node.value, ast.Name):
        raise ExprError(f"a tensor read must look like T[i, j], not {ast.unparse(node)!r}")
    items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    return Access(node.value.id, tuple(_index(i) for i in items))


def _value(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        try:
            value = float(node.value)
        except OverflowError:
            value = math.inf
        if not math.isfinite(value):
            raise ExprError("a number is too large for a 64-bit float (at most about 1.8e308); write inf for an "
                            "infinite value")
        return Num(value)
    if isinstance(node, ast.Name):
        if node.id == "inf":
            return Num(math.inf)
        if node.id[0].isupper():
            return Size(node.id)
        raise ExprError(f"{node.id!r} is not a tensor read or a rank size; write a read as T[i, j] and a size in "
                        f"capitals (E)")
    if isinstance(node, ast.Subscript):
        return Read(_access(node))
    if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
        return Apply(BINARY_SYMBOLS[_BIN[type(node.op)]], (_value(node.left), _value(node.right)))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _value(node.operand)
        return Num(-inner.value) if isinstance(inner, Num) else Apply("neg", (inner,))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
        return _value(node.operand)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        return Apply(node.func.id, tuple(_value(a) for a in node.args))
    raise ExprError(f"unsupported expression {ast.unparse(node)!r}: use + - * /, numbers, sizes, tensor reads and "
                    f"operator calls")


def _short(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:36] + " ...")


def _parse(text: str, what: str):
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ExprError(f"cannot parse {what} {_short(text.strip())}: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExprError(f"{what} {_short(text.strip())} is nested too deeply to parse; split it into several "
                        f"Einsums") from None
    depth = _depth(tree)
    if depth > MAX_DEPTH:
        raise ExprError(f"{what} {_short(text.strip())} is nested {depth} levels deep, more than {MAX_DEPTH}; split "
                        f"it into several Einsums")
    return tree


def _depth(tree) -> int:
    """Depth of an ``ast`` tree, found without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((child, d + 1) for child in ast.iter_child_nodes(node))
    return deepest


def parse_einsum_text(text: str):
    """Split and parse ``OUT[..] = [op over r, s of] expr``; return (output Access, reduce name, over ranks, expr)."""
    if not isinstance(text, str) or "=" not in text:
        raise ExprError(f"an Einsum must look like 'OUT[i, j] = expression', not {text!r}")
    if len(text) > MAX_CHARS:
        raise ExprError(f"an Einsum must be at most {MAX_CHARS} characters, not {len(text)}; split it into several "
                        f"Einsums")
    lhs, rhs = text.split("=", 1)
    if not _LHS.match(lhs):
        raise ExprError(f"the left side must be one tensor with its indices like 'OUT[i, j]', not "
                        f"{_short(lhs.strip())}")
    out = _parse(lhs, "left side")
    if not isinstance(out, ast.Subscript):
        raise ExprError(f"the left side must be a tensor like 'OUT[i, j]', not {lhs.strip()!r}")
    output = _access(out)
    reduce_name = over = None
    m = _REDUCE.match(rhs)
    if m:
        reduce_name = m.group(1)
        over = tuple(r.strip() for r in m.group(2).split(",") if r.strip())
        rhs = m.group(3)
    if not rhs.strip():
        raise ExprError("the right side is empty")
    return output, reduce_name, over, _value(_parse(rhs, "expression"))


def index_vars(index) -> tuple[str, ...]:
    """Loop indices used by an index expression, in order of appearance."""
    if isinstance(index, IVar):
        return (index.name,)
    if isinstance(index, (IAdd, IMul)):
        return tuple(dict.fromkeys(index_vars(index.a) + index_vars(index.b)))
    return ()


def index_sizes(index) -> tuple[str, ...]:
    """Rank sizes named in an index expression."""
    if isinstance(index, IConst) and isinstance(index.value, str):
        return (index.value,)
    if isinstance(index, (IAdd, IMul)):
        return index_sizes(index.a) + index_sizes(index.b)
    return ()


def expr_reads(expr) -> tuple[Access, ...]:
    """Every tensor read in an expression, in order, repeats included."""
    if isinstance(expr, Read):
        return (expr.access,)
    if isinstance(expr, Apply):
        return tuple(a for arg in expr.args for a in expr_reads(arg))
    return ()


def is_constant(expr) -> bool:
    """True when the expression reads no tensor (it is folded once, costing no ops per point)."""
    return not expr_reads(expr)

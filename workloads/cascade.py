"""Cascades of Extended Einsums: the frozen, validated spec and its YAML loader.

A cascade file names its ranks, how ranks are partitioned (``M: [M1, M0]`` means M = M1 x M0), the declared input
and output tensors, initial values of iterated tensors, and the Einsums. Sizes are not part of the shape: they are
bound later by :meth:`Cascade.bind`, so one attention cascade serves every sequence length.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Annotated

import networkx as nx
from pydantic import PlainValidator

from . import operators
from .errors import ErrorList, SpecError, SpecIssue
from .expr import (
    Apply,
    ExprError,
    IAdd,
    IConst,
    IVar,
    Num,
    Read,
    Size,
    expr_reads,
    index_sizes,
    index_vars,
    is_constant,
    parse_einsum_text,
)
from .schema import Ident, Name, NonEmptyList, SpecModel, spec_fail, validate
from .yamlio import Doc, doc_from_text, load_doc, suggest

__all__ = ["Operand", "Einsum", "Cascade", "load_cascade", "cascade_from_text", "LIBRARY"]

LIBRARY = Path(__file__).parent / "library"


@dataclass(frozen=True)
class Operand:
    """A tensor as an Einsum reads or writes it: name, the ranks of its dimensions, the index expressions."""

    tensor: str
    ranks: tuple[str, ...]
    index: tuple

    def __str__(self):
        return f"{self.tensor}[{','.join(str(i) for i in self.index)}]"


@dataclass(frozen=True, kw_only=True)
class Einsum:
    """One Extended Einsum, ``OUT[...] = [op over r of] expr``; named by its output tensor."""

    name: str
    text: str
    output: Operand
    inputs: tuple[Operand, ...]
    indices: tuple[str, ...]  # ranks of the iteration space: output ranks first, then reduced ones
    reduced: tuple[str, ...]
    reduce_op: str | None
    iterative: str | None  # rank whose iterations carry a value (OUT[.., r+1, ..] reads OUT[.., r, ..]), or None
    expr: object
    line: int | None = None

    def points(self, sizes: Mapping[str, int]) -> int:
        """Number of points in the iteration space for bound ``sizes``."""
        return math.prod(sizes[r] for r in self.indices)

    def output_points(self, sizes: Mapping[str, int]) -> int:
        return math.prod(sizes[r] for r in self.indices if r not in self.reduced)

    def __str__(self):
        return self.text


@dataclass(frozen=True, kw_only=True)
class Cascade:
    """A validated cascade of Einsums, in a valid evaluation order."""

    name: str
    description: str
    file: str
    ranks: tuple[str, ...]
    partitions: Mapping[str, tuple[str, ...]]
    tensors: Mapping[str, tuple[str, ...]]
    init: Mapping[str, float]
    einsums: tuple[Einsum, ...]
    all_tensor_ranks: Mapping[str, tuple[str, ...]] = field(repr=False)
    iterated: Mapping[str, str] = field(repr=False)  # tensor -> rank it is iterated along

    # ----- structure ---------------------------------------------------------------------------------------------
    @property
    def all_ranks(self) -> tuple[str, ...]:
        """Declared ranks and the sub-ranks their partitions introduce."""
        return self.ranks + tuple(p for parts in self.partitions.values() for p in parts)

    @property
    def inputs(self) -> tuple[str, ...]:
        written = {e.name for e in self.einsums}
        return tuple(t for t in self.tensors if t not in written)

    @property
    def outputs(self) -> tuple[str, ...]:
        written = {e.name for e in self.einsums}
        return tuple(t for t in self.tensors if t in written)

    @property
    def intermediates(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.einsums if e.name not in self.tensors)

    def einsum(self, name: str) -> Einsum:
        for e in self.einsums:
            if e.name == name:
                return e
        raise KeyError(f"no Einsum {name!r} in cascade {self.name!r}; Einsums: {[e.name for e in self.einsums]}")

    def tensor_ranks(self, tensor: str) -> tuple[str, ...]:
        return self.all_tensor_ranks[tensor]

    def tensor_shape(self, tensor: str, sizes: Mapping[str, int]) -> tuple[int, ...]:
        """Shape of any tensor for bound sizes; an iterated rank has one more entry (the initial value)."""
        it = self.iterated.get(tensor)
        return tuple(sizes[r] + (1 if r == it else 0) for r in self.all_tensor_ranks[tensor])

    def tensor_elements(self, tensor: str, sizes: Mapping[str, int]) -> int:
        return math.prod(self.tensor_shape(tensor, sizes))

    # ----- sizes -------------------------------------------------------------------------------------------------
    def _check_index_ranges(self, errors: ErrorList, sizes: dict[str, int]) -> None:
        by_var = {**sizes, **{r.lower(): n for r, n in sizes.items()}}
        for e in self.einsums:
            for op in (e.output, *e.inputs):
                shape = self.tensor_shape(op.tensor, sizes)
                for ix, rank, extent in zip(op.index, op.ranks, shape):
                    top = _max_index(ix, by_var)
                    if top >= extent:
                        errors.add((e.name,), f"index {ix} of {op} reaches {top}, but {op.tensor} has {extent} "
                                              f"entries along {rank} (line {e.line})")

    def bind(self, sizes: Mapping[str, object], *, strict: bool = True, source: str = "sizes") -> dict[str, int]:
        """Check instance sizes and complete them (partition sub-ranks derived); return rank -> int.

        With ``strict`` an unknown rank is an error; otherwise sizes for other ranks are ignored (a model preset
        carries sizes for all of its layers). Every problem is reported at once as a SpecError.
        """
        errors = ErrorList(source)
        known = set(self.all_ranks)
        out: dict[str, int] = {}
        for rank, value in sizes.items():
            if rank not in known:
                if strict:
                    errors.add((rank,), f"unknown rank {rank!r}{suggest(rank, known)}; ranks of cascade "
                                        f"{self.name!r}: {', '.join(self.all_ranks)}")
                continue
            if isinstance(value, bool) or not isinstance(value, int) and not (
                    isinstance(value, float) and value.is_integer()):
                errors.add((rank,), f"size of rank {rank} must be a positive integer, not {value!r}")
                continue
            if value <= 0:
                errors.add((rank,), f"size of rank {rank} must be a positive integer, not {value!r}")
                continue
            out[rank] = int(value)
        needed = _needed_ranks(self)
        for parent, parts in self.partitions.items():
            missing = [p for p in parts if p not in out]
            if parent in out and not missing:
                if math.prod(out[p] for p in parts) != out[parent]:
                    errors.add((parts[0],), f"rank {parent} has two sizes: {out[parent]} given and "
                                            f"{math.prod(out[p] for p in parts)} = {' x '.join(parts)}; give one")
            elif parent in out and len(missing) == 1:
                rest = math.prod(out[p] for p in parts if p in out)
                if out[parent] % rest:
                    given = "*".join(f"{p}={out[p]}" for p in parts if p in out)
                    errors.add((parts[0],), f"partition factor {given} does not divide {parent}={out[parent]}; "
                                            f"choose a divisor of {out[parent]}")
                    needed -= set(parts)
                else:
                    out[missing[0]] = out[parent] // rest
            elif parent not in out and not missing:
                out[parent] = math.prod(out[p] for p in parts)
            elif parent in out and any(p in needed for p in missing):
                errors.add((parent,), f"missing size: rank {parent} is partitioned into {' x '.join(parts)}; give "
                                      f"all but one of {', '.join(parts)} (e.g. --set {parts[-1]}=N)")
                needed -= set(parts)
        for rank in self.all_ranks:
            if rank in needed and rank not in out:
                errors.add((rank,), f"missing size for rank {rank}; give it with --set {rank}=N, a model preset "
                                    f"or a sweep axis")
        if not errors:
            self._check_index_ranges(errors, out)
            self._check_magnitudes(errors, out, given=sizes)
        errors.raise_if_any()
        self._check_constants(out)
        return out

    def _check_magnitudes(self, errors: ErrorList, sizes: dict[str, int], given) -> None:
        """Every iteration space and tensor must be countable in 64-bit integers (the simulator's counters)."""
        for e in self.einsums:
            points = e.points(sizes)
            if points > MAX_POINTS:
                big = max(e.indices, key=lambda r: (r in given, sizes[r]))
                errors.add((big,), f"Einsum {e.name} would have {points:.3g} points, more than {MAX_POINTS:.3g} "
                                   f"(2**62, the simulator counts in 64-bit integers); use smaller sizes "
                                   f"({' x '.join(f'{r}={sizes[r]}' for r in e.indices)})")
                return

    def _check_constants(self, sizes: Mapping[str, int]) -> None:
        """A constant part of an Einsum (``1 / sqrt(E)``) must be a finite number for these sizes, and no Einsum may
        divide by a constant zero."""
        issues = []
        for i, e in enumerate(self.einsums):
            problem = _constant_problem(e.expr, sizes)
            if problem:
                named = _named_sizes(e.expr, sizes)
                issues.append(SpecIssue(self.file, e.line, f"einsums[{i}]", f"{problem} in {e.text!r}"
                                                                           + (f" for sizes {named}" if named else "")))
        if issues:
            raise SpecError(issues)


#: the largest iteration space einsim evaluates: its counters are 64-bit integers
MAX_POINTS = 2 ** 62


def _constant(x, sizes):
    """Value of a tensor-free expression as a float64 (nan/inf kept), with numpy's warnings silenced."""
    import numpy as np

    if isinstance(x, Num):
        return np.float64(x.value)
    if isinstance(x, Size):
        return np.float64(sizes[x.rank])
    with np.errstate(all="ignore"):
        return np.float64(operators.map_op(x.op).fn(*(_constant(a, sizes) for a in x.args)))


def _constant_problem(x, sizes) -> str | None:
    """What is wrong with the constant parts of ``x``, or None: a nan or newly infinite constant, a division by 0."""
    if not isinstance(x, Apply):
        return None
    if sizes is None and _named_sizes(x, {}, names_only=True):
        return None   # checked once sizes are bound
    if is_constant(x):
        value = _constant(x, sizes)
        args = [_constant(a, sizes) for a in x.args]
        if math.isnan(value) and not any(math.isnan(a) for a in args):
            return f"{x.op}({', '.join(f'{a:g}' for a in args)}) is not a number"
        if math.isinf(value) and not any(math.isinf(a) for a in args):
            return f"{x.op}({', '.join(f'{a:g}' for a in args)}) is infinite (too large, or a division by zero)"
    if x.op == "div" and is_constant(x.args[1]) and _constant(x.args[1], sizes) == 0:
        return "division by a constant 0"
    for a in x.args:
        problem = _constant_problem(a, sizes)
        if problem:
            return problem
    return None


def _named_sizes(x, sizes, names_only=False):
    """``E=64, M=4096`` for the sizes an expression uses (``names_only``: the list of ranks)."""
    names = []

    def walk(y):
        if isinstance(y, Size):
            names.append(y.rank)
        elif isinstance(y, Apply):
            for a in y.args:
                walk(a)

    walk(x)
    if names_only:
        return names
    return ", ".join(f"{r}={sizes[r]}" for r in dict.fromkeys(names))


def _max_index(ix, sizes) -> int:
    """Largest value an index expression takes (every index runs from 0 to its rank's size - 1)."""
    if isinstance(ix, IVar):
        return sizes[ix.name] - 1
    if isinstance(ix, IConst):
        return sizes[ix.value] if isinstance(ix.value, str) else ix.value
    a, b = _max_index(ix.a, sizes), _max_index(ix.b, sizes)
    return a + b if isinstance(ix, IAdd) else a * b


def _needed_ranks(c: Cascade) -> set[str]:
    """Ranks whose sizes evaluation needs: every iterated, stored or named rank."""
    names = {r for e in c.einsums for r in e.indices} | {r for rs in c.all_tensor_ranks.values() for r in rs}

    def walk(x):
        if isinstance(x, Size):
            names.add(x.rank)
        elif isinstance(x, Apply):
            for a in x.args:
                walk(a)

    for e in c.einsums:
        walk(e.expr)
        for op in (e.output, *e.inputs):
            for ix in op.index:
                names.update(index_sizes(ix))
    return names


# ----- loading -------------------------------------------------------------------------------------------------------
def _init_value(v):
    if isinstance(v, str) and v.strip() in ("inf", "+inf", "-inf"):
        return float(v)
    if isinstance(v, int | float) and not isinstance(v, bool) and not (isinstance(v, float) and math.isnan(v)):
        return float(v)
    spec_fail("a number (or -inf/inf)", v)


def _einsum_text(v):
    if not isinstance(v, str):
        spec_fail("an Einsum like 'OUT[i, j] = expression'", v)
    return v


class CascadeFile(SpecModel):
    """The keys and types of a cascade file; the loader checks what the names refer to."""

    name: Name
    description: str = ""
    source: str = ""
    ranks: NonEmptyList[Ident]
    partitions: dict[Ident, list[Ident]] | None = None
    tensors: dict[Ident, list[Ident]]
    init: dict[Ident, Annotated[float, PlainValidator(_init_value)]] | None = None
    einsums: NonEmptyList[Annotated[str, PlainValidator(_einsum_text)]]


def load_cascade(name_or_path) -> Cascade:
    """Load a cascade from a path, or by name from the library (``attention_1pass``)."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        candidate = LIBRARY / f"{name_or_path}.yaml"
        if not candidate.exists():
            known = sorted(p.stem for p in LIBRARY.glob("*.yaml"))
            raise SpecError([SpecIssue(str(name_or_path), None, "<file>",
                                       f"no such cascade file or library cascade{suggest(str(name_or_path), known)}; "
                                       f"library: {', '.join(known)}")])
        path = candidate
    return _from_doc(load_doc(path))


def cascade_from_text(text: str, file: str = "<string>") -> Cascade:
    return _from_doc(doc_from_text(text, file))


def _from_doc(doc: Doc) -> Cascade:
    errors = doc.errors()
    spec = validate(doc, CascadeFile, errors)
    if spec is None:
        errors.raise_if_any()
    ranks = spec.ranks
    partitions, all_ranks, by_var, family = _rank_names(errors, spec)
    tensors = _declared_tensors(errors, spec, all_ranks)
    init: dict[str, float] = dict(spec.init or {})
    parsed = _parse_einsums(errors, spec.einsums)
    writer, all_tensor_ranks, iterated = _outputs(errors, doc, parsed, tensors, by_var)
    _check_init(errors, init, iterated, writer)
    einsums = _build_einsums(errors, doc, parsed, writer, all_tensor_ranks, by_var, family, all_ranks, iterated)
    errors.raise_if_any()
    # dependencies: a DAG once loop-carried reads are set aside
    order = _topological(errors, einsums, iterated, writer, doc)
    errors.raise_if_any()
    return Cascade(
        name=spec.name, description=spec.description, file=doc.file, ranks=tuple(ranks),
        partitions=MappingProxyType(partitions), tensors=MappingProxyType(tensors), init=MappingProxyType(init),
        einsums=tuple(einsums[n] for n in order), all_tensor_ranks=MappingProxyType(all_tensor_ranks),
        iterated=MappingProxyType(iterated),
    )


def _rank_names(errors: ErrorList, spec: CascadeFile):
    """(partitions, all rank names, rank by index variable, rank -> the ranks it spans) after checking them."""
    ranks = spec.ranks
    for i, r in enumerate(ranks):
        if not r[0].isupper():
            errors.add(("ranks", i), f"rank names start with a capital letter (indices are lowercase), not {r!r}")
        if ranks.count(r) > 1 and ranks.index(r) == i:
            errors.add(("ranks", i), f"rank {r!r} is declared twice")
    partitions: dict[str, tuple[str, ...]] = {}
    for parent, parts in (spec.partitions or {}).items():
        if parent not in ranks:
            errors.add(("partitions", parent), f"cannot partition undeclared rank {parent!r}; ranks: {ranks}")
        else:
            if len(parts) < 2:
                errors.add(("partitions", parent), f"a partition needs at least two sub-ranks, not {parts!r}")
            clash = [p for p in parts if p in ranks or any(p in q for q in partitions.values())]
            if clash:
                errors.add(("partitions", parent), f"sub-rank names must be new, not {clash}")
            partitions[parent] = tuple(parts)
    all_ranks = tuple(ranks) + tuple(p for ps in partitions.values() for p in ps)
    by_var = {r.lower(): r for r in all_ranks}
    if len(by_var) != len(all_ranks):
        errors.add(("ranks",), "rank names must differ in more than letter case (indices are their lowercase)")
    family = {r: {r} for r in ranks}
    for parent, parts in partitions.items():
        family[parent] = {parent, *parts}
        for p in parts:
            family[p] = {p}
    return partitions, all_ranks, by_var, family


def _declared_tensors(errors: ErrorList, spec: CascadeFile, all_ranks) -> dict[str, tuple[str, ...]]:
    tensors: dict[str, tuple[str, ...]] = {}
    for t, trs in spec.tensors.items():
        for r in trs:
            if r not in all_ranks:
                errors.add(("tensors", t), f"tensor {t} uses undeclared rank {r!r}{suggest(r, all_ranks)}; "
                                           f"ranks: {', '.join(all_ranks)}")
        tensors[t] = tuple(trs)
    return tensors


def _parse_einsums(errors: ErrorList, texts) -> list[tuple]:
    """(index, text, output, reduction op, reduced ranks, expression) of every Einsum that parses."""
    parsed = []
    for i, text in enumerate(texts):
        try:
            parsed.append((i, text, *parse_einsum_text(text)))
        except ExprError as exc:
            errors.add(("einsums", i), str(exc))
    return parsed


def _outputs(errors: ErrorList, doc: Doc, parsed, tensors, by_var):
    """(writer Einsum of each tensor, ranks of every tensor, the rank each iterated tensor is iterated along)."""
    writer: dict[str, int] = {}
    all_tensor_ranks = dict(tensors)
    iterated: dict[str, str] = {}
    for i, _text, out, _rop, _over, _expr in parsed:
        path = ("einsums", i)
        if out.tensor in writer:
            first = doc.line(("einsums", writer[out.tensor]))
            errors.add(path, f"tensor {out.tensor} is written by two Einsums (lines {first} and {doc.line(path)}); "
                             f"give each result its own name")
            continue
        writer[out.tensor] = i
        out_ranks = _output_ranks(errors, path, out, by_var, iterated)
        if out.tensor in tensors and tuple(out_ranks) != tensors[out.tensor] and len(out_ranks) == len(out.index):
            errors.add(path, f"{out.tensor} is declared with ranks {list(tensors[out.tensor])} but written with "
                             f"{out_ranks}")
        all_tensor_ranks.setdefault(out.tensor, tuple(out_ranks))
    return writer, all_tensor_ranks, iterated


def _output_ranks(errors: ErrorList, path: tuple, out, by_var, iterated) -> list[str]:
    """The ranks of an Einsum's output indices; records the rank an iterated output (``T[m1+1]``) runs along."""
    out_ranks = []
    for ix in out.index:
        vars_ = index_vars(ix)
        if isinstance(ix, IVar) and ix.name in by_var:
            out_ranks.append(by_var[ix.name])
        elif isinstance(ix, IAdd) and isinstance(ix.a, IVar) and ix.b == IConst(1) and ix.a.name in by_var:
            rank = by_var[ix.a.name]
            out_ranks.append(rank)
            if out.tensor in iterated:
                errors.add(path, f"{out.tensor} may be iterated along one rank only")
            iterated[out.tensor] = rank
        elif vars_ and vars_[0] not in by_var:
            errors.add(path, f"index {vars_[0]!r} is not a rank{suggest(vars_[0], by_var)}; indices: "
                             f"{', '.join(by_var)}")
        else:
            errors.add(path, f"output index {ix} must be a rank index (m1) or an iterated one (m1+1)")
    return out_ranks


def _check_init(errors: ErrorList, init, iterated, writer) -> None:
    for t in init:
        if t not in iterated:
            errors.add(("init", t), f"init is only for iterated tensors (written as T[.., r+1, ..]); {t} is not one"
                                    + (f"; iterated: {sorted(iterated)}" if iterated else ""))
    for t in iterated:
        if t not in init:
            errors.add(("einsums", writer[t]), f"iterated tensor {t} needs an initial value: add 'init: {{{t}: ...}}'")


def _build_einsums(errors: ErrorList, doc: Doc, parsed, writer, all_tensor_ranks, by_var, family, all_ranks,
                   iterated) -> dict[str, Einsum]:
    """Each Einsum in full (reads, ranks, constants checked), by output tensor name."""
    einsums: dict[str, Einsum] = {}
    for i, text, out, rop, over, expr in parsed:
        path = ("einsums", i)
        if writer.get(out.tensor) != i:
            continue
        local = ErrorList(doc.file, doc.line)
        e = _build_einsum(local, path, text, out, rop, over, expr, all_tensor_ranks, by_var, family, all_ranks,
                          iterated, doc.line(path))
        errors.extend(local)
        if e is not None:
            einsums[e.name] = e
            problem = _constant_problem(e.expr, None)
            if problem:
                errors.add(path, f"{problem} in {e.text!r}")
    return einsums


def _build_einsum(errors, path, text, out, rop, over, expr, tensor_ranks, by_var, family, all_ranks, iterated, line):
    out_vars = [v for ix in out.index for v in index_vars(ix)]
    if any(v not in by_var for v in out_vars):
        return None  # reported with the output's ranks
    iterative = iterated.get(out.tensor)
    # operators and sizes in the expression
    _check_expr(errors, path, expr, all_ranks)
    # reads
    reads: dict[str, Operand] = {}
    rhs_vars: list[str] = []
    for acc in expr_reads(expr):
        if acc.tensor not in tensor_ranks:
            errors.add(path, f"undeclared tensor {acc.tensor!r}{suggest(acc.tensor, tensor_ranks)}: declare it under "
                             f"'tensors' or compute it in an Einsum")
            continue
        dims = tensor_ranks[acc.tensor]
        if len(acc.index) != len(dims):
            errors.add(path, f"{acc} has {len(acc.index)} indices but {acc.tensor} has {len(dims)} ranks {list(dims)}")
            continue
        for ix, rank in zip(acc.index, dims):
            for v in index_vars(ix):
                if v not in by_var:
                    errors.add(path, f"index {v!r} is not a rank{suggest(v, by_var)}; indices: {', '.join(by_var)}")
                    continue
                rhs_vars.append(v)
                vrank = by_var[v]
                if isinstance(ix, (IVar, IAdd)) and vrank not in family.get(rank, {rank}) and vrank != rank:
                    errors.add(path, f"index {v} ranges over rank {vrank}, but that dimension of {acc.tensor} is rank "
                                     f"{rank}: one index cannot have two sizes (use {rank.lower()} or a partition of "
                                     f"{rank})")
            for s in index_sizes(ix):
                if s not in all_ranks:
                    errors.add(path, f"size {s!r} in {acc} is not a rank{suggest(s, all_ranks)}")
        op = Operand(acc.tensor, dims, acc.index)
        key = str(op)
        reads.setdefault(key, op)
    rhs_only = list(dict.fromkeys(v for v in rhs_vars if v not in out_vars))
    # reductions
    reduced: list[str] = []
    if over is not None:
        if operators.reduce_op(rop) is None:
            errors.add(path, f"unknown reduction {rop!r}{suggest(rop, operators.reduce_ops())}; reductions: "
                             f"{', '.join(operators.reduce_ops())} (add one with workloads.operators."
                             f"register_reduction)")
        for v in over:
            if v in out_vars:
                errors.add(path, f"reduction over rank {by_var.get(v, v)} that the output {out.tensor} keeps; reduce "
                                 f"over ranks missing from the left side")
            elif v not in by_var:
                errors.add(path, f"reduction index {v!r} is not a rank{suggest(v, by_var)}")
            elif v not in rhs_vars:
                errors.add(path, f"reduction over {v}, which the right side does not use")
            else:
                reduced.append(v)
        for v in rhs_only:
            if v not in over:
                errors.add(path, f"index {v} is not on the left side, so it is reduced: list it after 'over'")
        reduce_name = rop
    else:
        reduced = rhs_only
        reduce_name = "sum" if reduced else None
    if iterative and iterative.lower() in reduced:
        errors.add(path, f"{out.tensor} iterates over {iterative} and cannot also reduce over it")
    if errors:
        return None
    indices = tuple(by_var[v] for v in dict.fromkeys(out_vars)) + tuple(by_var[v] for v in reduced)
    # reads of the iterated tensor itself must be of the previous iterate
    return Einsum(name=out.tensor, text=" ".join(text.split()), output=Operand(out.tensor, tensor_ranks[out.tensor],
                                                                             out.index),
                  inputs=tuple(reads.values()), indices=indices, reduced=tuple(by_var[v] for v in reduced),
                  reduce_op=reduce_name, iterative=iterative, expr=expr, line=line)


def _check_expr(errors, path, expr, all_ranks):
    if isinstance(expr, Apply):
        op = operators.map_op(expr.op)
        if op is None:
            errors.add(path, f"unknown operator {expr.op!r}{suggest(expr.op, operators.map_ops())}; operators: "
                             f"{', '.join(operators.map_ops())} (add one with workloads.operators.register)")
        elif op.arity != len(expr.args):
            errors.add(path, f"operator {expr.op} takes {op.arity} argument(s), not {len(expr.args)}")
        for a in expr.args:
            _check_expr(errors, path, a, all_ranks)
    elif isinstance(expr, Size) and expr.rank not in all_ranks:
        errors.add(path, f"{expr.rank!r} is neither a tensor read nor a rank size{suggest(expr.rank, all_ranks)}")
    elif not isinstance(expr, (Num, Size, Read)):
        errors.add(path, f"unsupported expression {expr!r}")


def is_carried(reader: Operand, iterated_rank: str | None) -> bool:
    """True when ``reader`` reads the previous iterate of a tensor iterated along ``iterated_rank``."""
    if iterated_rank is None:
        return False
    for ix, rank in zip(reader.index, reader.ranks):
        if rank == iterated_rank:
            return isinstance(ix, IVar)
    return False


def _topological(errors, einsums: dict[str, Einsum], iterated, writer, doc) -> list[str]:
    g = nx.DiGraph()
    g.add_nodes_from(einsums)
    for e in einsums.values():
        for op in e.inputs:
            if op.tensor in einsums and not is_carried(op, iterated.get(op.tensor)):
                if op.tensor == e.name:
                    errors.add(("einsums", writer[e.name]),
                               f"{e.name} reads itself at the same iterate; read the previous one ({e.name}[.., r, ..] "
                               f"when writing {e.name}[.., r+1, ..])")
                    continue
                g.add_edge(op.tensor, e.name)
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        pos = {n: writer[n] for n in einsums}
        return list(nx.lexicographical_topological_sort(g, key=lambda n: pos[n]))
    names = [u for u, _ in cycle] + [cycle[0][0]]
    errors.add(("einsums", writer[cycle[0][0]]), f"cycle between Einsums: {' -> '.join(names)}; a result cannot "
                                                  f"depend on itself (iterate along a rank with r+1 if intended)")
    return []


"""Network models: a model preset expands to a list of cascades with sizes (one transformer layer, per layer kind).

A model file gives parameters (``D: 768``) and layers; each layer names a library cascade, a role (attention,
qkv_projection, out_projection, ffn, ...), a count per model layer, and sizes as arithmetic over the parameters and
the sequence length ``S`` (``M: B*S``). Sizes are expressions so that one file serves every sequence length.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Annotated

from pydantic import PlainValidator

from .errors import SpecError, SpecIssue
from .schema import Ident, Name, NonEmptyList, PosInt, SpecModel, spec_fail, validate
from .yamlio import Doc, load_doc, suggest

__all__ = ["Model", "Layer", "LayerInstance", "ModelFile", "load_model", "MODELS", "size_expression"]

MODELS = Path(__file__).parent / "models"
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv,
        ast.Div: operator.truediv, ast.Pow: operator.pow}
#: a size expression is short and shallow, and no value in it may pass 2**62 (sizes are 64-bit counts)
MAX_SIZE_CHARS = 200
MAX_SIZE_VALUE = 2 ** 62


def _size_tree(text, names) -> ast.expr:
    """Parse a size expression and check its node types and names (nothing is evaluated); ValueError if bad."""
    text = str(text)
    if len(text) > MAX_SIZE_CHARS:
        raise ValueError(f"a size expression must be at most {MAX_SIZE_CHARS} characters, not {len(text)}")
    try:
        tree = ast.parse(text, mode="eval").body
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        raise ValueError(f"cannot parse size expression {text!r}") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in names:
            raise ValueError(f"unknown name {node.id!r} in size {text!r}{suggest(node.id, names)}; known: "
                             f"{', '.join(sorted(names))}")
        if isinstance(node, ast.Constant) and not (isinstance(node.value, int) and not isinstance(node.value, bool)):
            raise ValueError(f"size {text!r} may use integers, names and + - * / // ** only, not {node.value!r}")
        if not isinstance(node, ast.Name | ast.Constant | ast.BinOp | ast.operator | ast.expr_context) or (
                isinstance(node, ast.BinOp) and type(node.op) not in _OPS):
            raise ValueError(f"size {text!r} may use integers, names and + - * / // ** only")
    return tree


def _apply(op, a, b, text):
    if isinstance(op, ast.Pow) and (b < 0 or b > 64 or abs(a) > 1 and b * math.log2(abs(a)) > 62):
        raise ValueError(f"size {text!r}: {a} ** {b} is out of range (sizes are below 2**62)")
    if isinstance(op, ast.Div | ast.FloorDiv) and b == 0:
        raise ValueError(f"size {text!r} divides by zero")
    value = _OPS[type(op)](a, b)
    if abs(value) > MAX_SIZE_VALUE:
        raise ValueError(f"size {text!r} reaches {value:.3g}, more than 2**62")
    return value


def size_expression(text, names: Mapping[str, int]) -> int:
    """Evaluate an integer size expression such as ``B*S`` or ``3*D`` over ``names``; ValueError if malformed, out of
    range (past 2**62, a division by zero) or not a positive integer."""
    if isinstance(text, bool):
        raise ValueError(f"a size must be an integer or an expression, not {text!r}")
    if isinstance(text, int):
        value = text
    else:
        tree = _size_tree(text, names)

        def ev(node):
            if isinstance(node, ast.Constant):
                return node.value
            if isinstance(node, ast.Name):
                return names[node.id]
            return _apply(node.op, ev(node.left), ev(node.right), text)

        value = ev(tree)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"size {text!r} = {value} is not an integer")
        value = int(value)
    if value <= 0:
        raise ValueError(f"size {text!r} = {value} must be a positive integer")
    return value


def _size_value(v):
    if isinstance(v, int) and not isinstance(v, bool) and v > 0 or isinstance(v, str) and v.strip():
        return v
    spec_fail("a positive integer or a size expression like B*S", v)


SizeValue = Annotated[int | str, PlainValidator(_size_value)]


class LayerFile(SpecModel):
    name: Name
    role: Name
    cascade: Name
    sizes: dict[Ident, SizeValue]
    count: SizeValue = 1


class ModelFile(SpecModel):
    """The keys and types of a network-model file."""

    name: Name
    label: Name | None = None
    description: str = ""
    source: str = ""
    params: dict[Ident, PosInt]
    layers: NonEmptyList[LayerFile]


@dataclass(frozen=True, kw_only=True)
class Layer:
    name: str
    role: str
    cascade: str
    sizes: Mapping[str, object]
    count: object = 1
    line: int | None = None


@dataclass(frozen=True, kw_only=True)
class LayerInstance:
    """A layer with every size bound: run ``count`` times per model layer."""

    name: str
    role: str
    cascade: str
    sizes: Mapping[str, int]
    count: int


@dataclass(frozen=True, kw_only=True)
class Model:
    name: str
    label: str
    description: str
    file: str
    params: Mapping[str, int]
    layers: tuple[Layer, ...]

    def instantiate(self, seq_len: int, **params: int) -> list[LayerInstance]:
        """Bind the sequence length ``S`` (and parameter overrides) into every layer's sizes."""
        if isinstance(seq_len, bool) or not isinstance(seq_len, int) or seq_len <= 0:
            raise SpecError([SpecIssue(self.file, None, "S", f"the sequence length must be a positive integer, not "
                                                             f"{seq_len!r}")])
        names = {**self.params, **params, "S": seq_len}
        out = []
        issues = []
        for i, layer in enumerate(self.layers):
            values = {}
            for key, v in [*(("sizes." + r, v) for r, v in layer.sizes.items()), ("count", layer.count)]:
                try:
                    values[key] = size_expression(v, names)
                except ValueError as exc:
                    issues.append(SpecIssue(self.file, layer.line, f"layers[{i}].{key}", f"{exc} (S={seq_len})"))
            if len(values) <= len(layer.sizes):
                continue
            count = values.pop("count")
            sizes = {k.removeprefix("sizes."): v for k, v in values.items()}
            out.append(LayerInstance(name=layer.name, role=layer.role, cascade=layer.cascade,
                                     sizes=MappingProxyType(sizes), count=count))
        if issues:
            raise SpecError(issues)
        return out


def load_model(name_or_path) -> Model:
    """Load a model preset by name (``bert``) or path."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = MODELS / f"{str(name_or_path).lower()}.yaml"
        if not path.exists():
            known = sorted(p.stem for p in MODELS.glob("*.yaml"))
            raise SpecError([SpecIssue(str(name_or_path), None, "<file>", f"no such model{suggest(name_or_path, known)}"
                                                                          f"; models: {', '.join(known)}")])
    return _from_doc(load_doc(path))


def _from_doc(doc: Doc) -> Model:
    errors = doc.errors()
    spec = validate(doc, ModelFile, errors)
    if spec is None:
        errors.raise_if_any()
    from .cascade import LIBRARY

    library = sorted(p.stem for p in LIBRARY.glob("*.yaml"))
    names = {**spec.params, "S": 1}
    layers = []
    for i, raw in enumerate(spec.layers):
        path = ("layers", i)
        if raw.cascade not in library:
            errors.add(path + ("cascade",), f"unknown library cascade {raw.cascade!r}{suggest(raw.cascade, library)}; "
                                            f"library: {', '.join(library)}")
        for r, v in [*raw.sizes.items(), ("count", raw.count)]:
            try:
                if not isinstance(v, int):
                    _size_tree(v, names)
            except ValueError as exc:
                errors.add(path + (("sizes", r) if r != "count" else ("count",)), str(exc))
        layers.append(Layer(name=raw.name, role=raw.role, cascade=raw.cascade, sizes=MappingProxyType(dict(raw.sizes)),
                            count=raw.count, line=doc.line(path)))
    errors.raise_if_any()
    return Model(name=spec.name, label=spec.label or spec.name, description=spec.description, file=doc.file,
                 params=MappingProxyType(dict(spec.params)), layers=tuple(layers))

"""Network models: a model preset expands to a list of cascades with sizes (one transformer layer, per layer kind).

A model file gives parameters (``D: 768``) and layers; each layer names a library cascade, a role (attention,
qkv_projection, out_projection, ffn, ...), a count per model layer, and sizes as arithmetic over the parameters and
the sequence length ``S`` (``M: B*S``). Sizes are expressions so that one file serves every sequence length.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from .errors import SpecError, SpecIssue
from .yamlio import Doc, check_keys, load_doc, suggest

__all__ = ["Model", "Layer", "LayerInstance", "load_model", "MODELS", "size_expression"]

MODELS = Path(__file__).parent / "models"
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv,
        ast.Div: operator.truediv, ast.Pow: operator.pow}


def size_expression(text, names: Mapping[str, int]) -> int:
    """Evaluate an integer size expression such as ``B*S`` or ``3*D`` over ``names``; ValueError if malformed."""
    if isinstance(text, bool):
        raise ValueError(f"a size must be an integer or an expression, not {text!r}")
    if isinstance(text, int):
        return text
    try:
        tree = ast.parse(str(text), mode="eval").body
    except SyntaxError:
        raise ValueError(f"cannot parse size expression {text!r}") from None

    def ev(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in names:
                raise ValueError(f"unknown name {node.id!r} in size {text!r}{suggest(node.id, names)}; known: "
                                 f"{', '.join(sorted(names))}")
            return names[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        raise ValueError(f"size {text!r} may use integers, names and + - * / // ** only")

    value = ev(tree)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"size {text!r} = {value} is not an integer")
        value = int(value)
    return value


@dataclass(frozen=True, kw_only=True)
class Layer:
    name: str
    role: str
    cascade: str
    sizes: Mapping[str, object]
    count: object = 1


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
        names = {**self.params, **params, "S": seq_len}
        out = []
        issues = []
        for i, layer in enumerate(self.layers):
            try:
                sizes = {r: size_expression(v, names) for r, v in layer.sizes.items()}
                count = size_expression(layer.count, names)
            except ValueError as exc:
                issues.append(SpecIssue(self.file, None, f"layers[{i}].sizes", str(exc)))
                continue
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
    data = doc.data
    check_keys(errors, (), data, required=("name", "params", "layers"), optional=("label", "description", "source"))
    errors.raise_if_any()
    params = data["params"]
    if not isinstance(params, dict):
        errors.add(("params",), f"params must map names to integers, not {params!r}")
        params = {}
    for k, v in params.items():
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            errors.add(("params", k), f"parameter {k} must be a positive integer, not {v!r}")
    layers = []
    if not isinstance(data["layers"], list) or not data["layers"]:
        errors.add(("layers",), "layers must be a non-empty list")
    else:
        from .cascade import LIBRARY
        library = sorted(p.stem for p in LIBRARY.glob("*.yaml"))
        for i, raw in enumerate(data["layers"]):
            path = ("layers", i)
            if not check_keys(errors, path, raw, required=("name", "role", "cascade", "sizes"), optional=("count",)):
                continue
            if raw["cascade"] not in library:
                errors.add(path + ("cascade",), f"unknown library cascade {raw['cascade']!r}"
                                                f"{suggest(raw['cascade'], library)}; library: {', '.join(library)}")
            if not isinstance(raw["sizes"], dict):
                errors.add(path + ("sizes",), f"sizes must map ranks to expressions, not {raw['sizes']!r}")
                continue
            probe = {**{k: 2 for k in params}, "S": 2}
            for r, v in raw["sizes"].items():
                try:
                    size_expression(v, probe)
                except ValueError as exc:
                    errors.add(path + ("sizes", r), str(exc))
            layers.append(Layer(name=str(raw["name"]), role=str(raw["role"]), cascade=raw["cascade"],
                                sizes=MappingProxyType(dict(raw["sizes"])), count=raw.get("count", 1)))
    errors.raise_if_any()
    return Model(name=str(data["name"]), label=str(data.get("label", data["name"])),
                 description=str(data.get("description", "")), file=doc.file, params=MappingProxyType(dict(params)),
                 layers=tuple(layers))

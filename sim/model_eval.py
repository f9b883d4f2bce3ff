"""A whole model layer on one architecture: each of its layers (a library cascade with bound sizes) evaluated with
the mapping a mapping set gives its cascade, layers run one after the other (``count`` times each).

``evaluate_model(model, arch, mapping_set, seq_len=..., params=..., engine=evaluate) -> ModelResult``: one Result per
layer plus the totals (cycles, latency, energy, DRAM bytes, per-unit busy PE-cycles). Pure, like :func:`evaluate`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from einsim.arch.spec import ArchSpec
from einsim.mappings.sets import MappingSet
from einsim.workloads import load_cascade, op_counts, total_ops
from einsim.workloads.models import LayerInstance, Model

from .evaluate import bind_sizes, evaluate
from .result import Result

__all__ = ["LayerResult", "ModelResult", "evaluate_model"]


@dataclass(frozen=True, kw_only=True)
class LayerResult:
    layer: LayerInstance
    mapping: str
    result: Result
    ops: float  # the layer's arithmetic operations at its bound sizes (mapping partitions included)


@dataclass(frozen=True, kw_only=True)
class ModelResult:
    """Per-layer results and the totals over the layers (each counted ``count`` times)."""

    model: str
    layers: tuple[LayerResult, ...]

    @property
    def ok(self) -> bool:
        return all(x.result.ok for x in self.layers)

    @property
    def reason(self) -> str:
        return "; ".join(f"{x.layer.name}: {x.result.reason}" for x in self.layers if not x.result.ok)

    def total(self, key: str) -> float:
        """Sum of ``summary[key]`` over the layers, each times its count (NaN if a layer is infeasible)."""
        return sum(x.layer.count * x.result.summary.get(key, float("nan")) for x in self.layers)

    def summary(self, arch: ArchSpec) -> dict:
        """Totals: cycles, latency_s, energy_pj, dram_bytes, and util_<unit> over the whole model layer."""
        cycles = self.total("cycles")
        out = {k: self.total(k) for k in ("cycles", "latency_s", "energy_pj", "dram_bytes")}
        for u in arch.units:
            pe_cycles = sum(x.layer.count * x.result.summary.get(f"util_{u.name}", float("nan"))
                            * x.result.summary.get("cycles", float("nan")) for x in self.layers)
            out[f"util_{u.name}"] = pe_cycles / cycles if cycles else 0.0
        out["dram_util"] = sum(x.layer.count * x.result.summary.get("dram_util", float("nan"))
                               * x.result.summary.get("cycles", float("nan")) for x in self.layers) / cycles \
            if cycles else 0.0
        return out


def evaluate_model(model: Model, arch: ArchSpec, mappings: MappingSet, *, seq_len: int, params=None,
                   engine: Callable = evaluate) -> ModelResult:
    """Each layer of ``model`` instantiated at ``seq_len`` (and parameter overrides), run by ``engine``."""
    layers = []
    for layer in model.instantiate(seq_len=seq_len, **(params or {})):
        mapping = mappings.for_cascade(layer.cascade)
        cascade = load_cascade(layer.cascade)
        r = engine(cascade, arch, mapping, dict(layer.sizes))
        ops = float(sum(total_ops(op_counts(cascade, bind_sizes(cascade, mapping, layer.sizes))).values()))
        layers.append(LayerResult(layer=layer, mapping=mapping.name, result=r, ops=ops))
    return ModelResult(model=model.name, layers=tuple(layers))

"""Workloads: cascades of Extended Einsums — the language, its checks, analyses and numpy reference.

Public API (see the modules for details)::

    load_cascade(name_or_path) -> Cascade      cascade.bind(sizes) -> {rank: int}
    op_counts(cascade, sizes)                  passes(cascade)       dependency_graph(cascade)
    evaluate_reference(cascade, inputs, sizes) load_model(name) -> Model; model.instantiate(seq_len)
"""

from . import operators
from .cascade import LIBRARY, Cascade, Einsum, Operand, cascade_from_text, load_cascade
from .errors import SpecError, SpecIssue
from .graph import dependency_graph
from .models import MODELS, LayerInstance, Model, load_model
from .opcount import einsum_ops, op_counts, ops_per_point, total_ops
from .passes import einsum_passes, passes
from .reference import evaluate_reference, random_inputs

__all__ = [
    "Cascade", "Einsum", "Operand", "LIBRARY", "MODELS", "Model", "LayerInstance", "SpecError", "SpecIssue",
    "load_cascade", "cascade_from_text", "load_model", "op_counts", "einsum_ops", "ops_per_point", "total_ops",
    "passes", "einsum_passes", "dependency_graph", "evaluate_reference", "random_inputs", "operators",
]

"""Workloads: cascades of Extended Einsums — the language, its checks, analyses and numpy reference.

Public API (see the modules for details)::

    load_cascade(name_or_path) -> Cascade      cascade.bind(sizes) -> {rank: int}
    op_counts(cascade, sizes)                  passes(cascade)       dependency_graph(cascade)
    evaluate_reference(cascade, inputs, sizes) load_model(name) -> Model; model.instantiate(seq_len)
"""

from einsim.lazy import export_lazily

export_lazily(__name__, {
    ".cascade": ["Cascade", "Einsum", "Operand", "LIBRARY", "load_cascade", "cascade_from_text"],
    ".errors": ["SpecError", "SpecIssue"],
    ".graph": ["dependency_graph"],
    ".models": ["MODELS", "Model", "LayerInstance", "load_model"],
    ".opcount": ["op_counts", "einsum_ops", "ops_per_point", "total_ops"],
    ".passes": ["passes", "einsum_passes"],
    ".reference": ["evaluate_reference", "random_inputs"],
}, submodules=('operators',))

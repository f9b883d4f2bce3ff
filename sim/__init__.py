"""Evaluation: the tile-level plan, the analytical model, the mapper and the Result type."""

from einsim.lazy import export_lazily

export_lazily(__name__, {
    ".analytical": ["group_cycles"],
    ".evaluate": ["evaluate", "evaluate_fixed"],
    ".mapper": ["best_mapping"],
    ".plan": ["GroupPlan", "Infeasible", "lower"],
    ".result": ["Result"],
    ".search": ["search", "SearchResult"],
    ".simulate": ["simulate"],
})

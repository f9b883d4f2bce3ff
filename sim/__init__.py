"""Evaluation: the tile-level plan, the analytical model, the mapper and the Result type."""

from .analytical import group_cycles
from .evaluate import evaluate, evaluate_fixed
from .mapper import best_mapping
from .plan import GroupPlan, Infeasible, lower
from .result import Result
from .search import SearchResult, search
from .simulate import simulate

__all__ = ["evaluate", "evaluate_fixed", "best_mapping", "Result", "GroupPlan", "Infeasible", "lower",
           "group_cycles", "simulate", "search", "SearchResult"]

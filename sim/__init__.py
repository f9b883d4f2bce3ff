"""Evaluation: the tile-level plan, the analytical model, the mapper and the Result type."""

import importlib
import sys
import types

# Names are imported on first use, so importing one submodule (a kernel in a co-simulation bench) does
# not load the whole package.
_EXPORTS = {
    **dict.fromkeys(["group_cycles"], ".analytical"),
    **dict.fromkeys(["evaluate", "evaluate_fixed"], ".evaluate"),
    **dict.fromkeys(["best_mapping"], ".mapper"),
    **dict.fromkeys(["GroupPlan", "Infeasible", "lower"], ".plan"),
    **dict.fromkeys(["Result"], ".result"),
    **dict.fromkeys(["simulate"], ".simulate"),
}
_SUBMODULES = ()
__all__ = [*_EXPORTS, *_SUBMODULES]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """``evaluate`` and ``simulate`` name both submodules and the functions they export; the package attributes are
    the functions, even after the import system binds the submodules there."""

    @property
    def evaluate(self):
        return importlib.import_module(".evaluate", __name__).evaluate

    @evaluate.setter
    def evaluate(self, value):
        pass

    @property
    def simulate(self):
        return importlib.import_module(".simulate", __name__).simulate

    @simulate.setter
    def simulate(self, value):
        pass


sys.modules[__name__].__class__ = _Package

"""Workloads: cascades of Extended Einsums — the language, its checks, analyses and numpy reference.

Public API (see the modules for details)::

    load_cascade(name_or_path) -> Cascade      cascade.bind(sizes) -> {rank: int}
    op_counts(cascade, sizes)                  passes(cascade)       dependency_graph(cascade)
    evaluate_reference(cascade, inputs, sizes) load_model(name) -> Model; model.instantiate(seq_len)
"""

import importlib
import sys
import types

# Names are imported on first use, so importing one submodule (a kernel in a co-simulation bench) does
# not load the whole package.
_EXPORTS = {
    **dict.fromkeys(["Cascade", "Einsum", "Operand", "LIBRARY", "load_cascade", "cascade_from_text"], ".cascade"),
    **dict.fromkeys(["SpecError", "SpecIssue"], ".errors"),
    **dict.fromkeys(["dependency_graph"], ".graph"),
    **dict.fromkeys(["MODELS", "Model", "LayerInstance", "load_model"], ".models"),
    **dict.fromkeys(["op_counts", "einsum_ops", "ops_per_point", "total_ops"], ".opcount"),
    **dict.fromkeys(["passes", "einsum_passes"], ".passes"),
    **dict.fromkeys(["evaluate_reference", "random_inputs"], ".reference"),
}
_SUBMODULES = ('operators',)
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
    """``passes`` names both a submodule and the function it exports; the package attribute is the function, even
    after the import system binds the submodule there."""

    @property
    def passes(self):
        return importlib.import_module(".passes", __name__).passes

    @passes.setter
    def passes(self, value):
        pass


sys.modules[__name__].__class__ = _Package

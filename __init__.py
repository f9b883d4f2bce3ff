"""einsim: simulate and explore deep-learning accelerators running cascades of Extended Einsums.

The packages ``einsim.workloads``, ``einsim.arch``, ``einsim.mappings``, ``einsim.sim``, ``einsim.analysis`` and
``einsim.rtl`` live in the repository's top-level folders (mapped by ``pyproject.toml``). This module is the public
front; its names are imported on first use, so ``import einsim`` stays cheap::

    import einsim
    cascade = einsim.load_cascade("attention_1pass")
    arch = einsim.load_arch("fusemax")
    mapping = einsim.load_mapping("binding")
    result = einsim.evaluate(cascade, arch, mapping, {"B": 64, "H": 12, "M": 4096, "P": 4096, "E": 64, "F": 64})
"""

from __future__ import annotations

import importlib

__all__ = ["load_cascade", "load_model", "load_arch", "load_mapping", "evaluate", "simulate", "Result",
           "SpecError", "Cascade", "ArchSpec", "MappingSpec"]

_HOME = {
    "load_cascade": "workloads", "load_model": "workloads", "Cascade": "workloads", "SpecError": "workloads",
    "load_arch": "arch", "ArchSpec": "arch",
    "load_mapping": "mappings", "MappingSpec": "mappings",
    "evaluate": "sim", "simulate": "sim", "Result": "sim",
}


def __getattr__(name: str):
    if name in _HOME:
        value = getattr(importlib.import_module(f"einsim.{_HOME[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'einsim' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))

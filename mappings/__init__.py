"""Mappings: loop nests over tiles, bindings, fusion groups and pipelining; the loader and presets."""

import importlib

# Names are imported on first use, so importing one submodule (a kernel in a co-simulation bench) does
# not load the whole package.
_EXPORTS = {
    **dict.fromkeys(["load_mapping", "mapping_from_text", "preset_names"], ".loader"),
    **dict.fromkeys(["PIPELINES", "Group", "Loop", "MappingSpec"], ".spec"),
    **dict.fromkeys(["MappingSet", "load_mapping_set", "set_names"], ".sets"),
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

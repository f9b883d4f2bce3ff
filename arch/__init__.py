"""Architectures: spec dataclasses, the YAML loader, presets, energy and area tables."""

import importlib

# Names are imported on first use, so importing one submodule (a kernel in a co-simulation bench) does
# not load the whole package.
_EXPORTS = {
    **dict.fromkeys(["area_breakdown", "total_area_mm2"], ".area"),
    **dict.fromkeys(["action_energy_pj", "energy_pj"], ".energy"),
    **dict.fromkeys(["arch_from_text", "load_arch", "preset_names"], ".loader"),
    **dict.fromkeys(["ArchSpec", "MemoryLevel", "UnitSpec"], ".spec"),
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

"""Architectures: spec dataclasses, the YAML loader, presets, energy and area tables."""

from .area import area_breakdown, total_area_mm2
from .energy import action_energy_pj, energy_pj
from .loader import arch_from_text, load_arch, preset_names
from .spec import ArchSpec, MemoryLevel, UnitSpec

__all__ = ["ArchSpec", "UnitSpec", "MemoryLevel", "load_arch", "arch_from_text", "preset_names",
           "area_breakdown", "total_area_mm2", "action_energy_pj", "energy_pj"]

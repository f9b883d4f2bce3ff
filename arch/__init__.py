"""Architectures: spec dataclasses, the YAML loader, presets, energy and area tables."""

from einsim.lazy import export_lazily

export_lazily(__name__, {
    ".area": ["area_breakdown", "total_area_mm2"],
    ".energy": ["action_energy_pj", "energy_pj"],
    ".loader": ["arch_from_text", "load_arch", "preset_names"],
    ".spec": ["ArchSpec", "MemoryLevel", "UnitSpec"],
})

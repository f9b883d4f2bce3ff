"""Mappings: loop nests over tiles, bindings, fusion groups and pipelining; the loader and presets."""

from einsim.lazy import export_lazily

export_lazily(__name__, {
    ".loader": ["load_mapping", "mapping_from_text", "preset_names"],
    ".spec": ["PIPELINES", "Group", "Loop", "MappingSpec"],
    ".sets": ["MappingSet", "load_mapping_set", "set_names"],
})

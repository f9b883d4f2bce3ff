"""Mappings: loop nests over tiles, bindings, fusion groups and pipelining; the loader and presets."""

from .loader import load_mapping, mapping_from_text, preset_names
from .sets import MappingSet, load_mapping_set, set_names
from .spec import PIPELINES, Group, Loop, MappingSpec

__all__ = ["MappingSpec", "Group", "Loop", "PIPELINES", "load_mapping", "mapping_from_text", "preset_names",
           "MappingSet", "load_mapping_set", "set_names"]

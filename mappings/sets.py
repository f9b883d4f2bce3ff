"""Mapping sets: which mapping each library cascade uses on a family of architectures, so a whole model (its layers,
each a cascade) can be evaluated with one name (``einsim evaluate --model gpt3-7b-prefill --mappings npu``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Annotated

from pydantic import Field

from einsim.workloads.errors import SpecError, SpecIssue
from einsim.workloads.schema import Name, SpecModel, check
from einsim.workloads.yamlio import load_doc

from .loader import PRESET_DIR, load_mapping
from .spec import MappingSpec

__all__ = ["MappingSet", "load_mapping_set", "set_names", "SET_DIR"]

SET_DIR = PRESET_DIR / "sets"


@dataclass(frozen=True, kw_only=True)
class MappingSet:
    """``mappings``: library cascade name (as a model's layers name it) -> its mapping."""

    name: str
    description: str
    mappings: Mapping[str, MappingSpec]
    source: str = ""          # the set's file
    line: int | None = None   # the line of its ``mappings`` key

    def for_cascade(self, cascade: str) -> MappingSpec:
        if cascade not in self.mappings:
            raise SpecError([SpecIssue(self.source or self.name, self.line, "mappings",
                                       f"no mapping for cascade {cascade!r}; the set maps "
                                       f"{', '.join(sorted(self.mappings))}")])
        return self.mappings[cascade]


class MappingSetFile(SpecModel):
    """The keys and types of a mapping set file: library cascade name -> mapping preset name or path."""

    name: Name
    description: str = ""
    mappings: Annotated[dict[Name, Name], Field(min_length=1)]


def set_names() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in SET_DIR.glob("*.yaml")))


def load_mapping_set(name_or_path) -> MappingSet:
    """A mapping set from a preset name (``npu``) or a YAML path; every mapping it names is loaded and checked."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml") and "/" not in str(name_or_path):
        path = SET_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            raise SpecError([SpecIssue(str(name_or_path), None, "<name>",
                                       f"mapping set must be a preset name or a YAML path, not {name_or_path!r}; "
                                       f"sets: {', '.join(set_names())}")])
    doc = load_doc(path)
    e = doc.errors()
    d = check(doc, MappingSetFile)
    loaded = {}
    for cascade, mapping in d.mappings.items():
        try:
            loaded[str(cascade)] = load_mapping(mapping if "/" not in str(mapping) else path.parent / mapping)
        except SpecError as exc:
            for issue in exc.issues:
                own = issue.file == str(mapping)   # a preset name that names no preset
                e.add(("mappings", cascade), (issue.message if issue.path == "<name>" else
                                              f"{issue.path}: {issue.message}") if own else str(issue))
    e.raise_if_any()
    return MappingSet(name=d.name, description=d.description, mappings=MappingProxyType(loaded), source=doc.file,
                      line=doc.line(("mappings",)))

"""Mapping resolvers: how a sweep point gets its mapping, chosen by name in the sweep spec.

``base.mapping`` is ``binding`` or ``path/to/mapping.yaml`` (resolver ``preset``), a bare resolver name such as
``search``, or an explicit ``{resolver: value}`` (``{preset: binding}``, ``{search: {objective: edp}}``).

A resolver has two halves. ``load(value, errors, path, folder)`` runs in the driver when the spec is read: it checks
the value (adding issues to ``errors``) and returns plain, JSON-able data. That data is part of each point's content
hash, and the sweep's ``mapping.*`` axes edit it (for ``preset`` it is the mapping YAML itself). ``resolve(data,
cascade, arch, sizes, label) -> MappingSpec`` runs on the worker. Each point carries its resolver's import reference
(``"module:attribute"``), so a resolver registered in the driver is found on any worker that can import its module.
An optional ``check(data, label)`` runs in the driver on each point's data after the axes edited it and raises
SpecError if the data no longer makes a valid input (the sweep then names the axis values that broke it).

``search`` is registered as a placeholder that reports a spec error until the mapper registers the real one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from einsim.workloads.errors import ErrorList, SpecError
from einsim.workloads.yamlio import load_doc

__all__ = ["MappingResolver", "RESOLVERS", "register_mapping_resolver", "resolver_by_ref", "spec_file",
           "PRESET", "SEARCH_PLACEHOLDER"]


@dataclass(frozen=True, kw_only=True)
class MappingResolver:
    """``load`` (driver, spec time), ``check`` (driver, per point) and ``resolve`` (worker, per point); ``ref``
    names this object for workers."""

    name: str
    load: Callable
    resolve: Callable
    ref: str
    check: Callable | None = None


RESOLVERS: dict[str, MappingResolver] = {}


def register_mapping_resolver(resolver: MappingResolver) -> None:
    """Make ``resolver`` available to sweep specs by its name (replacing any earlier one of that name)."""
    RESOLVERS[resolver.name] = resolver


def resolver_by_ref(ref: str) -> MappingResolver:
    """The resolver an import reference ``"module:attribute"`` names (on a worker)."""
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def spec_file(value: str, folder: Path, presets: Path) -> Path:
    """A spec file: a preset name (``presets/<value>.yaml``), or a YAML path relative to ``folder`` or the cwd."""
    if Path(value).suffix in (".yaml", ".yml") or "/" in value:
        local = folder / value
        return local if local.exists() else Path(value)
    return presets / f"{value}.yaml"


def _load_preset(value, errors: ErrorList, path: tuple, folder: Path):
    """The mapping YAML data of a preset name or a mapping file (checked with the mapping loader)."""
    from einsim.mappings.loader import PRESET_DIR, load_mapping, preset_names

    if not isinstance(value, str) or not value:
        errors.add(path, f"must be a mapping preset name or a mapping YAML path, not {value!r}")
        return None
    file = spec_file(value, folder, PRESET_DIR)
    if not file.exists():
        errors.add(path, f"must be a mapping preset ({', '.join(preset_names())}) or a mapping YAML path, "
                         f"not {value!r}")
        return None
    try:
        load_mapping(file)
    except SpecError as exc:
        errors.extend(exc)
        return None
    return load_doc(file).data


def _resolve_preset(data, cascade, arch, sizes, label: str):
    from einsim.mappings import mapping_from_text

    return mapping_from_text(yaml.safe_dump(data, sort_keys=False), label)


def _check_preset(data, label: str) -> None:
    _resolve_preset(data, None, None, None, label)


def _load_search(value, errors: ErrorList, path: tuple, folder: Path):
    errors.add(path, "mapping: search needs the mapper (einsim map); until the mapper registers its 'search' "
                     "resolver, give a mapping preset name or a mapping YAML path")
    return None


def _resolve_search(data, cascade, arch, sizes, label: str):
    raise RuntimeError("the 'search' mapping resolver is a placeholder: register the mapper's resolver "
                       "(register_mapping_resolver) before sweeping with mapping: search")


PRESET = MappingResolver(name="preset", load=_load_preset, resolve=_resolve_preset, check=_check_preset,
                         ref="einsim.analysis.resolvers:PRESET")
SEARCH_PLACEHOLDER = MappingResolver(name="search", load=_load_search, resolve=_resolve_search,
                                     ref="einsim.analysis.resolvers:SEARCH_PLACEHOLDER")
register_mapping_resolver(PRESET)
register_mapping_resolver(SEARCH_PLACEHOLDER)

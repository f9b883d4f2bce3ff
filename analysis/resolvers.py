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

``search`` runs the mapper (:func:`einsim.sim.search.search`) on the worker, once per point: ``mapping: search`` or
``{search: {objective: edp, budget: 2000, seconds: null, seed: 0, method: auto, constraints: c.yaml, template:
binding}}``. The budget defaults to 2,000 evaluations (so a point's mapping depends on its spec and seed only); the
constraints file's text and the template's YAML data become part of the point's data (and hash). A point the mapper
finds no feasible mapping for is stored as infeasible with the mapper's reason.
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
           "PRESET", "SEARCH"]


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


SEARCH_KEYS = ("objective", "weights", "budget", "seconds", "seed", "method", "constraints", "template")


def _load_search(value, errors: ErrorList, path: tuple, folder: Path):
    """The search options as plain data (see the module docstring)."""
    from einsim.mappings.constraints import constraints_from_text
    from einsim.sim.search import METHODS
    from einsim.sim.tilesearch import OBJECTIVES
    from einsim.workloads.yamlio import check_keys

    value = {} if value is None else value
    if not check_keys(errors, path, value, optional=SEARCH_KEYS):
        return None
    data = {"objective": value.get("objective", "cycles"), "weights": value.get("weights", [1.0, 0.0]),
            "budget": value.get("budget", 2000 if value.get("seconds") is None else None),
            "seconds": value.get("seconds"), "seed": value.get("seed", 0), "method": value.get("method", "auto")}
    for key, choices in (("objective", OBJECTIVES), ("method", METHODS)):
        if data[key] not in choices:
            errors.add(path + (key,), f"must be one of {', '.join(choices)}, not {data[key]!r}")
    w = data["weights"]
    if not isinstance(w, list) or len(w) != 2 or not all(isinstance(x, int | float) for x in w):
        errors.add(path + ("weights",), f"must be [per cycle, per pJ], not {w!r}")
    for key in ("budget", "seed"):
        v = data[key]
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < (1 if key == "budget" else 0)):
            errors.add(path + (key,), f"must be an integer >= {1 if key == 'budget' else 0}, not {v!r}")
    if data["seconds"] is not None and (not isinstance(data["seconds"], int | float) or data["seconds"] <= 0):
        errors.add(path + ("seconds",), f"must be a positive number of seconds, not {data['seconds']!r}")
    if "constraints" in value:
        file = spec_file(str(value["constraints"]), folder, folder)
        try:
            text = file.read_text(encoding="utf-8")
            constraints_from_text(text, str(file))
            data["constraints"] = {"file": str(file), "text": text}
        except OSError as exc:
            errors.add(path + ("constraints",), f"cannot read constraints file {str(file)!r}: {exc.strerror}")
        except SpecError as exc:
            errors.extend(exc)
    if "template" in value:
        data["template"] = _load_preset(value["template"], errors, path + ("template",), folder)
    return data


def _resolve_search(data, cascade, arch, sizes, label: str):
    """The mapper's best mapping for one point (Infeasible if it finds none)."""
    from einsim.mappings.constraints import constraints_from_text
    from einsim.sim.errors import Infeasible
    from einsim.sim.search import search
    from einsim.sim.tilesearch import Objective

    c = data.get("constraints")
    constraints = constraints_from_text(c["text"], c["file"]) if c else None
    template = _resolve_preset(data["template"], None, None, None, f"{label} template") if data.get("template") \
        else None
    r = search(cascade, arch, sizes, constraints=constraints, template=template,
               objective=Objective(kind=data["objective"], weights=tuple(data["weights"])), method=data["method"],
               evaluations=data["budget"], seconds=data["seconds"], seed=data["seed"])
    if r.mapping is None:
        raise Infeasible(r.result.reason)
    return r.mapping


PRESET = MappingResolver(name="preset", load=_load_preset, resolve=_resolve_preset, check=_check_preset,
                         ref="einsim.analysis.resolvers:PRESET")
SEARCH = MappingResolver(name="search", load=_load_search, resolve=_resolve_search,
                         ref="einsim.analysis.resolvers:SEARCH")
register_mapping_resolver(PRESET)
register_mapping_resolver(SEARCH)

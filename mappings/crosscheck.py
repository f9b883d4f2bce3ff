"""Check a mapping against the cascade and architecture it is used with: every name it uses must exist there.

A mapping file is valid on its own once it loads; whether its Einsum, tensor, rank, unit and unit-dimension names
fit a given workload and architecture is checked here, before evaluation, so that a typo is a spec error naming
the mapping file, line and key (exit 1) rather than an infeasible point (exit 2) or a silently different design.
"""

from __future__ import annotations

from pathlib import Path

from einsim.arch.spec import ArchSpec
from einsim.workloads import Cascade
from einsim.workloads.errors import ErrorList, SpecError
from einsim.workloads.yamlio import load_doc, suggest

from .spec import MappingSpec

__all__ = ["check_mapping_against"]


def _lines(mapping: MappingSpec):
    """Line lookup for the mapping's source file, or None when it came from code or cannot be read again."""
    try:
        if Path(mapping.source).is_file():
            return load_doc(mapping.source).line
    except (SpecError, OSError):
        pass
    return None


def _norm(name: str) -> str:
    return str(name).lower().replace("_", "-")


def check_mapping_against(cascade: Cascade, arch: ArchSpec, mapping: MappingSpec) -> None:
    """Raise SpecError (every issue, ``file:line key.path: message``) when ``mapping`` names an Einsum, tensor, rank,
    unit or unit dimension that ``cascade`` or ``arch`` lacks, or was written for another cascade."""
    e = ErrorList(mapping.source, _lines(mapping))
    einsums = [x.name for x in cascade.einsums]
    units = {u.name: u for u in arch.units}
    ranks = list(cascade.all_ranks)
    tensors = list(cascade.all_tensor_ranks)

    def known(path, value, choices, what):
        if value not in choices:
            e.add(path, f"unknown {what} {value!r}{suggest(value, choices)}; {what}s of {_owner(what)}: "
                        f"{', '.join(map(str, choices))}")
            return False
        return True

    def _owner(what):
        return f"architecture {arch.name!r}" if what.startswith("unit") else f"cascade {cascade.name!r}"

    names = (_norm(cascade.name), _norm(Path(cascade.file).stem))
    if mapping.cascade is not None and _norm(mapping.cascade) not in names:
        e.add(("cascade",), f"this mapping is written for cascade {mapping.cascade!r}, not {cascade.name!r} (the "
                            f"workload given); use a mapping for {cascade.name!r} or change 'cascade'")
    for key, unit in mapping.binding.items():
        if key != "default":
            known(("binding", key), key, einsums, "Einsum")
        known(("binding", key), unit, list(units), "unit")
    unbound = [n for n in einsums if mapping.unit_of(n) is None]
    if unbound:
        e.add(("binding",), f"Einsums {', '.join(unbound)} are bound to no unit; bind them or add 'default: UNIT'")
    for k in mapping.partitions:
        known(("partitions", k), k, ranks, "rank")
    seen: dict[str, int] = {}
    for gi, g in enumerate(mapping.groups):
        path = ("groups", gi)
        for i, n in enumerate(g.einsums or ()):
            if known(path + ("einsums", i), n, einsums, "Einsum") and n in seen:
                e.add(path + ("einsums", i), f"Einsum {n!r} is already in group {seen[n]}; an Einsum is in one group")
            seen.setdefault(n, gi)
        for li, lp in enumerate(g.loops):
            known(path + ("loops", li), lp.rank, ranks, "rank")
        for key, dims in g.spatial.items():
            if key in units:
                unit = units[key]
            elif known(path + ("spatial", key), key, list(units) + einsums, "unit or Einsum"):
                unit = units.get(mapping.unit_of(key))
            else:
                continue
            for dim, rank in dims.items():
                if unit is not None and dim not in unit.dims:
                    e.add(path + ("spatial", key, dim), f"unit {unit.name!r} has dimensions "
                                                        f"{', '.join(unit.dims)}, not {dim!r}{suggest(dim, unit.dims)}")
                known(path + ("spatial", key, dim), rank, ranks, "rank")
        for field in ("on_chip", "in_pe", "stream"):
            for i, t in enumerate(getattr(g, field) or ()):
                known(path + (field, i), t, einsums if field != "stream" else tensors,
                      "Einsum result" if field != "stream" else "tensor")
        for t in g.hold:
            known(path + ("hold", t), t, tensors, "tensor")
    e.raise_if_any()

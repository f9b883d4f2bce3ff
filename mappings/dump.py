"""Write a :class:`einsim.mappings.spec.MappingSpec` as mapping YAML that :func:`einsim.mappings.load_mapping` reads
back to an equal spec (``einsim map`` prints its result this way)."""

from __future__ import annotations

import yaml

from .spec import Group, MappingSpec

__all__ = ["mapping_to_yaml"]


def _scalar(v) -> str:
    return yaml.safe_dump(v, default_flow_style=True, width=10_000).strip().removesuffix("\n...").strip()


def _flow(v) -> str:
    """A value in YAML flow style on one line."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_flow(x) for x in v) + "]"
    return _scalar(v)


def _group(g: Group) -> list[str]:
    loops = [[lp.rank, lp.tile if lp.tile is not None else {"best_of": list(lp.candidates)}] for lp in g.loops]
    out = [f"  - einsums: {'all' if g.einsums is None else _flow(list(g.einsums))}",
           f"    loops: {_flow(loops)}"]
    if g.spatial:
        out.append("    spatial:")
        out += [f"      {k}: {_flow(dict(v))}" for k, v in g.spatial.items()]
    out.append(f"    on_chip: {'all' if g.on_chip is None else _flow(list(g.on_chip))}")
    for key in ("in_pe", "stream", "bypass"):
        if getattr(g, key):
            out.append(f"    {key}: {_flow(list(getattr(g, key)))}")
    for key in ("hold", "levels", "run_at"):
        if getattr(g, key):
            out.append(f"    {key}: {_flow(dict(getattr(g, key)))}")
    if g.instances != 1:
        out.append(f"    instances: {'all' if g.instances is None else g.instances}")
    if g.spill:
        out.append("    spill: true")
    if g.window is not None:
        out.append(f"    window: {g.window}")
    out.append(f"    pipeline: {g.pipeline}")
    return out


def mapping_to_yaml(m: MappingSpec, comment: str = "") -> str:
    """Mapping YAML text of ``m``, with ``comment`` lines (``# ...``) on top."""
    lines = [f"# {c}" if c else "#" for c in comment.splitlines()]
    lines.append(f"name: {_scalar(m.name)}")
    if m.description:
        lines.append(f"description: {_scalar(m.description)}")
    if m.cascade:
        lines.append(f"cascade: {_scalar(m.cascade)}")
    if m.partitions:
        lines.append(f"partitions: {_flow(dict(m.partitions))}")
    lines.append(f"binding: {_flow(dict(m.binding))}")
    lines.append("groups:")
    for g in m.groups:
        lines += _group(g)
    return "\n".join(lines) + "\n"

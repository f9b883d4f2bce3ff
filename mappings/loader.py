"""Load a mapping YAML (a preset name or a path) into a :class:`mappings.spec.MappingSpec`, reporting all errors."""

from __future__ import annotations

from pathlib import Path

from einsim.arch._check import choice, pos_int, string
from einsim.workloads.errors import SpecError, SpecIssue
from einsim.workloads.yamlio import Doc, check_keys, doc_from_text, load_doc

from .spec import PIPELINES, Group, Loop, MappingSpec

__all__ = ["load_mapping", "mapping_from_text", "preset_names", "PRESET_DIR"]

PRESET_DIR = Path(__file__).parent / "presets"


def preset_names() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in PRESET_DIR.glob("*.yaml")))


def load_mapping(name_or_path) -> MappingSpec:
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml") and "/" not in str(name_or_path):
        path = PRESET_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            raise SpecError([SpecIssue(str(name_or_path), None, "<name>",
                                       f"mapping must be a preset name or a YAML path, not {name_or_path!r}; "
                                       f"presets: {', '.join(preset_names())}")])
    return _build(load_doc(path))


def mapping_from_text(text: str, file: str = "<string>") -> MappingSpec:
    return _build(doc_from_text(text, file))


def _names(e, path, value, what):
    if value == "all":
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        e.add(path, f"must be 'all' or a list of {what} names, not {value!r}")
        return ()
    return tuple(value)


def _build(doc: Doc) -> MappingSpec:
    e = doc.errors()
    d = doc.data
    if not check_keys(e, (), d, required=("name", "binding", "groups"),
                      optional=("description", "cascade", "partitions")):
        e.raise_if_any()
    name = string(e, ("name",), d["name"])
    parts = {}
    for k, v in (d.get("partitions") or {}).items():
        parts[k] = pos_int(e, ("partitions", k), v)
    binding = d["binding"]
    if not isinstance(binding, dict) or not binding:
        e.add(("binding",), f"must map Einsum name (or 'default') -> unit name, not {binding!r}")
        binding = {}
    for k, v in binding.items():
        string(e, ("binding", k), v)
    groups = []
    if not isinstance(d["groups"], list) or not d["groups"]:
        e.add(("groups",), f"must be a list of fusion groups, not {d['groups']!r}")
    else:
        for gi, g in enumerate(d["groups"]):
            groups.append(_group(e, ("groups", gi), g))
        if sum(1 for g in groups if g is not None and g.einsums is None) > 1:
            e.add(("groups",), "at most one group may take 'einsums: all' (the Einsums no other group lists)")
    e.raise_if_any()
    return MappingSpec(name=name, description=str(d.get("description", "")), cascade=d.get("cascade"),
                       partitions=parts, binding=binding, groups=tuple(groups), source=doc.file)


def _group(e, path, g):
    if not check_keys(e, path, g, required=("einsums", "loops"),
                      optional=("spatial", "on_chip", "in_pe", "stream", "hold", "levels", "instances", "spill",
                                "pipeline")):
        return None
    einsums = _names(e, path + ("einsums",), g["einsums"], "Einsum")
    loops = []
    if not isinstance(g["loops"], list):
        e.add(path + ("loops",), f"must be a list of [rank, tile] pairs (outermost first), not {g['loops']!r}")
    else:
        for li, lp in enumerate(g["loops"]):
            lpath = path + ("loops", li)
            if not isinstance(lp, list) or len(lp) != 2 or not isinstance(lp[0], str):
                e.add(lpath, f"must be a [rank, tile] pair like [P, 256], not {lp!r}")
                continue
            rank, tile = lp
            if isinstance(tile, dict):
                if check_keys(e, lpath + (1,), tile, required=("best_of",)):
                    cands = tile["best_of"]
                    if not isinstance(cands, list) or not cands:
                        e.add(lpath + (1, "best_of"), f"must be a non-empty list of tile sizes, not {cands!r}")
                    else:
                        ok = [pos_int(e, lpath + (1, "best_of", i), c) for i, c in enumerate(cands)]
                        if None not in ok:
                            loops.append(Loop(rank=rank, tile=None, candidates=tuple(sorted(set(ok), reverse=True))))
            else:
                t = pos_int(e, lpath + (1,), tile, " (or {best_of: [...]} to let the mapper pick)")
                if t is not None:
                    loops.append(Loop(rank=rank, tile=t))
    spatial = {}
    sp = g.get("spatial") or {}
    if not isinstance(sp, dict):
        e.add(path + ("spatial",), f"must map unit or Einsum name -> {{dimension: rank}}, not {sp!r}")
    else:
        for k, v in sp.items():
            if not isinstance(v, dict) or not all(isinstance(x, str) for x in v.values()):
                e.add(path + ("spatial", k), f"must map a unit dimension (rows, cols, pes, lanes) -> rank, not {v!r}")
                continue
            for dim in v:
                choice(e, path + ("spatial", k, dim), dim, ("rows", "cols", "pes", "lanes"))
            spatial[str(k)] = dict(v)
    on_chip = _names(e, path + ("on_chip",), g.get("on_chip", "all"), "tensor")
    in_pe = _names(e, path + ("in_pe",), g.get("in_pe", []), "tensor") or ()
    stream = _names(e, path + ("stream",), g.get("stream", []), "tensor") or ()
    hold = {}
    hv = g.get("hold") or {}
    if not isinstance(hv, dict):
        e.add(path + ("hold",), f"must map a DRAM input -> loop depth to hold it at (0 = outside all loops), "
                                f"not {hv!r}")
    else:
        for k, v in hv.items():
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                e.add(path + ("hold", k), f"must be a loop depth >= 0 (the number of loops outside the hold), "
                                          f"not {v!r}")
            else:
                hold[str(k)] = v
    levels = g.get("levels") or {}
    if not isinstance(levels, dict) or not all(isinstance(v, str) for v in levels.values()):
        e.add(path + ("levels",), f"must map a tensor -> the on-chip memory level its tiles live in, not {levels!r}")
        levels = {}
    inst = g.get("instances", 1)
    if inst != "all":
        inst = pos_int(e, path + ("instances",), inst, " or 'all' (unit instances the outermost loop spreads over)")
    spill = g.get("spill", False)
    if not isinstance(spill, bool):
        e.add(path + ("spill",), f"must be true or false, not {spill!r}")
    pipe = choice(e, path + ("pipeline",), g.get("pipeline", "in_order"), PIPELINES)
    return Group(einsums=einsums, loops=tuple(loops), spatial=spatial, on_chip=on_chip, in_pe=in_pe, stream=stream,
                 hold=hold, levels={str(k): v for k, v in levels.items()},
                 instances=None if inst == "all" else (inst or 1), spill=bool(spill), pipeline=pipe or "in_order")

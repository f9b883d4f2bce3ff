"""Load an architecture YAML (a preset name or a path), validate it, and build an :class:`arch.spec.ArchSpec`.

Every problem of a file is reported at once as ``file:line key.path: message``.
"""

from __future__ import annotations

from pathlib import Path

from einsim.workloads.errors import SpecError, SpecIssue
from einsim.workloads.yamlio import Doc, check_keys, doc_from_text, load_doc

from ._check import choice, nonneg_num, pos_int, pos_num, string
from .spec import MEMORY_KINDS, UNIT_DIMS, UNIT_KINDS, ArchSpec, MemoryLevel, UnitSpec

__all__ = ["load_arch", "arch_from_text", "preset_names", "PRESET_DIR"]

PRESET_DIR = Path(__file__).parent / "presets"
ARCH_KINDS = ("spatial_array",)


def preset_names() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in PRESET_DIR.glob("*.yaml")))


def load_arch(name_or_path) -> ArchSpec:
    """An ArchSpec from a preset name (``fusemax``) or a YAML path; SpecError on a malformed file."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml") and "/" not in str(name_or_path):
        path = PRESET_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            raise SpecError([SpecIssue(str(name_or_path), None, "<name>",
                                       f"architecture must be a preset name or a YAML path, not {name_or_path!r}; "
                                       f"presets: {', '.join(preset_names())}")])
    return _build(load_doc(path))


def arch_from_text(text: str, file: str = "<string>") -> ArchSpec:
    return _build(doc_from_text(text, file))


def _build(doc: Doc) -> ArchSpec:
    e = doc.errors()
    d = doc.data
    if not check_keys(e, (), d, required=("name", "kind", "clock_hz", "word_bytes", "units", "memory")):
        e.raise_if_any()
    name = string(e, ("name",), d["name"])
    kind = choice(e, ("kind",), d["kind"], ARCH_KINDS)
    clock = pos_num(e, ("clock_hz",), d["clock_hz"])
    word = pos_int(e, ("word_bytes",), d["word_bytes"])
    units = []
    if not isinstance(d["units"], dict) or not d["units"]:
        e.add(("units",), f"must be a mapping of unit name -> unit, not {d['units']!r}")
    else:
        for uname, u in d["units"].items():
            units.append(_unit(e, ("units", uname), str(uname), u))
    memory = []
    if not isinstance(d["memory"], list) or not d["memory"]:
        e.add(("memory",), f"must be a list of memory levels (outermost first), not {d['memory']!r}")
    else:
        for i, m in enumerate(d["memory"]):
            memory.append(_level(e, ("memory", i), m))
        kinds = [m.kind for m in memory if m is not None]
        if kinds.count("dram") != 1:
            e.add(("memory",), f"must have exactly one level of kind 'dram', not {kinds.count('dram')}")
        if "buffer" not in kinds:
            e.add(("memory",), "must have at least one level of kind 'buffer' (the global buffer)")
        names = [m.name for m in memory if m is not None]
        for n in set(names):
            if names.count(n) > 1:
                e.add(("memory",), f"level names must be unique, not {n!r} twice")
    e.raise_if_any()
    return ArchSpec(name=name, kind=kind, clock_hz=float(clock), word_bytes=word, units=tuple(units),
                    memory=tuple(memory), source=doc.file)


def _unit(e, path, name, u):
    check_keys(e, path, u, required=("kind", "pipelines"),
               optional=("rows", "cols", "pes", "composite_ops", "energy_pj", "area_um2",
                         "rf_reads_per_op", "rf_writes_per_op", "spatial_reduction"))
    if not isinstance(u, dict) or "kind" not in u or "pipelines" not in u:
        return None
    kind = choice(e, path + ("kind",), u["kind"], UNIT_KINDS)
    dims = {}
    if kind is not None:
        for dim in UNIT_DIMS[kind]:
            if dim not in u:
                e.add(path, f"a {kind} unit needs key {dim!r}")
            else:
                dims[dim] = pos_int(e, path + (dim,), u[dim])
        for dim in ("rows", "cols", "pes"):
            if dim in u and dim not in UNIT_DIMS[kind]:
                e.add(path + (dim,), f"a {kind} unit has dimensions {', '.join(UNIT_DIMS[kind])}, not {dim!r}")
    pipelines = {}
    native = set()
    if not isinstance(u["pipelines"], dict) or not u["pipelines"]:
        e.add(path + ("pipelines",), f"must map pipeline name -> {{op: cycles}}, not {u['pipelines']!r}")
    else:
        for pname, ops in u["pipelines"].items():
            pp = path + ("pipelines", pname)
            if not isinstance(ops, dict) or not ops:
                e.add(pp, f"must map op kind -> cycles per op, not {ops!r}")
                continue
            pipelines[str(pname)] = {}
            for op, cyc in ops.items():
                if op in native:
                    e.add(pp + (op,), f"op {op!r} is already on another pipeline; an op must have one pipeline")
                native.add(op)
                pipelines[str(pname)][op] = pos_int(e, pp + (op,), cyc)
    composite = {}
    for op, parts in (u.get("composite_ops") or {}).items():
        cp = path + ("composite_ops", op)
        if op in native:
            e.add(cp, f"op {op!r} is native on this unit; it cannot also be composite")
        if not isinstance(parts, dict) or not parts:
            e.add(cp, f"must map native op -> count, not {parts!r}")
            continue
        for sub, n in parts.items():
            if sub not in native:
                e.add(cp + (sub,), f"must be a native op of this unit ({', '.join(sorted(native))}), not {sub!r}")
            pos_int(e, cp + (sub,), n)
        composite[op] = dict(parts)
    energy = {}
    for k, v in (u.get("energy_pj") or {}).items():
        if k not in native and k not in ("rf_read", "rf_write"):
            e.add(path + ("energy_pj", k), f"must be a native op of this unit or rf_read/rf_write, not {k!r}")
        energy[k] = nonneg_num(e, path + ("energy_pj", k), v)
    area = {str(k): nonneg_num(e, path + ("area_um2", k), v) for k, v in (u.get("area_um2") or {}).items()}
    red = choice(e, path + ("spatial_reduction",), u.get("spatial_reduction", "chain"), ("chain", "tree"))
    rfr = u.get("rf_reads_per_op", 2)
    rfw = u.get("rf_writes_per_op", 1)
    if isinstance(rfr, bool) or not isinstance(rfr, int) or rfr < 0:
        e.add(path + ("rf_reads_per_op",), f"must be an integer >= 0, not {rfr!r}")
    if isinstance(rfw, bool) or not isinstance(rfw, int) or rfw < 0:
        e.add(path + ("rf_writes_per_op",), f"must be an integer >= 0, not {rfw!r}")
    if kind is None or None in dims.values():
        return None
    return UnitSpec(name=name, kind=kind, dims=dims, pipelines=pipelines, composite_ops=composite,
                    energy_pj=energy, area_um2=area, rf_reads_per_op=rfr, rf_writes_per_op=rfw,
                    spatial_reduction=red or "chain")


def _level(e, path, m):
    check_keys(e, path, m, required=("name", "kind", "access_bits", "energy_pj"),
               optional=("capacity_bytes", "bandwidth_bytes_per_s", "banks", "area_um2_per_kib"))
    if not isinstance(m, dict) or any(k not in m for k in ("name", "kind", "access_bits", "energy_pj")):
        return None
    name = string(e, path + ("name",), m["name"])
    kind = choice(e, path + ("kind",), m["kind"], MEMORY_KINDS)
    bits = pos_int(e, path + ("access_bits",), m["access_bits"])
    en = m["energy_pj"]
    energy = {}
    if check_keys(e, path + ("energy_pj",), en, required=("read", "write")):
        energy = {k: nonneg_num(e, path + ("energy_pj", k), v) for k, v in en.items()}
    cap = bw = None
    if kind == "dram":
        if "bandwidth_bytes_per_s" not in m:
            e.add(path, "a dram level needs key 'bandwidth_bytes_per_s'")
        else:
            bw = pos_num(e, path + ("bandwidth_bytes_per_s",), m["bandwidth_bytes_per_s"])
        if "capacity_bytes" in m:
            e.add(path + ("capacity_bytes",), "a dram level is unbounded here; remove 'capacity_bytes'")
    elif kind == "buffer":
        if "capacity_bytes" not in m:
            e.add(path, "a buffer level needs key 'capacity_bytes'")
        else:
            cap = pos_int(e, path + ("capacity_bytes",), m["capacity_bytes"], " (e.g. 16777216 for 16 MiB)")
        if "bandwidth_bytes_per_s" in m:
            e.add(path + ("bandwidth_bytes_per_s",), "a buffer's bandwidth is banks x access_bits per cycle; "
                                                    "set 'banks' instead")
    banks = pos_int(e, path + ("banks",), m.get("banks", 1))
    area = nonneg_num(e, path + ("area_um2_per_kib",), m.get("area_um2_per_kib", 0.0))
    if None in (name, kind, bits, banks, area) or None in energy.values() or not energy:
        return None
    return MemoryLevel(name=name, kind=kind, access_bits=bits, energy_pj=energy, capacity_bytes=cap,
                       bandwidth_bytes_per_s=float(bw) if bw else None, banks=banks, area_um2_per_kib=float(area))

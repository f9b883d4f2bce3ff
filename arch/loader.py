"""Load an architecture YAML (a preset name or a path), validate it, and build an :class:`arch.spec.ArchSpec`.

Every problem of a file is reported at once as ``file:line key.path: message``.
"""

from __future__ import annotations

from pathlib import Path

from einsim.workloads.errors import SpecError, SpecIssue
from einsim.workloads.yamlio import Doc, check_keys, doc_from_text, load_doc, suggest

from ._check import choice, nonneg_int, nonneg_num, pos_int, pos_num, string
from .spec import ARCH_KINDS, MEMORY_KINDS, UNIT_DIMS, UNIT_KINDS, ArchSpec, MemoryLevel, UnitSpec
from .systolic import parse_systolic

__all__ = ["load_arch", "arch_from_text", "preset_names", "PRESET_DIR"]

PRESET_DIR = Path(__file__).parent / "presets"


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
    if not check_keys(e, (), d, required=("name", "kind", "clock_hz", "word_bytes", "units", "memory"),
                      optional=("description",)):
        e.raise_if_any()
    name = string(e, ("name",), d["name"])
    kind = choice(e, ("kind",), d["kind"], ARCH_KINDS)
    clock = pos_num(e, ("clock_hz",), d["clock_hz"])
    word = pos_int(e, ("word_bytes",), d["word_bytes"])
    units = []
    if not isinstance(d["units"], dict) or not d["units"]:
        e.add(("units",), f"must be a mapping of unit name -> unit, not {d['units']!r}")
    else:
        units = [_unit(e, ("units", uname), str(uname), u) for uname, u in d["units"].items()]
    memory = []
    if not isinstance(d["memory"], list) or not d["memory"]:
        e.add(("memory",), f"must be a list of memory levels (outermost first), not {d['memory']!r}")
    else:
        memory = [_level(e, ("memory", i), m) for i, m in enumerate(d["memory"])]
        _check_hierarchy(e, [u for u in units if u is not None], [m for m in memory if m is not None])
    e.raise_if_any()
    return ArchSpec(name=name, kind=kind, clock_hz=float(clock), word_bytes=word, units=tuple(units),
                    memory=tuple(memory), source=doc.file)


def _check_hierarchy(e, units, memory):
    """One DRAM level, outermost; unique names; every unit served by an on-chip level; private levels well formed."""
    kinds = [m.kind for m in memory]
    if kinds.count("dram") != 1:
        e.add(("memory",), f"must have exactly one level of kind 'dram', not {kinds.count('dram')}")
    elif kinds[0] != "dram":
        e.add(("memory",), "must list the dram level first (levels are outermost first)")
    names = [m.name for m in memory]
    for n in sorted(set(names)):
        if names.count(n) > 1:
            e.add(("memory",), f"level names must be unique, not {n!r} twice")
    unit_names = {u.name for u in units}
    for i, m in enumerate(memory):
        for u in m.serves:
            if u not in unit_names:
                e.add(("memory", i, "serves"), f"must name units of this architecture "
                                               f"({', '.join(sorted(unit_names))}), not {u!r}{suggest(u, unit_names)}")
        if m.private:
            counts = {u.instances for u in units if m.serves_unit(u.name)}
            if len(counts) > 1:
                e.add(("memory", i, "private"), f"a private level must serve units with one instance count, not "
                                                f"{sorted(counts)}; list the units it serves with 'serves'")
    for u in units:
        if not any(m.on_chip and m.serves_unit(u.name) for m in memory):
            e.add(("units", u.name), "no on-chip memory level serves this unit; add one or name it in 'serves'")


_UNIT_KEYS = ("rows", "cols", "pes", "lanes", "banks", "instances", "pipelines", "composite_ops", "op_latency",
              "energy_pj", "area_um2", "rf_reads_per_op", "rf_writes_per_op", "spatial_reduction", "dataflow",
              "microarchitecture", "device", "row_buffers")


def _unit(e, path, name, u):
    check_keys(e, path, u, required=("kind",), optional=_UNIT_KEYS)
    if not isinstance(u, dict) or "kind" not in u:
        return None
    kind = choice(e, path + ("kind",), u["kind"], UNIT_KINDS)
    if kind is None:
        return None
    pim = _pim(e, path, kind, u)
    if pim is None:
        return None
    u = {**pim.pop("defaults"), **u}
    dims = {}
    for dim in UNIT_DIMS[kind]:
        if dim not in u:
            e.add(path, f"a {kind} unit needs key {dim!r}")
        else:
            dims[dim] = pos_int(e, path + (dim,), u[dim])
    for dim in ("rows", "cols", "pes", "lanes", "banks"):
        if dim in u and dim not in UNIT_DIMS[kind]:
            e.add(path + (dim,), f"a {kind} unit has dimensions {', '.join(UNIT_DIMS[kind])}, not {dim!r}")
    systolic = _systolic(e, path, kind, u)
    default_pipes = {"alu": {"mac": 1}} if kind in ("systolic_array", "pim") else None
    pipelines = _pipelines(e, path + ("pipelines",), u.get("pipelines", default_pipes))
    native = {op for ops in pipelines.values() for op in ops}
    composite = _composite(e, path + ("composite_ops",), u.get("composite_ops") or {}, native)
    latency = {}
    for op, cyc in _mapping(e, path + ("op_latency",), u.get("op_latency"), "op -> pipeline depth in cycles").items():
        if op not in native:
            e.add(path + ("op_latency", op), f"must be a native op of this unit ({', '.join(sorted(native))}), "
                                             f"not {op!r}")
        latency[op] = nonneg_int(e, path + ("op_latency", op), cyc)
    energy = {}
    for k, v in _mapping(e, path + ("energy_pj",), u.get("energy_pj"), "action -> pJ").items():
        if k not in native and k not in ("rf_read", "rf_write"):
            e.add(path + ("energy_pj", k), f"must be a native op of this unit or rf_read/rf_write, not {k!r}")
        energy[k] = _figure(e, path + ("energy_pj", k), v, "energy_pj")
    area = {str(k): _figure(e, path + ("area_um2", k), v, "area_um2")
            for k, v in _mapping(e, path + ("area_um2",), u.get("area_um2"), "component -> um^2 per PE").items()}
    red = choice(e, path + ("spatial_reduction",), u.get("spatial_reduction", "chain"), ("chain", "tree"))
    rfr = nonneg_int(e, path + ("rf_reads_per_op",), u.get("rf_reads_per_op", 2))
    rfw = nonneg_int(e, path + ("rf_writes_per_op",), u.get("rf_writes_per_op", 1))
    inst = pos_int(e, path + ("instances",), u.get("instances", 1))
    if None in dims.values() or None in (red, rfr, rfw, inst, systolic) or len(dims) != len(UNIT_DIMS[kind]):
        return None
    return UnitSpec(name=name, kind=kind, dims=dims, pipelines=pipelines, instances=inst, composite_ops=composite,
                    op_latency=latency, energy_pj=energy, area_um2=area, rf_reads_per_op=rfr, rf_writes_per_op=rfw,
                    spatial_reduction=red, systolic=systolic, **pim)


def _figure(e, path, value, field):
    """A number, or ``{component: mac, width_bits: 8}``: the figure of a logic block of the component model
    (:mod:`einsim.arch.components`) per action (``energy_pj``) or per block (``area_um2``)."""
    if not isinstance(value, dict):
        return nonneg_num(e, path, value)
    from . import components

    models = {"adder": components.adder, "multiplier": components.multiplier, "mac": components.mac,
              "comparator": components.comparator, "counter": components.counter, "register": components.register}
    if not check_keys(e, path, value, required=("component",), optional=("width_bits", "accumulator_bits",
                                                                         "technology_nm")):
        return None
    name = choice(e, path + ("component",), value["component"], tuple(models))
    if name is None:
        return None
    args = {k: v for k, v in value.items() if k != "component"}
    try:
        figures = models[name](**args)
    except (TypeError, ValueError) as exc:
        e.add(path, f"bad {name} parameters: {exc}")
        return None
    except components.ComponentError as exc:
        e.add(path, str(exc))
        return None
    return figures.energy_pj if field == "energy_pj" else figures.area_um2


def _mapping(e, path, value, what) -> dict:
    """``value`` if it is a mapping (None: empty); else record an issue and return {}."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        e.add(path, f"must be a mapping of {what}, not {value!r}")
        return {}
    return value


def _pim(e, path, kind, u):
    """A pim unit's device and row buffers, and the defaults its device gives (banks, lanes, instances: its
    channels); {} plus empty defaults for other kinds; None if the device cannot be loaded."""
    if kind != "pim":
        for key in ("device", "row_buffers"):
            if key in u:
                e.add(path + (key,), f"only a pim unit has {key!r}, not a {kind}")
        return {"defaults": {}}
    from .dram import load_dram

    if "device" not in u:
        e.add(path, "a pim unit needs key 'device' (a DRAM preset such as hbm2-pim, or a path)")
        return None
    try:
        dev = load_dram(u["device"])
    except SpecError as exc:
        e.add(path + ("device",), f"cannot load DRAM device {u['device']!r}: {exc.issues[0].message}")
        return None
    if not dev.mac_lanes:
        e.add(path + ("device",), f"device {u['device']!r} has no PIM MAC lanes; use a PIM device such as hbm2-pim")
        return None
    rb = u.get("row_buffers", dev.row_buffers)
    if rb not in (1, 2):
        e.add(path + ("row_buffers",), f"must be 1 (DRAM and PIM share each bank's row buffer) or 2 (dual row "
                                       f"buffers), not {rb!r}")
        return None
    return {"device": str(u["device"]), "row_buffers": rb,
            "defaults": {"banks": dev.banks_per_channel, "lanes": dev.mac_lanes, "instances": dev.units}}


def _systolic(e, path, kind, u):
    """The resolved microarchitecture parameters of a systolic_array unit (dataflow and the keys of
    :data:`einsim.arch.systolic.MICRO_KEYS`, a ``preset`` expanded; validated by arch.systolic); {} for other kinds."""
    if kind != "systolic_array":
        for key in ("dataflow", "microarchitecture"):
            if key in u:
                e.add(path + (key,), f"only a systolic_array unit has {key!r}, not a {kind}")
        return {}
    params = dict(_mapping(e, path + ("microarchitecture",), u.get("microarchitecture"), "parameter -> value"))
    params["dataflow"] = u.get("dataflow", "ws")
    before = len(e.issues)
    spec = parse_systolic(e, path + ("microarchitecture",), {"rows": u.get("rows", 1), "cols": u.get("cols", 1),
                                                              **params})
    if spec is None:
        return None if len(e.issues) > before else {}
    return {"dataflow": spec.dataflow, **spec.micro()}


def _pipelines(e, path, value) -> dict:
    if not isinstance(value, dict) or not value:
        e.add(path, f"must map pipeline name -> {{op: cycles}}, not {value!r}")
        return {}
    pipelines, native = {}, set()
    for pname, ops in value.items():
        pp = path + (pname,)
        if not isinstance(ops, dict) or not ops:
            e.add(pp, f"must map op kind -> cycles per op, not {ops!r}")
            continue
        pipelines[str(pname)] = {}
        for op, cyc in ops.items():
            if not isinstance(op, str) or not op:
                e.add(pp, f"op names must be non-empty strings, not {op!r}")
                continue
            if op in native:
                e.add(pp + (op,), f"op {op!r} is already on another pipeline; an op must have one pipeline")
            native.add(op)
            pipelines[str(pname)][op] = pos_int(e, pp + (op,), cyc)
    return pipelines


def _composite(e, path, value, native) -> dict:
    composite = {}
    for op, parts in _mapping(e, path, value, "op -> {native op: count}").items():
        cp = path + (op,)
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
    return composite


_LEVEL_KEYS = ("energy_pj", "capacity_bytes", "bandwidth_bytes_per_s", "channels", "banks", "read_ports",
               "write_ports", "rw_ports", "serves", "private", "area_um2", "technology_nm")


def _level(e, path, m):
    check_keys(e, path, m, required=("name", "kind", "access_bits"), optional=_LEVEL_KEYS)
    if not isinstance(m, dict) or any(k not in m for k in ("name", "kind", "access_bits")):
        return None
    name = string(e, path + ("name",), m["name"])
    kind = choice(e, path + ("kind",), m["kind"], MEMORY_KINDS)
    bits = pos_int(e, path + ("access_bits",), m["access_bits"])
    energy = None
    if "energy_pj" in m:
        if check_keys(e, path + ("energy_pj",), m["energy_pj"], required=("read", "write")):
            energy = {k: nonneg_num(e, path + ("energy_pj", k), v) for k, v in m["energy_pj"].items()}
    elif kind == "dram":
        e.add(path, "a dram level needs key 'energy_pj' ({read: pJ, write: pJ} per access of access_bits)")
    cap = bw = None
    if kind == "dram":
        bw = _dram_fields(e, path, m)
    elif kind == "buffer":
        cap = _buffer_fields(e, path, m, bits)
    serves = m.get("serves", [])
    if not isinstance(serves, list) or not all(isinstance(x, str) for x in serves):
        e.add(path + ("serves",), f"must be a list of unit names, not {serves!r}")
        serves = []
    private = m.get("private", False)
    if not isinstance(private, bool):
        e.add(path + ("private",), f"must be true or false, not {private!r}")
    counts = {k: (pos_int if k in ("banks", "channels") else nonneg_int)(e, path + (k,), m.get(k, d))
              for k, d in (("banks", 1), ("channels", 1), ("read_ports", 0), ("write_ports", 0), ("rw_ports", 1))}
    if kind == "buffer" and None not in counts.values() and counts["rw_ports"] + counts["read_ports"] == 0:
        e.add(path, "a buffer needs a port to read through: set rw_ports or read_ports to at least 1")
    area = nonneg_num(e, path + ("area_um2",), m["area_um2"]) if "area_um2" in m else None
    tech = pos_num(e, path + ("technology_nm",), m.get("technology_nm", 45))
    if None in (name, kind, bits, tech) or None in counts.values() or (energy and None in energy.values()):
        return None
    return MemoryLevel(name=name, kind=kind, access_bits=bits, energy_pj=energy, capacity_bytes=cap,
                       bandwidth_bytes_per_s=float(bw) if bw else None, serves=tuple(serves), private=bool(private),
                       area_um2=area, technology_nm=float(tech), **counts)


def _dram_fields(e, path, m):
    for key in ("capacity_bytes", "serves", "private"):
        if key in m:
            e.add(path + (key,), f"a dram level is off chip and unbounded here; remove {key!r}")
    if "bandwidth_bytes_per_s" not in m:
        e.add(path, "a dram level needs key 'bandwidth_bytes_per_s'")
        return None
    return pos_num(e, path + ("bandwidth_bytes_per_s",), m["bandwidth_bytes_per_s"])


def _buffer_fields(e, path, m, bits):
    if "bandwidth_bytes_per_s" in m:
        e.add(path + ("bandwidth_bytes_per_s",), "a buffer's bandwidth is banks x access_bits per cycle; "
                                                "set 'banks' instead")
    if "channels" in m:
        e.add(path + ("channels",), "only a dram level has channels; an on-chip buffer has 'banks'")
    if "capacity_bytes" not in m:
        e.add(path, "a buffer level needs key 'capacity_bytes'")
        return None
    cap = pos_int(e, path + ("capacity_bytes",), m["capacity_bytes"], " (e.g. 16777216 for 16 MiB)")
    if cap is not None and bits is not None and (cap * 8) % bits:
        e.add(path + ("capacity_bytes",), f"must hold a whole number of {bits}-bit rows (access_bits), not {cap}")
    return cap

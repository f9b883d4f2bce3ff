"""Load an architecture YAML (a preset name or a path), validate it, and build an :class:`arch.spec.ArchSpec`.

Every problem of a file is reported at once as ``file:line key.path: message``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, PlainValidator

from einsim.workloads.errors import SpecError, SpecIssue
from einsim.workloads.schema import (
    Name,
    NonEmptyList,
    NonNegInt,
    NonNegNum,
    PosInt,
    PosNum,
    SpecModel,
    positive_int,
    shaped,
    spec_fail,
    validate,
)
from einsim.workloads.yamlio import Doc, doc_from_text, load_doc, suggest

from .spec import ARCH_KINDS, MEMORY_KINDS, UNIT_DIMS, UNIT_KINDS, ArchSpec, MemoryLevel, UnitSpec
from .systolic import DATAFLOWS, parse_systolic
from .systolic_schema import SystolicMicro

__all__ = ["load_arch", "arch_from_text", "preset_names", "PRESET_DIR", "ArchFile", "UnitFile", "LevelFile"]

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


# ----- the file's schema ---------------------------------------------------------------------------------------
REDUCTION_KINDS = ("chain", "tree", "none")
COMPONENTS = ("adder", "multiplier", "mac", "comparator", "counter", "register")


def _feature_size(v):
    """A technology node in nm, as the component models take it (:func:`einsim.arch.components._technology`)."""
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v <= 1000:
        spec_fail("a feature size in nm above 0 and at most 1000 (e.g. 45)", v)
    return v


_Technology = Annotated[float, PlainValidator(_feature_size)]


class _Component(SpecModel):
    """A logic block priced by the component model (:mod:`einsim.arch.components`)."""

    component: Literal[COMPONENTS]
    width_bits: PosInt | None = None
    accumulator_bits: PosInt | None = None
    technology_nm: _Technology | None = None


#: an energy (pJ per action) or area (um^2 per PE) figure: a number or a component model's figure
_Figure = shaped("a number >= 0 or {component: ...}", mapping=_Component, other=NonNegNum)
_Ops = Annotated[dict[Name, PosInt], Field(min_length=1)]
_Reduction = Literal[REDUCTION_KINDS]


def _row_buffers(v):
    if isinstance(v, bool) or v not in (1, 2):
        spec_fail("1 (DRAM and PIM share each bank's row buffer) or 2 (dual row buffers)", v)
    return v


class UnitFile(SpecModel):
    """One compute unit of an architecture file (see :class:`einsim.arch.spec.UnitSpec`)."""

    kind: Literal[UNIT_KINDS]
    rows: PosInt | None = None
    cols: PosInt | None = None
    pes: PosInt | None = None
    lanes: PosInt | None = None
    banks: PosInt | None = None
    instances: PosInt | None = None
    pipelines: Annotated[dict[Name, _Ops], Field(min_length=1)] | None = None
    composite_ops: dict[Name, _Ops] | None = None
    op_latency: dict[Name, NonNegInt] | None = None
    energy_pj: dict[Name, _Figure] | None = None
    area_um2: dict[Name, _Figure] | None = None
    rf_reads_per_op: NonNegNum = 2
    rf_writes_per_op: NonNegNum = 1
    spatial_reduction: shaped("chain, tree, none or {operator: kind}", mapping=dict[Name, _Reduction],
                              other=_Reduction) = "chain"
    dataflow: Literal[DATAFLOWS] | None = None
    microarchitecture: SystolicMicro | None = None
    device: Name | None = None
    row_buffers: Annotated[int, PlainValidator(_row_buffers)] | None = None


class _ReadWrite(SpecModel):
    read: NonNegNum
    write: NonNegNum


class LevelFile(SpecModel):
    """One memory level of an architecture file (see :class:`einsim.arch.spec.MemoryLevel`)."""

    name: Name
    kind: Literal[MEMORY_KINDS]
    access_bits: PosInt
    energy_pj: _ReadWrite | None = None
    capacity_bytes: positive_int(" (e.g. 16777216 for 16 MiB)") | None = None
    bandwidth_bytes_per_s: PosNum | None = None
    channels: PosInt = 1
    banks: PosInt = 1
    read_ports: NonNegInt = 0
    write_ports: NonNegInt = 0
    rw_ports: NonNegInt = 1
    serves: list[Name] = []
    private: bool = False
    area_um2: NonNegNum | None = None
    technology_nm: _Technology = 45


class ArchFile(SpecModel):
    """The keys and types of an architecture file; the loader checks what the names refer to."""

    name: Name
    description: str = ""
    kind: Literal[ARCH_KINDS]
    clock_hz: PosNum
    word_bytes: PosInt
    units: Annotated[dict[Name, UnitFile], Field(min_length=1)]
    memory: NonEmptyList[LevelFile]


# ----- building -------------------------------------------------------------------------------------------------
def _build(doc: Doc) -> ArchSpec:
    e = doc.errors()
    spec = validate(doc, ArchFile, e)
    if spec is None:
        e.raise_if_any()
    units = [_unit(e, ("units", name), name, u) for name, u in spec.units.items()]
    memory = [_level(e, ("memory", i), m) for i, m in enumerate(spec.memory)]
    _check_hierarchy(e, [u for u in units if u is not None], memory)
    e.raise_if_any()
    return ArchSpec(name=spec.name, kind=spec.kind, clock_hz=float(spec.clock_hz), word_bytes=spec.word_bytes,
                    units=tuple(units), memory=tuple(memory), source=doc.file)


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
        for j, u in enumerate(m.serves):
            if u not in unit_names:
                e.add(("memory", i, "serves", j), f"must name units of this architecture "
                                                  f"({', '.join(sorted(unit_names))}), not {u!r}"
                                                  f"{suggest(u, unit_names)}")
        if m.private:
            counts = {u.instances for u in units if m.serves_unit(u.name)}
            if len(counts) > 1:
                e.add(("memory", i, "private"), f"a private level must serve units with one instance count, not "
                                                f"{sorted(counts)}; list the units it serves with 'serves'")
    for u in units:
        if not any(m.on_chip and m.serves_unit(u.name) for m in memory):
            e.add(("units", u.name), "no on-chip memory level serves this unit; add one or name it in 'serves'")


def _unit(e, path, name, u: UnitFile):
    kind = u.kind
    pim = _pim(e, path, u)
    if pim is None:
        return None
    given = {dim: getattr(u, dim) for dim in ("rows", "cols", "pes", "lanes", "banks") if getattr(u, dim) is not None}
    dims = {**{k: v for k, v in pim.pop("defaults").items() if k != "instances"}, **given}
    dims = {dim: dims[dim] for dim in UNIT_DIMS[kind] if dim in dims}
    for dim in UNIT_DIMS[kind]:
        if dim not in dims:
            e.add(path, f"a {kind} unit needs key {dim!r}")
    for dim in given:
        if dim not in UNIT_DIMS[kind]:
            e.add(path + (dim,), f"a {kind} unit has dimensions {', '.join(UNIT_DIMS[kind])}, not {dim!r}")
    systolic = _systolic(e, path, u)
    default_pipes = {"alu": {"mac": 1}} if kind in ("systolic_array", "pim") else None
    pipelines = _pipelines(e, path + ("pipelines",), u.pipelines or default_pipes)
    native = {op for ops in pipelines.values() for op in ops}
    composite = _composite(e, path + ("composite_ops",), u.composite_ops or {}, native)
    _check_ops(e, path, u, native, set(composite))
    energy = {k: _figure(e, path + ("energy_pj", k), v, "energy_pj") for k, v in (u.energy_pj or {}).items()}
    area = {k: _figure(e, path + ("area_um2", k), v, "area_um2") for k, v in (u.area_um2 or {}).items()}
    inst = u.instances if u.instances is not None else pim.pop("instances", 1)
    pim.pop("instances", None)
    if len(dims) != len(UNIT_DIMS[kind]) or systolic is None or None in energy.values() or None in area.values():
        return None
    return UnitSpec(name=name, kind=kind, dims=dims, pipelines=pipelines, instances=inst, composite_ops=composite,
                    op_latency=dict(u.op_latency or {}), energy_pj=energy, area_um2=area,
                    rf_reads_per_op=u.rf_reads_per_op, rf_writes_per_op=u.rf_writes_per_op,
                    spatial_reduction=u.spatial_reduction, systolic=systolic, **pim)


def _check_ops(e, path, u: UnitFile, native: set, composite: set) -> None:
    """Latencies are of native ops, energies of native ops or register-file accesses, areas of ops (native or
    composite) or the register file."""
    for op in u.op_latency or {}:
        if op not in native:
            e.add(path + ("op_latency", op), f"must be a native op of this unit ({', '.join(sorted(native))}), "
                                             f"not {op!r}{suggest(op, native)}")
    for k in u.energy_pj or {}:
        if k not in native and k not in ("rf_read", "rf_write"):
            e.add(path + ("energy_pj", k), f"must be a native op of this unit or rf_read/rf_write, not {k!r}"
                                           f"{suggest(k, native | {'rf_read', 'rf_write'})}")
    parts = native | composite | {"register_file"}
    for k in u.area_um2 or {}:
        if k not in parts:
            e.add(path + ("area_um2", k), f"must be an op of this unit or register_file "
                                          f"({', '.join(sorted(parts))}), not {k!r}{suggest(k, parts)}")


def _figure(e, path, value, field):
    """A number, or ``{component: mac, width_bits: 8}``: the figure of a logic block of the component model
    (:mod:`einsim.arch.components`) per action (``energy_pj``) or per block (``area_um2``)."""
    if not isinstance(value, _Component):
        return value
    from . import components

    models = {"adder": components.adder, "multiplier": components.multiplier, "mac": components.mac,
              "comparator": components.comparator, "counter": components.counter, "register": components.register}
    args = {k: v for k, v in value.model_dump().items() if k != "component" and v is not None}
    try:
        figures = models[value.component](**args)
    except TypeError:
        e.add(path, f"{value.component} takes {', '.join(_params(models[value.component]))}, not "
                    f"{', '.join(sorted(args))}")
        return None
    except (ValueError, components.ComponentError) as exc:
        e.add(path, str(exc))
        return None
    return figures.energy_pj if field == "energy_pj" else figures.area_um2


def _params(fn) -> list[str]:
    import inspect

    return [p for p in inspect.signature(fn).parameters]


def _pim(e, path, u: UnitFile):
    """A pim unit's device and row buffers, and the defaults its device gives (banks, lanes, instances: its
    channels); {} plus empty defaults for other kinds; None if the device cannot be loaded."""
    if u.kind != "pim":
        for key in ("device", "row_buffers"):
            if getattr(u, key) is not None:
                e.add(path + (key,), f"only a pim unit has {key!r}, not a {u.kind}")
        return {"defaults": {}}
    from .dram import load_dram

    if u.device is None:
        e.add(path, "a pim unit needs key 'device' (a DRAM preset such as hbm2-pim, or a path)")
        return None
    try:
        dev = load_dram(u.device)
    except SpecError as exc:
        e.add(path + ("device",), f"cannot load DRAM device {u.device!r}: {exc.issues[0].message}")
        return None
    if not dev.mac_lanes:
        e.add(path + ("device",), f"device {u.device!r} has no PIM MAC lanes; use a PIM device such as hbm2-pim")
        return None
    rb = u.row_buffers if u.row_buffers is not None else dev.row_buffers
    return {"device": u.device, "row_buffers": rb, "instances": dev.units,
            "defaults": {"banks": dev.banks_per_channel, "lanes": dev.mac_lanes}}


def _systolic(e, path, u: UnitFile):
    """The resolved microarchitecture parameters of a systolic_array unit (dataflow and the keys of
    :data:`einsim.arch.systolic.MICRO_KEYS`, a ``preset`` expanded; validated by arch.systolic); {} for other kinds."""
    if u.kind != "systolic_array":
        for key in ("dataflow", "microarchitecture"):
            if getattr(u, key) is not None:
                e.add(path + (key,), f"only a systolic_array unit has {key!r}, not a {u.kind}")
        return {}
    params = {k: v for k, v in (u.microarchitecture.model_dump() if u.microarchitecture else {}).items()
              if v is not None}
    params["dataflow"] = u.dataflow or "ws"
    before = len(e.issues)
    spec = parse_systolic(e, path + ("microarchitecture",), {"rows": u.rows or 1, "cols": u.cols or 1, **params})
    if spec is None:
        return None if len(e.issues) > before else {}
    return {"dataflow": spec.dataflow, **spec.micro()}


def _pipelines(e, path, value: dict) -> dict:
    if not value:
        e.add(path, "must map pipeline name -> {op: cycles}; a unit of this kind has no default")
        return {}
    pipelines, seen = {}, set()
    for pname, ops in value.items():
        for op in ops:
            if op in seen:
                e.add(path + (pname, op), f"op {op!r} is already on another pipeline; an op must have one pipeline")
            seen.add(op)
        pipelines[pname] = dict(ops)
    return pipelines


def _composite(e, path, value: dict, native) -> dict:
    for op, parts in value.items():
        if op in native:
            e.add(path + (op,), f"op {op!r} is native on this unit; it cannot also be composite")
        for sub in parts:
            if sub not in native:
                e.add(path + (op, sub), f"must be a native op of this unit ({', '.join(sorted(native))}), "
                                        f"not {sub!r}{suggest(sub, native)}")
    return {op: dict(parts) for op, parts in value.items()}


def _level(e, path, m: LevelFile) -> MemoryLevel:
    given = m.model_fields_set
    if m.kind == "dram":
        if m.energy_pj is None:
            e.add(path, "a dram level needs key 'energy_pj' ({read: pJ, write: pJ} per access of access_bits)")
        for key in ("capacity_bytes", "serves", "private"):
            if key in given:
                e.add(path + (key,), f"a dram level is off chip and unbounded here; remove {key!r}")
        if m.bandwidth_bytes_per_s is None:
            e.add(path, "a dram level needs key 'bandwidth_bytes_per_s'")
    else:
        _check_buffer(e, path, m)
    return MemoryLevel(name=m.name, kind=m.kind, access_bits=m.access_bits,
                       energy_pj=m.energy_pj.model_dump() if m.energy_pj else None,
                       capacity_bytes=m.capacity_bytes if m.kind == "buffer" else None,
                       bandwidth_bytes_per_s=float(m.bandwidth_bytes_per_s) if m.kind == "dram" and
                       m.bandwidth_bytes_per_s else None, serves=tuple(m.serves), private=m.private,
                       area_um2=m.area_um2, technology_nm=float(m.technology_nm), banks=m.banks, channels=m.channels,
                       read_ports=m.read_ports, write_ports=m.write_ports, rw_ports=m.rw_ports)


def _check_buffer(e, path, m: LevelFile) -> None:
    if m.bandwidth_bytes_per_s is not None:
        e.add(path + ("bandwidth_bytes_per_s",), "a buffer's bandwidth is banks x access_bits per cycle; "
                                                "set 'banks' instead")
    if "channels" in m.model_fields_set:
        e.add(path + ("channels",), "only a dram level has channels; an on-chip buffer has 'banks'")
    if m.rw_ports + m.read_ports == 0:
        e.add(path, "a buffer needs a port to read through: set rw_ports or read_ports to at least 1")
    if m.capacity_bytes is None:
        e.add(path, "a buffer level needs key 'capacity_bytes'")
    elif (m.capacity_bytes * 8) % m.access_bits:
        e.add(path + ("capacity_bytes",), f"must hold a whole number of {m.access_bits}-bit rows (access_bits), "
                                          f"not {m.capacity_bytes}")

"""Architecture specs: frozen, keyword-only dataclasses built by :mod:`einsim.arch.loader` from validated YAML.

An architecture is a clock, a word size, compute units and memory levels (outermost first). Every architecture kind
(a spatial array like FuseMax or FLAT, an NPU, a PIM memory) is such a combination: no kind has a code path of its
own.

- A **unit** is ``instances`` identical copies of an array of PEs of one ``kind``: ``pe_array_2d`` (rows x cols),
  ``pe_array_1d`` (pes), ``vector`` (lanes) or ``systolic_array`` (rows x cols with a systolic microarchitecture
  whose tile timing is a closed form, :mod:`einsim.sim.unit_work`) or ``pim`` (the MAC lanes of the banks of one
  DRAM channel per instance, computing GEMVs on matrices that stay in the DRAM; timing from the command-level model
  of its ``device``). Its PEs execute native ops on pipelines.
- A **memory level** is DRAM (off chip: bandwidth, channels) or an on-chip buffer (capacity, row width, banks). An
  on-chip level ``serves`` some units (all by default) and is either shared by all their instances or ``private``:
  one copy of ``capacity_bytes`` per instance (an NPU core's scratchpad).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

__all__ = ["UnitSpec", "MemoryLevel", "ArchSpec", "UNIT_KINDS", "MEMORY_KINDS", "UNIT_DIMS", "ARCH_KINDS"]

# Unit kinds and the spatial dimensions each one has (the names mapping spatial ranks bind to).
UNIT_DIMS = {"pe_array_2d": ("rows", "cols"), "pe_array_1d": ("pes",), "vector": ("lanes",),
             "systolic_array": ("rows", "cols"), "pim": ("banks", "lanes")}
UNIT_KINDS = tuple(UNIT_DIMS)
MEMORY_KINDS = ("dram", "buffer")
#: labels for an architecture's ``kind`` (documentation and reports only: no kind has a code path of its own)
ARCH_KINDS = ("spatial_array", "npu", "pim", "system")


def _frozen(d) -> Mapping:
    return MappingProxyType(dict(d))


@dataclass(frozen=True, kw_only=True)
class UnitSpec:
    """A compute unit: ``instances`` identical arrays of PEs.

    ``pipelines`` maps a functional pipeline of one PE to the native ops it executes and their initiation interval
    in cycles (``{"alu": {"mac": 1, "add": 1}, "exp": {"exp": 1}}``). Ops on different pipelines of a PE overlap,
    ops on one pipeline serialize. ``op_latency`` gives an op's pipeline depth in cycles (its result is ready that
    long after its last issue; 0 by default). ``composite_ops`` builds ops the PE lacks from native ones
    (FuseMax: ``exp = 6 mac + 1 add``). ``energy_pj`` prices each native op and ``rf_read``/``rf_write``;
    ``area_um2`` is per PE, by component. ``spatial_reduction`` says how a reduction across a spatial dimension
    of D PEs drains: ``chain`` (D cycles) or ``tree`` (ceil(log2 D) cycles). ``systolic`` holds a
    ``systolic_array``'s microarchitecture parameters (see :class:`einsim.arch.systolic.SystolicArraySpec`).
    A ``pim`` unit names its DRAM ``device`` (a preset of :mod:`einsim.arch.dram` or a path) and its row buffers per
    bank.
    """

    name: str
    kind: str
    dims: Mapping[str, int]
    pipelines: Mapping[str, Mapping[str, int]]
    instances: int = 1
    composite_ops: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    op_latency: Mapping[str, int] = field(default_factory=dict)
    energy_pj: Mapping[str, float] = field(default_factory=dict)
    area_um2: Mapping[str, float] = field(default_factory=dict)
    rf_reads_per_op: int = 2
    rf_writes_per_op: int = 1
    spatial_reduction: str = "chain"
    systolic: Mapping[str, object] = field(default_factory=dict)
    device: str | None = None
    row_buffers: int = 2

    def __post_init__(self):
        object.__setattr__(self, "dims", _frozen(self.dims))
        object.__setattr__(self, "pipelines", _frozen({k: _frozen(v) for k, v in self.pipelines.items()}))
        object.__setattr__(self, "composite_ops", _frozen({k: _frozen(v) for k, v in self.composite_ops.items()}))
        object.__setattr__(self, "op_latency", _frozen(self.op_latency))
        object.__setattr__(self, "energy_pj", _frozen(self.energy_pj))
        object.__setattr__(self, "area_um2", _frozen(self.area_um2))
        object.__setattr__(self, "systolic", _frozen(self.systolic))

    @property
    def pes(self) -> int:
        """PEs of one instance (product of the spatial dimensions)."""
        n = 1
        for v in self.dims.values():
            n *= v
        return n

    @property
    def native_ops(self) -> dict[str, tuple[str, int]]:
        """Native op kind -> (pipeline, cycles per op)."""
        out = {}
        for pipe, ops in self.pipelines.items():
            for op, cycles in ops.items():
                out[op] = (pipe, cycles)
        return out

    @property
    def supported_ops(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.native_ops) | set(self.composite_ops)))

    def expand(self, op: str, count: float = 1.0) -> dict[str, float]:
        """Native op counts that ``count`` applications of ``op`` cost on this unit; KeyError if unsupported."""
        native = self.native_ops
        if op in native:
            return {op: count}
        if op in self.composite_ops:
            out: dict[str, float] = {}
            for sub, n in self.composite_ops[op].items():
                for k, v in self.expand(sub, count * n).items():
                    out[k] = out.get(k, 0.0) + v
            return out
        raise KeyError(op)

    @property
    def resource(self) -> str:
        """The resource its tasks hold: itself, or the DRAM channel for a PIM unit with one row buffer per bank (the
        bank cannot serve reads while it computes: NPU and PIM take turns on the channel)."""
        return "dram" if self.kind == "pim" and self.row_buffers == 1 else self.name

    def reduction_latency(self, extent: int) -> int:
        """Cycles for a reduction spread across ``extent`` PEs of one spatial dimension to drain."""
        if extent <= 1:
            return 0
        if self.spatial_reduction == "tree":
            return (extent - 1).bit_length()
        return extent


@dataclass(frozen=True, kw_only=True)
class MemoryLevel:
    """A memory level. DRAM: bandwidth in bytes/s over ``channels``. Buffer: an SRAM of ``capacity_bytes`` in rows
    of ``access_bits`` (its geometry: ``banks``, read/write/read-write ports, ``technology_nm``), the units it serves
    (empty: all) and whether each unit instance has its own copy (``private``).

    ``energy_pj`` prices ``read``/``write`` per access of ``access_bits``; ``area_um2`` is the area of one copy (DRAM
    is off chip and not counted). A buffer that gives neither takes them from the component model (CACTI through
    :mod:`einsim.arch.components`) for its geometry, so a change of capacity or width changes both.
    """

    name: str
    kind: str
    access_bits: int
    energy_pj: Mapping[str, float] | None = None
    capacity_bytes: int | None = None
    bandwidth_bytes_per_s: float | None = None
    channels: int = 1
    banks: int = 1
    read_ports: int = 0
    write_ports: int = 0
    rw_ports: int = 1
    serves: tuple[str, ...] = ()
    private: bool = False
    area_um2: float | None = None
    technology_nm: float = 45.0

    def __post_init__(self):
        if self.energy_pj is not None:
            object.__setattr__(self, "energy_pj", _frozen(self.energy_pj))
        object.__setattr__(self, "serves", tuple(self.serves))

    def sram(self):
        """The component model's figures for this buffer's geometry (:class:`einsim.arch.components.SramFigures`)."""
        from .components import sram

        return sram(width_bits=self.access_bits, depth=self.capacity_bytes * 8 // self.access_bits, banks=self.banks,
                    read_ports=self.read_ports, write_ports=self.write_ports, rw_ports=self.rw_ports,
                    technology_nm=self.technology_nm)

    def access_energy_pj(self, action: str) -> float:
        """pJ of one ``read`` or ``write`` of ``access_bits``: the spec's figure, else the component model's."""
        if self.energy_pj is not None:
            return float(self.energy_pj.get(action, 0.0))
        fig = self.sram()
        return {"read": fig.read_pj, "write": fig.write_pj}.get(action, 0.0)

    @property
    def access_bytes(self) -> float:
        return self.access_bits / 8

    @property
    def on_chip(self) -> bool:
        return self.kind != "dram"

    def bytes_per_cycle(self, clock_hz: float) -> float:
        """Peak bandwidth in bytes per clock cycle of the architecture."""
        if self.kind == "dram":
            return self.bandwidth_bytes_per_s / clock_hz
        return self.banks * self.access_bytes

    @property
    def copy_area_um2(self) -> float:
        """Area of one copy of an on-chip level (um^2): the spec's figure, else the component model's."""
        if self.area_um2 is not None or not self.on_chip:
            return self.area_um2 or 0.0
        return self.sram().area_um2

    def serves_unit(self, unit: str) -> bool:
        return not self.serves or unit in self.serves


@dataclass(frozen=True, kw_only=True)
class ArchSpec:
    """A whole architecture; ``memory`` is outermost first."""

    name: str
    kind: str
    clock_hz: float
    word_bytes: int
    units: tuple[UnitSpec, ...]
    memory: tuple[MemoryLevel, ...]
    source: str = "<code>"

    def unit(self, name: str) -> UnitSpec:
        for u in self.units:
            if u.name == name:
                return u
        raise KeyError(name)

    def level(self, name: str) -> MemoryLevel:
        for m in self.memory:
            if m.name == name:
                return m
        raise KeyError(name)

    @property
    def dram(self) -> MemoryLevel:
        return next(m for m in self.memory if m.kind == "dram")

    @property
    def on_chip_levels(self) -> tuple[MemoryLevel, ...]:
        """On-chip levels, outermost first."""
        return tuple(m for m in self.memory if m.on_chip)

    def home_level(self, unit: str) -> MemoryLevel:
        """The outermost on-chip level serving ``unit``: where its tiles live unless a mapping says otherwise."""
        return next(m for m in self.on_chip_levels if m.serves_unit(unit))

    def copies(self, level: MemoryLevel) -> int:
        """Physical copies of a level: the instances of the units it serves if private, else 1."""
        if not level.private:
            return 1
        return max(u.instances for u in self.units if level.serves_unit(u.name))

    def with_unit(self, name: str, **changes) -> ArchSpec:
        """A copy with one unit's fields replaced (e.g. ``dims={"rows": 128, "cols": 128}``)."""
        units = tuple(replace(u, **changes) if u.name == name else u for u in self.units)
        return replace(self, units=units)

    def with_level(self, name: str, **changes) -> ArchSpec:
        """A copy with one memory level's fields replaced (e.g. ``capacity_bytes=8 << 20``)."""
        memory = tuple(replace(m, **changes) if m.name == name else m for m in self.memory)
        return replace(self, memory=memory)

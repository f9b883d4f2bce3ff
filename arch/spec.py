"""Architecture specs: frozen, keyword-only dataclasses built by :mod:`arch.loader` from validated YAML.

An architecture is a clock, a word size, a list of compute units (each of a ``kind``: today ``pe_array_2d`` and
``pe_array_1d``; later NPU cores, vector units, PIM banks) and a list of memory levels, outermost first (DRAM, then
on-chip buffers). Units carry their per-op cycle costs, per-action energies (pJ) and per-PE area (um^2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

__all__ = ["UnitSpec", "MemoryLevel", "ArchSpec", "UNIT_KINDS", "MEMORY_KINDS", "UNIT_DIMS"]

# Unit kinds and the spatial dimensions each one has (the names mapping spatial ranks bind to).
UNIT_DIMS = {"pe_array_2d": ("rows", "cols"), "pe_array_1d": ("pes",)}
UNIT_KINDS = tuple(UNIT_DIMS)
MEMORY_KINDS = ("dram", "buffer")


def _frozen(d) -> Mapping:
    return MappingProxyType(dict(d))


@dataclass(frozen=True, kw_only=True)
class UnitSpec:
    """A compute unit: an array of identical PEs.

    ``pipelines`` maps a functional pipeline of one PE to the native ops it executes and their initiation interval
    in cycles (``{"alu": {"mac": 1, "add": 1}, "exp": {"exp": 1}}``). Ops on different pipelines of a PE overlap,
    ops on one pipeline serialize. ``composite_ops`` builds ops the PE lacks from native ones
    (FuseMax: ``exp = 6 mac + 1 add``). ``energy_pj`` prices each native op and ``rf_read``/``rf_write``;
    ``area_um2`` is per PE, by component. ``spatial_reduction`` says how a reduction across a spatial dimension
    of D PEs drains: ``chain`` (D cycles) or ``tree`` (ceil(log2 D) cycles).
    """

    name: str
    kind: str
    dims: Mapping[str, int]
    pipelines: Mapping[str, Mapping[str, int]]
    composite_ops: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    energy_pj: Mapping[str, float] = field(default_factory=dict)
    area_um2: Mapping[str, float] = field(default_factory=dict)
    rf_reads_per_op: int = 2
    rf_writes_per_op: int = 1
    spatial_reduction: str = "chain"

    def __post_init__(self):
        object.__setattr__(self, "dims", _frozen(self.dims))
        object.__setattr__(self, "pipelines", _frozen({k: _frozen(v) for k, v in self.pipelines.items()}))
        object.__setattr__(self, "composite_ops", _frozen({k: _frozen(v) for k, v in self.composite_ops.items()}))
        object.__setattr__(self, "energy_pj", _frozen(self.energy_pj))
        object.__setattr__(self, "area_um2", _frozen(self.area_um2))

    @property
    def pes(self) -> int:
        """Number of PEs (product of the spatial dimensions)."""
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

    def reduction_latency(self, extent: int) -> int:
        """Cycles for a reduction spread across ``extent`` PEs of one spatial dimension to drain."""
        if extent <= 1:
            return 0
        if self.spatial_reduction == "tree":
            return (extent - 1).bit_length()
        return extent


@dataclass(frozen=True, kw_only=True)
class MemoryLevel:
    """A memory level. DRAM: bandwidth in bytes/s. Buffer: capacity, row width, banks (one row per bank per cycle).

    ``energy_pj`` prices ``read``/``write`` per access of ``access_bits``; ``area_um2_per_kib`` scales the area
    with capacity (DRAM area is off chip and not counted).
    """

    name: str
    kind: str
    access_bits: int
    energy_pj: Mapping[str, float]
    capacity_bytes: int | None = None
    bandwidth_bytes_per_s: float | None = None
    banks: int = 1
    area_um2_per_kib: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "energy_pj", _frozen(self.energy_pj))

    @property
    def access_bytes(self) -> float:
        return self.access_bits / 8

    def bytes_per_cycle(self, clock_hz: float) -> float:
        """Peak bandwidth in bytes per clock cycle of the architecture."""
        if self.kind == "dram":
            return self.bandwidth_bytes_per_s / clock_hz
        return self.banks * self.access_bytes


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
    def buffer(self) -> MemoryLevel:
        """The outermost on-chip buffer (the global buffer)."""
        return next(m for m in self.memory if m.kind == "buffer")

    def with_unit(self, name: str, **changes) -> ArchSpec:
        """A copy with one unit's fields replaced (e.g. ``dims={"rows": 128, "cols": 128}``)."""
        units = tuple(replace(u, **changes) if u.name == name else u for u in self.units)
        return replace(self, units=units)

    def with_level(self, name: str, **changes) -> ArchSpec:
        """A copy with one memory level's fields replaced (e.g. ``capacity_bytes=8 << 20``)."""
        memory = tuple(replace(m, **changes) if m.name == name else m for m in self.memory)
        return replace(self, memory=memory)

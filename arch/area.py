"""Area of an architecture by component (um^2 tables in the spec; results in mm^2)."""

from __future__ import annotations

from .spec import ArchSpec

__all__ = ["area_breakdown", "total_area_mm2"]


def area_breakdown(arch: ArchSpec) -> dict[str, float]:
    """``{"array2d.mac": mm2, ..., "global_buffer": mm2}``: per-PE component area times PEs and instances; each
    on-chip level times its copies."""
    out = {}
    for u in arch.units:
        for comp, um2 in u.area_um2.items():
            out[f"{u.name}.{comp}"] = um2 * u.pes * u.instances * 1e-6
    for m in arch.on_chip_levels:
        out[m.name] = m.copy_area_um2 * arch.copies(m) * 1e-6
    return out


def total_area_mm2(arch: ArchSpec) -> float:
    return sum(area_breakdown(arch).values())

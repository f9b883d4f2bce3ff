"""Roofline coordinates of an evaluated point: peak compute and DRAM bandwidth of an architecture, the point's
operational intensity (ops per DRAM byte) and which roof bounds it (Williams et al., CACM 2009)."""

from __future__ import annotations

__all__ = ["peak_ops_per_s", "dram_bytes_per_s", "roofline_point"]


def peak_ops_per_s(arch) -> float:
    """Peak compute: per unit, instances x PEs x one op per pipeline per initiation interval of its fastest op, times
    the clock. An op is one application of a cascade operator (a multiply-accumulate is one op), the unit
    :func:`einsim.workloads.op_counts` counts in."""
    per_cycle = sum(u.instances * u.pes * sum(1.0 / min(ops.values()) for ops in u.pipelines.values())
                    for u in arch.units)
    return per_cycle * arch.clock_hz


def dram_bytes_per_s(arch) -> float:
    return float(arch.dram.bandwidth_bytes_per_s)


def roofline_point(arch, *, ops: float, dram_bytes: float, latency_s: float) -> dict:
    """``ops_per_dram_byte``, ``attained_ops_per_s``, ``ridge_ops_per_byte`` (peak / bandwidth) and ``bound``:
    ``bandwidth`` if the intensity is below the ridge (the DRAM roof is the lower one), else ``compute``."""
    peak, bw = peak_ops_per_s(arch), dram_bytes_per_s(arch)
    intensity = ops / dram_bytes if dram_bytes else float("inf")
    ridge = peak / bw
    return {"ops": ops, "ops_per_dram_byte": intensity, "attained_ops_per_s": ops / latency_s if latency_s else 0.0,
            "peak_ops_per_s": peak, "ridge_ops_per_byte": ridge,
            "roof_ops_per_s": min(peak, intensity * bw), "bound": "bandwidth" if intensity < ridge else "compute"}

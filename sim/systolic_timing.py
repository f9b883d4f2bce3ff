"""Closed-form timing of a GEMM tile on a systolic array: the tile-level model's task time for a systolic unit.

A tile C[m, n] = A[m, k] @ B[k, n] runs as folds (sim/systolic_gemm.py plans them; edge folds are zero padded and
time like full ones): OS one fold per (R rows of m) x (C cols of n) block with T = k stream steps; WS one per
(R rows of k) x (C cols of n) block with T = m; IS one per (R rows of k) x (C cols of m) with T = n. A fold streams
T_e = max(T, min_interval) steps. Per fold, in cycles (docs/systolic.md derives each; ml = mac_latency,
al = acc_latency, wl = weight_load_cycles):

- lead D: first operand of the fold entering -> its first stream step. WS/IS (R - 1) * wl + 1 (the weights shift
  or travel down, deepest row first; the stream starts when the last weight is in place); OS 0.
- latency L: first stream step -> last result leaving. WS/IS T_e + (R * al + ml - 1) + C - 2; OS with X =
  T_e * al + ml - 1: X + R + C - 2 (in_place, parallel) or X + 2R + C - 3 (shift, shadow_shift: R - 1 more cycles
  to shift row 0 out).
- period P: stream start -> next fold's stream start. Without double_buffer D + L (the next fold's first operand
  enters in the cycle the last result leaves: SCALE-Sim). With it, the tightest schedule with no register
  overwritten before it is used:
  WS/IS chain   max(T_e, R * wl, (R - 1) * (wl + al) + 1)   (the next load shifts every row's shadow weight, so the
                                                             last row must have copied it: (R - 1) * al after s)
  WS/IS pipeline max(T_e, R, 1 + (R - 1) * max(wl - 1, al)) (each row's shadow is written only by its own weight)
  OS in_place   (T_e - 1) * al + 1                           (the first add of the next fold clears the accumulator)
  OS parallel   max((T_e - 1) * al + 1, R + C - 1)           (output registers held until the parallel read)
  OS shift      max((T_e - 1) * al + R, 2R - 2)              (one bank: row i's first add of the next fold lands
                                                             no earlier than the column's shift i, its last add
                                                             no earlier than the column's last shift)
  OS shadow     max((T_e - 1) * al + 1, 2R - 2)              (the next capture may share the column's last shift)
The stream and load ports bound P too: T_e steps (OS: one per al cycles), and for the chain one weight row per wl
cycles (R * wl); every other term is the tightest schedule under which the register model computes right values.

F folds back to back take D + (F - 1) * P + L cycles, from the first operand entering to the last result leaving.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from einsim.arch.systolic import SystolicArraySpec

__all__ = ["TileTiming", "fold_grid", "stream_steps", "fold_lead", "fold_latency", "fold_period",
           "first_output_offset", "tile_timing", "gemm_cycles", "sequence_cycles"]


@dataclass(frozen=True, kw_only=True)
class TileTiming:
    """Timing of one GEMM tile on one array, in cycles.

    occupancy: from the tile's first operand entering the array until the array accepts the next tile's first
    operand (folds F times the fold period). latency: further cycles until the tile's last result has left the
    array; negative when the array accepts the next tile only after that (a weight port slower than the tile).
    One tile takes occupancy + latency cycles, T identical tiles back to back T * occupancy + latency.
    first_output: from the tile's first operand entering to its first result leaving. folds: folds per tile.
    """

    occupancy: int
    latency: int
    first_output: int
    folds: int

    @property
    def cycles(self) -> int:
        """Cycles of the tile alone: first operand in -> last result out."""
        return self.occupancy + self.latency


def fold_grid(spec: SystolicArraySpec, m: int, k: int, n: int) -> tuple[int, int]:
    """(folds, stream steps T per fold) of an m x k x n GEMM on the array."""
    for name, value in (("m", m), ("k", k), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, not {value!r}")
    if spec.dataflow == "os":
        rows, cols, t = m, n, k
    elif spec.dataflow == "ws":
        rows, cols, t = k, n, m
    else:
        rows, cols, t = k, m, n
    return math.ceil(rows / spec.rows) * math.ceil(cols / spec.cols), t


def stream_steps(spec: SystolicArraySpec, t: int) -> int:
    """Stream steps of a fold with T = t data steps: short folds are padded to min_interval."""
    return max(t, spec.min_interval)


def fold_lead(spec: SystolicArraySpec) -> int:
    """Cycles from a fold's first operand entering (its deepest weight row) to its first stream step."""
    return (spec.rows - 1) * spec.weight_load_cycles + 1 if spec.stationary else 0


def fold_latency(spec: SystolicArraySpec, t: int) -> int:
    """Cycles from a fold's first stream step to its last result leaving the array (that result's valid cycle)."""
    R, C, te = spec.rows, spec.cols, stream_steps(spec, t)
    if spec.stationary:
        return te + R * spec.acc_latency + spec.mac_latency - 1 + C - 2
    x = te * spec.acc_latency + spec.mac_latency - 1
    if spec.drain in ("shift", "shadow_shift"):
        return x + 2 * R + C - 3
    return x + R + C - 2


def fold_period(spec: SystolicArraySpec, t: int) -> int:
    """Cycles between the first stream steps of successive folds (module doc)."""
    R, C, te = spec.rows, spec.cols, stream_steps(spec, t)
    al, wl = spec.acc_latency, spec.weight_load_cycles
    if not spec.double_buffer:
        return fold_lead(spec) + fold_latency(spec, t)
    if spec.stationary:
        if spec.weight_path == "chain":
            return max(te, R * wl, (R - 1) * (wl + al) + 1)
        return max(te, R, 1 + (R - 1) * max(wl - 1, al))
    issue = (te - 1) * al + 1  # the stream port: one step every al cycles
    return {"in_place": issue,
            "parallel": max(issue, R + C - 1),
            "shift": max((te - 1) * al + R, 2 * R - 2),
            "shadow_shift": max(issue, 2 * R - 2)}[spec.drain]


def first_output_offset(spec: SystolicArraySpec, t: int) -> int:
    """Cycles from a fold's first stream step to its first result leaving the array."""
    R, C = spec.rows, spec.cols
    deskew = C - 1 if spec.skew == "edge" else 0
    if spec.stationary:
        return R * spec.acc_latency + spec.mac_latency - 1 + deskew
    x = stream_steps(spec, t) * spec.acc_latency + spec.mac_latency - 1
    return {"in_place": x, "parallel": x + R + C - 2}.get(spec.drain, x + R - 1 + deskew)


def tile_timing(spec: SystolicArraySpec, m: int, k: int, n: int) -> TileTiming:
    """Closed-form timing of an m x k x n GEMM tile (see :class:`TileTiming` and the module doc)."""
    folds, t = fold_grid(spec, m, k, n)
    period = fold_period(spec, t)
    lead = fold_lead(spec)
    return TileTiming(occupancy=folds * period, latency=lead + fold_latency(spec, t) - period,
                      first_output=lead + first_output_offset(spec, t), folds=folds)


def gemm_cycles(spec: SystolicArraySpec, m: int, k: int, n: int) -> int:
    """Cycles of a whole m x k x n GEMM run as one tile: first operand in -> last result out."""
    return tile_timing(spec, m, k, n).cycles


def sequence_cycles(spec: SystolicArraySpec, tiles) -> int:
    """Cycles of tiles ``[(m, k, n), ...]`` run back to back: each starts one occupancy after the one before, the
    sequence ends with the last tile's latency. Exact for the kernel when the tiles are identical; for tiles whose
    folds differ in stream length it assumes a fold's period depends on its own stream only (true when the period
    is set by the weight load, as in the onnxim preset with tiles of at most R streamed rows)."""
    start = 0
    end = 0
    for m, k, n in tiles:
        timing = tile_timing(spec, m, k, n)
        end = max(end, start + timing.cycles)
        start += timing.occupancy
    return end

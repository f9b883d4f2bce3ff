"""DRAM/PIM commands of one layer's decode attention on PIM with NeuPIMs' KV layout (:mod:`einsim.sim.pim_gemv`).

Per request, on the channel holding its KV cache: ``repeats`` K-cache GEMVs (``k_cache_program``: the heads side by
side in each row, one READRES per head; GQA repeats it per query head of a group) and ``v_gemvs`` V-cache GEMVs of
``head_dim x context`` (``v_cache_program``, one per head). Two ways to count their commands:

- :func:`request_commands`: from the programs' layout alone (:class:`einsim.sim.pim_gemv.GemvLayout`): per GEMV a
  GWRITE per vector chunk, a G_ACT per bank group and rank for every tile row opened, its COMPs, one READRES per
  segment; vectorized over requests, cheap enough for every iteration of a serving run;
- :func:`simulate_layer`: the programs themselves, every request's on its channel one after another, run on the
  command-level DRAM/PIM kernel (:func:`einsim.sim.dram.simulate_dram`), which issues every command under the
  device's timing rules: the issued counts (PRE and ACT of the vector rows included) and each channel's cycles.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from einsim.arch.dram import DramSpec

from .dram import DramPolicy, DramRun, PimProgram, simulate_dram
from .pim_gemv import GemvLayout, concat, gemv_program

__all__ = ["AttentionShape", "request_commands", "layer_commands", "layer_program", "simulate_layer",
           "COUNTED_COMMANDS"]

COUNTED_COMMANDS = ("GWRITE", "G_ACT", "COMP", "READRES")


@dataclass(frozen=True, kw_only=True)
class AttentionShape:
    """A request's attention on PIM: ``heads`` KV heads of ``head_dim`` side by side in a K row, the K GEMV run
    ``repeats`` times (query heads per KV head), ``v_gemvs`` V GEMVs (one per query head)."""

    heads: int
    head_dim: int
    repeats: int = 1
    v_gemvs: int = 0

    @staticmethod
    def of_sizes(sizes: dict) -> AttentionShape:
        """From a decode attention layer's sizes: MHA ``H``, ``E``; GQA ``G`` KV heads of ``R`` query heads each."""
        heads = int(sizes.get("G", sizes.get("H", 0)))
        rep = int(sizes.get("R", 1))
        if heads < 1 or "E" not in sizes:
            raise ValueError(f"a decode attention needs sizes H (or G, R) and E, not {dict(sizes)}")
        return AttentionShape(heads=heads, head_dim=int(sizes["E"]), repeats=rep, v_gemvs=heads * rep)


@lru_cache(maxsize=4096)
def _gemv_counts(spec: DramSpec, rows: int, cols: int, segment: int | None) -> tuple[int, int, int, int]:
    lay = GemvLayout(spec, rows, cols, segment)
    return lay.chunks, lay.tiles * lay.chunks * spec.ranks * spec.bankgroups, lay.comps, lay.readres


def request_commands(spec: DramSpec, shape: AttentionShape, context) -> dict[str, np.ndarray]:
    """GWRITE, G_ACT, COMP and READRES of each request's attention at its ``context`` length (arrays)."""
    ctx = np.asarray(context, dtype=np.int64).reshape(-1)
    out = {k: np.zeros(ctx.size, dtype=np.int64) for k in COUNTED_COMMANDS}
    for x in np.unique(ctx):
        k = _gemv_counts(spec, int(x), shape.heads * shape.head_dim, shape.head_dim)
        v = _gemv_counts(spec, shape.head_dim, int(x), None)
        sel = ctx == x
        for i, name in enumerate(COUNTED_COMMANDS):
            out[name][sel] = shape.repeats * k[i] + shape.v_gemvs * v[i]
    return out


def layer_commands(spec: DramSpec, shape: AttentionShape, context) -> dict[str, int]:
    """Totals over the requests of one layer."""
    return {k: int(v.sum()) for k, v in request_commands(spec, shape, context).items()}


def layer_program(spec: DramSpec, shape: AttentionShape, context, channel) -> PimProgram:
    """Every request's K and V GEMVs as a PIM program on its channel (in batch order within a channel), each
    GEMV's matrix in its own rows."""
    parts = []
    next_row: dict[int, int] = {}
    for x, ch in zip(np.asarray(context).tolist(), np.asarray(channel).tolist(), strict=True):
        row = next_row.get(ch, 0)
        k = GemvLayout(spec, x, shape.heads * shape.head_dim, shape.head_dim)
        for _ in range(shape.repeats):
            parts.append(gemv_program(spec, x, shape.heads * shape.head_dim, segment=shape.head_dim, channel=ch,
                                      base_row=row))
        row += k.tiles * k.chunks
        v = GemvLayout(spec, shape.head_dim, x)
        for _ in range(shape.v_gemvs):
            parts.append(gemv_program(spec, shape.head_dim, x, channel=ch, base_row=row))
            row += v.tiles * v.chunks
        if row > spec.rows - max(k.chunks, v.chunks):
            raise ValueError(f"channel {ch}'s KV caches need {row} rows per bank; a bank has {spec.rows}")
        next_row[ch] = row
    return concat(parts)


def simulate_layer(spec: DramSpec, shape: AttentionShape, context, channel, *, row_buffers: int | None = None,
                   refresh: bool = True) -> DramRun:
    """The layer's PIM program run on the command-level kernel (every channel at once)."""
    prog = layer_program(spec, shape, context, channel)
    return simulate_dram(spec, pim=prog, policy=DramPolicy(row_buffers=row_buffers, refresh=refresh))

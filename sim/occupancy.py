"""Step 4 of lowering: buffer occupancy per on-chip level, capacity checks, and spilling.

A level holds, per unit instance using it, the resident tiles of DRAM inputs placed in it (double buffered inside
the loops when the group pipelines) and the live intermediates placed in it (an iterated one holds two iterates;
others are live from their producer to their last consumer in program order). A private level holds one instance's
tiles per copy; a shared level holds every concurrently running instance's tiles.

If a level overflows and the group allows spilling, a share of its intermediates goes through DRAM: those that
wait across a pass (FuseMax Sec. III) over a rank the tile holds whole, written once and read back by each consumer
in a later pass; consumers in the producer's own pass take it as it is made. A group with no such waiting tensor
spills every intermediate of the level. Otherwise the row is infeasible.

Rows (:mod:`einsim.sim.nest`) share one task structure, and a spill adds tasks: when only some of the feasible rows
of a batch must spill, those rows are *deferred* (lowered again on their own) and the rest go on without spilling.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from einsim.arch.spec import ArchSpec
from einsim.workloads import einsum_passes

from .movement import IN_PE, Dataflow
from .nest import Nest
from .tasks import LOAD, STORE, Task

__all__ = ["Occupancy", "check_occupancy"]


@dataclass(frozen=True, kw_only=True)
class Occupancy:
    """Peak bytes per on-chip level (per instance), what occupies them, and the space left over."""

    level_peak: dict     # level -> peak bytes after spilling, per row
    buffer_bytes: dict   # "tensor@depth" or intermediate -> bytes, per row
    spare: dict          # level -> capacity left for extra in-flight tiles (bytes), per row


def _intermediates(df: Dataflow, cascade, einsums, nest: Nest) -> dict:
    """Bytes of each on-chip intermediate at the outermost level it is made or used."""
    inter = {}
    for tname in sorted(df.on_chip, key=list(df.produced).index):   # Einsum order: a deterministic order
        if df.place.get(tname) == IN_PE:
            continue
        src = df.produced[tname]
        cons = [e for e in einsums if any(op.tensor == tname for op in e.inputs) and e.name != src]
        k = min([nest.level[src]] + [nest.level[c.name] for c in cons])
        inter[tname] = (nest.footprint(tname, k, cascade.iterated.get(tname)) * df.tasks.arch.word_bytes
                        * (2 if tname in cascade.iterated else 1))
    return inter


def _live_peak(df: Dataflow, cascade, einsums, inter: dict, rows: int) -> np.ndarray:
    pos = {e.name: i for i, e in enumerate(einsums)}
    peak = np.zeros(rows)
    for i in range(len(einsums)):
        live = np.zeros(rows)
        for tname, b in inter.items():
            src = df.produced[tname]
            last = max([pos[e.name] for e in einsums if any(op.tensor == tname for op in e.inputs)], default=pos[src])
            if tname in cascade.iterated or (pos[src] <= i <= last):
                live = live + b
        peak = np.maximum(peak, live)
    return peak


def check_occupancy(df: Dataflow, cascade, arch: ArchSpec, g, einsums, nest: Nest) -> Occupancy:
    """Occupancy of every on-chip level per row; rows that overflow a level are infeasible, or spill (tasks added to
    ``df``) where the group allows it, or are deferred (see the module docstring)."""
    inter_all = _intermediates(df, cascade, einsums, nest)
    rows = nest.rows
    peaks, spare = {}, {}
    for level in arch.on_chip_levels:
        inter = {t: b for t, b in inter_all.items() if df.place[t] == level.name}
        resident = {k: b for k, (lvl, b) in df.resident.items() if lvl == level.name}
        held = sum(resident.values(), np.zeros(rows.count))
        peak = held + _live_peak(df, cascade, einsums, inter, rows.count)
        cap = level.capacity_bytes / (1 if level.private else nest.concurrent)
        over = peak > cap
        can_spill = over & (held < cap) & bool(g.spill and inter)
        rows.fail(over & ~can_spill, partial(_overflow, nest.name, level.name, peak, _per_row(cap, rows.count),
                                             resident, inter))
        spilling = can_spill & rows.ok
        if spilling.any():
            if not spilling[rows.ok].all():          # some rows spill, others not: the spilling ones go on their own
                rows.defer(spilling)
            else:
                chosen = _spill_choice(df, cascade, einsums, nest, inter)
                _spill(df, einsums, chosen, inter, (peak - cap) / sum(inter[t] for t in chosen))
                peak = np.minimum(peak, cap)
        if resident or inter:
            peaks[level.name] = peak
        spare[level.name] = cap - peak
    buffer_bytes = {**{k: b for k, (_, b) in df.resident.items()}, **inter_all}
    return Occupancy(level_peak=peaks, buffer_bytes=buffer_bytes, spare=spare)


def _per_row(value, rows: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (rows,))


def _overflow(name, level, peak, cap, resident, inter, r) -> str:
    """Why row ``r`` does not fit ``level``: what it holds there."""
    detail = ", ".join(f"{k} {_per_row(b, len(peak))[r] / 2**20:.2f} MiB"
                       for k, b in list(resident.items()) + list(inter.items()))
    return (f"{name} needs {peak[r] / 2**20:.2f} MiB of {level} ({detail}), more than its {cap[r] / 2**20:.2f} MiB; "
            f"use smaller tiles, stream inputs, or allow spilling")


def _spill_choice(df: Dataflow, cascade, einsums, nest: Nest, inter: dict) -> dict:
    """Intermediate -> the Einsums that read it back, for the intermediates a spill sends through DRAM (see the
    module docstring)."""
    inner = [r for r in cascade.ranks if not any(nest.indexes((r,), lr) for lr in nest.loop_ranks)]
    pass_over = {r: einsum_passes(cascade, r) for r in inner}

    def later_pass(src, dst):
        return any(pass_over[r][dst] > pass_over[r][src] > 0 for r in inner)

    readers = {t: [e.name for e in einsums if e.name != df.produced[t] and any(op.tensor == t for op in e.inputs)]
               for t in inter}
    waiting = {t: [c for c in rs if later_pass(df.produced[t], c)] for t, rs in readers.items()}
    waiting = {t: c for t, c in waiting.items() if c}
    return waiting or readers


def _spill(df: Dataflow, einsums, chosen: dict, inter: dict, frac: float) -> None:
    """Spill ``frac`` of each chosen intermediate: a store after its producer, a load before each reader in
    ``chosen``."""
    frac = np.minimum(1.0, frac)
    word = df.tasks.arch.word_bytes
    for tname, readers in chosen.items():
        src = df.tasks.tasks[df.task_of[df.produced[tname]]]
        st = df.tasks.transfer(STORE, tname, src.level, src.phase, frac * inter[tname] / word, "spill",
                               df.place[tname])
        df.tasks.tasks[st].deps = [df.task_of[df.produced[tname]]]
        for e in einsums:
            if e.name in readers:
                c: Task = df.tasks.tasks[df.task_of[e.name]]
                lt = df.tasks.transfer(LOAD, tname, c.level, c.phase, frac * inter[tname] / word, "unspill",
                                       df.place[tname])
                df.tasks.tasks[lt].deps = [st]
                c.deps = sorted(set(c.deps) | {lt})

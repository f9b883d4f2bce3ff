"""Batched evaluation of one fusion group over many tile choices: the mapper's inner loop.

``evaluate_group_tiles(workload, sizes, arch, mapping, group, tiles)`` evaluates the group ``group`` of ``mapping``
once per row of ``tiles`` (one column per loop of that group whose tile is left to choose, in the order of
``mapping.choices``) and returns its cycles, energy and feasibility per row, with exactly the semantics of
:func:`einsim.sim.evaluate` (same lowering, same timing model): the group's cycles are what ``evaluate`` adds for it,
its energy what ``evaluate`` charges for its actions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from einsim.arch.energy import action_energy_pj
from einsim.arch.spec import ArchSpec
from einsim.mappings.spec import MappingSpec
from einsim.workloads import Cascade

from .analytical import group_cycles
from .plan import COMPUTE, GroupPlan, Infeasible, lower

__all__ = ["GroupBatch", "evaluate_group_tiles", "group_choices", "plan_energy_pj"]


@dataclass(frozen=True, kw_only=True)
class GroupBatch:
    """Per tile row: ``cycles`` and ``energy_pj`` of the group (NaN where infeasible), ``ok``, and ``reasons``
    (row -> why it is infeasible); ``dram_bytes`` moved (all instances) and ``level_peak_bytes`` (on-chip level ->
    peak bytes per instance, 0 where the level holds nothing) per row, NaN where infeasible."""

    cycles: np.ndarray
    energy_pj: np.ndarray
    ok: np.ndarray
    reasons: dict
    dram_bytes: np.ndarray | None = None
    level_peak_bytes: dict | None = None


def group_choices(mapping: MappingSpec, group: int) -> list[tuple[int, int]]:
    """The (group, loop) keys of ``group``'s loops whose tile is left to choose, in ``mapping.choices`` order."""
    return [(g, i) for g, i in mapping.choices if g == group]


def plan_energy_pj(arch: ArchSpec, plan: GroupPlan) -> float:
    """Energy of every action of one group's plan (pJ), as :func:`einsim.sim.evaluate` charges it."""
    count = plan.count * plan.copies
    price = {}
    total = 0.0
    for t, comp, act, n in zip(plan.act_task, plan.act_component, plan.act_action, plan.act_count, strict=True):
        key = (comp, act)
        if key not in price:
            price[key] = action_energy_pj(arch, comp, act)
        total += count[t] * n * price[key]
    return total


def evaluate_group_tiles(workload: Cascade, sizes: dict, arch: ArchSpec, mapping: MappingSpec, group: int,
                         tiles) -> GroupBatch:
    """Evaluate ``group`` of ``mapping`` for every row of ``tiles`` (bound ``sizes``, as from ``bind_sizes``)."""
    keys = group_choices(mapping, group)
    tiles = np.asarray(tiles, dtype=np.int64)
    tiles = tiles.reshape(len(tiles) if tiles.ndim == 2 else -1, len(keys))   # (n, 0): a group with nothing to choose
    n = len(tiles)
    cycles = np.full(n, np.nan)
    energy = np.full(n, np.nan)
    ok = np.zeros(n, dtype=bool)
    dram = np.full(n, np.nan)
    peaks = {lvl.name: np.full(n, np.nan) for lvl in arch.on_chip_levels}
    reasons = {}
    for row in range(n):
        m = mapping.with_tiles({k: int(t) for k, t in zip(keys, tiles[row], strict=True)})
        try:
            plan = lower(workload, sizes, arch, m, only={group})[0]
        except Infeasible as exc:
            reasons[row] = str(exc)
            continue
        cycles[row] = group_cycles(plan)["cycles"]
        energy[row] = plan_energy_pj(arch, plan)
        moves = plan.kind != COMPUTE
        dram[row] = float(np.sum(plan.count[moves] * plan.bytes[moves])) * plan.copies
        for name in peaks:
            peaks[name][row] = plan.level_peak_bytes.get(name, 0.0)
        ok[row] = True
    return GroupBatch(cycles=cycles, energy_pj=energy, ok=ok, reasons=reasons, dram_bytes=dram,
                      level_peak_bytes=peaks)

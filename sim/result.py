"""The Result of evaluating one (workload, architecture, mapping) point: a summary row and long-form breakdowns."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Result"]


@dataclass(frozen=True, kw_only=True)
class Result:
    """``summary``: one flat row (cycles, latency_s, energy_pj, dram_bytes, util_<unit>, ...).

    ``energy``: long-form rows {component, action, count, energy_pj}. ``activity``: rows {group, einsum, task,
    resource, count, busy_cycles, pe_cycles}. ``ok=False`` marks an infeasible point; ``reason`` says why.
    """

    ok: bool
    reason: str = ""
    summary: dict = field(default_factory=dict)
    energy: tuple = ()
    activity: tuple = ()
    choices: dict = field(default_factory=dict)

    def row(self, **extra) -> dict:
        """The summary as one dict (with ``ok`` and ``reason``), plus ``extra`` key columns."""
        return {**extra, "ok": self.ok, "reason": self.reason, **self.summary}

    def energy_frame(self):
        import pandas as pd

        return pd.DataFrame(list(self.energy), columns=["component", "action", "count", "energy_pj"])

    def activity_frame(self):
        import pandas as pd

        return pd.DataFrame(list(self.activity),
                            columns=["group", "einsum", "task", "resource", "count", "busy_cycles", "pe_cycles"])

    @staticmethod
    def infeasible(reason: str) -> Result:
        return Result(ok=False, reason=reason)

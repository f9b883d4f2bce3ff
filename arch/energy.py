"""Energy of counted actions: ``(component, action) -> count`` times the spec's pJ per action."""

from __future__ import annotations

from .spec import ArchSpec

__all__ = ["action_energy_pj", "energy_pj"]


def action_energy_pj(arch: ArchSpec, component: str, action: str) -> float:
    """pJ of one ``action`` on ``component`` (a unit name or a memory level name); 0 if the spec prices none."""
    try:
        return float(arch.unit(component).energy_pj.get(action, 0.0))
    except KeyError:
        pass
    return arch.level(component).access_energy_pj(action)


def energy_pj(arch: ArchSpec, counts: dict) -> dict:
    """``{(component, action): pJ}`` for ``{(component, action): count}``."""
    return {key: n * action_energy_pj(arch, *key) for key, n in counts.items()}

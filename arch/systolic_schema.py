"""The schema of a systolic array's microarchitecture (an architecture unit's ``microarchitecture``, an entry of a
timing preset in ``arch/presets/systolic/``); :func:`einsim.arch.systolic.parse_systolic` checks how the values
combine. Kept apart from :mod:`einsim.arch.systolic` so that the kernels import that without the spec machinery."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from einsim.workloads.schema import Name, SpecModel, int_in

from .systolic import _LATENCY_LIMIT, DATAFLOWS, DRAINS, SKEWS, WEIGHT_PATHS

__all__ = ["SystolicMicro", "SystolicPresetFile"]


class SystolicMicro(SpecModel):
    """The keys and types of a systolic array's microarchitecture (a unit's ``microarchitecture``, a preset's
    dataflow entry); :func:`parse_systolic` checks how the values combine."""

    preset: Name | None = None
    dataflow: Literal[DATAFLOWS] | None = None
    double_buffer: bool | None = None
    drain: Literal[DRAINS] | None = None
    mac_latency: int_in(1, _LATENCY_LIMIT) | None = None
    acc_latency: int_in(1, _LATENCY_LIMIT) | None = None
    skew: Literal[SKEWS] | None = None
    weight_load_cycles: int_in(1, _LATENCY_LIMIT) | None = None
    weight_path: Literal[WEIGHT_PATHS] | None = None
    min_interval: int_in(1, _LATENCY_LIMIT) | None = None
    data_bits: int_in(1, 32) | None = None
    acc_bits: int_in(1, 64) | None = None


class SystolicPresetFile(SpecModel):
    """A timing preset file: ``dataflows: {os|ws|is: {parameter: value}}``."""

    name: Name
    source: str
    dataflows: Annotated[dict[Literal[DATAFLOWS], SystolicMicro], Field(min_length=1)]

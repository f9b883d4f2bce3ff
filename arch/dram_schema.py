"""The schema of a DRAM device file (:mod:`einsim.arch.dram`): its sections and their fields, typed from the
loader's field tables, every field optional (a ``base`` preset may give it)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import PlainValidator, create_model
from pydantic_core import PydanticCustomError

from einsim.workloads.schema import Name, SpecModel

from .dram import _ENERGY, _ORG, _PIM, _TIMING, _value_problem

__all__ = ["DramFile"]


def _field_type(name: str, kind: str, low):
    """The schema type of one section field: ``_value_problem``'s check, its message led by the field's name."""

    def run(v):
        problem = _value_problem(kind, low, v)
        if problem:
            raise PydanticCustomError("spec", "{message}", {"message": f"{name} {problem}"})
        return v

    return Annotated[Any, PlainValidator(run)] | None


def _section_model(title: str, table: dict) -> type[SpecModel]:
    return create_model(title, __base__=SpecModel, **{k: (_field_type(k, *spec), None) for k, spec in table.items()})


class DramFile(SpecModel):
    """The keys and types of a DRAM device file; every field is optional here (a ``base`` preset may give it), the
    loader checks that the merged sections are complete and consistent."""

    name: Name
    base: Name | None = None
    organization: _section_model("organization", _ORG) | None = None
    timing: _section_model("timing", _TIMING) | None = None
    energy: _section_model("energy", _ENERGY) | None = None
    pim: _section_model("pim", _PIM) | None = None

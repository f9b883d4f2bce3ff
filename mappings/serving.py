"""Serving configurations: how a system runs the decode iterations of an LLM serving run, all in YAML.

A serving configuration names an architecture and a mapping set (which mapping each layer's cascade uses on it)
and the schedule of a decode iteration:

- ``sub_batches``: the batch is split into this many sub-batches that pass through the layers in turn (NeuPIMs'
  sub-batch interleaving: 2), or ``{best_of: [1, 2]}`` to take, per iteration, whichever is faster;
- ``stage_pipeline``: how the sub-batches' fusion groups may overlap (``serial``: one sub-batch's layer at a time;
  ``in_order``: each unit in program order; ``interleave``: freely, as their dependencies and the resources they
  hold allow). Whether the NPU's groups of one sub-batch overlap the PIM's of the other follows from the resources
  they hold (a PIM unit with one row buffer holds the DRAM channel: ``blocked``; with two it does not:
  ``concurrent``), never from a schedule's own code;
- ``channel_policy``: which DRAM channel a new request's KV cache goes to (its PIM unit instance): ``round_robin``
  or ``min_load`` (greedy bin packing: the channel with the least attention work, NeuPIMs' load balancing);
- ``tp`` / ``pp``: tensor- and pipeline-parallel degrees (a model preset's ``TP`` parameter; ``pp`` devices in a
  pipeline each hold ``layers / pp`` layers);
- ``kv_page_tokens``: tokens per KV-cache page; attention reads whole pages;
- ``memory_device``: the DRAM device (a preset of :mod:`einsim.arch.dram`) whose capacity holds the weights and the
  KV caches (default: the device of the architecture's PIM unit; none: unbounded);
- ``stage_start``: the model layer a stage iteration starts at (default the first): NeuPIMs' stages run the PIM's
  attention of one sub-batch beside the NPU's projection, FFN and next QKV generation of the other
  (casys-kaist/NeuPIMs src/StageProgram.cc), i.e. a stage iteration starts at the attention.

``load_serving(name_or_path)`` reads a preset (``mappings/presets/serving/<name>.yaml``) or a YAML path and reports
every problem as ``file:line key.path: message``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from einsim.workloads.errors import SpecError, SpecIssue
from einsim.workloads.schema import Name, NonEmptyList, PosInt, SpecModel, check, positive_int, shaped
from einsim.workloads.yamlio import Doc, doc_from_text, load_doc

from .loader import PRESET_DIR
from .spec import PIPELINES

__all__ = ["ServingSpec", "load_serving", "serving_from_text", "serving_names", "SERVING_DIR", "CHANNEL_POLICIES"]

SERVING_DIR = PRESET_DIR / "serving"
CHANNEL_POLICIES = ("round_robin", "min_load")


@dataclass(frozen=True, kw_only=True)
class ServingSpec:
    """A serving configuration (see the module docstring); ``sub_batches`` lists the candidate sub-batch counts."""

    name: str
    arch: str
    mappings: str
    sub_batches: tuple[int, ...] = (1,)
    stage_pipeline: str = "interleave"
    channel_policy: str = "round_robin"
    tp: int = 1
    pp: int = 1
    kv_page_tokens: int = 1
    stage_start: str | None = None
    memory_device: str | None = None
    description: str = ""
    source: str = "<code>"


def serving_names() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in SERVING_DIR.glob("*.yaml")))


def load_serving(name_or_path) -> ServingSpec:
    """A serving configuration from a preset name (``neupims``) or a YAML path; SpecError on a malformed file."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml") and "/" not in str(name_or_path):
        path = SERVING_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            raise SpecError([SpecIssue(str(name_or_path), None, "<name>",
                                       f"serving configuration must be a preset name or a YAML path, not "
                                       f"{name_or_path!r}; presets: {', '.join(serving_names())}")])
    return _build(load_doc(path))


def serving_from_text(text: str, file: str = "<string>") -> ServingSpec:
    return _build(doc_from_text(text, file))


class _BestOf(SpecModel):
    best_of: NonEmptyList[PosInt]


class ServingFile(SpecModel):
    """The keys and types of a serving configuration file."""

    name: Name
    arch: Name
    mappings: Name
    description: str = ""
    sub_batches: shaped("a positive integer or {best_of: [...]}", mapping=_BestOf,
                        other=positive_int(" (or {best_of: [1, 2]} to take the faster per iteration)")) = 1
    stage_pipeline: Literal[PIPELINES] = "interleave"
    channel_policy: Literal[CHANNEL_POLICIES] = "round_robin"
    tp: PosInt = 1
    pp: PosInt = 1
    kv_page_tokens: PosInt = 1
    stage_start: Name | None = None
    memory_device: Name | None = None


def _build(doc: Doc) -> ServingSpec:
    d = check(doc, ServingFile)
    subs = tuple(sorted(set(d.sub_batches.best_of))) if isinstance(d.sub_batches, _BestOf) else (d.sub_batches,)
    return ServingSpec(name=d.name, arch=d.arch, mappings=d.mappings, description=d.description, source=doc.file,
                       sub_batches=subs, stage_pipeline=d.stage_pipeline, channel_policy=d.channel_policy, tp=d.tp,
                       pp=d.pp, kv_page_tokens=d.kv_page_tokens, stage_start=d.stage_start,
                       memory_device=d.memory_device)

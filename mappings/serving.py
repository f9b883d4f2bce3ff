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

from einsim.arch._check import choice, pos_int, string
from einsim.workloads.errors import SpecError, SpecIssue
from einsim.workloads.yamlio import Doc, check_keys, doc_from_text, load_doc

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


def _sub_batches(e, value) -> tuple[int, ...]:
    path = ("sub_batches",)
    if isinstance(value, dict):
        if not check_keys(e, path, value, required=("best_of",)):
            return (1,)
        cands = value["best_of"]
        if not isinstance(cands, list) or not cands:
            e.add(path + ("best_of",), f"must be a non-empty list of sub-batch counts, not {cands!r}")
            return (1,)
        ok = [pos_int(e, path + ("best_of", i), c) for i, c in enumerate(cands)]
        return tuple(sorted({c for c in ok if c is not None})) or (1,)
    n = pos_int(e, path, value, " (or {best_of: [1, 2]} to take the faster per iteration)")
    return (n,) if n else (1,)


def _build(doc: Doc) -> ServingSpec:
    e = doc.errors()
    d = doc.data
    if not check_keys(e, (), d, required=("name", "arch", "mappings"),
                      optional=("description", "sub_batches", "stage_pipeline", "channel_policy", "tp", "pp",
                                "kv_page_tokens", "stage_start", "memory_device")):
        e.raise_if_any()
    name, arch, mappings = (string(e, (k,), d[k]) for k in ("name", "arch", "mappings"))
    spec = dict(
        sub_batches=_sub_batches(e, d.get("sub_batches", 1)),
        stage_pipeline=choice(e, ("stage_pipeline",), d.get("stage_pipeline", "interleave"), PIPELINES),
        channel_policy=choice(e, ("channel_policy",), d.get("channel_policy", "round_robin"), CHANNEL_POLICIES),
        tp=pos_int(e, ("tp",), d.get("tp", 1)), pp=pos_int(e, ("pp",), d.get("pp", 1)),
        kv_page_tokens=pos_int(e, ("kv_page_tokens",), d.get("kv_page_tokens", 1)),
        stage_start=string(e, ("stage_start",), d["stage_start"]) if "stage_start" in d else None,
        memory_device=string(e, ("memory_device",), d["memory_device"]) if "memory_device" in d else None)
    e.raise_if_any()
    return ServingSpec(name=name, arch=arch, mappings=mappings, description=str(d.get("description", "")),
                       source=doc.file, **spec)

"""The serving study (``kind: serving``, e.g. analysis/studies/neupims.yaml): load its YAML, run every (model,
dataset, batch, config) serving point and the side experiments, return DataFrames. Pure computation: no files.

A point serves a steady-state batch (:func:`einsim.analysis.request_traces.stationary_batch`) for ``iterations``
decode steps of continuous batching (:func:`einsim.sim.serving.serve`), requests joining from a pool drawn from the
dataset's length distribution; the same seed per (model, dataset, batch) for every config, so configurations see the
same requests. Systems (a model on a configuration) are built once and reused across datasets and batches.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from einsim.workloads.errors import SpecError
from einsim.workloads.schema import Name, NonEmptyList, NonNegInt, PosInt, PosNum, SpecModel, check
from einsim.workloads.yamlio import load_doc

from .request_traces import LengthDistribution, draw_requests, stationary_batch

__all__ = ["ServingStudy", "load_serving_study", "is_serving_study", "select", "build_system", "start_state",
           "run_point", "point_row", "layer_rows", "run_system", "run_grid", "THROUGHPUT_COLUMNS"]

THROUGHPUT_COLUMNS = ["model", "dataset", "batch", "config", "tokens_per_s", "iteration_s", "util_npu", "util_pim",
                      "energy_pj"]
_OPTIONAL = ("interleave", "table4", "timeline", "trace", "crosscheck", "prefill", "paper")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServingStudy:
    name: str
    models: dict          # name -> {decode, prefill, tp, pp}
    datasets: dict        # name -> LengthDistribution
    batches: tuple[int, ...]
    configs: tuple[str, ...]
    units: dict
    serving: dict
    extra: dict           # interleave, table4, timeline, trace, crosscheck, prefill, paper
    file: str


def _study_path(name_or_path) -> Path:
    from .study import STUDY_DIR

    path = Path(name_or_path)
    return path if path.suffix in (".yaml", ".yml") else STUDY_DIR / f"{name_or_path}.yaml"


def is_serving_study(name_or_path) -> bool:
    """True if the study file says ``kind: serving``."""
    path = _study_path(name_or_path)
    return path.exists() and isinstance(load_doc(path).data, dict) and load_doc(path).data.get("kind") == "serving"


class _ServedModel(SpecModel):
    decode: Name
    prefill: Name | None = None
    tp: PosInt
    pp: PosInt


class _Dataset(SpecModel):
    input_mean: PosNum
    output_mean: PosNum
    max_seq_len: PosInt | None = None


class _Serving(SpecModel):
    iterations: PosInt
    time_every: PosInt
    pool: PosInt
    seed: NonNegInt


class _Units(SpecModel):
    npu: Name
    pim: Name


_Extra = dict[Name, Any] | None


class ServingStudyFile(SpecModel):
    """The keys and types of a serving study; the side experiments' options are read where they run."""

    name: Name
    kind: Literal["serving"]
    models: Annotated[dict[Name, _ServedModel], Field(min_length=1)]
    datasets: Annotated[dict[Name, _Dataset], Field(min_length=1)]
    batches: NonEmptyList[PosInt]
    configs: NonEmptyList[Name]
    units: _Units
    serving: _Serving
    interleave: _Extra = None
    table4: _Extra = None
    timeline: _Extra = None
    trace: _Extra = None
    crosscheck: _Extra = None
    prefill: _Extra = None
    paper: _Extra = None


def load_serving_study(name_or_path) -> ServingStudy:
    doc = load_doc(_study_path(name_or_path))
    e = doc.errors()
    spec = check(doc, ServingStudyFile)
    datasets = {}
    for k, v in spec.datasets.items():
        try:
            datasets[k] = LengthDistribution(name=k, **v.model_dump(exclude_none=True))
        except ValueError as exc:
            e.add(("datasets", k), str(exc))
    e.raise_if_any()
    d = doc.data
    return ServingStudy(name=spec.name, models=dict(d["models"]), datasets=datasets, batches=tuple(spec.batches),
                        configs=tuple(spec.configs), units=dict(d["units"]), serving=dict(d["serving"]),
                        extra={k: d[k] for k in _OPTIONAL if k in d}, file=doc.file)


def select(study: ServingStudy, *, models=None, batches=None) -> ServingStudy:
    """The study restricted to some models and batch sizes (SpecError naming the unknown ones)."""
    from einsim.workloads.errors import SpecIssue

    bad = [m for m in (models or []) if m not in study.models]
    if bad:
        raise SpecError([SpecIssue(study.file, None, "--models", f"must be among {', '.join(study.models)}, not "
                                                                  f"{', '.join(bad)}")])
    return dataclasses.replace(study, models={m: v for m, v in study.models.items() if not models or m in models},
                               batches=tuple(batches) if batches else study.batches)


@functools.cache
def _specs(model: str, prefill: str | None, config: str):
    """The specs a system is built from, each file read once per process."""
    from einsim.arch import load_arch
    from einsim.mappings import load_mapping_set
    from einsim.mappings.serving import load_serving
    from einsim.workloads import load_model

    serving = load_serving(config)
    return (load_model(model), load_model(prefill) if prefill else None, serving, load_arch(serving.arch),
            load_mapping_set(serving.mappings))


def build_system(study: ServingStudy, model: str, config: str, *, cache=None, engine="analytical"):
    from einsim.sim.decode import DecodeSystem

    m = study.models[model]
    decode, prefill, serving, arch, mappings = _specs(m["decode"], m.get("prefill"), config)
    return DecodeSystem(decode, serving, arch, mappings, tp=m["tp"], pp=m["pp"], cache=cache, engine=engine,
                        prefill_model=prefill)


def _point_rng(study: ServingStudy, model: str, dataset: str, batch: int) -> np.random.Generator:
    keys = [study.serving["seed"], list(study.models).index(model), list(study.datasets).index(dataset), batch]
    return np.random.default_rng(keys)


def start_state(study: ServingStudy, model: str, dataset: str, batch: int):
    """(initial (context, steps left), request pool) of a point: the same for every configuration."""
    rng = _point_rng(study, model, dataset, batch)
    dist = study.datasets[dataset]
    ctx, left = stationary_batch(dist, batch, rng)
    return (ctx, left), draw_requests(dist, study.serving["pool"] * batch, rng)


def run_point(study: ServingStudy, system, model: str, dataset: str, batch: int, *, sub_batches=None,
              iterations=None, prefill=False):
    """The serving run of one point (a ServingRun)."""
    from einsim.sim.serving import serve

    init, pool = start_state(study, model, dataset, batch)
    return serve(system, pool, max_batch=batch, iterations=iterations or study.serving["iterations"],
                 initial=(init[0], init[1], None), time_every=study.serving["time_every"], prefill=prefill,
                 sub_batches=sub_batches)


def point_row(study: ServingStudy, system, run, model, dataset, batch, config) -> dict:
    """One throughput.csv row: the run's throughput and latency-weighted means of its iterations (``energy_pj``: one
    device's energy per decode iteration; ``gwrite``... PIM commands per iteration on one device)."""
    it = pd.DataFrame(run.iterations)
    w = it.latency_s.to_numpy()
    mean = lambda col: float(np.average(it[col], weights=w)) if col in it else float("nan")  # noqa: E731
    npu, pim = study.units["npu"], study.units["pim"]
    row = {"model": model, "dataset": dataset, "batch": batch, "config": config, "tokens_per_s": run.tokens_per_s,
           "iteration_s": float(it.latency_s.mean()), "util_npu": mean(f"util_{npu}"),
           "util_pim": mean(f"util_{pim}"), "energy_pj": float(it.energy_pj.mean()),
           "busy_npu": mean(f"busy_{npu}"), "busy_pim": mean(f"busy_{pim}"),
           "mean_batch": float(it.batch.mean()), "mean_context": float(it.mean_context.mean()),
           "sub_batches": float(it.sub_batches.mean()),
           # each of the pp devices runs its layers of one batch per device iteration, which emits one batch
           "energy_pj_per_token": float(it.energy_pj.sum() * system.pp / it.batch.sum()),
           "dram_bytes": float(it.dram_bytes.mean()), "tp": system.tp, "pp": system.pp}
    for c in ("gwrite", "g_act", "comp", "readres"):
        row[c] = float(it[c].mean()) if c in it else 0.0
    return row


def layer_rows(run, model, dataset, batch, config) -> list[dict]:
    it = pd.DataFrame(run.iterations)
    out = []
    for col in [c for c in it.columns if c.startswith("layer_") and c.endswith("_cycles")]:
        out.append({"model": model, "dataset": dataset, "batch": batch, "config": config,
                    "layer": col[len("layer_"):-len("_cycles")], "cycles": float(it[col].mean()),
                    "share": float(it[col].mean() / it.cycles.mean())})
    return out


def run_system(study: ServingStudy, model: str, config: str, *, engine: str = "analytical", cache=None):
    """Every (dataset, batch) point of one system, and with two sub-batches forced where ``interleave`` lists
    the config: (throughput rows, layer rows, interleave rows)."""
    from einsim.sim.group_costs import CostCache

    system = build_system(study, model, config, cache=cache if cache is not None else CostCache(), engine=engine)
    forced = config in study.extra.get("interleave", {}).get("configs", [])
    rows, layers, inter = [], [], []
    for dataset in study.datasets:
        for batch in study.batches:
            run = run_point(study, system, model, dataset, batch)
            rows.append(point_row(study, system, run, model, dataset, batch, config))
            layers += layer_rows(run, model, dataset, batch, config)
            if forced:
                one = run if system.serving.sub_batches == (1,) else run_point(study, system, model, dataset, batch,
                                                                                sub_batches=1)
                two = run_point(study, system, model, dataset, batch, sub_batches=2)
                inter.append({"model": model, "dataset": dataset, "batch": batch, "config": config,
                              "tokens_per_s_1": one.tokens_per_s, "tokens_per_s_2": two.tokens_per_s,
                              "gain": two.tokens_per_s / one.tokens_per_s})
    return rows, layers, inter


def _run_model(study: ServingStudy, model: str):
    """Every configuration of one model, sharing one cost cache (configurations on one architecture, or on
    architectures whose NPU is the same, evaluate each layer once)."""
    from einsim.sim.group_costs import CostCache

    cache = CostCache()
    parts = [run_system(study, model, c, cache=cache) for c in study.configs]
    return tuple([r for p in parts for r in p[i]] for i in range(3))


def run_grid(study: ServingStudy, *, workers: int = 1, progress=None):
    """(throughput, layers, interleave) DataFrames over models x configs x datasets x batches, the models spread
    over ``workers`` processes; ``progress(n)`` after each model."""
    tasks = [(study, m) for m in study.models]
    results = []
    if workers <= 1:
        for t in tasks:
            results.append(_run_model(*t))
            if progress:
                progress(1)
    else:
        import concurrent.futures as cf
        import multiprocessing as mp

        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = [pool.submit(_run_model, *t) for t in tasks]
            for _ in cf.as_completed(futures):
                if progress:
                    progress(1)
            results = [f.result() for f in futures]
    rows = [r for res in results for r in res[0]]
    layers = [r for res in results for r in res[1]]
    inter = [r for res in results for r in res[2]]
    return pd.DataFrame(rows), pd.DataFrame(layers), pd.DataFrame(inter)

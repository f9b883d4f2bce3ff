"""The FuseMax study: load its YAML definition, evaluate every (model, seq_len, config) point, return DataFrames.

Attention uses each configuration's cascade, architecture and mapping; end to end adds the model's other layers
(projections, FFN) with the study's layer mappings on the same architecture. Pure computation: no files written.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pandas as pd

import einsim.arch as arch_mod
import einsim.mappings as map_mod
import einsim.workloads as workloads
from einsim.sim import evaluate, simulate
from einsim.workloads.errors import SpecError
from einsim.workloads.yamlio import check_keys, load_doc

__all__ = ["ENGINES", "Study", "load_study", "run_attention", "run_end_to_end", "run_pareto", "scale_array",
           "STUDY_DIR"]

STUDY_DIR = Path(__file__).parent / "studies"
#: timing model by name: the analytical model (rung 4) or the event engine (rung 3); same Result either way
ENGINES = {"analytical": evaluate, "event": simulate}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Study:
    name: str
    models: tuple[str, ...]
    seq_lens: tuple[int, ...]
    configs: dict            # config -> {"cascade", "arch", "mapping"}
    layers: dict             # role -> {"cascade" (optional), "mapping"}
    baseline: str
    reference: str
    pareto: dict
    paper: dict
    folder: Path


def load_study(name_or_path) -> Study:
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = STUDY_DIR / f"{name_or_path}.yaml"
    doc = load_doc(path)
    e = doc.errors()
    d = doc.data
    check_keys(e, (), d, required=("name", "models", "seq_lens", "configs", "layers", "baseline"),
               optional=("reference", "pareto", "paper"))
    e.raise_if_any()
    for c, v in d["configs"].items():
        check_keys(e, ("configs", c), v, required=("cascade", "arch", "mapping"))
    for r, v in d["layers"].items():
        check_keys(e, ("layers", r), v, required=("mapping",), optional=("cascade",))
    if d["baseline"] not in d["configs"]:
        e.add(("baseline",), f"must be one of the configs ({', '.join(d['configs'])}), not {d['baseline']!r}")
    e.raise_if_any()
    return Study(name=d["name"], models=tuple(d["models"]), seq_lens=tuple(int(s) for s in d["seq_lens"]),
                 configs=dict(d["configs"]), layers=dict(d["layers"]), baseline=d["baseline"],
                 reference=d.get("reference", d["baseline"]), pareto=dict(d.get("pareto") or {}),
                 paper=dict(d.get("paper") or {}), folder=path.parent)


def _cascade(study: Study, name: str):
    local = study.folder / name
    return workloads.load_cascade(local if local.suffix == ".yaml" and local.exists() else name)


def _progress(msg):
    print(msg, file=sys.stderr, flush=True)


def _attention_point(study, model, seq_len, cfg, arch=None, mapping=None, engine="analytical"):
    c = study.configs[cfg]
    layer = next(L for L in workloads.load_model(model).instantiate(seq_len=seq_len) if L.role == "attention")
    arch = arch or arch_mod.load_arch(c["arch"])
    mapping = mapping or map_mod.load_mapping(c["mapping"])
    return ENGINES[engine](_cascade(study, c["cascade"]), arch, mapping, dict(layer.sizes)), layer


def run_attention(study: Study, *, models=None, seq_lens=None, configs=None, progress=True,
                  engine="analytical"):
    """(points DataFrame, per-Einsum activity DataFrame) for attention alone."""
    rows, act = [], []
    for model in models or study.models:
        label = workloads.load_model(model).label if hasattr(workloads.load_model(model), "label") else model
        for s in seq_lens or study.seq_lens:
            for cfg in configs or study.configs:
                r, _ = _attention_point(study, model, s, cfg, engine=engine)
                if progress:
                    _progress(f"attention {label} {s} {cfg}: "
                              + (f"{r.summary['latency_s']:.4g} s" if r.ok else f"infeasible: {r.reason}"))
                row = r.row(model=label, seq_len=s, config=cfg)
                row["util_2d"] = r.summary.get("util_array2d", float("nan"))
                row["util_1d"] = r.summary.get("util_array1d", float("nan"))
                rows.append(row)
                for a in r.activity:
                    act.append({"model": label, "seq_len": s, "config": cfg, "group": a[0], "einsum": a[1],
                                "task": a[2], "resource": a[3], "busy_cycles": a[5], "pe_cycles": a[6]})
    return pd.DataFrame(rows), pd.DataFrame(act)


def run_end_to_end(study: Study, attention: pd.DataFrame, *, models=None, seq_lens=None, configs=None,
                   progress=True, engine="analytical") -> pd.DataFrame:
    """Attention rows plus each model's other layers (times their count), per (model, seq_len, config)."""
    rows = []
    cache = {}
    for model in models or study.models:
        m = workloads.load_model(model)
        label = getattr(m, "label", model)
        for s in seq_lens or study.seq_lens:
            layers = m.instantiate(seq_len=s)
            for cfg in configs or study.configs:
                a = attention[(attention.model == label) & (attention.seq_len == s) & (attention.config == cfg)]
                tot = {"cycles": float(a.cycles.iloc[0]), "latency_s": float(a.latency_s.iloc[0]),
                       "energy_pj": float(a.energy_pj.iloc[0]), "dram_bytes": float(a.dram_bytes.iloc[0])}
                ok = bool(a.ok.iloc[0])
                arch_name = study.configs[cfg]["arch"]
                for L in layers:
                    if L.role == "attention":
                        continue
                    spec = study.layers.get(L.role)
                    if spec is None:
                        raise SpecError([workloads.SpecIssue(str(study.folder), None, "layers",
                                                             f"no mapping for layer role {L.role!r}; add it")])
                    key = (arch_name, L.role, tuple(sorted(L.sizes.items())))
                    if key not in cache:
                        casc = _cascade(study, spec.get("cascade", L.cascade))
                        cache[key] = ENGINES[engine](casc, arch_mod.load_arch(arch_name),
                                              map_mod.load_mapping(spec["mapping"]), dict(L.sizes))
                    r = cache[key]
                    ok = ok and r.ok
                    for k in tot:
                        tot[k] += L.count * r.summary.get(k, float("nan"))
                if progress:
                    _progress(f"end-to-end {label} {s} {cfg}: {tot['latency_s']:.4g} s")
                rows.append({"model": label, "seq_len": s, "config": cfg, "ok": ok, **tot})
    return pd.DataFrame(rows)


def scale_array(arch, mapping, size: int):
    """FuseMax with a ``size`` x ``size`` 2D array, a ``size``-PE 1D array and ``size`` tiles: spec overrides only."""
    a = arch.with_unit("array2d", dims={"rows": size, "cols": size}).with_unit("array1d", dims={"pes": size})
    groups = []
    for g in mapping.groups:
        loops = tuple(dataclasses.replace(lp, tile=size) if lp.tile == 256 else lp for lp in g.loops)
        groups.append(dataclasses.replace(g, loops=loops))
    parts = {k: (size if v == 256 else v) for k, v in mapping.partitions.items()}
    return a, dataclasses.replace(mapping, groups=tuple(groups), partitions=parts)


def run_pareto(study: Study, progress=True) -> pd.DataFrame:
    p = study.pareto
    cfg = study.configs[p["config"]]
    base_arch = arch_mod.load_arch(cfg["arch"])
    base_map = map_mod.load_mapping(cfg["mapping"])
    rows = []
    for size in p["sizes"]:
        a, m = scale_array(base_arch, base_map, int(size))
        r, _ = _attention_point(study, p["model"], int(p["seq_len"]), p["config"], arch=a, mapping=m)
        area = arch_mod.area_breakdown(a)
        rows.append({"size": int(size), "ok": r.ok, "latency_s": r.summary.get("latency_s", float("nan")),
                     "energy_pj": r.summary.get("energy_pj", float("nan")),
                     "area_mm2": sum(area.values()),
                     "array2d_area_mm2": sum(v for k, v in area.items() if k.startswith("array2d")),
                     "util_2d": r.summary.get("util_array2d", float("nan"))})
        if progress:
            _progress(f"pareto {size}x{size}: {rows[-1]['latency_s']:.4g} s, {rows[-1]['area_mm2']:.1f} mm2")
    return pd.DataFrame(rows)

"""The FuseMax study: load its YAML definition, evaluate every (model, seq_len, config) point, return DataFrames.

Attention uses each configuration's cascade, architecture and mapping; end to end adds the model's other layers
(projections, FFN) with the study's layer mappings on the same architecture. A study may ``extends`` another (its
keys replace the base's) and list ``quirks``: YAML overlays on some configurations that reproduce a reference model's
modelling choices (:mod:`einsim.analysis.overlay`). ``published`` names a CSV of a reference's per-point figures
(config, model, seq_len, latency_s, energy_pj) to compare with. Pure computation: no files written.
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

from .overlay import Quirk, Specs, resolve

__all__ = ["ENGINES", "Study", "load_study", "run_attention", "run_end_to_end", "run_pareto", "scale_array",
           "config_specs", "run_buffer_sweep", "STUDY_DIR"]

STUDY_DIR = Path(__file__).parent / "studies"
#: timing model by name: the analytical model (rung 4) or the event engine (rung 3); same Result either way
ENGINES = {"analytical": evaluate, "event": simulate}

_KEYS = ("name", "models", "seq_lens", "configs", "layers", "baseline")
_OPTIONAL = ("reference", "pareto", "paper", "published", "buffer_sweep")


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
    folder: Path             # where the study file is; files it names are looked up here, then in ``base_folders``
    quirks: tuple[Quirk, ...] = ()
    published: Path | None = None
    buffer_sweep: dict = dataclasses.field(default_factory=dict)
    base_folders: tuple[Path, ...] = ()      # the folders of the studies it extends

    @property
    def folders(self) -> tuple[Path, ...]:
        return (self.folder,) + self.base_folders

    def find(self, name: str) -> Path | None:
        """A file a study names: next to it, else next to the study it extends (None if neither has it)."""
        return next((f / name for f in self.folders if (f / name).is_file()), None)


def _study_path(name_or_path, folder: Path = STUDY_DIR) -> Path:
    """A study file: a path, or a name next to ``folder`` or among the packaged studies."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = folder / f"{name_or_path}.yaml"
        if not path.exists():
            path = STUDY_DIR / f"{name_or_path}.yaml"
    return path


def load_study(name_or_path) -> Study:
    path = _study_path(name_or_path)
    doc = load_doc(path)
    e = doc.errors()
    d = doc.data
    base_folders: tuple = ()
    if isinstance(d, dict) and "extends" in d:
        check_keys(e, (), d, required=("name", "extends"), optional=_KEYS[1:] + _OPTIONAL + ("quirks",))
        e.raise_if_any()
        base_path = _study_path(d["extends"], path.parent)
        base = load_doc(base_path)
        be = base.errors()
        check_keys(be, (), base.data, required=_KEYS, optional=_OPTIONAL)
        be.raise_if_any()
        d = {**base.data, **{k: v for k, v in d.items() if k != "extends"}}
        base_folders = (base_path.parent,)
    else:
        check_keys(e, (), d, required=_KEYS, optional=_OPTIONAL + ("quirks",))
    e.raise_if_any()
    for c, v in d["configs"].items():
        check_keys(e, ("configs", c), v, required=("cascade", "arch", "mapping"))
    for r, v in d["layers"].items():
        check_keys(e, ("layers", r), v, required=("mapping",), optional=("cascade",))
    if d["baseline"] not in d["configs"]:
        e.add(("baseline",), f"must be one of the configs ({', '.join(d['configs'])}), not {d['baseline']!r}")
    quirks = _quirks(e, d.get("quirks") or [], tuple(d["configs"]))
    e.raise_if_any()
    study = Study(name=d["name"], models=tuple(d["models"]), seq_lens=tuple(int(s) for s in d["seq_lens"]),
                 configs=dict(d["configs"]), layers=dict(d["layers"]), baseline=d["baseline"],
                 reference=d.get("reference", d["baseline"]), pareto=dict(d.get("pareto") or {}),
                 paper=dict(d.get("paper") or {}), folder=path.parent, quirks=quirks,
                 buffer_sweep=dict(d.get("buffer_sweep") or {}), base_folders=base_folders)
    if d.get("published"):
        found = study.find(d["published"])
        if found is None:
            e.add(("published",), f"must name a CSV next to the study, not {d['published']!r} (not found)")
            e.raise_if_any()
        study = dataclasses.replace(study, published=found)
    return study


def _quirks(e, items, configs: tuple) -> tuple[Quirk, ...]:
    if not isinstance(items, list):
        e.add(("quirks",), f"must be a list of quirks (name, what, source, configs, overlays), not {items!r}")
        return ()
    out = []
    for i, q in enumerate(items):
        path = ("quirks", i)
        if not check_keys(e, path, q, required=("name", "what", "source", "configs"),
                          optional=("seq_lens", "cascade", "arch", "mapping")):
            continue
        cfgs = configs if q["configs"] == "all" else q["configs"]
        if not isinstance(cfgs, (list, tuple)) or any(c not in configs for c in cfgs):
            e.add(path + ("configs",), f"must be 'all' or a list of the study's configs ({', '.join(configs)}), "
                                       f"not {q['configs']!r}")
            continue
        if not any(k in q for k in ("cascade", "arch", "mapping")):
            e.add(path, "needs an overlay: cascade, arch or mapping (a file name, or YAML to merge into the file)")
            continue
        lens = q.get("seq_lens")
        out.append(Quirk(name=str(q["name"]), what=str(q["what"]), source=str(q["source"]), configs=tuple(cfgs),
                         seq_lens=None if lens is None else tuple(int(x) for x in lens), cascade=q.get("cascade"),
                         arch=q.get("arch"), mapping=q.get("mapping")))
    return tuple(out)


def config_specs(study: Study, config: str, seq_len: int, without=frozenset()) -> Specs:
    """Cascade, architecture and mapping of ``config`` at ``seq_len``, with the study's quirks but ``without``."""
    return resolve(study.folders, study.configs[config], config, seq_len, study.quirks, without)


def _cascade(study: Study, name: str):
    local = study.find(name) if name.endswith((".yaml", ".yml")) else None
    return workloads.load_cascade(local or name)


def _progress(msg):
    print(msg, file=sys.stderr, flush=True)


def _attention_point(study, model, seq_len, cfg, arch=None, mapping=None, engine="analytical", without=frozenset()):
    specs = config_specs(study, cfg, seq_len, without)
    layer = next(L for L in workloads.load_model(model).instantiate(seq_len=seq_len) if L.role == "attention")
    return ENGINES[engine](specs.cascade, arch or specs.arch, mapping or specs.mapping, dict(layer.sizes)), layer


def run_attention(study: Study, *, models=None, seq_lens=None, configs=None, progress=True,
                  engine="analytical", breakdown: list | None = None, without=frozenset()):
    """(points DataFrame, per-Einsum activity DataFrame) for attention alone; with a ``breakdown`` list, each
    point's energy rows (model, seq_len, config, component, action, count, energy_pj) are appended to it."""
    rows, act = [], []
    for model in models or study.models:
        label = workloads.load_model(model).label if hasattr(workloads.load_model(model), "label") else model
        for s in seq_lens or study.seq_lens:
            for cfg in configs or study.configs:
                r, _ = _attention_point(study, model, s, cfg, engine=engine, without=without)
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
                if breakdown is not None:
                    breakdown.extend({"model": label, "seq_len": s, "config": cfg, "component": comp,
                                      "action": action, "count": n, "energy_pj": pj}
                                     for comp, action, n, pj in r.energy)
    return pd.DataFrame(rows), pd.DataFrame(act)


def run_end_to_end(study: Study, attention: pd.DataFrame, *, models=None, seq_lens=None, configs=None,
                   progress=True, engine="analytical", without=frozenset()) -> pd.DataFrame:
    """Attention rows plus each model's other layers (times their count), per (model, seq_len, config); the layers
    run on the configuration's architecture (with its quirks)."""
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
                specs = config_specs(study, cfg, s, without)
                for L in layers:
                    if L.role == "attention":
                        continue
                    spec = study.layers.get(L.role)
                    if spec is None:
                        raise SpecError([workloads.SpecIssue(str(study.folder), None, "layers",
                                                             f"no mapping for layer role {L.role!r}; add it")])
                    key = (specs.arch_key, L.role, tuple(sorted(L.sizes.items())))
                    if key not in cache:
                        casc = _cascade(study, spec.get("cascade", L.cascade))
                        cache[key] = ENGINES[engine](casc, specs.arch, map_mod.load_mapping(spec["mapping"]),
                                                     dict(L.sizes))
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
    specs = config_specs(study, p["config"], int(p["seq_len"]))
    base_arch, base_map = specs.arch, specs.mapping
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


def run_buffer_sweep(study: Study, progress=True) -> pd.DataFrame:
    """The study's ``buffer_sweep``: one configuration's on-chip ``level`` at each capacity (MiB), its energy per
    access and area from the component model for that geometry, and one attention point evaluated on it."""
    b = study.buffer_sweep
    specs = config_specs(study, b["config"], int(b["seq_len"]))
    rows = []
    for mib in b["capacities_mib"]:
        a = specs.arch.with_level(b["level"], capacity_bytes=int(mib * 2**20))
        lvl = a.level(b["level"])
        r, _ = _attention_point(study, b["model"], int(b["seq_len"]), b["config"], arch=a)
        buf = sum(e[3] for e in r.energy if e[0] == b["level"]) if r.ok else float("nan")
        rows.append({"capacity_mib": mib, "read_pj": lvl.access_energy_pj("read"),
                     "write_pj": lvl.access_energy_pj("write"), "area_mm2": lvl.copy_area_um2 / 1e6, "ok": r.ok,
                     "latency_s": r.summary.get("latency_s", float("nan")),
                     "energy_pj": r.summary.get("energy_pj", float("nan")), "buffer_energy_pj": buf})
        if progress:
            _progress(f"buffer {mib} MiB: read {rows[-1]['read_pj']:.0f} pJ, {rows[-1]['area_mm2']:.1f} mm2")
    return pd.DataFrame(rows)

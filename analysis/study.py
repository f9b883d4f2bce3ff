"""The FuseMax study: load its YAML definition, evaluate every (model, seq_len, config) point, return DataFrames.

Attention uses each configuration's cascade, architecture and mapping; end to end adds the model's other layers
(projections, FFN) with the study's layer mappings on the same architecture. A study may ``extends`` another (its
keys replace the base's) and list ``quirks``: YAML overlays on some configurations that reproduce a reference model's
modelling choices (:mod:`einsim.analysis.overlay`). ``published`` names a CSV of a reference's per-point figures
(config, model, seq_len, latency_s, energy_pj) to compare with; ``buffer_sweep`` evaluates one configuration's
buffer at several capacities. Pure computation: no files written.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
from pydantic import Field

import einsim.arch as arch_mod
import einsim.mappings as map_mod
import einsim.workloads as workloads
from einsim.sim import evaluate, simulate
from einsim.workloads.errors import SpecError, SpecIssue
from einsim.workloads.schema import Name, NonEmptyList, PosInt, PosNum, SpecModel, validate, validate_data
from einsim.workloads.yamlio import Doc, load_doc, suggest

from .overlay import Quirk, Specs, resolve

__all__ = ["ENGINES", "Study", "StudyFile", "load_study", "run_attention", "run_end_to_end", "run_pareto",
           "scale_array", "point_count", "check_study_specs", "config_specs", "run_buffer_sweep", "STUDY_DIR"]

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


class _Config(SpecModel):
    cascade: Name
    arch: Name
    mapping: Name


class _LayerRole(SpecModel):
    mapping: Name
    cascade: Name | None = None


class _Pareto(SpecModel):
    config: Name
    model: Name
    seq_len: PosInt
    sizes: NonEmptyList[PosInt]


class _Claim(SpecModel):
    speedup: PosNum
    energy: PosNum


class _BufferSweep(SpecModel):
    config: Name
    level: Name
    capacities_mib: NonEmptyList[PosNum]
    model: Name
    seq_len: PosInt


class _Quirk(SpecModel):
    """A reference model's choice as overlays: a file name replaces the file, a mapping merges into it."""

    name: Name
    what: Name
    source: Name
    configs: Literal["all"] | NonEmptyList[Name]
    seq_lens: NonEmptyList[PosInt] | None = None
    cascade: Name | None = None
    arch: Name | dict | None = None
    mapping: Name | dict | None = None


class StudyFile(SpecModel):
    """The keys and types of a study file; :func:`load_study` checks what its names refer to."""

    name: Name
    models: NonEmptyList[Name]
    seq_lens: NonEmptyList[PosInt]
    configs: Annotated[dict[Name, _Config], Field(min_length=1)]
    layers: dict[Name, _LayerRole]
    baseline: Name
    reference: Name | None = None
    pareto: _Pareto | None = None
    paper: dict[Literal["attention", "end_to_end"], _Claim] | None = None
    buffer_sweep: _BufferSweep | None = None
    published: Name | None = None
    quirks: list[_Quirk] | None = None


class _Extends(SpecModel):
    extends: Name


def _study_path(name_or_path, folder: Path = STUDY_DIR) -> Path:
    """A study file: a YAML path, or a name next to ``folder`` or among the packaged studies."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = folder / f"{name_or_path}.yaml"
        if not path.exists():
            path = STUDY_DIR / f"{name_or_path}.yaml"
            if not path.exists():
                known = sorted(p.stem for p in STUDY_DIR.glob("*.yaml"))
                raise SpecError([SpecIssue(str(name_or_path), None, "<name>",
                                           f"study must be a packaged name or a YAML path, not {str(name_or_path)!r}"
                                           f"{suggest(str(name_or_path), known)}; studies: {', '.join(known)}")])
    return path


def load_study(name_or_path) -> Study:
    """A Study from a packaged name (``fusemax``) or a YAML path; SpecError listing every problem of the file. A file
    with ``extends: <study>`` takes every key of that study it does not give itself."""
    path = _study_path(name_or_path)
    doc = load_doc(path)
    base_folders: tuple = ()
    if isinstance(doc.data, dict) and "extends" in doc.data:
        extends = validate_data({"extends": doc.data["extends"]}, _Extends, file=doc.file, line_of=doc.line).extends
        base_path = _study_path(extends, path.parent)
        base = load_doc(base_path)
        data = {**(base.data if isinstance(base.data, dict) else {}),
                **{k: v for k, v in doc.data.items() if k != "extends"}}
        doc = Doc(data, doc._lines, doc.file)
        base_folders = (base_path.parent,)
    e = doc.errors()
    spec = validate(doc, StudyFile, e)
    if spec is None:
        e.raise_if_any()
    folders = (path.parent,) + base_folders
    _check_references(e, spec, folders)
    e.raise_if_any()
    study = Study(name=spec.name, models=tuple(spec.models), seq_lens=tuple(spec.seq_lens),
                  configs={k: v.model_dump() for k, v in spec.configs.items()},
                  layers={k: v.model_dump(exclude_none=True) for k, v in spec.layers.items()},
                  baseline=spec.baseline, reference=spec.reference or spec.baseline,
                  pareto=spec.pareto.model_dump() if spec.pareto else {},
                  paper={k: v.model_dump() for k, v in (spec.paper or {}).items()}, folder=path.parent,
                  quirks=tuple(Quirk(name=q.name, what=q.what, source=q.source,
                                     configs=tuple(spec.configs) if q.configs == "all" else tuple(q.configs),
                                     seq_lens=None if q.seq_lens is None else tuple(q.seq_lens), cascade=q.cascade,
                                     arch=q.arch, mapping=q.mapping) for q in spec.quirks or ()),
                  buffer_sweep=spec.buffer_sweep.model_dump() if spec.buffer_sweep else {},
                  base_folders=base_folders)
    if spec.published:
        study = dataclasses.replace(study, published=study.find(spec.published))
    return study


def _check_references(e, spec: StudyFile, folders) -> None:
    """Names in a study that must refer to something: configs, models, presets, cascades, files, quirks."""
    configs = list(spec.configs)
    sweep = spec.buffer_sweep
    for key, value in (("baseline", spec.baseline), ("reference", spec.reference),
                       ("pareto.config", spec.pareto.config if spec.pareto else None),
                       ("buffer_sweep.config", sweep.config if sweep else None)):
        if value is not None and value not in configs:
            e.add(tuple(key.split(".")), f"must be one of the configs ({', '.join(configs)}), not {value!r}"
                                         f"{suggest(value, configs)}")
    models = sorted(p.stem for p in workloads.MODELS.glob("*.yaml"))
    for i, m in enumerate(spec.models):
        if m.lower() not in models and not Path(m).exists():
            e.add(("models", i), f"unknown model {m!r}{suggest(m, models)}; models: {', '.join(models)}")
    if spec.pareto and spec.pareto.model not in spec.models:
        e.add(("pareto", "model"), f"must be one of the study's models ({', '.join(spec.models)}), not "
                                   f"{spec.pareto.model!r}")
    if spec.published and not any((f / spec.published).is_file() for f in folders):
        e.add(("published",), f"must name a CSV next to the study, not {spec.published!r} (not found)")
    kinds = {"arch": arch_mod.preset_names(), "mapping": map_mod.preset_names(),
             "cascade": sorted(p.stem for p in workloads.LIBRARY.glob("*.yaml"))}
    entries = [(("configs", c), v.model_dump()) for c, v in spec.configs.items()]
    entries += [(("layers", r), v.model_dump()) for r, v in spec.layers.items()]
    for i, q in enumerate(spec.quirks or ()):
        path = ("quirks", i)
        bad = [c for c in (() if q.configs == "all" else q.configs) if c not in configs]
        if bad:
            e.add(path + ("configs",), f"must be 'all' or a list of the study's configs ({', '.join(configs)}), not "
                                       f"{', '.join(map(repr, bad))}")
        if q.cascade is None and q.arch is None and q.mapping is None:
            e.add(path, "needs an overlay: cascade, arch or mapping (a file name, or YAML to merge into the file)")
        entries.append((path, {k: v for k in ("cascade", "arch", "mapping") if isinstance(v := getattr(q, k), str)}))
    for path, entry in entries:
        for kind, known in kinds.items():
            name = entry.get(kind)
            if name is None or name in known or any((f / name).exists() for f in folders) or \
                    Path(name).suffix in (".yaml", ".yml") and Path(name).exists():
                continue
            e.add(path + (kind,), f"unknown {kind} {name!r}{suggest(name, known)}; presets: {', '.join(known)}, or "
                                  f"a YAML path")


def config_specs(study: Study, config: str, seq_len: int, without=frozenset()) -> Specs:
    """Cascade, architecture and mapping of ``config`` at ``seq_len``, with the study's quirks but ``without``."""
    return resolve(study.folders, study.configs[config], config, seq_len, study.quirks, without)


def _cascade(study: Study, name: str):
    local = study.find(name) if name.endswith((".yaml", ".yml")) else None
    return workloads.load_cascade(local or name)


def _progress(progress, msg):
    """Report one finished point: ``progress`` is False (quiet), True (a line on stderr) or a callable taking msg."""
    if callable(progress):
        progress(msg)
    elif progress:
        print(msg, file=sys.stderr, flush=True)


def point_count(study: Study, *, models=None, seq_lens=None) -> int:
    """Number of points a full study run reports (attention, end to end, pareto): the length of its progress bar."""
    n = len(models or study.models) * len(seq_lens or study.seq_lens) * len(study.configs)
    sweep = len(study.buffer_sweep["capacities_mib"]) if study.buffer_sweep else 0
    return 2 * n + (len(study.pareto["sizes"]) if study.pareto else 0) + sweep


def check_study_specs(study: Study) -> None:
    """Load every cascade, architecture, mapping and model the study names and cross-check each (cascade, arch,
    mapping) it will evaluate (:func:`mappings.crosscheck.check_mapping_against`); SpecError before any work."""
    from einsim.mappings.crosscheck import check_mapping_against

    pairs = {(c["cascade"], c["mapping"]) for c in study.configs.values()}
    for model in study.models:
        m = workloads.load_model(model)
        if not any(L.role == "attention" for L in m.layers):
            raise SpecError([SpecIssue(m.file, None, "layers", "the study needs a layer with role 'attention'")])
        for L in m.layers:
            if L.role == "attention":
                continue
            spec = study.layers.get(L.role)
            if spec is None:
                raise SpecError([SpecIssue(str(study.folder), None, "layers", f"no mapping for layer role {L.role!r} "
                                           f"of model {m.name!r}; add '{L.role}: {{mapping: ...}}' under layers")])
            pairs.add((spec.get("cascade", L.cascade), spec["mapping"]))
    for c in study.configs.values():
        arch = arch_mod.load_arch(c["arch"])
        for casc, mapping in sorted(pairs):
            if (casc, mapping) == (c["cascade"], c["mapping"]) or (casc, mapping) not in {
                    (x["cascade"], x["mapping"]) for x in study.configs.values()}:
                check_mapping_against(_cascade(study, casc), arch, map_mod.load_mapping(mapping))


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
                _progress(progress, f"attention {label} {s} {cfg}: "
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
                _progress(progress, f"end-to-end {label} {s} {cfg}: {tot['latency_s']:.4g} s")
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
        _progress(progress, f"pareto {size}x{size}: {rows[-1]['latency_s']:.4g} s, {rows[-1]['area_mm2']:.1f} mm2")
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
        _progress(progress, f"buffer {mib} MiB: read {rows[-1]['read_pj']:.0f} pJ, {rows[-1]['area_mm2']:.1f} mm2")
    return pd.DataFrame(rows)

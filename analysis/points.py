"""Sweep points: resolve each design point to the full spec it stands for, hash it, and evaluate it (on a worker).

A point's resolved spec is the cascade text and sizes, the architecture's YAML data and the mapping resolver's data
(for a preset, the mapping YAML data), after the axes edited them. Its content hash (SHA-256 over the canonical JSON
of that spec, the timing engine and the versions of einsim and its component models) keys the results store, so
equal specs are evaluated once and a resumed sweep skips what is stored. :func:`evaluate_point` takes plain data
(texts, numbers) and returns plain data: Dask ships it to workers as is.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import importlib.metadata
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from einsim.workloads.errors import ErrorList, SpecError, SpecIssue, format_path

from .keypath import parse_key_path, set_path
from .resolvers import RESOLVERS, resolver_by_ref
from .roofline import peak_ops_per_s
from .sweep import SweepSpec

__all__ = ["Point", "resolve_points", "evaluate_point", "spec_hash", "peak_ops_per_s", "model_versions"]

_MAX_ISSUES = 20


@dataclass(frozen=True, kw_only=True)
class Point:
    """One resolved design point. ``payload`` is what a worker evaluates; ``arch_columns`` (area_mm2,
    peak_ops_per_s, dram_bytes_per_s) are known before evaluation; ``excluded`` says which constraint failed."""

    index: int
    values: dict
    hash: str
    payload: dict
    arch_columns: dict
    excluded: str = ""


@functools.cache
def model_versions() -> dict[str, str]:
    """Versions of einsim and of the component-model packages it computes energies and areas with (hwcomponents*,
    e.g. CACTI's): part of every point's hash, so new models give new results rather than stale ones."""
    found = {}
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name == "einsim" or name.startswith("hwcomponents"):
            found[name] = dist.version
    return dict(sorted(found.items()))


def _canonical(x):
    if isinstance(x, dict):
        return {str(k): _canonical(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_canonical(v) for v in x]
    return x


def spec_hash(spec: dict) -> str:
    """SHA-256 (hex) of the canonical JSON of a resolved spec (keys sorted, no whitespace)."""
    text = json.dumps(_canonical(spec), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _cascade_file(value: str, folder: Path) -> Path:
    from einsim.workloads.cascade import LIBRARY

    local = folder / value
    if Path(value).suffix:
        return local if local.exists() else Path(value)
    return LIBRARY / f"{value}.yaml"


class _Resolver:
    """Per-sweep caches: each distinct workload, architecture and mapping is built and checked once."""

    def __init__(self, spec: SweepSpec):
        self.spec = spec
        self.texts: dict = {}
        self.archs: dict = {}
        self.checked: set = set()
        self.models: dict = {}
        self.swapped: dict = {}

    def workload(self, w: dict) -> tuple[str, str, dict]:
        """(cascade file, cascade text, sizes) of a point's workload data."""
        from einsim.workloads import cascade_from_text, load_model

        sizes = {}
        if "model" in w:
            key = str(w["model"])
            if key not in self.models:
                local = self.spec.folder / key
                self.models[key] = load_model(local if Path(key).suffix and local.exists() else key)
            layers = self.models[key].instantiate(seq_len=w["seq_len"])
            layer = next(L for L in layers if w["layer"] in (L.name, L.role))
            sizes.update(layer.sizes)
        sizes.update(w["sizes"])
        file = _cascade_file(str(w["cascade"]), self.spec.folder)
        if file not in self.texts:
            try:
                text = file.read_text(encoding="utf-8")
            except OSError as exc:
                issue = SpecIssue(str(file), None, "<file>", f"cannot read cascade: {exc.strerror}")
                raise SpecError([issue]) from None
            cascade_from_text(text, str(file))
            self.texts[file] = text
        return str(file), self.texts[file], {k: int(v) for k, v in sizes.items()}

    def arch(self, data: dict):
        """(YAML text, ArchSpec) of architecture data, built once per distinct data."""
        from einsim.arch import arch_from_text

        key = spec_hash(data)
        if key not in self.archs:
            text = yaml.safe_dump(data, sort_keys=False)
            self.archs[key] = (text, arch_from_text(text, f"{self.spec.file} (arch of a point)"))
        return self.archs[key]

    def swap(self, root: str, value):
        """The YAML data of the architecture or mapping an axis value names (SpecError if it names none)."""
        from .sweep import arch_data

        key = (root, value)
        if key not in self.swapped:
            e = ErrorList(self.spec.file)
            if root == "mapping" and self.spec.resolver != "preset":
                e.add((root,), f"swapping the mapping needs base.mapping to be a preset or a file, not the "
                               f"{self.spec.resolver!r} resolver")
            elif root == "mapping":
                data = RESOLVERS["preset"].load(value, e, (root,), self.spec.folder)
            else:
                data = arch_data(e, value, self.spec.folder, (root,))
            e.raise_if_any()
            self.swapped[key] = data
        return self.swapped[key]

    def mapping(self, data) -> None:
        resolver = RESOLVERS[self.spec.resolver]
        key = spec_hash({"m": data})
        if resolver.check is not None and key not in self.checked:
            resolver.check(data, f"{self.spec.file} (mapping of a point)")
        self.checked.add(key)


def _blame(spec: SweepSpec, values: dict, root: str, exc: SpecError) -> list[SpecIssue]:
    """Spec issues of a point's ``root`` spec, reported at the lines of the axes that set its values."""
    axes = [a for a in spec.axes if any(parse_key_path(p)[0] == root for p in a.paths)]
    out = []
    for issue in exc.issues:
        hit = [a for a in axes if any(format_path(parse_key_path(p)[1:]) == issue.path
                                      or p == root == issue.path for p in a.paths)] or axes
        where = ", ".join(f"{a.name} = {values[a.name]!r}" for a in hit) or "the base point"
        line = spec.axis_line(hit[0].name) if hit else spec.doc.line(("base", root))
        path = f"axes[{spec.axes.index(hit[0])}]" if hit else f"base.{root}"
        out.append(SpecIssue(spec.file, line, path, f"{where} makes the {root} invalid: {issue.path}: "
                                                    f"{issue.message}"))
    return out


def _point(spec: SweepSpec, r: _Resolver, index: int, values: dict) -> Point:
    data = copy.deepcopy(spec.base)
    paths = sorted(((parse_key_path(p), a.name) for a in spec.axes for p in a.paths), key=lambda x: len(x[0]) > 1)
    resolver = RESOLVERS[spec.resolver]
    stage = "workload"
    try:
        for path, name in paths:
            stage = path[0]
            if len(path) == 1:  # a whole-spec axis: its value names a preset or a file
                data[path[0]] = r.swap(path[0], values[name])
            else:
                set_path(data, path, values[name])
        stage = "workload"
        cfile, ctext, sizes = r.workload(data["workload"])
        stage = "arch"
        atext, arch = r.arch(data["arch"])
        stage = "mapping"
        r.mapping(data["mapping"])
    except SpecError as exc:
        raise SpecError(_blame(spec, values, stage, exc)) from None
    except (ValueError, StopIteration) as exc:  # a key path that an earlier axis moved, a layer not in a model
        issue = SpecIssue(spec.file, None, stage, str(exc))
        raise SpecError(_blame(spec, values, stage, SpecError([issue]))) from None
    resolved = {"cascade": ctext, "sizes": sizes, "arch": data["arch"], "engine": spec.engine,
                "mapping": {"resolver": resolver.name, "data": data["mapping"]}, "versions": model_versions()}
    h = spec_hash(resolved)
    payload = {"hash": h, "cascade_file": cfile, "cascade_text": ctext, "sizes": sizes, "arch_text": atext,
               "arch_file": f"{spec.file} point {index} arch", "engine": spec.engine,
               "mapping": {"ref": resolver.ref, "data": data["mapping"], "file": f"{spec.file} point {index} mapping"}}
    from einsim.arch import total_area_mm2

    cols = {"area_mm2": total_area_mm2(arch), "peak_ops_per_s": peak_ops_per_s(arch),
            "dram_bytes_per_s": float(arch.dram.bandwidth_bytes_per_s)}
    env = {**cols, **values}
    failed = [c for c in spec.constraints if not c.holds(env)]
    excluded = "; ".join(f"constraint {c.text!r} fails: " + ", ".join(f"{n} = {env[n]:.6g}" for n in c.names)
                         for c in failed)
    return Point(index=index, values=values, hash=h, payload=payload, arch_columns=cols, excluded=excluded)


def resolve_points(spec: SweepSpec) -> list[Point]:
    """Every design point resolved and checked, duplicates (equal hashes) dropped, first kept.

    SpecError (all problems at once, at most 20) if some axis value makes a spec invalid.
    """
    r = _Resolver(spec)
    points, seen, issues = [], set(), {}
    for i, values in enumerate(spec.points()):
        try:
            p = _point(spec, r, i, values)
        except SpecError as exc:
            for issue in exc.issues:
                issues.setdefault(str(issue), issue)
            continue
        if p.hash not in seen:
            seen.add(p.hash)
            points.append(p)
    if issues:
        shown = list(issues.values())[:_MAX_ISSUES]
        if len(issues) > _MAX_ISSUES:
            shown.append(SpecIssue(spec.file, None, "axes", f"... and {len(issues) - _MAX_ISSUES} more problems"))
        raise SpecError(shown)
    return points


def _engine(name: str):
    from einsim.sim import evaluate, simulate

    return {"analytical": evaluate, "event": simulate}[name]


def _evaluate(payload: dict) -> tuple[dict, list]:
    from einsim.arch import arch_from_text
    from einsim.workloads import cascade_from_text, op_counts, total_ops

    cascade = cascade_from_text(payload["cascade_text"], payload["cascade_file"])
    arch = arch_from_text(payload["arch_text"], payload["arch_file"])
    m = payload["mapping"]
    sizes = dict(payload["sizes"])
    mapping = resolver_by_ref(m["ref"]).resolve(m["data"], cascade, arch, sizes, m["file"])
    result = _engine(payload["engine"])(cascade, arch, mapping, sizes)
    row = {"status": "ok" if result.ok else "infeasible", "ok": bool(result.ok), "reason": result.reason}
    row.update({k: (v.item() if hasattr(v, "item") else v) for k, v in result.summary.items()})
    if result.ok:
        try:
            bound = cascade.bind({**sizes, **{k: v for k, v in mapping.partitions.items() if k not in sizes}})
            ops = float(sum(total_ops(op_counts(cascade, bound)).values()))
        except SpecError:
            ops = float("nan")
        lat, dram = row.get("latency_s", 0.0), row.get("dram_bytes", 0.0)
        row.update(edp_pj_s=row["energy_pj"] * lat, ops=ops, ops_per_dram_byte=ops / dram if dram else float("inf"),
                   attained_ops_per_s=ops / lat if lat else float("nan"))
    energy = [(str(c), str(a), float(n), float(pj)) for c, a, n, pj in result.energy]
    return row, energy


def evaluate_point(payload: dict) -> dict:
    """Evaluate one resolved point: ``{"hash", "status", "ok", "reason", <summary columns>, "seconds", "worker",
    "energy": [(component, action, count, energy_pj), ...]}``. Pure apart from the clock: an exception is
    returned as ``status: error`` (never stored, so a later run retries the point)."""
    t0 = time.perf_counter()
    out = {"hash": payload["hash"], "worker": f"{socket.gethostname()}:{os.getpid()}"}
    try:
        row, energy = _evaluate(payload)
    except Exception as exc:  # a bug or a spec the driver could not check: reported by the driver
        return {**out, "status": "error", "ok": False, "reason": f"{type(exc).__name__}: {exc}",
                "seconds": time.perf_counter() - t0, "energy": []}
    return {**out, **row, "seconds": time.perf_counter() - t0, "energy": energy}

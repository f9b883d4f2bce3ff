"""YAML overlays: a study's configuration resolved to (cascade, architecture, mapping), with its quirks applied.

A configuration names a cascade, an architecture and a mapping (library or preset names, or YAML paths next to the
study file). A quirk changes some of them for some configurations and sequence lengths, in YAML only:

- a string replaces the file (``mapping: fusemax-artifact/flat_offchip.yaml``);
- a mapping is merged into the file's YAML before it is loaded: mappings merge key by key, a list of mappings
  with ``name`` keys (an architecture's memory levels) merges item by item on the name, anything else replaces, and
  ``null`` deletes the key (``pipelines: {exp: null}``).

Quirks apply in the order the study lists them. Resolved specs are cached per process by their file and overlays.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

import einsim.arch as arch_mod
import einsim.mappings as map_mod
import einsim.workloads as workloads
from einsim.arch.loader import PRESET_DIR as ARCH_PRESETS
from einsim.mappings.loader import PRESET_DIR as MAPPING_PRESETS
from einsim.workloads.yamlio import load_doc

__all__ = ["Quirk", "Specs", "merge", "resolve"]


@dataclass(frozen=True, kw_only=True)
class Quirk:
    """A modelling choice of a reference model, as overlays on some configurations (and sequence lengths)."""

    name: str
    what: str
    source: str
    configs: tuple[str, ...]            # the configurations it touches
    seq_lens: tuple[int, ...] | None    # None: every sequence length
    cascade: str | None = None
    arch: str | dict | None = None
    mapping: str | dict | None = None

    def applies(self, config: str, seq_len: int) -> bool:
        return config in self.configs and (self.seq_lens is None or seq_len in self.seq_lens)


@dataclass(frozen=True, kw_only=True)
class Specs:
    """A configuration resolved for one sequence length; ``arch_key`` names its architecture with its overlays."""

    cascade: object
    arch: object
    mapping: object
    arch_key: str
    quirks: tuple[str, ...]


def merge(base, over):
    """``over`` merged into ``base`` (see the module docstring); neither is modified."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = merge(base.get(k), v) if k in base else v
        return out
    if (isinstance(base, list) and isinstance(over, list) and all(isinstance(x, dict) and "name" in x
                                                                    for x in base + over)):
        names = [x["name"] for x in base]
        out = [dict(x) for x in base]
        for x in over:
            if x["name"] in names:
                out[names.index(x["name"])] = merge(out[names.index(x["name"])], x)
            else:
                out.append(x)
        return out
    return over


def _local(folders, name: str) -> Path | None:
    """A YAML file next to the study (or the study it extends), or None."""
    if name.endswith((".yaml", ".yml")):
        for folder in folders:
            if (folder / name).is_file():
                return folder / name
    return None


def _file(folders, name: str, presets: Path) -> Path:
    """A file next to the study, else a path as given, else a preset of that name."""
    if name.endswith((".yaml", ".yml")):
        return _local(folders, name) or Path(name)
    return presets / f"{name}.yaml"


@lru_cache(maxsize=256)
def _load(kind: str, path: str, overlays: str):
    """Load an architecture or mapping file with the (JSON-encoded) overlays merged in."""
    loader = {"arch": (arch_mod.load_arch, arch_mod.arch_from_text),
              "mapping": (map_mod.load_mapping, map_mod.mapping_from_text)}[kind]
    overs = json.loads(overlays)
    if not overs:
        return loader[0](path)
    data = load_doc(Path(path)).data
    labels = []
    for name, over in overs:
        data = merge(data, over)
        labels.append(name)
    return loader[1](yaml.safe_dump(data, sort_keys=False), f"{path} + quirks {', '.join(labels)}")


def resolve(folders, config: dict, name: str, seq_len: int, quirks=(), without=frozenset()) -> Specs:
    """The specs of configuration ``name`` (``config``: its cascade, arch, mapping) at ``seq_len``, with every quirk
    that applies except those in ``without``; files are looked up in ``folders`` (the study's, then its base's)."""
    cascade = config["cascade"]
    presets = {"arch": ARCH_PRESETS, "mapping": MAPPING_PRESETS}
    files = {k: _file(folders, config[k], presets[k]) for k in presets}
    overs: dict = {"arch": [], "mapping": []}
    used = []
    for q in quirks:
        if q.name in without or not q.applies(name, seq_len):
            continue
        used.append(q.name)
        if q.cascade is not None:
            cascade = q.cascade
        for kind in ("arch", "mapping"):
            v = getattr(q, kind)
            if isinstance(v, str):
                files[kind], overs[kind] = _file(folders, v, presets[kind]), []
            elif v is not None:
                overs[kind].append((q.name, v))
    casc = workloads.load_cascade(_local(folders, cascade) or cascade)
    key = {k: json.dumps(overs[k], sort_keys=True) for k in overs}
    return Specs(cascade=casc, arch=_load("arch", str(files["arch"]), key["arch"]),
                 mapping=_load("mapping", str(files["mapping"]), key["mapping"]),
                 arch_key=f"{files['arch']}|{key['arch']}", quirks=tuple(used))

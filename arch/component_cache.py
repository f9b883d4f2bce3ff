"""An on-disk cache of component figures, keyed by the full input of the model that computed them.

One JSON file, ``$EINSIM_CACHE_DIR/components.json`` (default ``~/.cache/einsim/components.json``):
``{"format": 1, "entries": {key: figures}}``. A key is the canonical JSON of the model's inputs, the model's name and
the versions of the packages that computed it, so a new release of a component library recomputes. Writes go through
a temporary file and ``os.replace`` (a reader never sees half a file) under an exclusive lock on a sibling
``.lock`` file (two processes adding entries at once both keep theirs). A cache that cannot be read is treated as
empty; one that cannot be written is skipped: the figures are then computed again next time, never wrong.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from pathlib import Path

__all__ = ["cache_path", "cache_key", "lookup", "store"]

_FORMAT = 1


def cache_path() -> Path:
    """Where the cache lives: ``$EINSIM_CACHE_DIR/components.json``, else ``~/.cache/einsim/components.json``."""
    root = os.environ.get("EINSIM_CACHE_DIR")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "einsim"
    return base / "components.json"


def cache_key(model: str, inputs: dict, versions: dict) -> str:
    """The canonical key of one model evaluation."""
    return json.dumps({"model": model, "inputs": inputs, "versions": versions}, sort_keys=True,
                      separators=(",", ":"))


def _entries(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT or not isinstance(doc.get("entries"), dict):
        return {}
    return doc["entries"]


def lookup(key: str) -> dict | None:
    """The cached figures under ``key``, or None."""
    found = _entries(cache_path()).get(key)
    return found if isinstance(found, dict) else None


def store(key: str, figures: dict) -> bool:
    """Add ``figures`` under ``key``, keeping every other entry (also those another process adds meanwhile).

    Returns False when the cache could not be written (the caller goes on without it).
    """
    path = cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries = _entries(path)
            entries[key] = figures
            fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "w") as f:
                    json.dump({"format": _FORMAT, "entries": entries}, f, indent=1, sort_keys=True)
                os.chmod(tmp, 0o644)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
    except OSError:
        return False
    return True

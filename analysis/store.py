"""The results store of a sweep: a folder of Parquet part files, written atomically, one batch per part.

Layout of ``DIR``::

    points/part-<id>.parquet   one row per point: hash, sweep, point, status (ok | infeasible | excluded), ok,
                               reason, run, worker, seconds, the axis values, area_mm2, peak_ops_per_s,
                               dram_bytes_per_s and the summary columns (cycles, latency_s, energy_pj, ...)
    energy/part-<id>.parquet   long-form energy of the same points: hash, component, action, count, energy_pj
    sweep.yaml, sweep.json     the spec of the last run, and its name, axes, objectives and constraints
    .lock                      held (flock) by the running sweep

A batch is written energy part first, then points part, each to a hidden temporary name in the same folder and
renamed into place (POSIX rename is atomic), so a reader sees a part whole or not at all. The points part commits
the batch: an energy part without its points part (a run killed between the two renames) is ignored and removed at
the next start. A resumed run reads the stored hashes and skips them.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from einsim.workloads.errors import SpecError, SpecIssue

__all__ = ["Store", "StoreError", "out_dir_problem", "open_existing", "ENERGY_COLUMNS"]

ENERGY_COLUMNS = ("hash", "component", "action", "count", "energy_pj")
_ENERGY_SCHEMA = pa.schema([("hash", pa.string()), ("component", pa.string()), ("action", pa.string()),
                            ("count", pa.float64()), ("energy_pj", pa.float64())])


class StoreError(Exception):
    """A results folder that cannot be used (one line: what and how to fix it)."""


def out_dir_problem(path: Path) -> str | None:
    """Why ``path`` cannot hold a results store, or None: it is a file, or it (or its parent) is not writable."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        return f"--out {path}: exists and is not a directory; pick a folder name"
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        return f"--out {path}: {probe} is not a directory"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"--out {path}: {probe} is not writable (permission denied); pick a folder you can write"
    return None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(table: pa.Table, final: Path) -> None:
    """Write ``table`` to a temporary file beside ``final`` (mode 0666 minus umask), fsync, rename into place."""
    tmp = final.with_name(f".{final.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            pq.write_table(table, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()
    _fsync_dir(final.parent)


class Store:
    """A results folder. ``open()`` takes the lock and cleans what a killed run left; use as a context manager."""

    def __init__(self, root):
        self.root = Path(root)
        self.points_dir = self.root / "points"
        self.energy_dir = self.root / "energy"
        self._lock = None
        self._seq = 0

    def __enter__(self) -> Store:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> Store:
        """Create the folders, take the lock (StoreError if another sweep holds it), remove temporary files and
        uncommitted energy parts."""
        problem = out_dir_problem(self.root)
        if problem:
            raise StoreError(problem)
        self.points_dir.mkdir(parents=True, exist_ok=True)
        self.energy_dir.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.root / ".lock", "a+")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            self._lock = None
            raise StoreError(f"{self.root}: another einsim sweep is writing here; wait for it or pick another "
                             f"--out") from None
        for d in (self.points_dir, self.energy_dir):
            for tmp in d.glob(".*.tmp"):
                tmp.unlink()
        committed = {p.name for p in self.points_dir.glob("part-*.parquet")}
        for e in self.energy_dir.glob("part-*.parquet"):
            if e.name not in committed:
                e.unlink()
        return self

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def save_spec(self, text: str, meta: dict) -> None:
        """Keep the spec of this run as ``sweep.yaml`` and what reports need of it (name, axes, objectives,
        constraints) as ``sweep.json``, each atomically."""
        for name, content in (("sweep.yaml", text), ("sweep.json", json.dumps(meta, indent=2))):
            tmp = self.root / f".{name}.tmp"
            tmp.write_text(content, encoding="utf-8")
            os.replace(tmp, self.root / name)

    def _parts(self, folder: Path) -> list[Path]:
        return sorted(folder.glob("part-*.parquet"))

    def hashes(self) -> set[str]:
        """Hashes of every stored point (reads only the hash column)."""
        out: set[str] = set()
        for p in self._parts(self.points_dir):
            out.update(self._read(p, ["hash"]).column("hash").to_pylist())
        return out

    def _read(self, path: Path, columns=None) -> pa.Table:
        try:
            return pq.read_table(path, columns=columns)
        except (OSError, pa.ArrowException) as exc:
            raise StoreError(f"{path}: not a readable Parquet part ({exc}); move it away to recompute its "
                             f"points") from None

    def write_batch(self, rows: list[dict], energy: list[tuple]) -> str:
        """Commit one batch (point rows and their energy rows) as a new part; return the part's name."""
        self._seq += 1
        name = f"part-{time.time_ns():020d}-{os.getpid()}-{self._seq:05d}.parquet"
        cols = list(zip(*energy)) if energy else [[] for _ in ENERGY_COLUMNS]
        etable = pa.Table.from_arrays([pa.array(list(c), type=f.type) for c, f in zip(cols, _ENERGY_SCHEMA)],
                                      schema=_ENERGY_SCHEMA)
        _write_atomic(etable, self.energy_dir / name)
        ptable = pa.Table.from_pandas(pd.DataFrame(rows), preserve_index=False)
        _write_atomic(ptable, self.points_dir / name)
        return name

    def points(self) -> pd.DataFrame:
        """Every stored point, one row per hash (the first stored), in commit order."""
        frames = [self._read(p).to_pandas() for p in self._parts(self.points_dir)]
        frames = [f for f in frames if len(f)]
        if not frames:
            return pd.DataFrame(columns=["hash", "status", "ok"])
        df = pd.concat(frames, ignore_index=True)
        return df.drop_duplicates("hash", keep="first").reset_index(drop=True)

    def energy(self) -> pd.DataFrame:
        """Long-form energy of the committed parts: hash, component, action, count, energy_pj."""
        committed = {p.name for p in self._parts(self.points_dir)}
        frames = [self._read(p).to_pandas() for p in self._parts(self.energy_dir) if p.name in committed]
        frames = [f for f in frames if len(f)]
        if not frames:
            return pd.DataFrame(columns=list(ENERGY_COLUMNS))
        return pd.concat(frames, ignore_index=True)


def open_existing(root) -> Store:
    """A store to read (no lock): SpecError-style one-line error if ``root`` holds no sweep results."""
    store = Store(root)
    if not store.points_dir.is_dir():
        raise SpecError([SpecIssue(str(root), None, "<store>", "holds no sweep results (no points/ folder); "
                                                               "run einsim sweep SPEC --out DIR first")])
    return store

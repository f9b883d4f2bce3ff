"""Results written as a set: every file of a run goes into a temporary folder beside the target, which then replaces
the target by renames, so a run's outputs appear together or not at all and an interrupted run leaves nothing behind.

Files get the usual permissions (0644 under the common umask 022) and folders 0755, not the 0600 of ``mkstemp``.
Files already in the target folder that the run does not write are kept.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["OutputSet", "write_file"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class OutputSet:
    """``with OutputSet(out) as s: s.write("a.csv", lambda p: df.to_csv(p))``; published as a whole on success."""

    def __init__(self, target):
        self.target = Path(target)
        self.names: list[str] = []
        self._tmp: Path | None = None

    def __enter__(self) -> OutputSet:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(tempfile.mkdtemp(dir=self.target.parent, prefix=f".{self.target.name}.tmp-"))
        os.chmod(self._tmp, 0o777 & ~_umask())
        return self

    def path(self, name: str) -> Path:
        """Where to write file ``name`` of the set (inside the temporary folder)."""
        self.names.append(name)
        return self._tmp / name

    def write(self, name: str, write: Callable[[Path], object]) -> None:
        """Write file ``name`` with ``write(path)``."""
        write(self.path(name))

    def __exit__(self, kind, exc, tb) -> None:
        try:
            if kind is None:
                self._publish()
        finally:
            if self._tmp is not None and self._tmp.exists():
                shutil.rmtree(self._tmp, ignore_errors=True)

    def _publish(self) -> None:
        tmp, target = self._tmp, self.target
        mode = 0o666 & ~_umask()
        for f in tmp.iterdir():
            if f.is_file():
                os.chmod(f, mode)
        if target.is_dir():
            for old in target.iterdir():   # keep what this run does not write
                if not (tmp / old.name).exists(follow_symlinks=False):
                    if old.is_dir() and not old.is_symlink():
                        shutil.copytree(old, tmp / old.name, symlinks=True, copy_function=_link)
                    else:
                        _link(old, tmp / old.name)
            previous = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
            os.rmdir(previous)
            os.rename(target, previous)
            os.rename(tmp, target)
            shutil.rmtree(previous, ignore_errors=True)
        else:
            os.rename(tmp, target)


def _link(src, dst) -> None:
    """Hard-link ``src`` (a file or symlink) at ``dst``; copy when the file system has no hard links."""
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, dst, follow_symlinks=False)


def write_file(path, write: Callable[[Path], object]) -> None:
    """Write one file atomically (a temporary name beside it, then a rename) with the usual permissions."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)

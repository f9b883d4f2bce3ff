"""The CACTI binary that ``hwcomponents-cacti`` ships: find it, run it, check that it works here, rebuild it.

The package ships CACTI 7 as source plus a prebuilt ``cacti`` executable in its ``cacti/`` folder. That executable
needs glibc 2.38 and does not start on Debian 12 (glibc 2.36); ``make clean && make`` in the folder rebuilds it from
the shipped source in under a minute (its makefile's default debug build, the one the package ships; run with one
job per core).
:func:`ensure` does that when, and only when, the binary fails on a tiny input.

CACTI must run with its own folder as the working directory (it reads its technology files from there) and exits 0
even when it rejects its input, so a run succeeds only when it wrote its CSV output (``<input>.out``).
"""

from __future__ import annotations

import csv
import fcntl
import importlib.util
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["ComponentError", "FIX_COMMAND", "cacti_dir", "default_config", "run", "problem", "ensure"]

FIX_COMMAND = "python -m einsim.arch.components --ensure-cacti"


class ComponentError(RuntimeError):
    """A component model cannot run here (CACTI missing, not starting, or rejecting its input)."""


def cacti_dir() -> Path:
    """The ``cacti/`` folder of the installed ``hwcomponents-cacti`` package (source, makefile and binary)."""
    spec = importlib.util.find_spec("hwcomponents_cacti")
    if spec is None or spec.origin is None:
        raise ComponentError("hwcomponents-cacti is not installed; install einsim with its dependencies "
                         "(make .venv/bin/.installed, or pip install -e .)")
    return Path(spec.origin).parent / "cacti"


def default_config() -> str:
    """The fixed part of every CACTI input that ``hwcomponents-cacti`` writes (its ``default_cfg.cfg``)."""
    return (cacti_dir().parent / "default_cfg.cfg").read_text()


def run(user_lines: list[str], *, timeout_s: float = 600) -> dict[str, str]:
    """Run CACTI on the package's default input plus ``user_lines``; the last row of its CSV output.

    Raises :class:`ComponentError` with a one-line reason when the binary is missing, fails or writes no output.
    """
    folder = cacti_dir()
    binary = folder / "cacti"
    if not binary.is_file():
        raise ComponentError(f"no CACTI binary at {binary}")
    text = default_config().rstrip("\n") + "\n" + "".join(line.rstrip("\n") + "\n" for line in user_lines)
    with tempfile.TemporaryDirectory(prefix="einsim-cacti-") as tmp:
        infile = Path(tmp) / "input.cfg"
        infile.write_text(text)
        try:
            proc = subprocess.run(["./cacti", "-infile", str(infile)], cwd=folder, capture_output=True, text=True,
                                  timeout=timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ComponentError(f"{binary} did not run: {exc}") from exc
        out = Path(str(infile) + ".out")
        if not out.is_file():
            raise ComponentError(_first_line(proc.stderr) or _first_line(proc.stdout, last=True)
                             or f"{binary} exited with code {proc.returncode} and wrote no output")
        rows = list(csv.DictReader(out.read_text().splitlines()))
    if not rows:
        raise ComponentError(f"{binary} wrote an empty output")
    return {key.strip(): value.strip() for key, value in rows[-1].items() if key is not None}


def _first_line(text: str, *, last: bool = False) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return ""
    line = lines[-1] if last else lines[0]
    return line if len(line) <= 160 else line[:157] + "..."


# A 4 KiB, 64-bit-wide RAM at 45 nm: CACTI answers in about 0.1 s.
_TINY_INPUT = ["-size (bytes) 4096", "-read-write port 1", "-block size (bytes) 8", "-technology (u) 0.045",
               "-output/input bus width 64", "-UCA bank 1", '-cache type "ram"', "-tag size (b) 0",
               "-associativity 1"]


def problem() -> str | None:
    """Why CACTI cannot run here (one line), or None when it answers a tiny input."""
    try:
        row = run(_TINY_INPUT, timeout_s=60)
        float(row["Dynamic read energy (nJ)"])
    except ComponentError as exc:
        return str(exc)
    except (KeyError, ValueError) as exc:
        return f"CACTI's output has no readable read energy ({exc})"
    return None


def ensure(*, echo: Callable[[str], None] = print) -> bool:
    """Make the CACTI binary run here: rebuild it from the package's source when it fails. True when rebuilt.

    Idempotent and fast (one tiny CACTI run) when the binary works. Concurrent callers serialize on a lock file in
    the package's folder, so two installs never build at once. Raises :class:`ComponentError` when the rebuild fails.
    """
    folder = cacti_dir()
    with open(folder / ".einsim-ensure.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        why = problem()
        if why is None:
            return False
        echo(f"einsim: the CACTI binary of hwcomponents-cacti does not run here ({why}); "
             f"rebuilding it from its source in {folder} (about a minute)")
        _rebuild(folder)
        still = problem()
        if still is not None:
            raise ComponentError(f"CACTI still does not run after a rebuild in {folder}: {still}")
        return True


def _rebuild(folder: Path) -> None:
    missing = [tool for tool in ("make", "g++") if shutil.which(tool) is None]
    if missing:
        raise ComponentError(f"cannot rebuild CACTI: {' and '.join(missing)} not found; install a C++ toolchain "
                         "(apt-get install build-essential) and run: " + FIX_COMMAND)
    log_path = folder / "einsim-rebuild.log"
    # A clean environment for the package's makefile: no flags of an enclosing make (einsim's install target).
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    jobs = f"-j{max(1, min(os.cpu_count() or 1, 8))}"
    with open(log_path, "w") as log:
        for step in (["make", "clean"], ["make", jobs]):
            result = subprocess.run(step, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
            if result.returncode != 0:
                raise ComponentError(f"rebuilding CACTI failed at '{' '.join(step)}' (exit {result.returncode}); "
                                 f"see {log_path}")

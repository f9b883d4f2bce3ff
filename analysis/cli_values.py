"""Command-line values, checked like spec values: argparse ``type=`` functions with the project's messages, and the
``--out`` folder check made before any work.

A bad value ends the command with exit status 1 and one line, ``error: argument --rows: must be a positive integer,
not '-4'`` (the parser in :mod:`analysis.cli` turns argparse's usage errors into that form).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from einsim.workloads.errors import SpecError, SpecIssue

__all__ = ["positive_int", "nonneg_int", "int_list", "name_list", "bounded_int", "check_out_dir", "MAX_INT"]

#: the largest count einsim takes on the command line: its counters are 64-bit integers
MAX_INT = 2 ** 62


def _parse_int(text: str, expected: str) -> int:
    t = text.strip().replace("_", "")
    if not t or not (t.isdigit() or t[0] in "+-" and t[1:].isdigit()) or len(t) > 30:
        raise argparse.ArgumentTypeError(f"must be {expected}, not {text!r}")
    return int(t)


def bounded_int(low: int, high: int = MAX_INT, expected: str | None = None):
    """An argparse type: an integer in [low, high]."""
    expected = expected or (f"an integer from {low} to {high}" if high != MAX_INT else f"an integer >= {low}")

    def parse(text: str) -> int:
        n = _parse_int(text, expected)
        if not low <= n <= high:
            raise argparse.ArgumentTypeError(f"must be {expected}, not {text!r}")
        return n

    parse.__name__ = "integer"
    return parse


positive_int = bounded_int(1, expected=f"a positive integer (at most 2**62 = {MAX_INT})")
nonneg_int = bounded_int(0, expected=f"an integer >= 0 (at most 2**62 = {MAX_INT})")


def int_list(text: str) -> list[int]:
    """An argparse type: a comma-separated, non-empty list of positive integers (``1024,4096``)."""
    parts = [p.strip() for p in text.split(",")]
    if not text.strip() or any(not p for p in parts):
        raise argparse.ArgumentTypeError(f"must be a comma-separated list of positive integers like 1024,4096, not "
                                         f"{text!r}")
    try:
        return [positive_int(p) for p in parts]
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (in {text!r})") from None


def name_list(text: str) -> list[str]:
    """An argparse type: a comma-separated, non-empty list of names (``bert,t5``)."""
    parts = [p.strip() for p in text.split(",")]
    if not text.strip() or any(not p for p in parts):
        raise argparse.ArgumentTypeError(f"must be a comma-separated list of names like bert,t5, not {text!r}")
    return parts


def check_out_dir(path, option: str = "--out") -> Path:
    """Check, before any work, that results can be written under folder ``path``; SpecError (one line) otherwise."""
    path = Path(path)

    def fail(message):
        raise SpecError([SpecIssue("<command line>", None, option, message)])

    if path.exists() and not path.is_dir():
        fail(f"{str(path)!r} is a file, not a folder; give a folder for the results")
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        fail(f"cannot make folder {str(path)!r}: {str(probe)!r} is a file")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        fail(f"cannot write under {str(probe)!r} (permission denied); choose another folder with {option}")
    try:   # what access() cannot tell (root on a read-only or virtual file system): make and remove a folder there
        os.rmdir(tempfile.mkdtemp(dir=probe, prefix=".einsim-probe-"))
    except OSError as exc:
        fail(f"cannot write under {str(probe)!r} ({exc.strerror or exc}); choose another folder with {option}")
    if path.exists() and not os.access(path.parent if path.parent.exists() else path, os.W_OK | os.X_OK):
        fail(f"cannot replace {str(path)!r}: its parent folder is not writable; choose another folder with {option}")
    return path

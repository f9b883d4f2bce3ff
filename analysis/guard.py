"""Entry-point guards for the spec kinds whose loaders do not use the schema layer yet (architectures, mappings).

:func:`load_spec` refuses numbers past 2**62 anywhere in the file (the simulator counts in 64-bit integers) and
turns any exception of the loader other than a SpecError into a one-line SpecError naming the file, so that a
malformed file is exit 1, never a traceback. Once a loader validates with :mod:`einsim.workloads.schema`, this is
a pass-through.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from einsim.workloads.errors import ErrorList, SpecError, SpecIssue
from einsim.workloads.yamlio import load_doc

__all__ = ["load_spec", "guarded_run", "check_numbers", "MAX_NUMBER"]

#: the largest integer a spec value may hold (64-bit counters), and the largest float
MAX_NUMBER = 2 ** 62
MAX_FLOAT = 1e30


def check_numbers(doc) -> None:
    """SpecError for every integer past 2**62 or float past 1e30 (or not finite) in ``doc``."""
    errors = ErrorList(doc.file, doc.line)

    def walk(value, path):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, path + (k,))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, path + (i,))
        elif isinstance(value, bool):
            return
        elif isinstance(value, int) and abs(value) > MAX_NUMBER:
            errors.add(path, f"must be at most 2**62 = {MAX_NUMBER} (64-bit counts), not {value}")
        elif isinstance(value, float) and (not math.isfinite(value) or abs(value) > MAX_FLOAT) and path[-1:] != (
                "init",):
            errors.add(path, f"must be a finite number of at most {MAX_FLOAT:g}, not {value!r}")

    walk(doc.data, ())
    errors.raise_if_any()


def load_spec(loader: Callable, name, what: str):
    """``loader(name)`` with the guards above; ``what`` names the kind in messages (``architecture``)."""
    path = Path(str(name))
    if path.suffix in (".yaml", ".yml") and path.is_file():
        check_numbers(load_doc(path))
    try:
        return loader(name)
    except SpecError:
        raise
    except (AttributeError, TypeError, ValueError, KeyError, IndexError, RecursionError) as exc:
        raise SpecError([SpecIssue(str(name), None, "<top>", f"malformed {what} file: a value has the wrong type or "
                                   f"shape ({type(exc).__name__}: {str(exc)[:200]}); compare it with a preset")]) \
            from None


def guarded_run(model: Callable, arch_name, *args, **options):
    """``model(*args, **options)``; a component model (CACTI) that rejects the architecture's values is a SpecError
    naming the architecture file, not an internal error."""
    from einsim.arch.cacti import ComponentError

    try:
        return model(*args, **options)
    except ComponentError as exc:
        raise SpecError([SpecIssue(str(arch_name), None, "<top>", f"a component model cannot take this "
                                   f"architecture's values: {str(exc)[:300]}")]) from None

"""Small typed checks used by the spec loaders: each records a spec issue and returns None on a bad value."""

from __future__ import annotations

import math

from einsim.workloads.errors import ErrorList

__all__ = ["pos_int", "nonneg_int", "pos_num", "nonneg_num", "string", "choice"]


def pos_int(errors: ErrorList, path: tuple, value, hint: str = ""):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        errors.add(path, f"must be a positive integer, not {value!r}{hint}")
        return None
    return value


def nonneg_int(errors: ErrorList, path: tuple, value, hint: str = ""):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        errors.add(path, f"must be an integer >= 0, not {value!r}{hint}")
        return None
    return value


def _number(errors: ErrorList, path: tuple, value, hint: str, *, positive: bool):
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    ok = not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)
    if not ok or (value <= 0 if positive else value < 0):
        errors.add(path, f"must be {'a positive number' if positive else 'a number >= 0'}, not {value!r}{hint}")
        return None
    return value


def pos_num(errors: ErrorList, path: tuple, value, hint: str = ""):
    return _number(errors, path, value, hint, positive=True)


def nonneg_num(errors: ErrorList, path: tuple, value, hint: str = ""):
    return _number(errors, path, value, hint, positive=False)


def string(errors: ErrorList, path: tuple, value):
    if not isinstance(value, str) or not value:
        errors.add(path, f"must be a non-empty string, not {value!r}")
        return None
    return value


def choice(errors: ErrorList, path: tuple, value, choices):
    if value not in choices:
        from einsim.workloads.yamlio import suggest

        errors.add(path, f"must be one of {', '.join(map(str, choices))}, not {value!r}{suggest(value, choices)}")
        return None
    return value

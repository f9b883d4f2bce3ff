"""Spec errors: every user mistake is reported as ``file:line key.path: message``, all errors of a file at once."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SpecIssue", "SpecError", "ErrorList", "format_path"]


def format_path(path: tuple) -> str:
    """Render a key path like ``levels[2].capacity`` from ``("levels", 2, "capacity")``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "<top>"


@dataclass(frozen=True)
class SpecIssue:
    """One mistake in a spec file."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where} {self.path}: {self.message}"


class SpecError(Exception):
    """A malformed spec. Carries every issue found in the file, not just the first."""

    def __init__(self, issues):
        self.issues = tuple(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


class ErrorList:
    """Collects issues while a spec is checked; ``raise_if_any`` ends the check."""

    def __init__(self, file: str, lines=None):
        self.file = file
        self._lines = lines  # callable path -> line, or None
        self.issues: list[SpecIssue] = []

    def add(self, path: tuple, message: str, line: int | None = None) -> None:
        if line is None and self._lines is not None:
            line = self._lines(path)
        self.issues.append(SpecIssue(self.file, line, format_path(path), message))

    def extend(self, other: ErrorList | SpecError) -> None:
        self.issues.extend(other.issues)

    def __bool__(self) -> bool:
        return bool(self.issues)

    def raise_if_any(self) -> None:
        if self.issues:
            raise SpecError(self.issues)

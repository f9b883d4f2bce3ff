"""The one exception of lowering: a mapping that cannot run on the architecture."""

from __future__ import annotations

__all__ = ["Infeasible"]


class Infeasible(Exception):
    """A mapping that cannot run on the architecture; the message is the reason."""

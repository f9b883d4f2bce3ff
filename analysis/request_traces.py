"""Request traces for LLM serving: read NeuPIMs' decode-batch CSVs, draw requests from length distributions.

- ``read_trace(path) -> DecodeBatch``: a CSV with header ``seq_len,ch_idx``, one row per request: its context length
  and the DRAM channel holding its KV cache (casys-kaist/NeuPIMs request-traces/, e.g.
  share-gpt2-bs512-ms7B-tp4-clb-0.csv). Every bad row is reported as ``file:line column: message``, all at once.
- ``LengthDistribution``: prompt and output lengths of a dataset by their means, capped at ``max_seq_len`` tokens
  per request (NeuPIMs' trace generator caps input + output at 2048). Lengths are geometric (at least 1 token): for a
  given mean the maximum-entropy distribution on the positive integers, so no shape parameter is assumed.
- ``draw_requests(dist, n, rng)``: n requests in arrival order, all waiting at time 0.
- ``stationary_batch(dist, n, rng)``: a batch as continuous batching holds it in steady state: a request is in the
  batch for as many iterations as it generates tokens, so batch members are drawn in proportion to their output
  length, each at a uniformly random step of its generation (the snapshot NeuPIMs' traces record).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from einsim.sim.decode import DecodeBatch
from einsim.sim.serving import Requests
from einsim.workloads.errors import SpecError, SpecIssue

__all__ = ["read_trace", "LengthDistribution", "draw_requests", "stationary_batch", "TRACE_COLUMNS"]

TRACE_COLUMNS = ("seq_len", "ch_idx")


def read_trace(path, *, channels: int | None = None) -> DecodeBatch:
    """The decode batch of a ``seq_len,ch_idx`` CSV; SpecError naming file, line and column for every bad row;
    ``channels`` bounds the channel indices when given."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise SpecError([SpecIssue(str(path), None, "<file>", f"cannot read the trace: {exc.strerror}")]) from None
    rows = list(csv.reader(text.splitlines()))
    issues = []
    if not rows or [c.strip() for c in rows[0]] != list(TRACE_COLUMNS):
        found = ",".join(rows[0]) if rows else "an empty file"
        raise SpecError([SpecIssue(str(path), 1, "<header>", f"must be 'seq_len,ch_idx', not {found!r}")])
    ctx, ch = [], []
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != 2:
            issues.append(SpecIssue(str(path), line, "<row>", f"must have 2 fields (seq_len,ch_idx), not {len(row)}"))
            continue
        vals = []
        for col, raw, lo in (("seq_len", row[0], 1), ("ch_idx", row[1], 0)):
            try:
                v = int(raw.strip())
            except ValueError:
                v = None
            if v is None or v < lo or (col == "ch_idx" and channels is not None and v >= channels):
                bound = f"in [0, {channels})" if col == "ch_idx" and channels else f"an integer >= {lo}"
                issues.append(SpecIssue(str(path), line, col, f"must be {bound}, not {raw.strip()!r}"))
            vals.append(v)
        if None not in vals:
            ctx.append(vals[0])
            ch.append(vals[1])
    if not issues and not ctx:
        issues.append(SpecIssue(str(path), 2, "<rows>", "must list at least one request after the header"))
    if issues:
        raise SpecError(issues)
    return DecodeBatch(context=np.array(ctx), channel=np.array(ch))


@dataclass(frozen=True, kw_only=True)
class LengthDistribution:
    """Geometric prompt and output lengths with these means (tokens), input + output capped at ``max_seq_len``."""

    name: str
    input_mean: float
    output_mean: float
    max_seq_len: int = 2048

    def __post_init__(self):
        for k in ("input_mean", "output_mean"):
            if not getattr(self, k) >= 1:
                raise ValueError(f"{k} must be at least 1 token, not {getattr(self, k)!r}")
        if self.max_seq_len < 2:
            raise ValueError(f"max_seq_len must be at least 2, not {self.max_seq_len!r}")

    def draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(input, output) lengths of ``n`` requests."""
        i = np.minimum(rng.geometric(1.0 / self.input_mean, n), self.max_seq_len - 1)
        o = np.minimum(rng.geometric(1.0 / self.output_mean, n), self.max_seq_len - i)
        return i.astype(np.int64), o.astype(np.int64)


def draw_requests(dist: LengthDistribution, n: int, rng: np.random.Generator) -> Requests:
    """``n`` requests of ``dist``, in arrival order, all waiting at time 0."""
    i, o = dist.draw(n, rng)
    return Requests(input_len=i, output_len=o)


def stationary_batch(dist: LengthDistribution, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(context, decode steps left) of ``n`` requests in a steady-state continuously batched decode batch: drawn in
    proportion to their output length (a request stays that many iterations), each at a uniform step of it (its
    first token came from the prefill, so a request of o tokens decodes o - 1 times; one of 1 token never does)."""
    pool = max(8 * n, 4096)
    i, o = dist.draw(pool, rng)
    steps = o - 1
    w = steps / steps.sum() if steps.sum() else None
    pick = rng.choice(pool, size=n, replace=True, p=w)
    done = (rng.random(n) * steps[pick]).astype(np.int64)     # decode steps already run, in [0, steps)
    return i[pick] + 1 + done, steps[pick] - done

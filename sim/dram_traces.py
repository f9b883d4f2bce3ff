"""Request traces for the DRAM model: generated patterns and trace files.

Patterns (all return sim.dram.DramRequests of burst-aligned byte addresses):

- ``stream``: consecutive bursts from ``start``, all presented at cycle 0 (the controller takes them as fast as its
  queues allow), every ``interval`` cycles, or ``rate`` requests per cycle (over the whole device);
- ``random``: uniformly random bursts over the whole device;
- ``strided``: every ``stride`` bytes;
- ``row_hit``: one read at a time to one row of one bank (every read after the first finds its row open);
- ``row_miss``: one read at a time, each to another row of the same bank (with an open-page controller each one
  finds another row open: a conflict; with a closed-page controller the bank is closed).

One-at-a-time traces space requests ``unloaded_interval(spec)`` cycles apart: long enough for the previous access
to finish and for its row's tRAS and tRTP to pass, so each request meets an idle controller.

``read_trace(path)`` reads DRAMsim3's trace format, one request per line: ``<hex or decimal address>
<READ|WRITE|R|W> <cycle>``; ``#`` starts a comment.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from einsim.arch.dram import DramSpec
from einsim.workloads.errors import SpecError, SpecIssue

from .dram import DramRequests, decode_addresses

__all__ = ["PATTERNS", "stream", "random", "strided", "row_hit", "row_miss", "generate", "read_trace",
           "unloaded_interval", "row_address"]

PATTERNS = ("stream", "random", "strided", "row_hit", "row_miss")


def _arrivals(n: int, interval: int, rate: float | None = None) -> np.ndarray:
    """Arrival cycles: every ``interval`` cycles, or ``rate`` requests per cycle if given."""
    if rate is not None:
        if not rate > 0:
            raise ValueError(f"rate must be a positive number of requests per cycle, not {rate!r}")
        return np.floor(np.arange(n) / rate).astype(np.int64)
    return np.arange(n, dtype=np.int64) * interval


def _writes(rng, n: int, write_fraction: float) -> np.ndarray:
    if not 0.0 <= write_fraction <= 1.0:
        raise ValueError(f"write_fraction must be in [0, 1], not {write_fraction!r}")
    return rng.random(n) < write_fraction if write_fraction else np.zeros(n, dtype=np.bool_)


def stream(spec: DramSpec, n: int, *, start: int = 0, interval: int = 0, rate: float | None = None,
           write_fraction: float = 0.0, seed: int = 0) -> DramRequests:
    addr = start + np.arange(n, dtype=np.int64) * spec.burst_bytes
    return DramRequests(addr, _writes(np.random.default_rng(seed), n, write_fraction), _arrivals(n, interval, rate))


def random(spec: DramSpec, n: int, *, interval: int = 0, rate: float | None = None, write_fraction: float = 0.0,
           seed: int = 0) -> DramRequests:
    rng = np.random.default_rng(seed)
    addr = rng.integers(0, spec.capacity_bytes // spec.burst_bytes, n, dtype=np.int64) * spec.burst_bytes
    return DramRequests(addr, _writes(rng, n, write_fraction), _arrivals(n, interval, rate))


def strided(spec: DramSpec, n: int, stride: int, *, start: int = 0, interval: int = 0, rate: float | None = None,
            write_fraction: float = 0.0, seed: int = 0) -> DramRequests:
    if stride < 1:
        raise ValueError(f"stride must be a positive number of bytes, not {stride!r}")
    addr = (start + np.arange(n, dtype=np.int64) * stride) % spec.capacity_bytes
    addr -= addr % spec.burst_bytes
    return DramRequests(addr, _writes(np.random.default_rng(seed), n, write_fraction), _arrivals(n, interval, rate))


def unloaded_interval(spec: DramSpec) -> int:
    """Request spacing of one-at-a-time traces: tRP + tRAS + tRCD + tRTP + CL + burst cycles."""
    return spec.trp + spec.tras + spec.trcd + spec.trtp_l + spec.cl + spec.burst_cycles


def row_address(spec: DramSpec, *, channel=0, rank=0, bankgroup=0, bank=0, row=0, column=0) -> np.ndarray:
    """Byte addresses of the given fields (arrays broadcast) under the spec's address mapping."""
    widths = {"ch": spec.units, "ra": spec.ranks, "bg": spec.bankgroups, "ba": spec.banks_per_group,
              "ro": spec.rows, "co": spec.columns}
    values = {"ch": channel, "ra": rank, "bg": bankgroup, "ba": bank, "ro": row, "co": column}
    addr = np.zeros(np.broadcast(*values.values()).shape, dtype=np.int64)
    for f in (spec.address_mapping[i:i + 2] for i in range(0, 12, 2)):
        addr = addr * widths[f] + np.asarray(values[f], dtype=np.int64) % widths[f]
    return addr * spec.burst_bytes


def row_hit(spec: DramSpec, n: int, *, interval: int | None = None) -> DramRequests:
    cols = np.arange(n) % spec.columns
    addr = row_address(spec, column=cols)
    return DramRequests(addr, np.zeros(n, dtype=np.bool_), _arrivals(n, interval or unloaded_interval(spec)))


def row_miss(spec: DramSpec, n: int, *, interval: int | None = None) -> DramRequests:
    rows = np.arange(n) % spec.rows
    addr = row_address(spec, row=rows)
    return DramRequests(addr, np.zeros(n, dtype=np.bool_), _arrivals(n, interval or unloaded_interval(spec)))


def generate(spec: DramSpec, pattern: str, n: int, **kw) -> DramRequests:
    """A trace of ``pattern`` (one of PATTERNS) with ``n`` requests."""
    makers = {"stream": stream, "random": random, "strided": strided, "row_hit": row_hit, "row_miss": row_miss}
    if pattern not in makers:
        raise ValueError(f"pattern must be one of {', '.join(PATTERNS)}, not {pattern!r}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive number of requests, not {n!r}")
    return makers[pattern](spec, n, **kw)


def read_trace(path) -> DramRequests:
    """Requests from a DRAMsim3-format trace file; SpecError naming the file and line of every bad line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SpecError([SpecIssue(str(path), None, "<file>", f"cannot read file: {exc.strerror}")]) from None
    addr, write, cycle, issues = [], [], [], []
    for i, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].split()
        if not text:
            continue
        if len(text) != 3:
            issues.append(SpecIssue(str(path), i, "<line>", f"a request must be '<address> <READ|WRITE> <cycle>', "
                                                           f"not {line.strip()!r}"))
            continue
        a, op, c = text
        try:
            addr.append(int(a, 0))
        except ValueError:
            issues.append(SpecIssue(str(path), i, "address", f"address must be an integer (0x... or decimal), "
                                                             f"not {a!r}"))
        if op.upper() not in ("READ", "WRITE", "R", "W"):
            issues.append(SpecIssue(str(path), i, "op", f"operation must be READ or WRITE, not {op!r}"))
        write.append(op.upper() in ("WRITE", "W"))
        try:
            cycle.append(int(c))
        except ValueError:
            issues.append(SpecIssue(str(path), i, "cycle", f"cycle must be a non-negative integer, not {c!r}"))
        if cycle and cycle[-1] < 0:
            issues.append(SpecIssue(str(path), i, "cycle", f"cycle must be a non-negative integer, not {c!r}"))
    if not issues and any(b < a for a, b in zip(cycle, cycle[1:])):
        first = next(i for i, (a, b) in enumerate(zip(cycle, cycle[1:])) if b < a)
        issues.append(SpecIssue(str(path), None, "cycle", f"cycles must not decrease (request {first + 2} comes at "
                                                          f"{cycle[first + 1]}, after {cycle[first]})"))
    if issues:
        raise SpecError(issues)
    return DramRequests(np.array(addr, dtype=np.int64), np.array(write, dtype=np.bool_),
                        np.array(cycle, dtype=np.int64))


def channels_used(spec: DramSpec, requests: DramRequests) -> int:
    """Number of distinct channels the requests touch."""
    return int(np.unique(decode_addresses(spec, requests.address)["channel"]).size) if len(requests) else 0

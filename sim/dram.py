"""Run the command-level DRAM/PIM model: requests and PIM programs in, command trace, latencies and energy out.

``simulate_dram(spec, requests, pim, policy=DramPolicy())`` decodes request addresses with the spec's address
mapping, packs everything as arrays, runs ``sim.kernels.dram.run_dram`` (or its plain-Python reference) and returns
a :class:`DramRun`. Latency of a request counts from its arrival cycle (the cycle it is presented to the
controller; time spent waiting for a free queue slot is included) to the cycle after its last data beat:
RD issue + CL + burst for a read, WR issue + CWL + burst for a write. The controller can issue in the arrival
cycle, so an unloaded read takes exactly tRCD + CL + burst (closed row), CL + burst (open row) or tRP + tRCD +
CL + burst (another row open).

Energy follows DRAMsim3's IDD model (src/configuration.cc, InitPowerParams), in pJ with tCK in ns:
ACT VDD (IDD0 tRC - IDD3N tRAS - IDD2N tRP); RD VDD (IDD4R - IDD3N) burst; WR VDD (IDD4W - IDD3N) burst;
REF VDD (IDD5AB - IDD3N) tRFC; background per rank VDD IDD3N per cycle with a row open, VDD IDD2N otherwise.
PIM commands as NeuPIMs prices them: G_ACT = banks_per_group ACTs, COMP = comp_energy_reads RDs, READRES = (banks
per channel x pim_data_bits / burst bits) RDs, GWRITE = (row bytes / burst bytes) RDs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from einsim.arch.dram import MAPPING_FIELDS, DramSpec

from . import dram_commands as dc
from .kernels import dram as _k
from .kernels import dram_requests as _rq

__all__ = ["DramRequests", "PimProgram", "DramPolicy", "DramRun", "decode_addresses", "simulate_dram",
           "command_energy_pj"]


@dataclass(frozen=True)
class DramRequests:
    """Requests as arrays: byte address, write flag, arrival cycle (sorted by arrival)."""

    address: np.ndarray
    is_write: np.ndarray
    arrive: np.ndarray

    def __post_init__(self):
        a = np.ascontiguousarray(self.address, dtype=np.int64)
        w = np.ascontiguousarray(self.is_write, dtype=np.bool_)
        t = np.ascontiguousarray(self.arrive, dtype=np.int64)
        if not a.shape == w.shape == t.shape or a.ndim != 1:
            raise ValueError(f"address, is_write and arrive must be 1-D arrays of one length, not shapes "
                             f"{a.shape}, {w.shape}, {t.shape}")
        if t.size and (np.any(np.diff(t) < 0) or t[0] < 0):
            raise ValueError("arrive must be non-negative and non-decreasing (requests in arrival order)")
        if a.size and a.min() < 0:
            raise ValueError(f"addresses must be >= 0, not {int(a.min())!r}")
        object.__setattr__(self, "address", a)
        object.__setattr__(self, "is_write", w)
        object.__setattr__(self, "arrive", t)

    def __len__(self) -> int:
        return int(self.address.shape[0])

    @classmethod
    def empty(cls) -> DramRequests:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.bool_), np.zeros(0, np.int64))


@dataclass(frozen=True)
class PimProgram:
    """PIM program entries (sim.dram_commands: raw command codes or P_HEADER / COMPS_READRES / GWRITE_ROW) as
    arrays, in program order per channel. ``arg``: READRES count of a P_HEADER, COMP count of a COMPS_READRES,
    column of a raw RD / WR / COMP. ``est``: a P_HEADER's estimated tile cycles (refresh-deadline check)."""

    channel: np.ndarray
    kind: np.ndarray
    rank: np.ndarray
    bankgroup: np.ndarray
    bank: np.ndarray
    row: np.ndarray
    arg: np.ndarray
    est: np.ndarray
    arrive: np.ndarray

    def __post_init__(self):
        n = None
        for name in ("channel", "kind", "rank", "bankgroup", "bank", "row", "arg", "est", "arrive"):
            v = np.ascontiguousarray(getattr(self, name), dtype=np.int64)
            if v.ndim != 1 or (n is not None and v.shape[0] != n):
                raise ValueError(f"PimProgram.{name} must be a 1-D array of {n} entries, not shape {v.shape}")
            n = v.shape[0]
            object.__setattr__(self, name, v)

    def __len__(self) -> int:
        return int(self.kind.shape[0])

    @classmethod
    def from_entries(cls, entries) -> PimProgram:
        """From dicts or tuples (channel, kind, rank, bankgroup, bank, row, arg, est, arrive)."""
        keys = ("channel", "kind", "rank", "bankgroup", "bank", "row", "arg", "est", "arrive")
        rows = [tuple(e[k] for k in keys) if isinstance(e, dict) else tuple(e) for e in entries]
        a = np.array(rows, dtype=np.int64).reshape(len(rows), len(keys))
        return cls(*(a[:, i].copy() for i in range(len(keys))))

    @classmethod
    def empty(cls) -> PimProgram:
        return cls.from_entries([])

    def counts(self) -> dict[str, int]:
        return {dc.ENTRY_NAMES[k]: int(n) for k, n in zip(*np.unique(self.kind, return_counts=True))}


@dataclass(frozen=True, kw_only=True)
class DramPolicy:
    """Controller choices: ``page`` open or closed; ``scheduler`` frfcfs or fcfs; request ``queue_size`` per
    channel (DRAMsim3's trans_queue_size, 32); ``row_hit_cap`` hits served before a row with queued hits may be
    closed for an older request (DRAMsim3: 4); ``refresh`` on or off; ``refresh_postpone``: refreshes a rank may
    owe (JEDEC lets a controller postpone up to 8 REF commands): a rank owing one refreshes as soon as no request
    to it is queued, and at once when it owes more than this (0: refresh exactly when due, as DRAMsim3);
    ``row_buffers`` overrides the spec's."""

    page: str = "open"
    scheduler: str = "frfcfs"
    queue_size: int = 32
    row_hit_cap: int = 4
    refresh: bool = True
    refresh_postpone: int = 8
    row_buffers: int | None = None

    def __post_init__(self):
        if self.page not in ("open", "closed"):
            raise ValueError(f"page must be 'open' or 'closed', not {self.page!r}")
        if self.scheduler not in ("frfcfs", "fcfs"):
            raise ValueError(f"scheduler must be 'frfcfs' or 'fcfs', not {self.scheduler!r}")
        for name in ("queue_size", "row_hit_cap"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, not {v!r}")
        if isinstance(self.refresh_postpone, bool) or not isinstance(self.refresh_postpone, int) or \
                not 0 <= self.refresh_postpone <= 8:
            raise ValueError(f"refresh_postpone must be an integer in [0, 8], not {self.refresh_postpone!r}")
        if self.row_buffers not in (None, 1, 2):
            raise ValueError(f"row_buffers must be 1 or 2, not {self.row_buffers!r}")

    def packed(self) -> np.ndarray:
        return np.array([self.page == "closed", self.scheduler == "fcfs", self.queue_size, self.row_hit_cap,
                         self.refresh, self.refresh_postpone], dtype=np.int64)


def decode_addresses(spec: DramSpec, address) -> dict[str, np.ndarray]:
    """Channel, rank, bankgroup, bank, row, column of byte addresses under ``spec.address_mapping`` (fields most
    significant first; the bits below one burst are dropped; the channel field spans channels x pseudo-channels).
    Addresses beyond the capacity wrap."""
    a = np.asarray(address, dtype=np.int64) // spec.burst_bytes
    widths = {"ch": spec.units, "ra": spec.ranks, "bg": spec.bankgroups, "ba": spec.banks_per_group,
              "ro": spec.rows, "co": spec.columns}
    names = {"ch": "channel", "ra": "rank", "bg": "bankgroup", "ba": "bank", "ro": "row", "co": "column"}
    fields_lsb_first = [spec.address_mapping[i:i + 2] for i in range(0, 12, 2)][::-1]
    out = {}
    for f in fields_lsb_first:
        out[names[f]] = a % widths[f]
        a = a // widths[f]
    assert set(fields_lsb_first) == set(MAPPING_FIELDS)
    return out


def command_energy_pj(spec: DramSpec) -> dict[str, float]:
    """Energy of one command (pJ) by command name, DRAMsim3 / NeuPIMs style (see the module docstring)."""
    if not spec.has_energy:
        return {}
    v, b, tck = spec.vdd, spec.burst_cycles, spec.tck_ns
    act = v * (spec.idd0 * spec.trc - (spec.idd3n * spec.tras + spec.idd2n * spec.trp)) * tck
    rd = v * (spec.idd4r - spec.idd3n) * b * tck
    wr = v * (spec.idd4w - spec.idd3n) * b * tck
    out = {"ACT": act, "PRE": 0.0, "RD": rd, "WR": wr, "REF": v * (spec.idd5ab - spec.idd3n) * spec.trfc * tck}
    if spec.has_pim:
        out.update({"G_ACT": spec.banks_per_group * act, "G_PRE": 0.0, "COMP": spec.comp_energy_reads * rd,
                    "READRES": spec.banks_per_channel * spec.pim_data_bits / (8 * spec.burst_bytes) * rd,
                    "GWRITE": spec.row_buffer_bytes / spec.burst_bytes * rd})
    return out


@dataclass(frozen=True, kw_only=True)
class DramRun:
    """One simulation. ``trace``: TRACE_COLUMNS -> arrays (issue order within each channel, channels in turn;
    ``cycle`` int64, the other columns int32 from the kernel, int64 from the reference), None if the run was asked
    for no trace. Per request: ``latency`` (cycles, arrival to last data beat), ``row_state`` (0 hit, 1 miss,
    2 conflict). Per PIM entry: ``pim_done`` (cycle it completed), ``pim_status`` (1 = skipped: broke the protocol).
    ``counters`` per channel (COUNTER_NAMES), ``active_cycles`` per channel and rank (a row open)."""

    spec: DramSpec
    policy: DramPolicy
    trace: dict | None
    requests: DramRequests
    channel: np.ndarray
    latency: np.ndarray
    row_state: np.ndarray
    pim_done: np.ndarray
    pim_status: np.ndarray
    counters: np.ndarray
    active_cycles: np.ndarray
    energy_by_command_pj: dict = field(default_factory=dict)

    @property
    def cycles(self) -> int:
        """Cycles until the last channel finished (its last command issued and its last data beat done)."""
        return int(self.counters[:, 10].max()) if self.counters.size else 0

    @property
    def commands(self) -> dict[str, int]:
        return {name: int(self.counters[:, i].sum()) for i, name in enumerate(dc.COMMAND_NAMES)}

    @property
    def n_commands(self) -> int:
        return int(self.counters[:, :len(dc.COMMAND_NAMES)].sum())

    @property
    def bytes_transferred(self) -> int:
        c = self.commands
        return (c["RD"] + c["WR"]) * self.spec.burst_bytes

    @property
    def bandwidth_bytes_per_s(self) -> float:
        return self.bytes_transferred / (self.cycles * self.spec.tck_ns * 1e-9) if self.cycles else 0.0

    @property
    def mean_read_latency_cycles(self) -> float:
        reads = ~self.requests.is_write
        return float(self.latency[reads].mean()) if reads.any() else float("nan")

    @property
    def refresh_fraction(self) -> float:
        """Fraction of rank-cycles spent refreshing: REF count x tRFC / (channel cycles x ranks), over channels."""
        busy = self.counters[:, 10]
        used = busy > 0
        if not used.any():
            return 0.0
        return float((self.counters[used, 4] * self.spec.trfc).sum() / (busy[used].sum() * self.spec.ranks))

    @property
    def energy_pj(self) -> dict[str, float] | None:
        """Energy by component (pJ): each command kind and background; None without IDD figures."""
        if not self.spec.has_energy:
            return None
        s = self.spec
        out = {name: n * self.energy_by_command_pj.get(name, 0.0) for name, n in self.commands.items()}
        total_rank_cycles = float((self.counters[:, 10][:, None] * np.ones(s.ranks)).sum())
        active = float(self.active_cycles.sum())
        out["background"] = s.vdd * s.tck_ns * (s.idd3n * active + s.idd2n * (total_rank_cycles - active))
        return out

    @property
    def energy_pj_per_bit(self) -> float | None:
        e = self.energy_pj
        if e is None or not self.bytes_transferred:
            return None
        return sum(e.values()) / (8 * self.bytes_transferred)


def _validate_program(spec: DramSpec, pim: PimProgram, units: int) -> None:
    if not len(pim):
        return
    if not spec.has_pim and np.isin(pim.kind, dc.PIM_COMMANDS + (dc.P_HEADER, dc.COMPS_READRES, dc.GWRITE_ROW)).any():
        raise ValueError(f"memory {spec.name!r} has no PIM (pim.mac_lanes is 0); use a PIM preset such as hbm2-pim")
    checks = (("channel", pim.channel, units), ("kind", pim.kind, len(dc.ENTRY_NAMES)))
    for name, v, hi in checks:
        if v.min() < 0 or v.max() >= hi:
            bad = int(v.max() if v.max() >= hi else v.min())
            raise ValueError(f"PIM program {name} must be in [0, {hi}), not {bad}")
    if np.any(np.diff(pim.channel) < 0):
        raise ValueError("PIM program entries must be grouped by channel in ascending order")


def _sorted_requests(spec: DramSpec, requests: DramRequests, reference: bool):
    """(order, fields int64[6, n] (channel, rank, bankgroup, bank, row, column) in order, channel per request,
    each channel's first position): requests by channel, in arrival order within one. The kernel
    (sim/kernels/dram_requests.py) or, with ``reference``, numpy (decode_addresses and a lexsort)."""
    units = spec.units
    if not reference:
        names = [spec.address_mapping[i:i + 2] for i in range(0, 12, 2)][::-1]
        counts = {"ch": units, "ra": spec.ranks, "bg": spec.bankgroups, "ba": spec.banks_per_group,
                  "ro": spec.rows, "co": spec.columns}
        bits = np.array([counts[k].bit_length() - 1 for k in names], dtype=np.int64)  # powers of two (DramSpec)
        dest = np.array([MAPPING_FIELDS.index(k) for k in names], dtype=np.int64)
        return _rq.sort_requests(requests.address, spec.burst_bytes, bits, dest, units)
    f = decode_addresses(spec, requests.address)
    order = np.lexsort((np.arange(len(requests)), requests.arrive, f["channel"]))
    fields = np.array([f[k][order] for k in ("channel", "rank", "bankgroup", "bank", "row", "column")],
                      dtype=np.int64).reshape(6, len(requests))
    start = np.searchsorted(fields[0], np.arange(units + 1)).astype(np.int64)
    return order, fields, f["channel"], start


def simulate_dram(spec: DramSpec, requests: DramRequests | None = None, pim: PimProgram | None = None, *,
                  policy: DramPolicy = DramPolicy(), reference: bool = False, trace: bool = True) -> DramRun:
    """Simulate ``requests`` and the PIM program on ``spec`` under ``policy`` (see the module docstring).
    ``trace=False``: the kernel records no command trace (``DramRun.trace`` is None; counters, latencies and
    row classes are unchanged), for callers that need only those (the legality checker needs the trace)."""
    requests = DramRequests.empty() if requests is None else requests
    pim = PimProgram.empty() if pim is None else pim
    row_buffers = policy.row_buffers or spec.row_buffers
    units = spec.units
    _validate_program(spec, pim, units)
    order, fields, channel, req_start = _sorted_requests(spec, requests, reference)
    pim_start = np.searchsorted(pim.channel, np.arange(units + 1)).astype(np.int64)
    cfg = _k.pack_config(spec, row_buffers)
    rules, rule_start = _k.timing_rules(spec, row_buffers)
    args = (cfg, policy.packed(), rules, rule_start, requests.arrive[order], *fields[1:],
            requests.is_write[order].astype(np.int64), req_start, pim.kind, pim.rank, pim.bankgroup, pim.bank,
            pim.row, pim.arg, pim.est, pim.arrive, pim_start)
    if reference:
        from .kernels import dram_reference as _ref

        out = _ref.run_dram(spec, row_buffers, policy, *args[4:])
    else:
        trc, tri, *out = _k.run_dram(*args, trace)
        out = (None if not trace else {"cycle": trc, **dict(zip(dc.TRACE_COLUMNS[1:], tri))}, *out)
    tr, done, cls, pim_done, pim_status, counters, active = out
    if counters[:, 15].any():
        raise RuntimeError(f"the DRAM controller stalled on channel(s) {np.nonzero(counters[:, 15])[0].tolist()}: "
                           f"no command could ever issue again")
    if reference:
        latency, row_state = np.empty(len(requests), dtype=np.int64), np.empty(len(requests), dtype=np.int64)
        latency[order], row_state[order] = done - requests.arrive[order], cls
    else:
        latency, row_state = _rq.unsort_results(order, done, cls, requests.arrive)
    if reference:
        tr = {name: np.ascontiguousarray(tr[i]) for i, name in enumerate(dc.TRACE_COLUMNS)}
    return DramRun(spec=spec, policy=policy, trace=tr, requests=requests, channel=channel, latency=latency,
                   row_state=row_state, pim_done=pim_done, pim_status=pim_status, counters=counters,
                   active_cycles=active, energy_by_command_pj=command_energy_pj(spec))

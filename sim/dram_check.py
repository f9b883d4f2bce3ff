"""Independent legality checker for DRAM/PIM command traces: which timing constraint, if any, a command violates.

Written from the JEDEC-style rules (DRAMsim3's src/timing.cc for DRAM, NeuPIMs' extern/NewtonSim/src/timing.cc for
PIM) as pairwise minimum gaps between two commands, given how their footprints relate (same bank, same bank group,
same rank, other rank), plus the rolling four-activate window, the PIM adder-tree filling time, the data bus, the
command bus and the row-buffer state. It shares no timing code with the kernel (sim/kernels/dram.py), which keeps
its rules as per-scope "next allowed cycle" tables; the kernel's plain-Python reference asks this module when a
command is legal, so kernel == reference also means kernel == these rules.

``check_trace(spec, trace)`` returns every :class:`Violation` (constraint name, the two commands, cycles short).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from einsim.arch.dram import DramSpec

from .dram_commands import ACT, COMMAND_NAMES, COMP, G_ACT, G_PRE, GWRITE, PRE, RD, READRES, REF, WR

__all__ = ["Violation", "ChannelChecker", "check_trace", "gap_table"]

_ACTIVATE = (ACT, G_ACT)
_PRECHARGE = (PRE, G_PRE)
_COLUMN_OF_BUFFER = (RD, WR, GWRITE, COMP, READRES)  # column accesses that need tRCD after the buffer's activation


@dataclass(frozen=True, kw_only=True)
class Violation:
    """``index`` (trace position) breaks ``constraint`` against command ``other`` (-1 for a state rule), issued
    ``cycles_short`` cycles too early (0 for state rules)."""

    constraint: str
    index: int
    other: int
    cycles_short: int
    message: str

    def __str__(self) -> str:
        return self.message


def gap_table(spec: DramSpec) -> dict[str, int]:
    """The derived minimum gaps (cycles) the checker uses, by name: burst B, read->read same/other bank group and
    other rank, read->write, write->read, write->write other rank, read->precharge, write->precharge, ..."""
    b = spec.burst_cycles
    turn = max(spec.trtw, spec.trtrs) if spec.ranks > 1 else spec.trtw
    return {
        "B": b, "rr_l": max(b, spec.tccd_l), "rr_s": max(b, spec.tccd_s), "rr_o": b + spec.trtrs,
        "rtw": spec.cl + b + spec.trtw - spec.cwl, "rtw_o": spec.cl + b + turn - spec.cwl,
        "wtr_l": spec.cwl + b + spec.twtr_l, "wtr_s": spec.cwl + b + spec.twtr_s,
        "wtr_o": spec.cwl + b + spec.trtrs - spec.cl, "ww_o": b + spec.trtrs,
        "rtp": spec.trtp_l, "wtp": spec.cwl + b + spec.twr, "gw": spec.gwrite_cycles,
        "t_rr": max(b, spec.tccd_l), "fill": spec.pim_fill_cycles * spec.t_comp, "rtp_rp": spec.trtp_l + spec.trp,
    }


def _footprint(cmd: int, r: int, g: int, b: int) -> tuple:
    if cmd in (COMP, READRES):
        return ("c",)
    if cmd == REF:
        return ("r", r)
    if cmd in (G_ACT, G_PRE):
        return ("g", r, g)
    return ("b", r, g, b)


class ChannelChecker:
    """Rules of one channel, fed command by command (``problems`` then ``record``)."""

    def __init__(self, spec: DramSpec, *, row_buffers: int | None = None):
        self.spec = spec
        self.row_buffers = spec.row_buffers if row_buffers is None else row_buffers
        self.pim_buffer = 1 if self.row_buffers == 2 else 0
        self.g = gap_table(spec)
        self.horizon = max(spec.trfc, spec.tfaw, spec.gwrite_cycles, spec.trc, self.g["wtp"],
                           self.g["rtw_o"], self.g["fill"]) + 2  # no gap is longer
        # touch[command][unit] = (cycle, index) of the latest command of that kind touching the unit: a bank
        # ("b", r, g, b), a bank group ("g", r, g), a rank ("r", r) or the channel ("c",)
        self.touch: list[dict[tuple, tuple[int, int]]] = [{} for _ in range(10)]
        self._gap_cache: dict[tuple, list[tuple[str, int]]] = {}
        self.acts: dict[int, list[tuple[int, int, int]]] = {}  # rank -> [(cycle, activations, index)]
        self.open: dict[tuple, int] = {}                 # (rank, bankgroup, bank, buffer) -> open row
        self.windows: list[tuple[int, int, int, int]] = []  # data bus: (start, end, rank or -1, index)
        self.first_comp: tuple[int, int] | None = None   # first COMP since the last READRES
        self.prev: tuple[int, int] | None = None         # (cycle, index) of the previous command

    # -- geometry --------------------------------------------------------------------------------------------
    def buffer(self, cmd: int) -> int:
        return self.pim_buffer if cmd in (G_ACT, G_PRE, COMP, READRES) else 0

    def _relation(self, a: tuple, b: tuple) -> tuple[bool, bool, bool, bool]:
        """(same bank, same bank group, same rank, other rank) between two footprints."""
        multi = self.spec.ranks > 1
        if a[0] == "c" or b[0] == "c":
            return True, True, True, multi
        if a[1] != b[1]:
            return False, False, False, True
        if a[0] == "r" or b[0] == "r":
            return True, True, True, False
        if a[2] != b[2]:
            return False, False, True, False
        same_bank = a[0] == "g" or b[0] == "g" or a[3] == b[3]
        return same_bank, True, True, False

    def _gaps(self, p: int, n: int, rel: tuple) -> list[tuple[str, int]]:
        """Minimum gaps from an earlier command ``p`` to a later ``n`` whose footprints relate as ``rel``."""
        sb, bg, rk, other = rel
        g, single = self.g, self.row_buffers == 1
        out = []
        same_buffer = sb and self.buffer(p) == self.buffer(n)
        if same_buffer:
            if p in _ACTIVATE and n in _PRECHARGE:
                out.append(("tRAS", self.spec.tras))
            if p in _PRECHARGE and n in _ACTIVATE:
                out.append(("tRP", self.spec.trp))
            if p in _ACTIVATE and n in _COLUMN_OF_BUFFER:
                out.append(("tRCD", self.spec.trcd))
            if n in _PRECHARGE:
                if p in (RD, COMP, READRES):
                    out.append(("tRTP", g["rtp"]))
                elif p == WR:
                    out.append(("tWR", g["wtp"]))
                elif p == GWRITE:
                    out.append(("gwrite", g["gw"]))
        if sb and p == GWRITE and n in (RD, WR):
            out.append(("gwrite", g["gw"]))
        if p == GWRITE and n in (COMP, READRES, GWRITE):
            out.append(("gwrite", g["gw"]))
        if rk and p == REF and n in (ACT, G_ACT, REF):
            out.append(("tRFC", self.spec.trfc))
        if rk and p in _PRECHARGE and n == REF:
            out.append(("tRP", self.spec.trp))
        if p in _ACTIVATE and n in _ACTIVATE:
            if bg:
                out.append(("tRRD_L", self.spec.trrd_l))
            if rk:
                out.append(("tRRD_S", self.spec.trrd_s))
        out += self._column_gaps(p, n, rel, single)
        return out

    def _column_gaps(self, p: int, n: int, rel: tuple, single: bool) -> list[tuple[str, int]]:
        """Gaps between column-type commands (internal data paths and the data bus)."""
        _, bg, rk, other = rel
        g = self.g
        cases = (  # (applies, constraint, gap key)
            (p == RD and n in (RD, GWRITE) or p == GWRITE and n == RD,
             ((bg, "tCCD_L", "rr_l"), (rk, "tCCD_S", "rr_s"), (other and p == RD and n == RD, "tRTRS", "rr_o"))),
            (p in (RD, GWRITE) and n == WR, ((rk, "tRTW", "rtw"), (other and p == RD, "tRTW", "rtw_o"))),
            (p == WR and n in (RD, GWRITE),
             ((bg, "tWTR_L", "wtr_l"), (rk, "tWTR_S", "wtr_s"), (other and n == RD, "tRTRS", "wtr_o"))),
            (p == WR and n == WR, ((bg, "tCCD_L", "rr_l"), (rk, "tCCD_S", "rr_s"), (other, "tRTRS", "ww_o"))),
            (p == RD and n in (COMP, READRES),
             ((bg and single, "tCCD_L", "rr_l"), (rk, "tCCD_S", "rr_s"), (other and n == READRES, "tRTRS", "rr_o"))),
            (p == WR and n in (COMP, READRES),
             ((bg and single, "tWTR_L", "wtr_l"), (rk, "tWTR_S", "wtr_s"),
              (other and n == READRES, "tRTRS", "wtr_o"))),
            (p == COMP and n in (RD, GWRITE, COMP, READRES), ((rk, "tCCD_S", "rr_s"),)),
            (p in (COMP, READRES) and n == WR, ((rk, "tRTW", "rtw"), (other and p == READRES, "tRTW", "rtw_o"))),
            (p == READRES and n in (RD, GWRITE), ((rk, "tCCD_S", "rr_s"), (other and n == RD, "tRTRS", "rr_o"))),
            (p == READRES and n in (COMP, READRES), ((rk, "tCCD_L", "t_rr"),)),
            (p == READRES and n == G_ACT, ((rk, "tRTP", "rtp_rp"),)),
        )
        return [(name, g[key]) for applies, rules in cases if applies for cond, name, key in rules if cond]

    # -- bounds ------------------------------------------------------------------------------------------------
    _FLAGS = ((True, False, False, False), (False, True, False, False), (False, False, True, False),
              (False, False, False, True))

    def _flag_gaps(self, p: int, n: int, flag: int) -> list[tuple[str, int]]:
        """Gaps from p to n that hold through one relation flag (same bank, same bank group, same rank, other
        rank); every gap of _gaps depends on one flag, so the latest p with each flag bounds n."""
        key = (p, n, flag)
        if key not in self._gap_cache:
            self._gap_cache[key] = self._gaps(p, n, self._FLAGS[flag])
        return self._gap_cache[key]

    def _latest(self, p: int, me: tuple, flag: int) -> tuple[int, int] | None:
        """The latest command of kind p whose footprint relates to ``me`` through ``flag``."""
        t = self.touch[p]
        if me[0] == "c":
            unit = ("c",) if flag < 3 or self.spec.ranks > 1 else None
            return t.get(unit) if unit else None
        if flag == 3:
            best = None
            for r in range(self.spec.ranks):
                if r != me[1]:
                    v = t.get(("r", r))
                    if v is not None and (best is None or v[0] > best[0]):
                        best = v
            return best
        if flag == 2 or me[0] == "r":
            return t.get(("r", me[1]))
        if flag == 1 or me[0] == "g":
            return t.get(("g", me[1], me[2]))
        return t.get(me)

    def bounds(self, cmd: int, r: int, g: int, b: int) -> list[tuple[str, int, int]]:
        """Every timing bound on issuing ``cmd`` here: (constraint, earliest legal cycle, index of the command that
        sets it), from the gaps, the activation window, the PIM filling time and the command bus."""
        me = _footprint(cmd, r, g, b)
        out = []
        for p in range(10):
            if not self.touch[p]:
                continue
            for flag in range(4):
                gaps = self._flag_gaps(p, cmd, flag)
                if gaps:
                    last = self._latest(p, me, flag)
                    if last is not None:
                        out += [(name, last[0] + gap, last[1]) for name, gap in gaps]
        if cmd in _ACTIVATE:
            need = min(self.spec.banks_per_group, 4) if cmd == G_ACT else 1
            seen = 0
            for tc, count, ic in sorted(self.acts.get(r, ()), reverse=True):
                seen += count
                if seen > 4 - need:
                    out.append(("tFAW", tc + self.spec.tfaw, ic))
                    break
        if cmd == READRES and self.first_comp is not None:
            out.append(("pim_fill", self.first_comp[0] + self.g["fill"], self.first_comp[1]))
        if self.prev is not None:
            out.append(("command_bus", self.prev[0] + 1, self.prev[1]))
        return out

    def earliest(self, cmd: int, r: int = -1, g: int = -1, b: int = -1) -> int:
        """Earliest cycle at which ``cmd`` meets every timing rule (the row-buffer state is not considered)."""
        return max((t for _, t, _ in self.bounds(cmd, r, g, b)), default=0)

    # -- state -------------------------------------------------------------------------------------------------
    def _banks(self, cmd: int, r: int, g: int, b: int):
        s = self.spec
        if cmd in (COMP, READRES):
            return [(rr, gg, bb) for rr in range(s.ranks) for gg in range(s.bankgroups)
                    for bb in range(s.banks_per_group)]
        if cmd == REF:
            return [(r, gg, bb) for gg in range(s.bankgroups) for bb in range(s.banks_per_group)]
        if cmd in (G_ACT, G_PRE):
            return [(r, g, bb) for bb in range(s.banks_per_group)]
        return [(r, g, b)]

    def state_problem(self, cmd: int, r: int, g: int, b: int, row: int, col: int = 0) -> str | None:
        """Why the address or the row-buffer state forbids ``cmd`` here, or None."""
        s, buf, banks = self.spec, self.buffer(cmd), None
        if cmd not in (COMP, READRES) and not 0 <= r < s.ranks:
            return f"rank {r} out of range (ranks {s.ranks})"
        if cmd not in (COMP, READRES, REF) and not 0 <= g < s.bankgroups:
            return f"bank group {g} out of range ({s.bankgroups})"
        if cmd in (ACT, PRE, RD, WR, GWRITE) and not 0 <= b < s.banks_per_group:
            return f"bank {b} out of range ({s.banks_per_group} per group)"
        if cmd in (ACT, G_ACT) and not 0 <= row < s.rows:
            return f"row {row} out of range ({s.rows})"
        if cmd in (RD, WR) and not 0 <= col < s.columns:
            return f"column {col} out of range ({s.columns} bursts per row)"
        if cmd == COMP and not 0 <= col < s.comps_per_row:
            return f"column {col} out of range ({s.comps_per_row} COMP columns per row)"
        banks = self._banks(cmd, r, g, b)
        other = 1 - buf if self.row_buffers == 2 else None
        if cmd in _ACTIVATE:
            for k in banks:
                if (*k, buf) in self.open:
                    return f"bank {k} already has row {self.open[(*k, buf)]} open in that row buffer"
                if other is not None and self.open.get((*k, other)) == row:
                    return f"row {row} is already open in the other row buffer of bank {k}"
        elif cmd in _PRECHARGE:
            missing = [k for k in banks if (*k, buf) not in self.open]
            if missing:
                return f"bank {missing[0]} has no open row to precharge"
        elif cmd == REF:
            opened = [k for k in self.open if k[0] == r]
            if opened:
                return f"refresh needs every bank of rank {r} closed; bank {opened[0][:3]} is open"
        elif cmd in (COMP, READRES):
            rows = {self.open.get((*k, buf)) for k in banks}
            if None in rows or len(rows) != 1:
                return "every bank must have the same row open in its PIM row buffer"
        elif self.open.get((r, g, b, buf)) != row:
            return f"bank {(r, g, b)} has row {self.open.get((r, g, b, buf))} open, not {row}"
        return None

    # -- one command -----------------------------------------------------------------------------------------
    def problems(self, cmd: int, r: int, g: int, b: int, row: int, t: int, index: int,
                 col: int = 0) -> list[Violation]:
        out = []
        name = COMMAND_NAMES[cmd]
        if self.prev is not None and t < self.prev[0]:
            out.append(Violation(constraint="order", index=index, other=self.prev[1], cycles_short=0,
                                 message=f"command {index} ({name} at {t}) is earlier than command {self.prev[1]}"))
        for constraint, bound, other in self.bounds(cmd, r, g, b):
            if t < bound:
                out.append(Violation(constraint=constraint, index=index, other=other, cycles_short=bound - t,
                                     message=f"command {index} ({name} at cycle {t}) violates {constraint} after "
                                             f"command {other}: legal from cycle {bound}, {bound - t} short"))
        out += self._bus_problems(cmd, r, t, index)
        why = self.state_problem(cmd, r, g, b, row, col)
        if why:
            out.append(Violation(constraint="state", index=index, other=-1, cycles_short=0,
                                 message=f"command {index} ({name} at cycle {t}): {why}"))
        return out

    def _window(self, cmd: int, t: int) -> tuple[int, int] | None:
        s = self.spec
        if cmd in (RD, READRES):
            return t + s.cl, t + s.cl + s.burst_cycles
        if cmd == WR:
            return t + s.cwl, t + s.cwl + s.burst_cycles
        return None

    def _bus_problems(self, cmd: int, r: int, t: int, index: int) -> list[Violation]:
        w = self._window(cmd, t)
        if w is None:
            return []
        rank = -1 if cmd == READRES else r
        out = []
        for start, end, wr, wi in self.windows:
            gap = self.spec.trtrs if self.spec.ranks > 1 and wr != rank else 0  # READRES drives for every rank
            if w[0] < end + gap and start < w[1] + gap:
                out.append(Violation(constraint="data_bus", index=index, other=wi,
                                     cycles_short=max(end + gap - w[0], 1),
                                     message=f"command {index} ({COMMAND_NAMES[cmd]} at cycle {t}) drives the data "
                                             f"bus in cycles [{w[0]}, {w[1]}) against command {wi}'s [{start}, "
                                             f"{end}) (rank gap {gap})"))
        return out

    def record(self, cmd: int, r: int, g: int, b: int, row: int, t: int, index: int) -> None:
        """Apply a command: its row-buffer effect and its place in the timing history."""
        buf, banks = self.buffer(cmd), self._banks(cmd, r, g, b)
        touched = self.touch[cmd]
        for rr, gg, bb in banks:
            touched[("b", rr, gg, bb)] = touched[("g", rr, gg)] = touched[("r", rr)] = (t, index)
        touched[("c",)] = (t, index)
        if cmd in _ACTIVATE:
            for k in banks:
                self.open[(*k, buf)] = row
            self.acts.setdefault(r, []).append((t, min(self.spec.banks_per_group, 4) if cmd == G_ACT else 1, index))
        elif cmd in _PRECHARGE:
            for k in banks:
                self.open.pop((*k, buf), None)
        elif cmd == COMP and self.first_comp is None:
            self.first_comp = (t, index)
        elif cmd == READRES:
            self.first_comp = None
        w = self._window(cmd, t)
        if w is not None:
            self.windows.append((w[0], w[1], -1 if cmd == READRES else r, index))
        self.prev = (t, index)
        self._prune(t)

    def _prune(self, t: int) -> None:
        for rank, acts in self.acts.items():
            if len(acts) > 8:
                self.acts[rank] = [a for a in acts if a[0] > t - self.spec.tfaw - 1] or acts[-4:]
        if len(self.windows) > 16:
            self.windows = [w for w in self.windows if w[1] + self.spec.trtrs + self.horizon > t]


def check_trace(spec: DramSpec, trace, *, row_buffers: int | None = None, limit: int | None = None) -> list[Violation]:
    """Every violation in ``trace`` (a mapping or object with the TRACE_COLUMNS arrays, in issue order per
    channel). ``limit`` stops after that many violations."""
    cols = {k: np.asarray(trace[k] if isinstance(trace, dict) else getattr(trace, k)) for k in
            ("cycle", "command", "channel", "rank", "bankgroup", "bank", "row", "column")}
    checkers: dict[int, ChannelChecker] = {}
    out: list[Violation] = []
    for i in range(len(cols["cycle"])):
        ch = int(cols["channel"][i])
        c = checkers.setdefault(ch, ChannelChecker(spec, row_buffers=row_buffers))
        args = (int(cols["command"][i]), int(cols["rank"][i]), int(cols["bankgroup"][i]), int(cols["bank"][i]),
                int(cols["row"][i]), int(cols["cycle"][i]), i)
        out += c.problems(*args, col=int(cols["column"][i]))
        c.record(*args)
        if limit is not None and len(out) >= limit:
            return out[:limit]
    return out

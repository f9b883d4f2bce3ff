"""Command streams for one PIM bank and a front end that runs them on the register-level kernel.

A stream is struct-of-arrays (command, row, column, arrival cycle) for sim.kernels.pim_bank.run_pim_bank.
``gemv_program`` is the NeuPIMs-style GEMV: load the vector into the global buffer, then per output element open
its row, COMP every column, precharge, and read the result out while the next row is being opened.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from einsim.arch.pim_bank import PimBankSpec

from .kernels import pim_bank as _k
from .kernels import pim_bank_ref as _ref

__all__ = ["PimProgram", "PimRun", "gemv_program", "random_program", "pack_config", "run", "gemv_closed_form"]


@dataclass(frozen=True)
class PimProgram:
    """Commands as int64 arrays: cmd (CMD_*), row, col and the cycle each is presented (arrive)."""

    cmd: np.ndarray
    row: np.ndarray
    col: np.ndarray
    arrive: np.ndarray

    def __len__(self) -> int:
        return int(self.cmd.shape[0])

    @property
    def n_gwrite(self) -> int:
        return int(np.count_nonzero(self.cmd == _k.CMD_GWRITE))

    @classmethod
    def from_rows(cls, rows, arrive=None) -> PimProgram:
        a = np.array(rows, dtype=np.int64).reshape(len(rows), 3)
        arr = np.zeros(len(a), dtype=np.int64) if arrive is None else np.asarray(arrive, dtype=np.int64)
        return cls(a[:, 0].copy(), a[:, 1].copy(), a[:, 2].copy(), arr)


def gemv_program(n_out: int, columns: int, first_row: int = 0) -> PimProgram:
    """y[j] = dot(row first_row + j, x) for j < n_out, using the first ``columns`` columns of each row.

    Order: GWRITE x slices; ACT 0; COMPs; PRE 0; then per j >= 1: ACT j, READRES (j-1), COMPs, PRE j; READRES last.
    """
    g, a, c, r, p = _k.CMD_GWRITE, _k.CMD_ACT, _k.CMD_COMP, _k.CMD_READRES, _k.CMD_PRE
    rows = [(g, 0, k) for k in range(columns)]
    for j in range(n_out):
        rows.append((a, first_row + j, 0))
        if j:
            rows.append((r, 0, 0))
        rows += [(c, 0, k) for k in range(columns)]
        rows.append((p, 0, 0))
    rows.append((r, 0, 0))
    return PimProgram.from_rows(rows)


def gemv_closed_form(spec: PimBankSpec, n_out: int, columns: int) -> tuple[int, list[int]]:
    """(total cycles, result cycles) of gemv_program when the row cycle is COMP-bound (see tests for the conditions).

    Per row: tRCD + (columns-1)*tCCD + tRTP + tRP cycles; first ACT after the GWRITEs; the last READRES waits
    max(tRTP + 1, CL + MAC_LAT) after the last COMP and its result arrives CL later.
    """
    period = spec.t_rcd + (columns - 1) * spec.t_ccd_l + spec.t_rtp + spec.t_rp
    first_comp = (columns - 1) * spec.t_bus + 1 + spec.t_rcd
    last_comps = [first_comp + j * period + (columns - 1) * spec.t_ccd_l for j in range(n_out)]
    readres = [lc + period - (columns - 1) * spec.t_ccd_l - spec.t_rcd + 1 for lc in last_comps[:-1]]
    readres.append(last_comps[-1] + max(spec.t_rtp + 1, spec.comp_latency))
    results = [r + spec.cl for r in readres]
    return results[-1] + 1, results


def random_program(rng: np.random.Generator, spec: PimBankSpec, n_cmds: int, rows: int, gap_prob: float = 0.0,
                   max_gap: int = 20, error_prob: float = 0.0) -> PimProgram:
    """A random but mostly protocol-correct stream (ACT/COMP/PRE/READRES/GWRITE in random order and timing);
    with error_prob, some commands break the protocol (COMP to a closed bank, ACT to an open one, PRE twice)."""
    g, a, c, r, p = _k.CMD_GWRITE, _k.CMD_ACT, _k.CMD_COMP, _k.CMD_READRES, _k.CMD_PRE
    out = [(g, 0, k) for k in range(spec.columns)]
    is_open = False
    while len(out) < n_cmds:
        u = rng.random()
        if u < error_prob:
            out.append((c, 0, 0) if not is_open else (a, int(rng.integers(rows)), 0))
        elif not is_open:
            if u < 0.6:
                out.append((a, int(rng.integers(rows)), 0))
                is_open = True
            else:
                out.append((r, 0, 0) if u < 0.8 else (g, 0, int(rng.integers(spec.columns))))
        elif u < 0.75:
            out.append((c, 0, int(rng.integers(spec.columns))))
        elif u < 0.85:
            out.append((p, 0, 0))
            is_open = False
        else:
            out.append((r, 0, 0) if u < 0.95 else (g, 0, int(rng.integers(spec.columns))))
    out.append((r, 0, 0))
    gaps = np.where(rng.random(len(out)) < gap_prob, rng.integers(1, max_gap + 1, size=len(out)), 0)
    arrive = np.where(gaps > 0, np.cumsum(gaps) + np.arange(len(out)), 0)
    return PimProgram.from_rows(out, np.maximum.accumulate(arrive))


def pack_config(spec: PimBankSpec) -> np.ndarray:
    values = {"rows": spec.rows, "columns": spec.columns, "lanes": spec.mac_lanes, "acc_bits": spec.acc_bits,
              "t_rcd": spec.t_rcd, "t_rp": spec.t_rp, "t_ras": spec.t_ras, "t_rtp": spec.t_rtp,
              "t_ccd": spec.t_ccd_l, "t_bus": spec.t_bus, "cl": spec.cl, "cwl": spec.cwl,
              "mac_latency": spec.mac_latency}
    return np.array([values[name] for name in _k.CFG_NAMES], dtype=np.int64)


@dataclass(frozen=True)
class PimRun:
    """Results of READRES in order, the cycle each is valid, per-command issue cycle and status (1 = error)."""

    results: np.ndarray
    result_cycle: np.ndarray
    issue_cycle: np.ndarray
    status: np.ndarray
    cycles: int
    counters: dict


def run(spec: PimBankSpec, program: PimProgram, gw_data, memory, *, reference: bool = False) -> PimRun:
    """Run ``program``; gw_data [n_gwrite, mac_lanes] and memory [n_rows, row_elements] hold signed elements."""
    lim = 1 << (spec.data_bits - 1)
    gw = np.ascontiguousarray(gw_data, dtype=np.int64).reshape(program.n_gwrite, spec.mac_lanes)
    mem = np.ascontiguousarray(memory, dtype=np.int64)
    if mem.shape != (spec.rows, spec.row_elements):
        raise ValueError(f"memory must be [{spec.rows}, {spec.row_elements}] (rows, row elements), not "
                         f"{list(mem.shape)!r}")
    for name, arr in (("memory", mem), ("gw_data", gw)):
        if arr.size and (arr.min() < -lim or arr.max() >= lim):
            raise ValueError(f"{name} must hold signed {spec.data_bits}-bit values, not {int(np.abs(arr).max())!r}")
    cfg = pack_config(spec)
    fn = _ref.run_pim_bank if reference else _k.run_pim_bank
    res, rc, issue, status, total, counters = fn(program.cmd, program.row, program.col, program.arrive, gw, mem, cfg)
    return PimRun(res, rc, issue, status, int(total), dict(zip(_k.COUNTER_NAMES, (int(c) for c in counters))))

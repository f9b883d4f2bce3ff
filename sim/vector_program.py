"""Programs for the 1D vector PE array and a front end that runs them on the register-level kernel.

A program is struct-of-arrays (opcode, rd, ra, rb, arrival cycle) for sim.kernels.vector.run_vector; builders give
the softmax Einsums (FuseMax's 1-pass cascade per lane, and a lane-resident softmax with cross-lane reductions)
and random programs for co-simulation. ``run`` packs a VectorUnitSpec and calls the kernel or its reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from einsim.arch.vector_unit import EXP2_POLY, VectorUnitSpec

from .kernels import vector as _k
from .kernels import vector_ref as _ref

__all__ = ["VectorProgram", "ProgramBuilder", "VectorRun", "pack_config", "to_fixed", "from_fixed", "run",
           "online_softmax_program", "lane_softmax_program", "random_program", "encode"]


@dataclass(frozen=True)
class VectorProgram:
    """Instructions as int64 arrays: op, rd, ra, rb and the cycle each is presented (arrive)."""

    op: np.ndarray
    rd: np.ndarray
    ra: np.ndarray
    rb: np.ndarray
    arrive: np.ndarray

    def __len__(self) -> int:
        return int(self.op.shape[0])

    @property
    def n_loads(self) -> int:
        return int(np.count_nonzero(self.op == _k.OP_LD))

    @property
    def n_stores(self) -> int:
        return int(np.count_nonzero(self.op == _k.OP_ST))


class ProgramBuilder:
    """Appends instructions; ``build(arrive)`` returns a VectorProgram (all arrive at cycle 0 by default)."""

    def __init__(self):
        self._rows: list[tuple[int, int, int, int]] = []

    def _add(self, op, rd=0, ra=0, rb=0):
        self._rows.append((op, rd, ra, rb))
        return self

    def ld(self, rd):
        return self._add(_k.OP_LD, rd)

    def st(self, ra):
        return self._add(_k.OP_ST, 0, ra)

    def max(self, rd, ra, rb):
        return self._add(_k.OP_MAX, rd, ra, rb)

    def add(self, rd, ra, rb):
        return self._add(_k.OP_ADD, rd, ra, rb)

    def sub(self, rd, ra, rb):
        return self._add(_k.OP_SUB, rd, ra, rb)

    def mul(self, rd, ra, rb):
        return self._add(_k.OP_MUL, rd, ra, rb)

    def mac(self, rd, ra, rb):
        return self._add(_k.OP_MAC, rd, ra, rb)

    def exp(self, rd, ra):
        return self._add(_k.OP_EXP, rd, ra)

    def div(self, rd, ra, rb):
        return self._add(_k.OP_DIV, rd, ra, rb)

    def rmax(self, rd, ra):
        return self._add(_k.OP_RMAX, rd, ra)

    def rsum(self, rd, ra):
        return self._add(_k.OP_RSUM, rd, ra)

    def build(self, arrive=None) -> VectorProgram:
        rows = np.array(self._rows, dtype=np.int64).reshape(len(self._rows), 4)
        arr = np.zeros(len(rows), dtype=np.int64) if arrive is None else np.asarray(arrive, dtype=np.int64)
        return VectorProgram(rows[:, 0].copy(), rows[:, 1].copy(), rows[:, 2].copy(), rows[:, 3].copy(), arr)


def encode(program: VectorProgram) -> np.ndarray:
    """16-bit instruction words of the RTL: op[15:12] rd[11:8] ra[7:4] rb[3:0]."""
    return (program.op << 12) | (program.rd << 8) | (program.ra << 4) | program.rb


def online_softmax_program(n_steps: int) -> VectorProgram:
    """FuseMax's 1-pass cascade per lane: each lane owns one query p and streams (score, value) beats over m.

    Inputs: beat 0 = the running max's initial value (a large negative number), then per m a score beat and a value
    beat. Per m: RM' = max(RM, s); PRM = exp(RM - RM'); SLN = exp(s - RM'); RD = RD*PRM + SLN;
    RNV = RNV*PRM + SLN*v; RM = RM'. Finally AV = RNV / RD is stored. Registers: r0 RM, r1 s, r2 v, r3 RM',
    r4 PRM, r5 SLN, r6 RD, r7 RNV (RD, RNV start at 0 after reset).
    """
    b = ProgramBuilder().ld(0)
    for _ in range(n_steps):
        (b.ld(1).ld(2).max(3, 0, 1).sub(4, 0, 3).exp(4, 4).sub(5, 1, 3).exp(5, 5)
         .mul(6, 6, 4).add(6, 6, 5).mul(7, 7, 4).mac(7, 5, 2).max(0, 3, 3))
    return b.div(7, 7, 6).st(7).build()


def lane_softmax_program() -> VectorProgram:
    """Softmax of one vector held across the lanes: max-reduce, subtract, exp, sum-reduce, divide, store."""
    return (ProgramBuilder().ld(1).rmax(2, 1).sub(3, 1, 2).exp(3, 3).rsum(4, 3).div(5, 3, 4).st(5)
            .st(4).build())


def random_program(rng: np.random.Generator, n_instr: int, registers: int, gap_prob: float = 0.0,
                   max_gap: int = 4, store_all: bool = False) -> VectorProgram:
    """A random program (every opcode, loads first so registers hold data); instruction i arrives after a random
    gap with probability gap_prob, else back to back (arrive = 0 means 'as soon as the array is free').
    store_all appends a store of every register, so the final register file is observed too."""
    ops = rng.integers(0, _k.N_OPS, size=n_instr)
    ops[: min(2, n_instr)] = _k.OP_LD
    regs = rng.integers(0, registers, size=(n_instr, 3))
    gaps = np.where(rng.random(n_instr) < gap_prob, rng.integers(1, max_gap + 1, size=n_instr), 0)
    # arrival cycles: cumulative gaps on top of a lower bound of the issue time (1 cycle per instruction)
    arrive = np.cumsum(gaps) + np.arange(n_instr)
    arrive = np.where(gaps > 0, arrive, 0)
    prog = VectorProgram(ops.astype(np.int64), regs[:, 0].astype(np.int64), regs[:, 1].astype(np.int64),
                         regs[:, 2].astype(np.int64), np.maximum.accumulate(arrive).astype(np.int64))
    if not store_all:
        return prog
    z = np.zeros(registers, dtype=np.int64)
    return VectorProgram(np.concatenate([prog.op, z + _k.OP_ST]), np.concatenate([prog.rd, z]),
                         np.concatenate([prog.ra, np.arange(registers)]), np.concatenate([prog.rb, z]),
                         np.concatenate([prog.arrive, z]))


def pack_config(spec: VectorUnitSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cfg int64[len(CFG_NAMES)], exp_c_fixed int64[6], exp_c_float float64[6]) for the kernel."""
    values = {"lanes": spec.lanes, "registers": spec.registers, "data_bits": spec.data_bits,
              "frac_bits": spec.frac_bits, "max_cycles": spec.max_cycles, "add_cycles": spec.add_cycles,
              "mac_cycles": spec.mac_cycles, "divide_cycles": spec.divide_cycles, "log2e_fixed": spec.log2e_fixed(),
              "reduce_levels": spec.reduce_levels}
    cfg = np.array([values[name] for name in _k.CFG_NAMES], dtype=np.int64)
    return cfg, np.array(spec.exp_coefficients_fixed(), dtype=np.int64), np.array(EXP2_POLY, dtype=np.float64)


def to_fixed(x, spec: VectorUnitSpec) -> np.ndarray:
    """Round real values to the fixed-point integers of ``spec`` (saturating)."""
    lim = (1 << (spec.data_bits - 1)) - 1
    return np.clip(np.round(np.asarray(x, dtype=np.float64) * spec.one), -lim - 1, lim).astype(np.int64)


def from_fixed(x, spec: VectorUnitSpec) -> np.ndarray:
    return np.asarray(x, dtype=np.float64) / spec.one


@dataclass(frozen=True)
class VectorRun:
    """Outputs of one program run: store beats (fixed and float), their valid cycles, issue cycles, counters."""

    out_fixed: np.ndarray
    out_float: np.ndarray
    out_cycle: np.ndarray
    issue_cycle: np.ndarray
    cycles: int
    counters: dict


def run(spec: VectorUnitSpec, program: VectorProgram, in_float=None, in_fixed=None, *,
        reference: bool = False) -> VectorRun:
    """Run ``program`` on ``spec``; inputs are [n_loads, lanes] (either given; the other is converted)."""
    shape = (program.n_loads, spec.lanes)
    if in_float is None and in_fixed is None:
        in_float = np.zeros(shape)
    if in_fixed is None:
        in_fixed = to_fixed(in_float, spec)
    if in_float is None:
        in_float = from_fixed(in_fixed, spec)
    in_fixed = np.ascontiguousarray(in_fixed, dtype=np.int64).reshape(shape)
    in_float = np.ascontiguousarray(in_float, dtype=np.float64).reshape(shape)
    if np.any(program.op < 0) or np.any(program.op >= _k.N_OPS):
        raise ValueError(f"opcodes must be in 0..{_k.N_OPS - 1}, not {sorted(set(program.op.tolist()))!r}")
    for name in ("rd", "ra", "rb"):
        field = getattr(program, name)
        if np.any(field < 0) or np.any(field >= spec.registers):
            raise ValueError(f"register fields must be in 0..{spec.registers - 1}, not {field.max()!r} in {name}")
    fn = _ref.run_vector if reference else _k.run_vector
    with np.errstate(all="ignore"):  # IEEE inf/nan are defined float64 results (only seen with the JIT off)
        ox, of, oc, issue, total, counters = fn(program.op, program.rd, program.ra, program.rb, program.arrive,
                                                in_fixed, in_float, *pack_config(spec))
    return VectorRun(ox, of, oc, issue, int(total), dict(zip(_k.COUNTER_NAMES, (int(c) for c in counters))))

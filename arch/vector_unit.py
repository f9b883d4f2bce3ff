"""The 1D vector PE array (FuseMax's 1D array): lanes, per-op cycle costs, fixed-point format, exp polynomial.

Every lane is one PE with a small register file; all lanes execute the same instruction (SIMD). The array runs the
softmax Einsums (running max, exp of a difference, running sums, the final divide). FuseMax (MICRO 2024) has 256 PEs
doing MAC, max, add and divide and costs exp as 6 MACs + 1 add; this spec keeps those costs as parameters.

exp is evaluated as ``exp(x) = 2**k * 2**f`` with ``t = x * log2(e)`` (1 MAC), ``k = floor(t)``, ``f = t - k`` in
[0, 1), ``2**f`` by a degree-5 polynomial in Horner form (5 MACs), and the scaling by ``2**k`` (an exponent add in
floating point, an arithmetic shift in fixed point; costed as 1 add). Total: 6 MACs + 1 add, as FuseMax costs it.
The polynomial has ``c0 = 1`` exactly (so exp(0) == 1) and ``c1..c5`` from a least-squares fit of the relative error
of ``2**f`` on [0, 1]; its relative error is below 2.5e-7 (see ``EXP2_POLY_REL_ERROR``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from einsim.workloads.errors import ErrorList
from einsim.workloads.yamlio import check_keys

__all__ = ["VectorUnitSpec", "parse_vector_unit", "EXP2_POLY", "EXP2_POLY_REL_ERROR", "LOAD_STORE_CYCLES"]

#: Cycles of a load (input bus -> register) or a store (register -> output bus); fixed by the micro-architecture.
LOAD_STORE_CYCLES = 1


def _fit_exp2_poly(degree: int = 5) -> tuple[float, ...]:
    """Coefficients c0..c_degree of p(f) ~= 2**f on [0, 1] with c0 = 1, least squares on the relative error."""
    f = np.linspace(0.0, 1.0, 4001)
    target = np.exp2(f)
    basis = np.stack([f**i for i in range(1, degree + 1)], axis=1) / target[:, None]
    rhs = (target - 1.0) / target
    c, *_ = np.linalg.lstsq(basis, rhs, rcond=None)
    return (1.0, *(float(v) for v in c))


#: Coefficients c0..c5 of the 2**f polynomial used by the exp sequence (c0 == 1).
EXP2_POLY: tuple[float, ...] = _fit_exp2_poly()


def _poly_rel_error(coeffs) -> float:
    f = np.linspace(0.0, 1.0, 20001)
    p = np.zeros_like(f)
    for c in reversed(coeffs):
        p = p * f + c
    return float(np.max(np.abs(p / np.exp2(f) - 1.0)))


#: Largest relative error of the 2**f polynomial on [0, 1] (float64 evaluation).
EXP2_POLY_REL_ERROR: float = _poly_rel_error(EXP2_POLY)


@dataclass(frozen=True, kw_only=True)
class VectorUnitSpec:
    """A 1D array of ``lanes`` vector PEs.

    lanes: PEs (one element per lane per instruction). registers: register-file entries per lane (<= 16, 4-bit
    register fields). data_bits / frac_bits: signed two's-complement fixed-point format of the RTL (value =
    integer / 2**frac_bits). *_cycles: cycles one instruction of that kind occupies the array (non-pipelined).
    divide is a restoring divider producing ceil((data_bits + frac_bits) / divide_cycles) quotient bits per cycle.
    """

    lanes: int = 256
    registers: int = 8
    data_bits: int = 32
    frac_bits: int = 16
    max_cycles: int = 1
    add_cycles: int = 1
    mac_cycles: int = 1
    divide_cycles: int = 1

    def __post_init__(self):
        errors = ErrorList("<VectorUnitSpec>")
        _check(errors, (), _as_dict(self))
        errors.raise_if_any()

    @property
    def exp_cycles(self) -> int:
        """Cycles of exp: 6 MACs (1 for x*log2(e), 5 Horner steps) + 1 add (scaling by 2**k)."""
        return 6 * self.mac_cycles + self.add_cycles

    @property
    def reduce_levels(self) -> int:
        """Levels of the cross-lane reduction tree (at least 1)."""
        return max(1, math.ceil(math.log2(self.lanes)))

    @property
    def one(self) -> int:
        """The fixed-point integer of 1.0."""
        return 1 << self.frac_bits

    def exp_coefficients_fixed(self) -> tuple[int, ...]:
        """EXP2_POLY rounded to the fixed-point format (c0..c5)."""
        return tuple(int(round(c * self.one)) for c in EXP2_POLY)

    def log2e_fixed(self) -> int:
        """log2(e) rounded to the fixed-point format."""
        return int(round(math.log2(math.e) * self.one))

    def verilog_parameters(self) -> dict[str, int]:
        """Parameters of rtl/vector_pe/hdl/vector_pe_array.v."""
        c = self.exp_coefficients_fixed()
        return {
            "LANES": self.lanes, "N_REGS": self.registers, "DATA_BITS": self.data_bits,
            "FRAC_BITS": self.frac_bits, "MAX_CYCLES": self.max_cycles, "ADD_CYCLES": self.add_cycles,
            "MAC_CYCLES": self.mac_cycles, "DIV_CYCLES": self.divide_cycles, "LOG2E": self.log2e_fixed(),
            **{f"EXP_C{i}": v for i, v in enumerate(c)},
        }


_INT_KEYS = {
    "lanes": (1, 4096), "registers": (2, 16), "data_bits": (8, 32), "frac_bits": (1, 29),
    "max_cycles": (1, 64), "add_cycles": (1, 64), "mac_cycles": (1, 64), "divide_cycles": (1, 64),
}


def _as_dict(spec: VectorUnitSpec) -> dict:
    return {k: getattr(spec, k) for k in _INT_KEYS}


def _check(errors: ErrorList, path: tuple, data: dict) -> None:
    bad = set()
    for key, (lo, hi) in _INT_KEYS.items():
        if key not in data:
            continue
        v = data[key]
        if isinstance(v, bool) or not isinstance(v, int):
            errors.add(path + (key,), f"{key} must be a positive integer, not {v!r}")
            bad.add(key)
        elif not lo <= v <= hi:
            kind = "a positive integer" if lo == 1 else "an integer"
            errors.add(path + (key,), f"{key} must be {kind} in [{lo}, {hi}], not {v!r}")
            bad.add(key)
    w, f = data.get("data_bits"), data.get("frac_bits")
    if not bad & {"data_bits", "frac_bits"} and f > w - 3:
        errors.add(path + ("frac_bits",), f"frac_bits must be at most data_bits - 3 = {w - 3} (exp needs values up "
                                          f"to 4.0), not {f!r}; lower frac_bits or raise data_bits")


def parse_vector_unit(errors: ErrorList, path: tuple, data) -> VectorUnitSpec | None:
    """Validate a YAML mapping of VectorUnitSpec fields; add every problem to ``errors``; None if any."""
    before = len(errors.issues)
    if not check_keys(errors, path, data, optional=tuple(_INT_KEYS)) and not isinstance(data, dict):
        return None
    known = {k: v for k, v in data.items() if k in _INT_KEYS}
    _check(errors, path, {**_as_dict(VectorUnitSpec()), **known})
    if len(errors.issues) > before:
        return None
    return VectorUnitSpec(**known)

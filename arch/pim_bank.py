"""One PIM-enabled DRAM bank (NeuPIMs-like, HBM2): row buffer, 16-lane MAC unit, global-buffer vector, timing.

A COMP reads one column (mac_lanes elements of data_bits, one burst) of the open row and multiplies it with the
matching slice of the vector held in the global buffer; the lanes' products are summed by an adder tree into the
bank's accumulator. GWRITE loads a vector slice into the global buffer, READRES reads the accumulator out (and
clears it), ACT/PRE open and close rows. Defaults are NeuPIMs' HBM2 numbers (tCK 1 ns): 1 KB rows, 16 multipliers
per bank, CL 14, CWL 4, tRCD 14, tRP 14, tRAS 34, tCCD_S/L 1/2, tRTP_L 6, BL 4 (Heo et al., ASPLOS 2024).
Refresh (tRFC, tREFI) and the cross-bank limits (tRRD, tFAW) belong to the channel controller, not to one bank.
"""

from __future__ import annotations

from dataclasses import dataclass

from einsim.workloads.errors import ErrorList
from einsim.workloads.yamlio import check_keys

__all__ = ["PimBankSpec", "parse_pim_bank"]


@dataclass(frozen=True, kw_only=True)
class PimBankSpec:
    """Timing in memory-clock cycles (tCK), sizes in bytes / bits.

    rows: DRAM rows of the bank. row_bytes: bytes per row. mac_lanes: multipliers (elements per COMP).
    data_bits: signed element width. acc_bits: accumulator width (wraps). mac_latency: cycles from a column's data
    (CL after COMP) to the accumulator (multiply + adder tree). t_rtp: read (COMP) to precharge, same bank group.
    """

    rows: int = 16384
    row_bytes: int = 1024
    mac_lanes: int = 16
    data_bits: int = 16
    acc_bits: int = 48
    t_rcd: int = 14
    t_rp: int = 14
    t_ras: int = 34
    t_rtp: int = 6
    t_ccd_s: int = 1
    t_ccd_l: int = 2
    cl: int = 14
    cwl: int = 4
    burst_length: int = 4
    mac_latency: int = 2

    def __post_init__(self):
        errors = ErrorList("<PimBankSpec>")
        _check(errors, (), {k: getattr(self, k) for k in _LIMITS})
        errors.raise_if_any()

    @property
    def row_elements(self) -> int:
        return self.row_bytes * 8 // self.data_bits

    @property
    def columns(self) -> int:
        """COMPs per row (one burst of mac_lanes elements each)."""
        return self.row_elements // self.mac_lanes

    @property
    def t_bus(self) -> int:
        """Minimum spacing of data-bus commands (GWRITE, READRES): max(tCCD_S, BL/2)."""
        return max(self.t_ccd_s, self.burst_length // 2)

    @property
    def comp_latency(self) -> int:
        """Cycles from a COMP to its partial sum being in the accumulator: CL + mac_latency."""
        return self.cl + self.mac_latency

    def verilog_parameters(self) -> dict[str, int]:
        """Parameters of rtl/pim_bank/hdl/pim_bank.v."""
        return {"N_ROWS": self.rows, "N_COLS": self.columns, "LANES": self.mac_lanes, "DATA_BITS": self.data_bits,
                "ACC_BITS": self.acc_bits, "T_RCD": self.t_rcd, "T_RP": self.t_rp, "T_RAS": self.t_ras,
                "T_RTP": self.t_rtp, "T_CCD": self.t_ccd_l, "T_BUS": self.t_bus, "CL": self.cl, "CWL": self.cwl,
                "MAC_LAT": self.mac_latency}


_LIMITS = {
    "rows": (1, 1 << 20), "row_bytes": (2, 1 << 16), "mac_lanes": (1, 256), "data_bits": (2, 24),
    "acc_bits": (2, 63), "t_rcd": (1, 255), "t_rp": (1, 255), "t_ras": (1, 255), "t_rtp": (1, 255),
    "t_ccd_s": (1, 255), "t_ccd_l": (1, 255), "cl": (1, 255), "cwl": (1, 255), "burst_length": (1, 64),
    "mac_latency": (1, 255),
}


def _check(errors: ErrorList, path: tuple, data: dict) -> None:
    bad = set()
    for key, (lo, hi) in _LIMITS.items():
        v = data[key]
        if isinstance(v, bool) or not isinstance(v, int):
            errors.add(path + (key,), f"{key} must be a positive integer, not {v!r}")
            bad.add(key)
        elif not lo <= v <= hi:
            errors.add(path + (key,), f"{key} must be a positive integer in [{lo}, {hi}], not {v!r}")
            bad.add(key)
    if not bad & {"row_bytes", "data_bits", "mac_lanes"}:
        bits = data["row_bytes"] * 8
        if bits % (data["data_bits"] * data["mac_lanes"]):
            errors.add(path + ("row_bytes",), f"row_bytes must hold a whole number of {data['mac_lanes']}-lane "
                                              f"columns of {data['data_bits']}-bit elements, not {data['row_bytes']!r};"
                                              f" use a multiple of {data['data_bits'] * data['mac_lanes'] // 8 or 1}")
    if not bad & {"acc_bits", "data_bits"} and data["acc_bits"] < 2 * data["data_bits"]:
        errors.add(path + ("acc_bits",), f"acc_bits must be at least 2 * data_bits = {2 * data['data_bits']}, "
                                         f"not {data['acc_bits']!r}")


def parse_pim_bank(errors: ErrorList, path: tuple, data) -> PimBankSpec | None:
    """Validate a YAML mapping of PimBankSpec fields (all optional, NeuPIMs defaults); None if any problem."""
    before = len(errors.issues)
    if not check_keys(errors, path, data, optional=tuple(_LIMITS)) and not isinstance(data, dict):
        return None
    known = {k: v for k, v in data.items() if k in _LIMITS}
    defaults = PimBankSpec()
    _check(errors, path, {**{k: getattr(defaults, k) for k in _LIMITS}, **known})
    if len(errors.issues) > before:
        return None
    return PimBankSpec(**known)

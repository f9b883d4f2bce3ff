"""Systolic-array spec: the size, dataflow and timing-relevant micro-architecture of one R x C MAC array.

The same frozen spec drives the register-level kernel (sim/kernels/systolic.py) and the Verilog block
(rtl/systolic_array) through :meth:`SystolicArraySpec.verilog_parameters`, so the two never disagree on a parameter.

YAML form (embedded under a PE-array unit as ``systolic: {...}``)::

    systolic:
      rows: 128            # PE rows (R); WS/IS: the reduction rank K is spread over rows
      cols: 128            # PE columns (C)
      dataflow: ws         # os | ws | is
      double_buffer: true  # stationary operand double-buffered: fold f+1 preloads while fold f streams
      drain: in_place      # OS only: in_place (outputs read from every PE) | shift (out through the bottom edge)
      data_bits: 8         # operand width in the RTL (int8)
      acc_bits: 32         # accumulator / partial-sum width in the RTL (int32)
"""

from __future__ import annotations

from dataclasses import dataclass

from einsim.workloads.errors import ErrorList
from einsim.workloads.yamlio import check_keys, suggest

__all__ = ["DATAFLOWS", "DRAINS", "SystolicArraySpec", "parse_systolic"]

DATAFLOWS = ("os", "ws", "is")
DRAINS = ("in_place", "shift")
_DATAFLOW_CODE = {"os": 0, "ws": 1, "is": 1}  # IS runs on the WS datapath with the operands' roles swapped


@dataclass(frozen=True, kw_only=True)
class SystolicArraySpec:
    """An R x C systolic array.

    rows, cols: PE grid (R x C). dataflow: ``os`` (outputs stay in PEs), ``ws`` (weights stay), ``is`` (inputs stay).
    double_buffer: WS/IS keep a shadow copy of the stationary operand in every PE, so the next fold's preload
    overlaps the current fold; OS clears each accumulator on the next fold's first operand, so folds stream back to
    back. With ``False`` folds run strictly one after the other (SCALE-Sim's stall-free timing).
    drain (OS only): how a fold's accumulators reach the output buffer. ``in_place``: every PE is an output port,
    read in the cycle its result is valid. ``shift``: one port per column at the bottom edge; a column's results
    shift down one row per cycle once its last row has finished, so the fold's last output (row 0) leaves R - 1
    cycles later than in place. With double_buffer the result of a PE's last MAC goes to a second (drain) register
    bank, so the next fold computes while this one shifts out (fold period max(T, 2R - 2)); without it the
    accumulators shift themselves and the next fold starts when the last output has left (period 2R + C + T - 3).
    data_bits, acc_bits: operand and accumulator widths of the hardware (the kernel computes in int64/float64).
    """

    rows: int
    cols: int
    dataflow: str = "ws"
    double_buffer: bool = False
    drain: str = "in_place"
    data_bits: int = 8
    acc_bits: int = 32

    def __post_init__(self):
        errors = ErrorList("<SystolicArraySpec>")
        _check_fields(errors, (), self.__dict__)
        errors.raise_if_any()

    @property
    def pes(self) -> int:
        """Number of processing elements (R * C)."""
        return self.rows * self.cols

    def verilog_parameters(self) -> dict:
        """Parameters of rtl/systolic_array/hdl/systolic_array.v (the IS dataflow uses the WS datapath)."""
        return {
            "ROWS": self.rows,
            "COLS": self.cols,
            "DATAFLOW": _DATAFLOW_CODE[self.dataflow],
            "DOUBLE_BUF": int(self.double_buffer),
            "DRAIN": DRAINS.index(self.drain),
            "DATA_W": self.data_bits,
            "ACC_W": self.acc_bits,
        }


_KEYS = ("rows", "cols", "dataflow", "double_buffer", "drain", "data_bits", "acc_bits")


def _positive_int(errors, path, key, value, *, limit=None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        errors.add(path + (key,), f"{key} must be a positive integer, not {value!r}")
    elif limit is not None and value > limit:
        errors.add(path + (key,), f"{key} must be at most {limit}, not {value!r}")


def _check_fields(errors: ErrorList, path: tuple, data: dict) -> None:
    _positive_int(errors, path, "rows", data.get("rows"))
    _positive_int(errors, path, "cols", data.get("cols"))
    dataflow = data.get("dataflow", "ws")
    if dataflow not in DATAFLOWS:
        errors.add(path + ("dataflow",), f"dataflow must be one of {', '.join(DATAFLOWS)}, not {dataflow!r}"
                                         f"{suggest(dataflow, DATAFLOWS)}")
    if not isinstance(data.get("double_buffer", False), bool):
        errors.add(path + ("double_buffer",),
                   f"double_buffer must be true or false, not {data.get('double_buffer')!r}")
    drain = data.get("drain", "in_place")
    if drain not in DRAINS:
        errors.add(path + ("drain",),
                   f"drain must be one of {', '.join(DRAINS)}, not {drain!r}{suggest(drain, DRAINS)}")
    elif drain != "in_place" and dataflow in DATAFLOWS and dataflow != "os":
        errors.add(path + ("drain",), f"drain must be in_place for dataflow {dataflow} (its partial sums already "
                                      f"leave the bottom edge), not {drain!r}; use dataflow os or drop drain")
    _positive_int(errors, path, "data_bits", data.get("data_bits", 8), limit=32)
    _positive_int(errors, path, "acc_bits", data.get("acc_bits", 32), limit=64)


def parse_systolic(errors: ErrorList, path: tuple, data) -> SystolicArraySpec | None:
    """Validate a ``systolic:`` mapping into a spec; add every problem to ``errors`` and return None if any."""
    before = len(errors.issues)
    if not check_keys(errors, path, data, required=("rows", "cols"), optional=_KEYS[2:]):
        if not isinstance(data, dict):
            return None
    _check_fields(errors, path, data)
    if len(errors.issues) > before:
        return None
    return SystolicArraySpec(**{k: data[k] for k in _KEYS if k in data})

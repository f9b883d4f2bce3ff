"""Systolic-array spec: the size, dataflow and micro-architecture of one R x C MAC array, and its timing presets.

The same frozen spec drives the register-level kernel (sim/kernels/systolic.py), the closed form of its timing
(sim/systolic_timing.py) and the Verilog block (rtl/systolic_array) through
:meth:`SystolicArraySpec.verilog_parameters`, so the three never disagree on a parameter. docs/systolic.md derives
the timing of every parameter.

YAML form (embedded under a unit as ``systolic: {...}``)::

    systolic:
      rows: 128                 # PE rows (R); WS/IS: the reduction rank K is spread over rows
      cols: 128                 # PE columns (C)
      dataflow: ws              # os | ws | is
      preset: onnxim            # optional: start from arch/presets/systolic/<name>.yaml, keys below override it
      double_buffer: true       # folds overlap: WS/IS preload the next fold's weights while this one streams
      drain: in_place           # OS: in_place | shift | shadow_shift | parallel
      mac_latency: 1            # multiplier pipeline stages (1: multiply and add in one cycle)
      acc_latency: 1            # adder pipeline stages
      skew: array               # array (results leave column j one cycle after column j-1) | edge (de-skewed)
      weight_load_cycles: 1     # WS/IS: cycles a weight takes to move down one row while it is loaded
      weight_path: chain        # WS/IS: chain (the weight registers shift) | pipeline (a separate load pipeline)
      min_interval: 1           # minimum stream steps per fold (shorter folds are padded with zero steps)
      data_bits: 8              # operand width in the RTL (int8)
      acc_bits: 32              # accumulator / partial-sum width in the RTL (int32)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from einsim.workloads.errors import ErrorList, SpecError, SpecIssue
from einsim.workloads.yamlio import check_keys, load_doc, suggest

__all__ = ["DATAFLOWS", "DRAINS", "SKEWS", "WEIGHT_PATHS", "MICRO_KEYS", "SystolicArraySpec", "parse_systolic",
           "load_systolic_preset", "systolic_preset_names", "SYSTOLIC_PRESET_DIR"]

DATAFLOWS = ("os", "ws", "is")
DRAINS = ("in_place", "shift", "shadow_shift", "parallel")
SKEWS = ("array", "edge")
WEIGHT_PATHS = ("chain", "pipeline")
SYSTOLIC_PRESET_DIR = Path(__file__).parent / "presets" / "systolic"
_DATAFLOW_CODE = {"os": 0, "ws": 1, "is": 1}  # IS runs on the WS datapath with the operands' roles swapped
_LATENCY_LIMIT = 64  # pipeline stages, cycles per weight row, padded steps: generous bounds for the RTL counters


@dataclass(frozen=True, kw_only=True)
class SystolicArraySpec:
    """An R x C systolic array and its micro-architecture (times in cycles; docs/systolic.md has the derivations).

    rows, cols: PE grid (R x C). dataflow: ``os`` (outputs stay in PEs), ``ws`` (weights stay), ``is`` (inputs stay).
    double_buffer: folds overlap as far as the hardware allows. WS/IS keep a shadow weight in every PE, loaded
    while the previous fold streams and copied to the active weight by the fold's first operand; OS clears each
    accumulator with the next fold's first operand. With ``False`` a fold's first operand enters in the cycle the
    previous fold's last result leaves (SCALE-Sim's stall-free timing).
    drain (OS only): how accumulators leave. ``in_place``: every PE is an output port, read in the cycle its result
    is valid. ``shift``: one port per column at the bottom edge; once the column's last row is done, the
    accumulators shift down one row per cycle (R - 1 shifts). ``shadow_shift``: the last MAC also copies the result
    into a second (shadow) register bank that shifts out while the accumulators take the next fold. ``parallel``:
    the last MAC copies the result into an output register; when the array's last PE is done, all R x C output
    registers are read at once.
    mac_latency: multiplier pipeline stages; the product meets the partial sum mac_latency - 1 cycles after the
    operands. acc_latency: adder pipeline stages; a sum is visible acc_latency cycles after its add. WS/IS skew the
    stream by acc_latency cycles per row so each row's operand meets the partial sum from above; OS issues one
    stream step every acc_latency cycles (its accumulation is a loop through the adder).
    skew: ``array``: operands enter row i through i skew registers (i * acc_latency for WS/IS) and results leave
    column j one cycle after column j - 1. ``edge``: in addition, de-skew buffers at the bottom edge (C - 1 - j
    registers after column j), so the results of one stream step leave all columns in the same cycle (WS/IS, and
    OS with a shifting drain).
    weight_load_cycles (WS/IS): cycles a weight takes to move down one row while the stationary block is loaded
    (the deepest row's weight enters first). weight_path (WS/IS): ``chain``: the weight registers of a column form
    the load shift chain, which shifts once every weight_load_cycles cycles; ``pipeline``: weights travel down a
    separate pipeline of weight_load_cycles registers per row, one entering per cycle, and each row captures its
    own. Either way a fold's stream starts the cycle after its last weight is in place: (R - 1) *
    weight_load_cycles + 1 cycles after its first weight entered.
    min_interval: minimum stream steps per fold; a shorter fold streams zero steps after its data (their results
    leave the array and are dropped), so back-to-back folds start at least that many steps apart (ONNXim's
    max(size, 4)). data_bits, acc_bits: operand and accumulator widths of the hardware (the kernel computes in
    int64/float64).
    """

    rows: int
    cols: int
    dataflow: str = "ws"
    double_buffer: bool = False
    drain: str = "in_place"
    mac_latency: int = 1
    acc_latency: int = 1
    skew: str = "array"
    weight_load_cycles: int = 1
    weight_path: str = "chain"
    min_interval: int = 1
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

    @property
    def stationary(self) -> bool:
        """True for WS/IS (a stationary block is preloaded per fold), False for OS."""
        return self.dataflow != "os"

    def micro(self) -> dict:
        """The micro-architecture parameters (every field but rows, cols, dataflow and the widths)."""
        return {key: getattr(self, key) for key in MICRO_KEYS}

    def verilog_parameters(self) -> dict:
        """Parameters of rtl/systolic_array/hdl/systolic_array.v (the IS dataflow uses the WS datapath)."""
        return {
            "ROWS": self.rows,
            "COLS": self.cols,
            "DATAFLOW": _DATAFLOW_CODE[self.dataflow],
            "DOUBLE_BUF": int(self.double_buffer),
            "DRAIN": DRAINS.index(self.drain),
            "MAC_LAT": self.mac_latency,
            "ACC_LAT": self.acc_latency,
            "SKEW": SKEWS.index(self.skew),
            "WLOAD": self.weight_load_cycles,
            "WPATH": WEIGHT_PATHS.index(self.weight_path),
            "MIN_INT": self.min_interval,
            "DATA_W": self.data_bits,
            "ACC_W": self.acc_bits,
        }


MICRO_KEYS = ("double_buffer", "drain", "mac_latency", "acc_latency", "skew", "weight_load_cycles", "weight_path",
              "min_interval")
_KEYS = ("rows", "cols", "dataflow") + MICRO_KEYS + ("data_bits", "acc_bits")


def _positive_int(errors, path, key, value, *, limit=None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        errors.add(path + (key,), f"{key} must be a positive integer, not {value!r}")
    elif limit is not None and value > limit:
        errors.add(path + (key,), f"{key} must be at most {limit}, not {value!r}")


def _one_of(errors, path, key, value, choices) -> bool:
    if value not in choices:
        errors.add(path + (key,), f"{key} must be one of {', '.join(choices)}, not {value!r}{suggest(value, choices)}")
        return False
    return True


def _check_fields(errors: ErrorList, path: tuple, data: dict) -> None:
    _positive_int(errors, path, "rows", data.get("rows"))
    _positive_int(errors, path, "cols", data.get("cols"))
    dataflow = data.get("dataflow", "ws")
    known = _one_of(errors, path, "dataflow", dataflow, DATAFLOWS)
    if not isinstance(data.get("double_buffer", False), bool):
        errors.add(path + ("double_buffer",),
                   f"double_buffer must be true or false, not {data.get('double_buffer')!r}")
    for key in ("mac_latency", "acc_latency", "weight_load_cycles", "min_interval"):
        _positive_int(errors, path, key, data.get(key, 1), limit=_LATENCY_LIMIT)
    _positive_int(errors, path, "data_bits", data.get("data_bits", 8), limit=32)
    _positive_int(errors, path, "acc_bits", data.get("acc_bits", 32), limit=64)
    drain = data.get("drain", "in_place")
    skew = data.get("skew", "array")
    if not (_one_of(errors, path, "drain", drain, DRAINS) & _one_of(errors, path, "skew", skew, SKEWS)
            & _one_of(errors, path, "weight_path", data.get("weight_path", "chain"), WEIGHT_PATHS)) or not known:
        return
    if dataflow != "os":
        if drain != "in_place":
            errors.add(path + ("drain",), f"drain must be in_place for dataflow {dataflow} (its partial sums "
                                          f"already leave the bottom edge), not {drain!r}; use dataflow os or drop "
                                          f"drain")
        return
    for key, default in (("weight_load_cycles", 1), ("weight_path", "chain")):
        if data.get(key, default) != default:
            errors.add(path + (key,), f"{key} must be {default!r} for dataflow os (it has no stationary block to "
                                      f"load), not {data[key]!r}; use dataflow ws/is or drop {key}")
    if skew == "edge" and drain in ("in_place", "parallel"):
        errors.add(path + ("skew",), f"skew must be array for dataflow os with drain {drain} (its results are read "
                                     f"inside the array, not at an edge), not 'edge'; use drain shift or shadow_shift")


def parse_systolic(errors: ErrorList, path: tuple, data) -> SystolicArraySpec | None:
    """Validate a ``systolic:`` mapping into a spec; add every problem to ``errors`` and return None if any.

    A ``preset`` key starts from that preset's parameters for the dataflow; the mapping's own keys override them.
    """
    before = len(errors.issues)
    if not check_keys(errors, path, data, required=("rows", "cols"), optional=_KEYS[2:] + ("preset",)):
        if not isinstance(data, dict):
            return None
    merged = dict(data)
    if "preset" in merged:
        try:
            merged = load_systolic_preset(merged.pop("preset"), merged.get("dataflow", "ws")) | merged
        except SpecError as exc:
            for issue in exc.issues:
                errors.add(path + ("preset",), f"{issue.path}: {issue.message}" if issue.path != "<name>"
                           else issue.message)
            return None
    _check_fields(errors, path, merged)
    if len(errors.issues) > before:
        return None
    return SystolicArraySpec(**{k: merged[k] for k in _KEYS if k in merged})


def systolic_preset_names() -> tuple[str, ...]:
    """Names of the timing presets in arch/presets/systolic/."""
    return tuple(sorted(p.stem for p in SYSTOLIC_PRESET_DIR.glob("*.yaml")))


def load_systolic_preset(name: str, dataflow: str = "ws") -> dict:
    """The micro-architecture parameters (keys of :data:`MICRO_KEYS`) with which the array reproduces a tool's
    timing rules for ``dataflow``: ``scalesim`` (SCALE-Sim's stall-free formulas) or ``onnxim`` (ONNXim's tile
    rules). Pass them on: ``SystolicArraySpec(rows=R, cols=C, dataflow=d, **load_systolic_preset(name, d))``.

    Preset file: ``name``, ``source`` and ``dataflows: {os|ws|is: {parameter: value}}``.
    """
    path = SYSTOLIC_PRESET_DIR / f"{name}.yaml"
    if not isinstance(name, str) or not path.is_file():
        raise SpecError([SpecIssue(str(name), None, "<name>", f"systolic preset must be one of "
                                   f"{', '.join(systolic_preset_names())}, not {name!r}"
                                   f"{suggest(name, systolic_preset_names())}")])
    from einsim.workloads.schema import check

    from .systolic_schema import SystolicPresetFile

    doc = load_doc(path)
    preset = check(doc, SystolicPresetFile)
    errors = doc.errors()
    if dataflow not in preset.dataflows:
        errors.add(("dataflows",), f"dataflow must be one of {', '.join(preset.dataflows)} for preset {name!r}, not "
                                   f"{dataflow!r}")
    else:
        params = {k: v for k, v in preset.dataflows[dataflow].model_dump().items() if v is not None}
        if "preset" in params or "dataflow" in params:
            errors.add(("dataflows", dataflow), "a preset's entry gives microarchitecture parameters, not "
                                                "'preset' or 'dataflow'")
        _check_fields(errors, ("dataflows", dataflow), {"rows": 1, "cols": 1, "dataflow": dataflow} | params)
    errors.raise_if_any()
    return dict(doc.data["dataflows"][dataflow])

"""DRAM / PIM memory device specs (HBM2, HBM3, PIM variants): organization, JEDEC-style timing, IDD energy, PIM.

A :class:`DramSpec` is what the command-level model (``sim/kernels/dram.py``) simulates. All timing is in cycles of
the command clock tCK. Sizes:

- a *channel* here is one independently scheduled channel: ``channels x pseudo_channels`` of them in the device,
  each with its own command bus and ``bus_width_bits`` data bus (pseudo-channels are scheduled independently);
- a channel has ``ranks`` (HBM stack IDs) of ``bankgroups x banks_per_group`` banks;
- a bank has ``rows`` rows of ``columns`` column addresses; one column access (RD, WR) moves one burst of
  ``burst_length`` beats of ``bus_width_bits`` (``burst_bytes``) in ``burst_cycles = burst_length /
  transfers_per_clock`` cycles; ``row_buffer_bytes = columns x burst_bytes``;
- PIM (``mac_lanes > 0``): every bank has ``mac_lanes`` multipliers of ``pim_data_bits``; one COMP reads
  ``mac_lanes`` elements (``comp_bytes``) of the open PIM row in every bank of the channel; ``row_buffers`` is 1
  (DRAM and PIM share each bank's row buffer) or 2 (NeuPIMs' dual row buffers: one for DRAM, one for PIM).

``load_dram(name_or_path)`` reads a preset (``arch/presets/dram/<name>.yaml``) or a YAML file and reports every
problem as ``file:line key.path: message``. A YAML file may name a ``base`` preset: its sections are merged key by
key over the base's (a PIM variant states only the figures its source publishes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from einsim.workloads.errors import ErrorList, SpecError, SpecIssue
from einsim.workloads.yamlio import MAX_FLOAT, MAX_INT, Doc, doc_from_text, load_doc

__all__ = ["DramSpec", "load_dram", "dram_from_text", "dram_preset_names", "DRAM_PRESET_DIR",
           "MAPPING_FIELDS"]

DRAM_PRESET_DIR = Path(__file__).parent / "presets" / "dram"
#: Address-mapping fields; ``address_mapping`` lists all six, most significant first (DRAMsim3's notation).
MAPPING_FIELDS = ("ch", "ra", "bg", "ba", "ro", "co")

# YAML section -> field -> (kind, lower bound); "pow2" integers must be powers of two (they are address bits).
_ORG = {"channels": ("pow2", 1), "pseudo_channels": ("pow2", 1), "ranks": ("pow2", 1), "bankgroups": ("pow2", 1),
        "banks_per_group": ("pow2", 1), "rows": ("pow2", 2), "columns": ("pow2", 1), "bus_width_bits": ("int", 8),
        "burst_length": ("int", 1), "transfers_per_clock": ("int", 1), "row_buffer_bytes": ("int", 1),
        "address_mapping": ("str", None)}
_TIMING = {"tck_ns": ("num", 0), **{k: ("int", 1) for k in (
    "cl", "cwl", "trcd", "trp", "tras", "trfc", "trefi", "trrd_s", "trrd_l", "twtr_s", "twtr_l", "tfaw", "twr",
    "tccd_s", "tccd_l", "trtp_s", "trtp_l")}, "trtrs": ("int", 0), "trtw": ("int", 0)}
_ENERGY = {k: ("num", 0) for k in ("vdd", "idd0", "idd2n", "idd3n", "idd4r", "idd4w", "idd5ab")}
_PIM = {"mac_lanes": ("int", 1), "data_bits": ("int", 2), "row_buffers": ("int", 1), "fill_cycles": ("int", 1),
        "comp_energy_reads": ("num", 0)}
_OPTIONAL = {"pseudo_channels", "transfers_per_clock"}
_ORG_DEFAULTS = {"pseudo_channels": 1, "transfers_per_clock": 2}
_SECTIONS = {"organization": _ORG, "timing": _TIMING, "energy": _ENERGY, "pim": _PIM}
_PIM_FIELD = {"mac_lanes": "mac_lanes", "data_bits": "pim_data_bits", "row_buffers": "row_buffers",
              "fill_cycles": "pim_fill_cycles", "comp_energy_reads": "comp_energy_reads"}


@dataclass(frozen=True, kw_only=True)
class DramSpec:
    """One DRAM/PIM device. Timing in tCK cycles, ``tck_ns`` in ns, currents in mA, ``vdd`` in V.

    Timing names follow JEDEC/DRAMsim3: CL/CWL read/write latency; tRCD ACT->column; tRP PRE->ACT; tRAS ACT->PRE;
    tRFC refresh; tREFI refresh interval (per rank); tRRD_S/L ACT->ACT other/same bank group; tWTR_S/L write->read
    other/same bank group (after the write burst); tFAW four-activate window; tWR write recovery; tCCD_S/L
    column->column other/same bank group; tRTP_S/L read->precharge (tRTP_L applies: precharge is per bank);
    tRTRS data-bus gap between ranks; tRTW read->write bus turnaround (RD->WR >= CL + burst + tRTW - CWL).
    Energy fields are None where the source publishes no IDD currents (then no energy is reported).
    PIM: ``mac_lanes`` 0 means no PIM; ``pim_fill_cycles`` is the adder-tree filling time (a READRES waits that long
    after the first COMP of its accumulation, NeuPIMs' channel_state.cc); ``comp_energy_reads`` prices a COMP in
    column reads (NeuPIMs' configuration.cc: 4, after Newton).
    """

    name: str
    channels: int
    pseudo_channels: int = 1
    ranks: int
    bankgroups: int
    banks_per_group: int
    rows: int
    columns: int
    bus_width_bits: int
    burst_length: int
    transfers_per_clock: int = 2
    row_buffer_bytes: int
    address_mapping: str = "rorabgbachco"
    tck_ns: float
    cl: int
    cwl: int
    trcd: int
    trp: int
    tras: int
    trfc: int
    trefi: int
    trrd_s: int
    trrd_l: int
    twtr_s: int
    twtr_l: int
    tfaw: int
    twr: int
    tccd_s: int
    tccd_l: int
    trtp_s: int
    trtp_l: int
    trtrs: int
    trtw: int
    vdd: float | None = None
    idd0: float | None = None
    idd2n: float | None = None
    idd3n: float | None = None
    idd4r: float | None = None
    idd4w: float | None = None
    idd5ab: float | None = None
    mac_lanes: int = 0
    pim_data_bits: int = 16
    row_buffers: int = 1
    pim_fill_cycles: int = 6
    comp_energy_reads: float = 4.0
    source: str = ""

    def __post_init__(self):
        errors = ErrorList(self.source or f"<DramSpec {self.name}>")
        for path, message in _problems(self._as_sections()):
            errors.add(path, message)
        errors.raise_if_any()

    def _as_sections(self) -> dict:
        out = {"organization": {k: getattr(self, k) for k in _ORG},
               "timing": {k: getattr(self, k) for k in _TIMING},
               "energy": None if self.vdd is None else {k: getattr(self, k) for k in _ENERGY}}
        out["pim"] = {k: getattr(self, f) for k, f in _PIM_FIELD.items()} if self.mac_lanes else None
        return out

    # -- organization -------------------------------------------------------------------------------------
    @property
    def units(self) -> int:
        """Independently scheduled channels in the device: channels x pseudo_channels."""
        return self.channels * self.pseudo_channels

    @property
    def banks_per_rank(self) -> int:
        return self.bankgroups * self.banks_per_group

    @property
    def banks_per_channel(self) -> int:
        return self.ranks * self.banks_per_rank

    @property
    def burst_cycles(self) -> int:
        """Cycles one burst occupies the data bus: burst_length / transfers_per_clock."""
        return self.burst_length // self.transfers_per_clock

    @property
    def burst_bytes(self) -> int:
        return self.bus_width_bits * self.burst_length // 8

    @property
    def trc(self) -> int:
        return self.tras + self.trp

    @property
    def capacity_bytes(self) -> int:
        return self.units * self.banks_per_channel * self.rows * self.row_buffer_bytes

    @property
    def peak_bytes_per_s(self) -> float:
        """Data-bus peak of all channels: units x bus_width/8 x transfers_per_clock / tCK."""
        return self.units * self.bus_width_bits / 8 * self.transfers_per_clock * 1e9 / self.tck_ns

    @property
    def has_energy(self) -> bool:
        return self.vdd is not None

    # -- PIM ----------------------------------------------------------------------------------------------
    @property
    def has_pim(self) -> bool:
        return self.mac_lanes > 0

    @property
    def comp_bytes(self) -> int:
        """Bytes one COMP reads from the open PIM row of each bank: mac_lanes x pim_data_bits / 8."""
        return self.mac_lanes * self.pim_data_bits // 8

    @property
    def row_elements(self) -> int:
        """PIM elements in one row (512 fp16 in a 1 KB row)."""
        return self.row_buffer_bytes * 8 // self.pim_data_bits

    @property
    def comps_per_row(self) -> int:
        return self.row_buffer_bytes // self.comp_bytes if self.has_pim else 0

    @property
    def t_comp(self) -> int:
        """COMP -> COMP spacing: max(burst_cycles, tCCD_S) (NeuPIMs' timing.cc: read_to_read_s)."""
        return max(self.burst_cycles, self.tccd_s)

    @property
    def gwrite_cycles(self) -> int:
        """Cycles a GWRITE takes to copy one open row into the global buffer: (tCCD_S + tCCD_L) per COMP-width
        column, comps_per_row of them (NeuPIMs' configuration.cc: (tCCD_S + tCCD_L) * 32 for 1 KB rows)."""
        return (self.tccd_s + self.tccd_l) * self.comps_per_row


def dram_preset_names() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in DRAM_PRESET_DIR.glob("*.yaml")))


def load_dram(name_or_path) -> DramSpec:
    """A DramSpec from a preset name (``hbm2``) or a YAML path; SpecError listing every problem otherwise."""
    return _build(_read(name_or_path, ()))


def dram_from_text(text: str, file: str = "<string>") -> DramSpec:
    return _build(doc_from_text(text, file))


def _read(name_or_path, seen: tuple) -> Doc:
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml") and "/" not in str(name_or_path):
        path = DRAM_PRESET_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            raise SpecError([SpecIssue(str(name_or_path), None, "<name>",
                                       f"memory must be a DRAM preset name or a YAML path, not {name_or_path!r}; "
                                       f"presets: {', '.join(dram_preset_names())}")])
    if str(path) in seen:
        raise SpecError([SpecIssue(str(path), None, "base", f"base presets must not form a cycle: "
                                                            f"{' -> '.join((*seen, str(path)))}")])
    return load_doc(path)


def _merged(doc: Doc, e: ErrorList, seen: tuple) -> dict:
    """The document's sections merged over its base's (recursively)."""
    d = doc.data
    base = d.get("base")
    if base is None:
        return {k: d.get(k) for k in _SECTIONS}
    if not isinstance(base, str):
        return {k: d.get(k) for k in _SECTIONS}   # reported by the schema
    try:
        from einsim.workloads.schema import check

        from .dram_schema import DramFile

        base_doc = _read(base, seen + (doc.file,))
        check(base_doc, DramFile)
        below = _merged(base_doc, base_doc.errors(), seen + (doc.file,))
    except SpecError as exc:
        for issue in exc.issues:
            e.add(("base",), f"base preset {base!r}: {issue}")
        return {k: d.get(k) for k in _SECTIONS}
    out = {}
    for key in _SECTIONS:
        mine, theirs = d.get(key, "<absent>"), below.get(key)
        if mine == "<absent>":
            out[key] = theirs
        elif isinstance(mine, dict) and isinstance(theirs, dict):
            out[key] = {**theirs, **mine}
        else:
            out[key] = mine
    return out


def _build(doc: Doc) -> DramSpec:
    from einsim.workloads.schema import validate

    from .dram_schema import DramFile

    e = doc.errors()
    if validate(doc, DramFile, e) is None and any(i.path in ("<top>", "name", "base", *_SECTIONS) for i in e.issues):
        e.raise_if_any()   # no sections to merge: values inside the sections are checked once merged
    sections = _merged(doc, e, ())
    before = len(e.issues)
    for key in ("organization", "timing"):
        if not isinstance(sections.get(key), dict):
            e.add((key,), f"{key} must be a mapping of its fields, not {sections.get(key)!r}")
    for key, table in _SECTIONS.items():
        values = sections.get(key)
        required = [k for k in table if k not in _OPTIONAL] if key != "pim" else ["mac_lanes"]
        for k in required if isinstance(values, dict) else ():
            if k not in values:
                e.add((key,), f"missing required key {k!r}")
    if len(e.issues) > before:
        _raise_unique(e)
    sections["organization"] = {**_ORG_DEFAULTS, **sections["organization"]}
    for path, message in _problems(sections):
        e.add(path, message)
    _raise_unique(e)
    kw = {**sections["organization"], **sections["timing"]}
    if sections.get("energy") is not None:
        kw.update(sections["energy"])
    if sections.get("pim") is not None:
        kw.update({_PIM_FIELD[k]: v for k, v in sections["pim"].items()})
    kw["tck_ns"] = float(kw["tck_ns"])
    return DramSpec(name=doc.data["name"], source=doc.file, **kw)


def _raise_unique(e: ErrorList) -> None:
    """Raise the issues, each once (the schema and the merged-section checks may both find a bad value)."""
    if e:
        raise SpecError(dict.fromkeys(e.issues))


def _value_problem(kind: str, low, value) -> str | None:
    if kind == "str":
        return None if isinstance(value, str) and value else f"must be a non-empty string, not {value!r}"
    if kind == "num":
        ok = not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value) and value > low
        if ok and value > MAX_FLOAT:
            return f"must be a positive number of at most {MAX_FLOAT:g}, not {value!r}"
        return None if ok else f"must be a positive number, not {value!r}"
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        return f"must be an integer >= {low}, not {value!r}"
    if value > MAX_INT:
        return f"must be at most 2**62 = {MAX_INT} (the simulator counts in 64-bit integers), not {value!r}"
    if kind == "pow2" and value & (value - 1):
        return f"must be a power of two (it is a field of the address), not {value!r}"
    return None


def _problems(sections: dict) -> list[tuple[tuple, str]]:
    """Every problem of the section values (types, ranges, cross-field rules) as (key path, message); a cross-field
    rule is checked when all the fields it involves are valid on their own."""
    out, bad = [], set()
    for key, table in _SECTIONS.items():
        values = sections.get(key)
        if not isinstance(values, dict):
            continue
        for field_name, (kind, low) in table.items():
            if field_name in values:
                problem = _value_problem(kind, low, values[field_name])
                if problem:
                    out.append(((key, field_name), f"{field_name} {problem}"))
                    bad.add(field_name)
    if not isinstance(sections.get("organization"), dict) or not isinstance(sections.get("timing"), dict):
        return out
    o, t, p = sections["organization"], sections["timing"], sections.get("pim")

    def ok(*names):
        return not bad & set(names)

    if ok("burst_length", "transfers_per_clock") and o["burst_length"] % o["transfers_per_clock"]:
        out.append((("organization", "burst_length"), f"burst_length must be a multiple of transfers_per_clock = "
                                                      f"{o['transfers_per_clock']}, not {o['burst_length']!r}"))
    if ok("bus_width_bits", "burst_length", "columns", "row_buffer_bytes"):
        burst_bytes = o["bus_width_bits"] * o["burst_length"] // 8
        if o["row_buffer_bytes"] != o["columns"] * burst_bytes:
            out.append((("organization", "row_buffer_bytes"),
                        f"row_buffer_bytes must equal columns x bus_width_bits x burst_length / 8 = "
                        f"{o['columns'] * burst_bytes}, not {o['row_buffer_bytes']!r}"))
    m = o["address_mapping"]
    parts = [m[i:i + 2] for i in range(0, len(m), 2)] if isinstance(m, str) else []
    if ok("address_mapping") and (len(m) != 12 or sorted(parts) != sorted(MAPPING_FIELDS)):
        out.append((("organization", "address_mapping"),
                    f"address_mapping must list each of {', '.join(MAPPING_FIELDS)} once, most significant first "
                    f"(e.g. 'rorabgbachco'), not {m!r}"))
    if ok("trefi", "trfc") and t["trefi"] <= t["trfc"]:
        out.append((("timing", "trefi"), f"trefi must exceed trfc = {t['trfc']}, not {t['trefi']!r}"))
    if ok("tras", "trcd") and t["tras"] < t["trcd"]:
        out.append((("timing", "tras"), f"tras must be at least trcd = {t['trcd']}, not {t['tras']!r}"))
    if isinstance(p, dict) and "mac_lanes" in p and ok("mac_lanes", "data_bits", "row_buffers", "row_buffer_bytes"):
        lanes, bits, bufs = p["mac_lanes"], p.get("data_bits", 16), p.get("row_buffers", 1)
        if bufs not in (1, 2):
            out.append((("pim", "row_buffers"), f"row_buffers must be 1 or 2, not {bufs!r}"))
        comp = lanes * bits
        if comp % 8 or (o["row_buffer_bytes"] * 8) % comp:
            out.append((("pim", "mac_lanes"), f"a row of {o['row_buffer_bytes']} bytes must hold a whole number of "
                                              f"COMPs of mac_lanes x data_bits = {comp} bits; mac_lanes "
                                              f"{lanes!r} does not fit"))
    return out

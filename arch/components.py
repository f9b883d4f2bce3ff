"""Energy and area of on-chip memories and logic from Accelergy's component models (pJ, um^2, W).

- :func:`sram`: an SRAM array of ``depth`` rows of ``width_bits`` from CACTI 7 through ``hwcomponents-cacti``
  (Accelergy project, PyPI): its ``SRAM`` model writes CACTI's input, scales geometries CACTI cannot take directly
  (rows narrower than 32 bits, fewer than 64 rows per bank, bank counts that are not powers of two) and interpolates
  between CACTI's technology nodes (22-90 nm). Energies are per access of one full row.
- :func:`adder`, :func:`multiplier`, :func:`mac`, :func:`comparator`, :func:`counter`, :func:`register`: integer
  datapath blocks from the Aladdin tables (Shao et al., ISCA 2014) in ``hwcomponents-library``, characterized at
  40 nm and scaled to other nodes by hwcomponents' technology scaling (Stillmaker and Baas, Integration 58, 2017).

CACTI runs take seconds, so SRAM figures are cached on disk by their full input (:mod:`einsim.arch.component_cache`).
``python -m einsim.arch.components --ensure-cacti`` makes sure the CACTI binary runs here (the install step runs it);
``--table`` prints read/write energy and area for 1..64 MiB arrays. How the figures are derived: docs/components.md.
"""

from __future__ import annotations

import argparse
import functools
import numbers
import sys
from dataclasses import asdict, dataclass
from importlib import metadata

from . import cacti, component_cache
from .cacti import FIX_COMMAND, ComponentError

__all__ = ["SramFigures", "LogicFigures", "ComponentError", "sram", "adder", "multiplier", "mac", "comparator",
           "counter", "register", "capacity_table", "main"]

# Bumped when einsim changes how it turns an sram() call into CACTI runs, so cached figures are recomputed.
_SRAM_MODEL_REVISION = 1
_PACKAGES = ("hwcomponents", "hwcomponents-cacti", "hwcomponents-library")


@dataclass(frozen=True, kw_only=True)
class SramFigures:
    """An SRAM array: pJ per read and per write of one full row, area of the whole array (um^2), leakage (W)."""

    read_pj: float
    write_pj: float
    area_um2: float
    leakage_w: float

    @property
    def area_mm2(self) -> float:
        return self.area_um2 * 1e-6


@dataclass(frozen=True, kw_only=True)
class LogicFigures:
    """A logic block: pJ per action (one add, multiply, MAC, compare, ...) and its area (um^2)."""

    energy_pj: float
    area_um2: float


def _int_at_least(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, not {value!r}")
    return int(value)


def _technology(value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value <= 1000:
        raise ValueError(f"technology_nm must be a feature size in nm (e.g. 45), not {value!r}")
    return float(value)


@functools.cache
def _versions() -> dict[str, str]:
    found = {}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            raise ComponentError(f"{name} is not installed; install einsim with its dependencies "
                                 "(make .venv/bin/.installed, or pip install -e .)") from None
    return found


def sram(*, width_bits: int, depth: int, banks: int = 1, read_ports: int = 0, write_ports: int = 0,
         rw_ports: int = 1, technology_nm: float = 45) -> SramFigures:
    """CACTI's figures for an SRAM of ``depth`` rows of ``width_bits`` bits (``width_bits * depth`` bits in all).

    ``banks`` is CACTI's UCA bank count; ``rw_ports`` read-write ports, ``read_ports``/``write_ports`` exclusive
    ones. Energies are per access of one full row; area and leakage are the whole array's. Raises ValueError for a
    geometry that is not one, :class:`ComponentError` when CACTI cannot run (with the command that fixes it).
    """
    inputs = {"width_bits": _int_at_least("width_bits", width_bits, 1), "depth": _int_at_least("depth", depth, 1),
              "banks": _int_at_least("banks", banks, 1), "read_ports": _int_at_least("read_ports", read_ports, 0),
              "write_ports": _int_at_least("write_ports", write_ports, 0),
              "rw_ports": _int_at_least("rw_ports", rw_ports, 0), "technology_nm": _technology(technology_nm)}
    if inputs["rw_ports"] == 0 and (inputs["read_ports"] == 0 or inputs["write_ports"] == 0):
        raise ValueError("an SRAM needs ports that read and write: rw_ports >= 1, or read_ports >= 1 and "
                         f"write_ports >= 1, not rw_ports={rw_ports!r}, read_ports={read_ports!r}, "
                         f"write_ports={write_ports!r}")
    return SramFigures(**_sram_cached(**inputs))


def _sram_cached(**inputs) -> dict:
    versions = dict(_versions(), einsim_sram_model=str(_SRAM_MODEL_REVISION))
    key = component_cache.cache_key("sram", inputs, versions)
    found = _MEMO.get(key) or component_cache.lookup(key)
    if found is None or set(found) != {"read_pj", "write_pj", "area_um2", "leakage_w"}:
        found = _run_sram_model(**inputs)
        component_cache.store(key, found)
    _MEMO[key] = found
    return found


_MEMO: dict[str, dict] = {}  # this process's figures by cache key, in front of the disk cache


def _run_sram_model(*, width_bits, depth, banks, read_ports, write_ports, rw_ports, technology_nm) -> dict:
    """One evaluation of hwcomponents-cacti's SRAM model (one or more CACTI runs)."""
    try:
        from hwcomponents_cacti import SRAM
    except ImportError as exc:
        raise ComponentError(f"hwcomponents-cacti cannot be imported ({exc}); install einsim with its "
                             "dependencies (make .venv/bin/.installed, or pip install -e .)") from exc
    # The library takes the size with the width (it derives the depth) and the node in meters, which it turns back
    # into nm as tech_node * 1e9: nm / 1e9 round-trips exactly where nm * 1e-9 does not (45 * 1e-9 * 1e9 is
    # 45.00000000000001, which the library would interpolate between its 45 and 65 nm runs: twice the CACTI time).
    args = dict(tech_node=technology_nm / 1e9, width=width_bits, size=width_bits * depth, n_banks=banks,
                n_rw_ports=rw_ports)
    try:
        if read_ports or write_ports:
            model = _exclusive_port_sram_class()(read_ports=read_ports, write_ports=write_ports, **args)
        else:
            model = SRAM(**args)
    except Exception as exc:  # the library raises bare Exceptions for a failed CACTI run
        why = cacti.problem()
        if why is not None:
            raise ComponentError(f"CACTI cannot run here ({why}); fix it with: {FIX_COMMAND}") from exc
        raise ComponentError(f"CACTI failed for a {width_bits}-bit x {depth} SRAM ({banks} banks, "
                             f"{technology_nm:g} nm): {exc}") from exc
    return {"read_pj": model.read_energy * 1e12, "write_pj": model.write_energy * 1e12,
            "area_um2": model.area * 1e12, "leakage_w": model.leak_power}


@functools.cache
def _exclusive_port_sram_class():
    """hwcomponents-cacti's SRAM model with CACTI's exclusive read and write ports.

    The library writes only ``-read-write port`` into CACTI's input (Accelergy's older CACTI plug-in, which the
    FuseMax artifact used, folded read and write ports into read-write ones), while CACTI models exclusive ports
    itself (``-exclusive read port``, ``-exclusive write port``; cheaper cells and bitlines than read-write ports).
    This subclass keeps the library's geometry scaling and node interpolation and replaces only its CACTI call:
    the same input lines plus the two port counts (later lines override the package's defaults of 0).
    """
    from hwcomponents_cacti import SRAM

    class ExclusivePortSRAM(SRAM):
        def __init__(self, *, read_ports: int, write_ports: int, **kwargs):
            self.exclusive_ports = (read_ports, write_ports)
            super().__init__(**kwargs)

        def _call_cacti(self, cache_size, n_rw_ports, block_size, tech_node_um, n_banks, tag_size, associativity):
            reads, writes = self.exclusive_ports
            row = cacti.run([f"-size (bytes) {cache_size}", f"-read-write port {n_rw_ports}",
                             f"-block size (bytes) {block_size}", f"-technology (u) {tech_node_um}",
                             f"-output/input bus width {block_size * 8}", f"-UCA bank {n_banks}",
                             '-cache type "ram"', f"-tag size (b) {tag_size}", f"-associativity {associativity}",
                             f"-exclusive read port {reads}", f"-exclusive write port {writes}"])
            return (float(row["Dynamic read energy (nJ)"]) * 1e-9, float(row["Dynamic write energy (nJ)"]) * 1e-9,
                    float(row["Standby leakage per bank(mW)"]) * 1e-3 * self.n_banks,
                    float(row["Area (mm2)"]) * 1e-6, float(row["Random cycle time (ns)"]) * 1e-9,
                    float(row["Access time (ns)"]) * 1e-9)

    return ExclusivePortSRAM


# --- logic: hwcomponents-library's Aladdin models -------------------------------------------------------------------

@functools.cache
def _logic(class_name: str, action: str, technology_nm: float, **widths) -> LogicFigures:
    try:
        import hwcomponents_library as library
    except ImportError as exc:
        raise ComponentError(f"hwcomponents-library cannot be imported ({exc}); install einsim with its "
                             "dependencies (make .venv/bin/.installed, or pip install -e .)") from exc
    model = getattr(library, class_name)(tech_node=technology_nm / 1e9, **widths)
    cost = getattr(model, action)()
    return LogicFigures(energy_pj=cost.energy * 1e12, area_um2=model.area * 1e12)


def adder(*, width_bits: int = 16, technology_nm: float = 45) -> LogicFigures:
    """An integer adder (Aladdin's 32-bit adder, energy and area linear in width): pJ per add."""
    return _logic("AladdinAdder", "add", _technology(technology_nm), width=_int_at_least("width_bits", width_bits, 1))


def multiplier(*, width_bits: int = 16, technology_nm: float = 45) -> LogicFigures:
    """An integer multiplier of two ``width_bits`` operands (Aladdin's, quadratic in width): pJ per multiply."""
    return _logic("AladdinMultiplier", "multiply", _technology(technology_nm),
                  width=_int_at_least("width_bits", width_bits, 1))


def mac(*, width_bits: int = 16, accumulator_bits: int | None = None, technology_nm: float = 45) -> LogicFigures:
    """An integer MAC: a ``width_bits`` multiplier and an ``accumulator_bits`` adder (default ``width_bits``)."""
    width = _int_at_least("width_bits", width_bits, 1)
    acc = width if accumulator_bits is None else _int_at_least("accumulator_bits", accumulator_bits, 1)
    return _logic("AladdinIntMAC", "mac", _technology(technology_nm), adder_width=acc, multiplier_width=width)


def comparator(*, width_bits: int = 16, technology_nm: float = 45) -> LogicFigures:
    """A magnitude comparator (Aladdin's, linear in width): pJ per compare."""
    return _logic("AladdinComparator", "compare", _technology(technology_nm),
                  width=_int_at_least("width_bits", width_bits, 1))


def counter(*, width_bits: int = 16, technology_nm: float = 45) -> LogicFigures:
    """A counter (Aladdin's, linear in width): pJ per increment."""
    return _logic("AladdinCounter", "count", _technology(technology_nm),
                  width=_int_at_least("width_bits", width_bits, 1))


def register(*, width_bits: int = 16, technology_nm: float = 45) -> LogicFigures:
    """A ``width_bits`` register (Aladdin's flip-flop, per bit): pJ per read of all bits."""
    return _logic("AladdinRegister", "read", _technology(technology_nm),
                  width=_int_at_least("width_bits", width_bits, 1))


# --- command line -----------------------------------------------------------------------------------------------

def capacity_table(*, width_bits: int = 4096, mib: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64),
                   technology_nm: float = 45) -> list[dict]:
    """:func:`sram` over capacities (MiB) at a fixed row width: rows of capacity, depth and the figures."""
    rows = []
    for size in mib:
        depth = size * 2**20 * 8 // width_bits
        figures = sram(width_bits=width_bits, depth=depth, technology_nm=technology_nm)
        rows.append({"capacity_mib": size, "depth": depth, **asdict(figures), "area_mm2": figures.area_mm2})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m einsim.arch.components", description=__doc__.splitlines()[0])
    parser.add_argument("--ensure-cacti", action="store_true",
                        help="check that CACTI runs here; rebuild it from the package's source when it does not")
    parser.add_argument("--table", action="store_true", help="print SRAM figures for 1..64 MiB arrays")
    parser.add_argument("--width-bits", type=int, default=4096, help="row width for --table (default 4096)")
    parser.add_argument("--technology-nm", type=float, default=45, help="node for --table (default 45)")
    args = parser.parse_args(argv)
    if not (args.ensure_cacti or args.table):
        parser.print_usage()
        return 1
    try:
        if args.ensure_cacti:
            cacti.ensure()
        if args.table:
            print(f"SRAM, {args.width_bits}-bit rows, 1 bank, 1 read-write port, {args.technology_nm:g} nm (CACTI)")
            print(f"{'MiB':>4} {'rows':>7} {'read pJ':>10} {'write pJ':>10} {'area mm2':>9}")
            for row in capacity_table(width_bits=args.width_bits, technology_nm=args.technology_nm):
                print(f"{row['capacity_mib']:>4} {row['depth']:>7} {row['read_pj']:>10.1f} {row['write_pj']:>10.1f}"
                      f" {row['area_mm2']:>9.2f}")
    except (ComponentError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""RTL co-simulation harness: every Verilog block's cocotb bench against the simulator's register-level kernel.

Blocks are discovered from rtl/<block>/tests/test_<block>.py. Each such module defines ``TOPLEVEL`` (HDL top module),
``CONFIGS`` (list of dicts with "name", "parameters" and stimulus keys) and optionally ``SOURCES`` (HDL files; by
default rtl/<block>/hdl/*.v). :func:`run` compiles the block with Icarus Verilog through cocotb_tools.runner, runs its
cocotb test with the config in EINSIM_COSIM_CONFIG, and reads the bench's verdict from the JSON file named by
EINSIM_COSIM_RESULT ({"rtl_cycles", "sim_cycles", "values_match", "detail"}).

Build directories: $EINSIM_SIM_BUILD if set, else <repo>/sim_build (gitignored) when writable, else a temp dir;
one per block and parameter set.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = ["BLOCKS", "CosimResult", "configs", "run", "run_all", "simulator_available"]

_RTL_DIR = Path(__file__).resolve().parent
#: cocotb rewrites the asserts of every module the bench imports by default ("*.py"), recompiling numpy, numba and
#: einsim from source in each simulator run (no bytecode cache there); only the benches need the rewriting
_REWRITE_ONLY = "test_*.py"


def _discover() -> tuple[str, ...]:
    return tuple(sorted(p.parent.parent.name for p in _RTL_DIR.glob("*/tests/test_*.py")
                        if p.stem == f"test_{p.parent.parent.name}"))


BLOCKS: tuple[str, ...] = _discover()


@dataclass(frozen=True)
class CosimResult:
    """One (block, config) co-simulation: RTL cycles vs simulator cycles and whether every value matched."""

    block: str
    config: str
    rtl_cycles: int | None
    sim_cycles: int | None
    values_match: bool
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.values_match and self.rtl_cycles is not None and self.rtl_cycles == self.sim_cycles


def simulator_available() -> bool:
    """True if Icarus Verilog (iverilog and vvp) is on PATH."""
    return shutil.which("iverilog") is not None and shutil.which("vvp") is not None


@cache
def _bench(block: str):
    path = _RTL_DIR / block / "tests" / f"test_{block}.py"
    if not path.is_file():
        raise ValueError(f"block must be one of {', '.join(BLOCKS)}, not {block!r}")
    spec = importlib.util.spec_from_file_location(f"_einsim_cosim_bench_{block}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def configs(block: str) -> list[dict]:
    """The bench's configurations for ``block``."""
    return list(_bench(block).CONFIGS)


def _sources(block: str) -> list[Path]:
    listed = getattr(_bench(block), "SOURCES", None)
    if listed:
        return [Path(p) if Path(p).is_absolute() else _RTL_DIR.parent / p for p in listed]
    return sorted((_RTL_DIR / block / "hdl").glob("*.v"))


def _build_root() -> Path:
    env = os.environ.get("EINSIM_SIM_BUILD")
    if env:
        return Path(env)
    root = _RTL_DIR.parent / "sim_build"
    try:
        root.mkdir(parents=True, exist_ok=True)
        if os.access(root, os.W_OK):
            return root
    except OSError:
        pass
    return Path(tempfile.gettempdir()) / "einsim_sim_build"


def run(block: str, config: dict) -> CosimResult:
    """Compile ``block`` with ``config["parameters"]``, run its cocotb bench, and return the verdict."""
    from cocotb_tools.runner import get_results, get_runner

    name = config["name"]
    bench = _bench(block)
    params = dict(config["parameters"])
    digest = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    build_dir = _build_root() / block / digest
    build_dir.mkdir(parents=True, exist_ok=True)
    result_path = build_dir / f"result_{hashlib.sha1(name.encode()).hexdigest()[:8]}.json"
    result_path.unlink(missing_ok=True)
    log = build_dir / "cosim.log"
    runner = get_runner("icarus")
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # keep the runner's chatter off our stdout
            runner.build(sources=_sources(block), hdl_toplevel=bench.TOPLEVEL, parameters=params,
                         build_dir=build_dir, timescale=("1ns", "1ps"), always=True, log_file=log)
            xml = runner.test(test_module=f"test_{block}", test_dir=_RTL_DIR / block / "tests",
                              hdl_toplevel=bench.TOPLEVEL, build_dir=build_dir, log_file=log,
                              results_xml=str(build_dir / "results.xml"),
                              extra_env={"EINSIM_COSIM_CONFIG": json.dumps(config),
                                         "EINSIM_COSIM_RESULT": str(result_path),
                                         "COCOTB_REWRITE_ASSERTION_FILES": _REWRITE_ONLY})
    except Exception as exc:  # noqa: BLE001 - a failed build or run is a failed result, reported with its reason
        return CosimResult(block, name, None, None, False, f"{type(exc).__name__}: {exc} (log: {log})")
    try:
        failed = get_results(xml)[1]
    except RuntimeError as exc:
        failed = str(exc)
    if not result_path.is_file():
        return CosimResult(block, name, None, None, False, f"the bench wrote no result (log: {log})")
    data = json.loads(result_path.read_text(encoding="utf-8"))
    detail = str(data.get("detail", ""))
    if failed:
        detail = (detail + "; " if detail else "") + f"cocotb test failed (log: {log})"
    return CosimResult(block, name, data.get("rtl_cycles"), data.get("sim_cycles"),
                       bool(data.get("values_match")) and not failed, detail)


def run_all(progress: Callable[[CosimResult], None] | None = None) -> list[CosimResult]:
    """Run every configuration of every block; call ``progress`` after each."""
    results = []
    for block in BLOCKS:
        for config in configs(block):
            result = run(block, config)
            results.append(result)
            if progress is not None:
                progress(result)
    return results

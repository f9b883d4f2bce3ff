"""cocotb bench of the 1D vector PE array against the register-level kernel sim/kernels/vector.py.

Driver: presents each instruction from its arrival cycle (with its LD beat) and holds it until accepted.
Monitor: records every output beat with its cycle and the first idle cycle after the last issue.
Checker: runs the kernel on the same program and inputs; values, output cycles, issue cycles and total cycles must
be equal. The config comes from EINSIM_COSIM_CONFIG (rtl/cosim.py); the result goes to EINSIM_COSIM_RESULT.
Run standalone: ``python rtl/vector_pe/tests/test_vector_pe.py [config-name ...]``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge

from einsim.arch.vector_unit import VectorUnitSpec
from einsim.sim import vector_program as vp

TOPLEVEL = "vector_pe_array"
HDL_DIR = Path(__file__).resolve().parents[1] / "hdl"
SOURCES = [HDL_DIR / "vector_pe.v", HDL_DIR / "vector_pe_array.v"]


def _config(name: str, spec: VectorUnitSpec, **stimulus) -> dict:
    fields = {k: getattr(spec, k) for k in ("lanes", "registers", "data_bits", "frac_bits", "max_cycles",
                                            "add_cycles", "mac_cycles", "divide_cycles")}
    return {"name": name, "parameters": spec.verilog_parameters(), "spec": fields, **stimulus}


CONFIGS: list[dict] = [
    _config("l4-random-b2b", VectorUnitSpec(lanes=4), program="random", n_instr=80, gap_prob=0.0, seed=1),
    _config("l8-random-gaps-multicycle", VectorUnitSpec(lanes=8, mac_cycles=2, add_cycles=2, divide_cycles=6),
            program="random", n_instr=80, gap_prob=0.3, seed=2),
    _config("l16-online-softmax", VectorUnitSpec(lanes=16, divide_cycles=4), program="online_softmax",
            n_steps=6, seed=3),
    _config("l5-lane-softmax-q8", VectorUnitSpec(lanes=5, data_bits=16, frac_bits=8, max_cycles=2),
            program="lane_softmax", seed=4),
    _config("l1-random-mac3-div1", VectorUnitSpec(lanes=1, registers=4, mac_cycles=3), program="random",
            n_instr=120, gap_prob=0.2, seed=5),
    _config("l32-random-q12-w24", VectorUnitSpec(lanes=32, data_bits=24, frac_bits=12, divide_cycles=9),
            program="random", n_instr=60, gap_prob=0.1, seed=6),
]


def stimulus(config: dict) -> tuple[VectorUnitSpec, vp.VectorProgram, np.ndarray]:
    """(spec, program, fixed-point input beats) of a config, deterministic in its seed."""
    spec = VectorUnitSpec(**config["spec"])
    rng = np.random.default_rng(config["seed"])
    kind = config["program"]
    if kind == "random":
        prog = vp.random_program(rng, config["n_instr"], spec.registers, gap_prob=config["gap_prob"],
                                 store_all=True)
        lim = 1 << (spec.data_bits - 1)
        return spec, prog, rng.integers(-lim, lim, size=(prog.n_loads, spec.lanes))
    if kind == "online_softmax":
        n = config["n_steps"]
        beats = [np.full(spec.lanes, -(2.0 ** (spec.data_bits - spec.frac_bits - 2)))]
        for _ in range(n):
            beats += [rng.normal(size=spec.lanes) * 3.0, rng.normal(size=spec.lanes)]
        return spec, vp.online_softmax_program(n), vp.to_fixed(np.array(beats), spec)
    if kind == "lane_softmax":
        return spec, vp.lane_softmax_program(), vp.to_fixed(rng.normal(size=(1, spec.lanes)) * 3.0, spec)
    raise ValueError(f"program must be one of random, online_softmax, lane_softmax, not {kind!r}")


def _pack(values, bits: int) -> int:
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & ((1 << bits) - 1)) << (i * bits)
    return word


def _unpack(word: int, lanes: int, bits: int) -> list[int]:
    out = []
    for i in range(lanes):
        v = (word >> (i * bits)) & ((1 << bits) - 1)
        out.append(v - (1 << bits) if v >> (bits - 1) else v)
    return out


class Driver:
    """Presents instruction i from cycle arrive[i] until the DUT accepts it; records issue cycles."""

    def __init__(self, dut, spec, program, beats):
        self.dut, self.spec, self.program, self.beats = dut, spec, program, beats
        self.words = vp.encode(program)
        self.issue: list[int] = []
        self.done = len(program) == 0

    async def run(self):
        dut, prog = self.dut, self.program
        cycle, i, n_ld = 0, 0, 0
        while i < len(prog):
            present = int(prog.arrive[i]) <= cycle
            dut.instr_valid.value = int(present)
            dut.instr.value = int(self.words[i])
            if prog.op[i] == 0:
                dut.in_data.value = _pack(self.beats[n_ld], self.spec.data_bits)
            await ReadOnly()
            accepted = present and int(dut.instr_ready.value) == 1
            await RisingEdge(dut.clk)
            if accepted:
                self.issue.append(cycle)
                n_ld += int(prog.op[i] == 0)
                i += 1
            cycle += 1
        dut.instr_valid.value = 0
        self.done = True


class Monitor:
    """Samples out_valid/out_data every cycle; stops at the first idle cycle after the driver has finished."""

    def __init__(self, dut, spec, driver):
        self.dut, self.spec, self.driver = dut, spec, driver
        self.outputs: list[list[int]] = []
        self.out_cycles: list[int] = []
        self.total_cycles = -1

    async def run(self):
        dut, cycle = self.dut, 0
        while True:
            await ReadOnly()
            if int(dut.out_valid.value):
                self.out_cycles.append(cycle)
                self.outputs.append(_unpack(dut.out_data.value.to_unsigned(), self.spec.lanes, self.spec.data_bits))
            last = self.driver.issue[-1] if self.driver.issue else -1
            if self.driver.done and cycle > last and int(dut.busy_o.value) == 0:
                self.total_cycles = cycle
                return
            await RisingEdge(dut.clk)
            cycle += 1


def check(config, spec, program, beats, driver, monitor) -> dict:
    """Checker: the kernel on the same stimulus; returns the result record."""
    sim = vp.run(spec, program, in_fixed=beats)
    problems = []
    if monitor.outputs != sim.out_fixed.tolist():
        bad = next(i for i, (a, b) in enumerate(zip(monitor.outputs, sim.out_fixed.tolist())) if a != b) \
            if len(monitor.outputs) == len(sim.out_fixed) else -1
        problems.append(f"output values differ (first at store {bad}; {len(monitor.outputs)} vs {len(sim.out_fixed)})")
    if monitor.out_cycles != sim.out_cycle.tolist():
        problems.append(f"output cycles differ: rtl {monitor.out_cycles[:6]} sim {sim.out_cycle.tolist()[:6]}")
    if driver.issue != sim.issue_cycle.tolist():
        problems.append("issue cycles differ")
    values_match = not any(p.startswith("output values") for p in problems)
    timing_match = all(p.startswith("output values") for p in problems)
    detail = "; ".join(problems) or (f"{len(program)} instructions, {len(sim.out_fixed)} output beats x "
                                     f"{spec.lanes} lanes, {sim.counters['mac']} MACs")
    return {"rtl_cycles": monitor.total_cycles, "sim_cycles": sim.cycles, "values_match": values_match,
            "detail": detail, "timing_match": timing_match}


@cocotb.test()
async def vector_pe_matches_kernel(dut):
    """Drive the config's program through the DUT and compare with the kernel, cycle for cycle."""
    config = json.loads(os.environ["EINSIM_COSIM_CONFIG"])
    spec, program, beats = stimulus(config)
    assert spec.verilog_parameters() == config["parameters"], "parameters must come from the spec"
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.instr_valid.value = 0
    dut.instr.value = 0
    dut.in_data.value = 0
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    driver = Driver(dut, spec, program, beats)
    monitor = Monitor(dut, spec, driver)
    drive = cocotb.start_soon(driver.run())
    await monitor.run()
    await drive
    result = check(config, spec, program, beats, driver, monitor)
    path = os.environ.get("EINSIM_COSIM_RESULT")
    if path:
        Path(path).write_text(json.dumps(result))
    assert result["values_match"], result["detail"]
    assert result["rtl_cycles"] == result["sim_cycles"] and result["timing_match"], result["detail"]


if __name__ == "__main__":  # run some configurations by name through the co-simulation harness
    from einsim.rtl import cosim

    for cfg in CONFIGS:
        if not sys.argv[1:] or cfg["name"] in sys.argv[1:]:
            print(cosim.run("vector_pe", cfg))

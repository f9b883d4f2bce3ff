"""cocotb bench of the PIM bank unit against the register-level kernel sim/kernels/pim_bank.py.

Driver: fills the cell array through the init port, then presents each command from its arrival cycle and holds it
until accepted (recording issue cycle and error status). Monitor: records every READRES result with its cycle and
the first idle cycle after the last issue. Checker: the kernel on the same stream; results, result cycles, issue
cycles, statuses and total cycles must be equal. Config from EINSIM_COSIM_CONFIG, result to EINSIM_COSIM_RESULT.
Run standalone: ``python rtl/pim_bank/tests/test_pim_bank.py [config-name ...]``.
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

from einsim.arch.pim_bank import PimBankSpec
from einsim.sim import pim_program as pp
from einsim.sim.kernels.pim_bank import CMD_GWRITE

TOPLEVEL = "pim_bank"
HDL_DIR = Path(__file__).resolve().parents[1] / "hdl"
SOURCES = [HDL_DIR / "pim_bank.v"]
_FIELDS = ("rows", "row_bytes", "mac_lanes", "data_bits", "acc_bits", "t_rcd", "t_rp", "t_ras", "t_rtp", "t_ccd_s",
           "t_ccd_l", "cl", "cwl", "burst_length", "mac_latency")


def _config(name: str, spec: PimBankSpec, **stimulus) -> dict:
    return {"name": name, "parameters": spec.verilog_parameters(),
            "spec": {k: getattr(spec, k) for k in _FIELDS}, **stimulus}


CONFIGS: list[dict] = [
    _config("neupims-1KB-gemv8", PimBankSpec(rows=8), program="gemv", n_out=8, columns=32, seed=11),
    _config("row128B-fast-gemv6", PimBankSpec(rows=6, row_bytes=128, mac_lanes=8, t_rcd=3, t_rp=3, t_ras=8,
                                              t_rtp=2, cl=3, cwl=2), program="gemv", n_out=6, columns=8, seed=12),
    _config("random-gaps-errors", PimBankSpec(rows=4, row_bytes=256, mac_lanes=4, t_rcd=5, t_ras=12, cl=4),
            program="random", n_cmds=160, gap_prob=0.25, error_prob=0.08, seed=13),
    _config("int8-acc20-wrap", PimBankSpec(rows=4, row_bytes=512, data_bits=8, acc_bits=20), program="gemv",
            n_out=4, columns=32, seed=14),
    _config("tras-bound-partial-row", PimBankSpec(rows=5, row_bytes=512, t_ras=60, t_ccd_l=4, cl=20, mac_latency=5,
                                                  burst_length=8), program="gemv", n_out=5, columns=6, seed=15),
]


def stimulus(config: dict) -> tuple[PimBankSpec, pp.PimProgram, np.ndarray, np.ndarray]:
    """(spec, command stream, GWRITE data [n_gwrite, lanes], cell array [rows, row elements]) of a config."""
    spec = PimBankSpec(**config["spec"])
    rng = np.random.default_rng(config["seed"])
    lim = 1 << (spec.data_bits - 1)
    memory = rng.integers(-lim, lim, size=(spec.rows, spec.row_elements))
    if config["program"] == "gemv":
        prog = pp.gemv_program(config["n_out"], config["columns"])
    elif config["program"] == "random":
        prog = pp.random_program(rng, spec, config["n_cmds"], spec.rows, gap_prob=config["gap_prob"],
                                 error_prob=config["error_prob"])
    else:
        raise ValueError(f"program must be gemv or random, not {config['program']!r}")
    return spec, prog, rng.integers(-lim, lim, size=(prog.n_gwrite, spec.mac_lanes)), memory


def _pack(values, bits: int) -> int:
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & ((1 << bits) - 1)) << (i * bits)
    return word


class Driver:
    """Fills the cells, then presents command i from cycle arrive[i] until accepted."""

    def __init__(self, dut, spec, program, gw_data):
        self.dut, self.spec, self.program, self.gw_data = dut, spec, program, gw_data
        self.issue: list[int] = []
        self.status: list[int] = []
        self.done = len(program) == 0

    async def fill(self, memory):
        dut, spec = self.dut, self.spec
        dut.init_we.value = 1
        for r in range(spec.rows):
            for c in range(spec.columns):
                dut.init_addr.value = r * spec.columns + c
                dut.init_data.value = _pack(memory[r, c * spec.mac_lanes:(c + 1) * spec.mac_lanes], spec.data_bits)
                await RisingEdge(dut.clk)
        dut.init_we.value = 0

    async def run(self):
        dut, prog = self.dut, self.program
        cycle, i, n_gw = 0, 0, 0
        while i < len(prog):
            present = int(prog.arrive[i]) <= cycle
            dut.cmd_valid.value = int(present)
            dut.cmd.value = int(prog.cmd[i])
            dut.cmd_row.value = int(prog.row[i])
            dut.cmd_col.value = int(prog.col[i])
            if prog.cmd[i] == CMD_GWRITE:
                dut.cmd_data.value = _pack(self.gw_data[n_gw], self.spec.data_bits)
            await ReadOnly()
            accepted = present and int(dut.cmd_ready.value) == 1
            error = int(dut.cmd_error.value)
            await RisingEdge(dut.clk)
            if accepted:
                self.issue.append(cycle)
                self.status.append(error)
                n_gw += int(prog.cmd[i] == CMD_GWRITE)
                i += 1
            cycle += 1
        dut.cmd_valid.value = 0
        self.done = True


class Monitor:
    """Records READRES results and their cycles; stops at the first idle cycle after the driver has finished."""

    def __init__(self, dut, spec, driver):
        self.dut, self.spec, self.driver = dut, spec, driver
        self.results: list[int] = []
        self.cycles: list[int] = []
        self.total_cycles = -1

    async def run(self):
        dut, cycle, w = self.dut, 0, self.spec.acc_bits
        while True:
            await ReadOnly()
            if int(dut.res_valid.value):
                v = dut.res_data.value.to_unsigned()
                self.results.append(v - (1 << w) if v >> (w - 1) else v)
                self.cycles.append(cycle)
            last = self.driver.issue[-1] if self.driver.issue else -1
            if self.driver.done and cycle > last and int(dut.busy_o.value) == 0:
                self.total_cycles = cycle
                return
            await RisingEdge(dut.clk)
            cycle += 1


def check(spec, program, gw_data, memory, driver, monitor) -> dict:
    """Checker: the kernel on the same stimulus; returns the result record."""
    sim = pp.run(spec, program, gw_data, memory)
    problems = []
    values_match = monitor.results == sim.results.tolist()
    if not values_match:
        problems.append(f"results differ: rtl {monitor.results[:4]} sim {sim.results.tolist()[:4]}")
    if monitor.cycles != sim.result_cycle.tolist():
        problems.append(f"result cycles differ: rtl {monitor.cycles[:6]} sim {sim.result_cycle.tolist()[:6]}")
    if driver.issue != sim.issue_cycle.tolist():
        first = next((i for i, (a, b) in enumerate(zip(driver.issue, sim.issue_cycle.tolist())) if a != b), -1)
        problems.append(f"issue cycles differ (first at command {first})")
    if driver.status != sim.status.tolist():
        problems.append("error statuses differ")
    detail = "; ".join(problems) or (f"{len(program)} commands ({sim.counters['comp']} COMP, "
                                     f"{sim.counters['errors']} protocol errors), {len(sim.results)} results, "
                                     f"{sim.counters['stall_cycles']} stall cycles")
    return {"rtl_cycles": monitor.total_cycles, "sim_cycles": sim.cycles, "values_match": values_match,
            "detail": detail, "timing_match": all(p.startswith("results differ") for p in problems)}


@cocotb.test()
async def pim_bank_matches_kernel(dut):
    """Drive the config's command stream through the bank and compare with the kernel, cycle for cycle."""
    config = json.loads(os.environ["EINSIM_COSIM_CONFIG"])
    spec, program, gw_data, memory = stimulus(config)
    assert spec.verilog_parameters() == config["parameters"], "parameters must come from the spec"
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.cmd_valid.value = 0
    dut.cmd.value = 0
    dut.cmd_row.value = 0
    dut.cmd_col.value = 0
    dut.cmd_data.value = 0
    dut.init_we.value = 0
    dut.init_addr.value = 0
    dut.init_data.value = 0
    driver = Driver(dut, spec, program, gw_data)
    await RisingEdge(dut.clk)
    await driver.fill(memory)
    await RisingEdge(dut.clk)
    dut.rst.value = 0
    monitor = Monitor(dut, spec, driver)
    drive = cocotb.start_soon(driver.run())
    await monitor.run()
    await drive
    result = check(spec, program, gw_data, memory, driver, monitor)
    path = os.environ.get("EINSIM_COSIM_RESULT")
    if path:
        Path(path).write_text(json.dumps(result))
    assert result["values_match"], result["detail"]
    assert result["rtl_cycles"] == result["sim_cycles"] and result["timing_match"], result["detail"]


if __name__ == "__main__":  # run some configurations by name through the co-simulation harness
    from einsim.rtl import cosim

    for cfg in CONFIGS:
        if not sys.argv[1:] or cfg["name"] in sys.argv[1:]:
            print(cosim.run("pim_bank", cfg))

"""cocotb bench of two PIM banks sharing a command and a data bus (pim_channel.v) against the command-level kernel.

Stimulus: a raw command program on one channel of one rank with 2 banks (one bank group of two, or two of one),
one or two row buffers per bank. Programs: a PIM GEMV issued by the kernel's own controller (its trace replayed as
raw commands, each presented from the cycle the controller issued it), the same GEMV beside a DRAM request stream
(dual row buffers: reads and writes to one buffer while COMPs use the other), and random protocol-correct
sequences with errors and idle gaps, each command presented as early as allowed. Driver: fills the cell array,
presents command i from its arrival cycle until accepted. Monitor: RD data and READRES results with their cycles,
and the first idle cycle after the last command. Checker: the kernel (sim/kernels/dram.py) on the same raw program
gives every command's issue cycle, every error, the data cycles and the total; numpy gives the values.
The Verilog is built once (geometry and timing are run-time inputs, ``cfg``) and one simulator run covers every case.
Run standalone: ``python rtl/pim_bank/tests/test_pim_bank.py``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge

from einsim.arch.dram import DramSpec, load_dram
from einsim.sim import dram_commands as dc
from einsim.sim import pim_gemv as pg
from einsim.sim.dram import DramPolicy, PimProgram, simulate_dram
from einsim.sim.dram_check import gap_table
from einsim.sim.dram_traces import row_address

TOPLEVEL = "pim_channel"
HDL_DIR = Path(__file__).resolve().parents[1] / "hdl"
SOURCES = [HDL_DIR / "pim_channel.v"]
_DRAM_FIELDS = ("bankgroups", "banks_per_group", "rows", "columns", "bus_width_bits", "burst_length",
                "row_buffer_bytes", "mac_lanes", "pim_data_bits", "row_buffers", "cl", "cwl", "trcd", "trp", "tras",
                "trrd_s", "trrd_l", "twtr_s", "twtr_l", "tfaw", "twr", "tccd_s", "tccd_l", "trtp_l",
                "pim_fill_cycles", "trtw")


def two_bank_spec(*, bankgroups: int, row_buffers: int, rows: int = 8, lanes: int = 4, **timing) -> DramSpec:
    """A one-channel, one-rank, two-bank PIM device whose burst is one COMP word (lanes x 16 bits)."""
    bits = lanes * 16
    return dataclasses.replace(load_dram("hbm2-pim"), channels=1, ranks=1, bankgroups=bankgroups,
                               banks_per_group=2 // bankgroups, rows=rows, columns=8, bus_width_bits=bits // 4,
                               burst_length=4, row_buffer_bytes=8 * bits // 8, mac_lanes=lanes, row_buffers=row_buffers,
                               **timing)


#: hdl/pim_channel.v's run-time configuration fields (16 bits each, the first in the lowest bits of ``cfg``)
CFG_FIELDS = ("N_BG", "ROW_BUFFERS", "N_ROWS", "T_RCD", "T_RP", "T_RAS", "T_RRD_S", "T_RRD_L", "T_FAW", "T_RTP",
              "T_WTP", "RR_S", "RR_L", "RTW", "WTR_S", "WTR_L", "T_RR", "RTP_RP", "GW", "FILL", "CL", "CWL", "BURST")
#: its build-time parameters (one build serves every case)
PARAMETERS = {"MAX_ROWS": 16, "N_COLS": 8, "LANES": 4, "DATA_BITS": 16, "ACC_BITS": 48, "MAX_CL": 32}


def verilog_config(spec: DramSpec) -> dict[str, int]:
    """Run-time configuration of hdl/pim_channel.v: geometry and the minimum gaps of sim/dram_check.py (one rank)."""
    g = gap_table(spec)
    return {"N_BG": spec.bankgroups, "ROW_BUFFERS": spec.row_buffers, "N_ROWS": spec.rows, "T_RCD": spec.trcd,
            "T_RP": spec.trp, "T_RAS": spec.tras, "T_RRD_S": spec.trrd_s, "T_RRD_L": spec.trrd_l,
            "T_FAW": spec.tfaw, "T_RTP": g["rtp"], "T_WTP": g["wtp"], "RR_S": g["rr_s"], "RR_L": g["rr_l"],
            "RTW": g["rtw"], "WTR_S": g["wtr_s"], "WTR_L": g["wtr_l"], "T_RR": g["t_rr"], "RTP_RP": g["rtp_rp"],
            "GW": g["gw"], "FILL": g["fill"], "CL": spec.cl, "CWL": spec.cwl, "BURST": spec.burst_cycles}


def pack_config(config: dict[str, int]) -> int:
    """The ``cfg`` input word of a run-time configuration (every field must fit 16 bits)."""
    word = 0
    for i, name in enumerate(CFG_FIELDS):
        value = int(config[name])
        if not 0 <= value < 1 << 16:
            raise ValueError(f"{name} must be in [0, 65536) for pim_channel.v, not {value}")
        word |= value << (16 * i)
    return word


def _case(name: str, spec: DramSpec, **stimulus) -> dict:
    if spec.rows > PARAMETERS["MAX_ROWS"] or spec.columns != PARAMETERS["N_COLS"] or \
            spec.mac_lanes != PARAMETERS["LANES"] or spec.cl > PARAMETERS["MAX_CL"]:
        raise ValueError(f"case {name}: rows, columns, lanes and CL must fit the build's PARAMETERS {PARAMETERS}")
    return {"name": name, "config": verilog_config(spec), "spec": {k: getattr(spec, k) for k in _DRAM_FIELDS},
            **stimulus}


_FAST = {"trcd": 5, "trp": 4, "tras": 9, "tfaw": 12, "trrd_s": 2, "trrd_l": 3, "cl": 4, "cwl": 2, "twr": 3,
         "trtp_l": 3, "twtr_s": 2, "twtr_l": 3}

CASES: list[dict] = [
    _case("gemv-dual-1bg", two_bank_spec(bankgroups=1, row_buffers=2, rows=16), program="gemv", rows=6, cols=96,
            seed=21),
    _case("gemv-single-2bg", two_bank_spec(bankgroups=2, row_buffers=1, rows=16), program="gemv", rows=4, cols=64,
            seed=22),
    _case("gemv-beside-dram-dual", two_bank_spec(bankgroups=2, row_buffers=2, rows=16, **_FAST), program="mixed",
            rows=4, cols=64, n_requests=40, seed=23),
    _case("random-dual-1bg", two_bank_spec(bankgroups=1, row_buffers=2, **_FAST, tccd_l=3, pim_fill_cycles=2),
            program="random", n_cmds=140, gap_prob=0.2, error_prob=0.06, seed=24),
    _case("random-single-2bg", two_bank_spec(bankgroups=2, row_buffers=1, **_FAST), program="random",
            n_cmds=140, gap_prob=0.2, error_prob=0.06, seed=25),
]
#: one build, one simulator run, every case in turn (reset between cases)
CONFIGS: list[dict] = [{"name": "all-cases", "parameters": PARAMETERS, "cases": CASES}]


def _trace_program(run) -> PimProgram:
    """The kernel's issued trace as raw commands, each arriving at the cycle it was issued."""
    t = run.trace
    col = np.where(np.isin(t["command"], (dc.RD, dc.WR, dc.COMP)), t["column"], 0)
    return PimProgram(channel=t["channel"], kind=t["command"], rank=np.maximum(t["rank"], 0),
                      bankgroup=np.maximum(t["bankgroup"], 0), bank=np.maximum(t["bank"], 0), row=t["row"],
                      arg=col, est=np.zeros_like(col), arrive=t["cycle"])


def random_program(rng, spec: DramSpec, n: int, gap_prob: float, error_prob: float) -> PimProgram:
    """Mostly protocol-correct random commands over the two banks (and their bank groups), some malformed."""
    nbg, bpg, pb = spec.bankgroups, spec.banks_per_group, 1 if spec.row_buffers == 2 else 0
    open_ = {}  # (bank flat, buffer) -> row
    out = []

    def bank_of(b):
        return b // bpg, b % bpg

    while len(out) < n:
        u, b = rng.random(), int(rng.integers(2))
        g, k = bank_of(b)
        row = int(rng.integers(spec.rows))
        if u < error_prob:  # something the protocol forbids
            bad = [(dc.PRE, g, k, 0, 0)] if (b, 0) not in open_ else [(dc.ACT, g, k, row, 0)]
            out += bad
            continue
        pim_all = all((x, pb) in open_ for x in range(2)) and len({open_[(x, pb)] for x in range(2)}) == 1
        choice = rng.random()
        if pim_all and choice < 0.35:
            out.append((dc.COMP, 0, 0, open_[(0, pb)], int(rng.integers(spec.columns))))
            if rng.random() < 0.3:
                out.append((dc.READRES, 0, 0, open_[(0, pb)], 0))
        elif choice < 0.55:  # a bank-group PIM row
            gg = int(rng.integers(nbg))
            banks = [x for x in range(2) if x // bpg == gg]
            if all((x, pb) in open_ for x in banks):
                out.append((dc.G_PRE, gg, 0, 0, 0))
                for x in banks:
                    open_.pop((x, pb))
            elif not any((x, pb) in open_ for x in banks):
                pim_row = next((open_[(x, pb)] for x in range(2) if (x, pb) in open_), row)
                if pb == 0 or not any(open_.get((x, 0)) == pim_row for x in banks):
                    out.append((dc.G_ACT, gg, 0, pim_row, 0))
                    for x in banks:
                        open_[(x, pb)] = pim_row
        elif (b, 0) in open_:
            r0 = open_[(b, 0)]
            if choice < 0.8:
                out.append((dc.RD if rng.random() < 0.6 else dc.WR, g, k, r0, int(rng.integers(spec.columns))))
            elif choice < 0.85:
                out.append((dc.GWRITE, g, k, r0, 0))
            else:
                out.append((dc.PRE, g, k, 0, 0))
                open_.pop((b, 0))
        elif pb == 1 or (b, 0) not in open_:
            if not (pb == 1 and open_.get((b, 1)) == row):
                out.append((dc.ACT, g, k, row, 0))
                open_[(b, 0)] = row
    gaps = np.where(rng.random(len(out)) < gap_prob, rng.integers(1, 30, size=len(out)), 0)
    arrive = np.maximum.accumulate(np.where(gaps > 0, np.cumsum(gaps) + np.arange(len(out)), 0))
    return PimProgram.from_entries([(0, kind, 0, g, k, r, c, 0, int(a))
                                    for (kind, g, k, r, c), a in zip(out, arrive)])


def stimulus(config: dict) -> tuple[DramSpec, PimProgram, np.ndarray]:
    """(spec, raw program, cell array [2 banks, rows, columns, lanes]) of a config."""
    spec = dataclasses.replace(load_dram("hbm2-pim"), channels=1, ranks=1, **config["spec"])
    rng = np.random.default_rng(config["seed"])
    cells = rng.integers(-(1 << 15), 1 << 15, size=(2, spec.rows, spec.columns, spec.mac_lanes))
    policy = DramPolicy(refresh=False)
    if config["program"] == "gemv":
        run = simulate_dram(spec, pim=pg.gemv_program(spec, config["rows"], config["cols"]), policy=policy)
        prog = _trace_program(run)
    elif config["program"] == "mixed":
        n = config["n_requests"]
        addr = row_address(spec, bankgroup=rng.integers(2, size=n) % spec.bankgroups,
                           bank=rng.integers(2, size=n) % spec.banks_per_group, row=rng.integers(6, 12, size=n),
                           column=rng.integers(spec.columns, size=n))
        from einsim.sim.dram import DramRequests

        req = DramRequests(addr, rng.random(n) < 0.3, np.sort(rng.integers(0, 300, size=n)))
        run = simulate_dram(spec, req, pg.gemv_program(spec, config["rows"], config["cols"]), policy=policy)
        prog = _trace_program(run)
    elif config["program"] == "random":
        prog = random_program(rng, spec, config["n_cmds"], config["gap_prob"], config["error_prob"])
    else:
        raise ValueError(f"program must be gemv, mixed or random, not {config['program']!r}")
    return spec, prog, cells


def expected(spec: DramSpec, prog: PimProgram, cells: np.ndarray, status) -> tuple[list, list]:
    """numpy model of the values: RD words and READRES pairs, in order (commands with status 1 do nothing)."""
    mem = cells.copy()
    pb = 1 if spec.row_buffers == 2 else 0
    opened, gbuf, acc = {}, np.zeros((spec.columns, spec.mac_lanes), dtype=np.int64), [0, 0]
    reads, results = [], []
    wrap = 1 << 48
    for i in range(len(prog)):
        if status[i]:
            continue
        k, g, bk, row, col = (int(v) for v in (prog.kind[i], prog.bankgroup[i], prog.bank[i], prog.row[i],
                                                prog.arg[i]))
        b = g * spec.banks_per_group + bk
        banks = [x for x in range(2) if x // spec.banks_per_group == g]
        if k == dc.ACT:
            opened[(b, 0)] = row
        elif k == dc.PRE:
            opened.pop((b, 0))
        elif k == dc.G_ACT:
            for x in banks:
                opened[(x, pb)] = row
        elif k == dc.G_PRE:
            for x in banks:
                opened.pop((x, pb))
        elif k == dc.RD:
            reads.append(mem[b, opened[(b, 0)], col].tolist())
        elif k == dc.WR:
            mem[b, opened[(b, 0)], col] = _wdata(i, spec.mac_lanes)
        elif k == dc.GWRITE:
            gbuf = mem[b, opened[(b, 0)]].astype(np.int64).copy()
        elif k == dc.COMP:
            for x in range(2):
                acc[x] += int(mem[x, opened[(x, pb)], col].astype(np.int64) @ gbuf[col])
        elif k == dc.READRES:
            results.append([((a + wrap // 2) % wrap) - wrap // 2 for a in acc])
            acc = [0, 0]
    return reads, results


def _wdata(i: int, lanes: int) -> np.ndarray:
    return ((np.arange(lanes) * 7919 + i * 104729) % (1 << 16)) - (1 << 15)


def _pack(values, bits: int = 16) -> int:
    word = 0
    for j, v in enumerate(values):
        word |= (int(v) & ((1 << bits) - 1)) << (j * bits)
    return word


def _unpack(word: int, n: int, bits: int) -> list[int]:
    out = []
    for j in range(n):
        v = (word >> (j * bits)) & ((1 << bits) - 1)
        out.append(v - (1 << bits) if v >> (bits - 1) else v)
    return out


class Driver:
    """Fills the cells, then presents command i from cycle arrive[i] until accepted."""

    def __init__(self, dut, spec, program):
        self.dut, self.spec, self.program = dut, spec, program
        self.issue: list[int] = []
        self.status: list[int] = []
        self.done = len(program) == 0

    async def fill(self, cells):
        dut, s = self.dut, self.spec
        dut.init_we.value = 1
        for b in range(2):
            for r in range(s.rows):
                for c in range(s.columns):
                    dut.init_addr.value = (b * s.rows + r) * s.columns + c
                    dut.init_data.value = _pack(cells[b, r, c])
                    await RisingEdge(dut.clk)
        dut.init_we.value = 0

    async def run(self):
        dut, p = self.dut, self.program
        cycle, i = 0, 0
        while i < len(p):
            present = int(p.arrive[i]) <= cycle
            dut.cmd_valid.value = int(present)
            dut.cmd.value = int(p.kind[i])
            dut.cmd_bg.value = int(p.bankgroup[i])
            dut.cmd_bank.value = int(p.bank[i])
            dut.cmd_row.value = max(int(p.row[i]), 0)
            dut.cmd_col.value = int(p.arg[i])
            dut.cmd_wdata.value = _pack(_wdata(i, self.spec.mac_lanes))
            await ReadOnly()
            accepted = present and int(dut.cmd_ready.value) == 1
            error = int(dut.cmd_error.value)
            await RisingEdge(dut.clk)
            if accepted:
                self.issue.append(cycle)
                self.status.append(error)
                i += 1
            cycle += 1
        dut.cmd_valid.value = 0
        self.done = True


class Monitor:
    """Records RD data and READRES results with their cycles; stops at the first idle cycle after the last command."""

    def __init__(self, dut, spec, driver):
        self.dut, self.spec, self.driver = dut, spec, driver
        self.reads, self.read_cycles, self.results, self.result_cycles = [], [], [], []
        self.total_cycles = -1

    async def run(self):
        dut, cycle, lanes = self.dut, 0, self.spec.mac_lanes
        while True:
            await ReadOnly()
            if int(dut.rd_valid.value):
                self.reads.append(_unpack(dut.rd_data.value.to_unsigned(), lanes, 16))
                self.read_cycles.append(cycle)
            if int(dut.res_valid.value):
                self.results.append(_unpack(dut.res_data.value.to_unsigned(), 2, 48))
                self.result_cycles.append(cycle)
            last = self.driver.issue[-1] if self.driver.issue else -1
            if self.driver.done and cycle > last and int(dut.busy_o.value) == 0:
                self.total_cycles = cycle
                return
            await RisingEdge(dut.clk)
            cycle += 1


def check(spec, program, cells, driver, monitor) -> dict:
    """Checker: the kernel on the same raw program (cycles, errors), numpy (values)."""
    run = simulate_dram(spec, pim=program, policy=DramPolicy(refresh=False))
    status = run.pim_status.tolist()
    issue, it = [], iter(run.trace["cycle"].tolist())
    for i in range(len(program)):
        issue.append(int(run.pim_done[i]) if status[i] else next(it))
    kinds = run.trace["command"]
    data_cycles = {k: (run.trace["cycle"][kinds == k] + spec.cl).tolist() for k in (dc.RD, dc.READRES)}
    reads, results = expected(spec, program, cells, status)
    problems = []
    values_match = monitor.reads == reads and monitor.results == results
    if not values_match:
        problems.append(f"values differ: rtl {monitor.results[:2]} {monitor.reads[:1]} numpy {results[:2]} "
                        f"{reads[:1]}")
    if driver.issue != issue:
        first = next((i for i, (a, b) in enumerate(zip(driver.issue, issue)) if a != b), -1)
        problems.append(f"issue cycles differ (first at command {first}: rtl "
                        f"{driver.issue[first:first + 3]} kernel {issue[first:first + 3]})")
    if driver.status != status:
        problems.append("error statuses differ")
    if monitor.read_cycles != data_cycles[dc.RD] or monitor.result_cycles != data_cycles[dc.READRES]:
        problems.append("data cycles differ")
    counts = {dc.COMMAND_NAMES[k]: int((kinds == k).sum()) for k in np.unique(kinds)}
    detail = "; ".join(problems) or (f"{len(program)} commands {counts}, {sum(status)} protocol errors, "
                                     f"{len(results)} results, {len(reads)} reads")
    return {"rtl_cycles": monitor.total_cycles, "sim_cycles": int(run.cycles), "values_match": values_match,
            "detail": detail, "timing_match": not [p for p in problems if not p.startswith("values")]}


async def run_case(dut, case: dict) -> dict:
    """Reset, configure and fill the channel, drive the case's raw program, and check it against the kernel."""
    spec, program, cells = stimulus(case)
    assert verilog_config(spec) == case["config"], "the run-time configuration must come from the spec"
    await RisingEdge(dut.clk)  # leave the previous case's ReadOnly phase
    dut.rst.value = 1
    dut.cfg.value = pack_config(case["config"])
    for sig in (dut.cmd_valid, dut.cmd, dut.cmd_bg, dut.cmd_bank, dut.cmd_row, dut.cmd_col, dut.cmd_wdata,
                dut.init_we, dut.init_addr, dut.init_data):
        sig.value = 0
    driver = Driver(dut, spec, program)
    await RisingEdge(dut.clk)
    await driver.fill(cells)
    await RisingEdge(dut.clk)
    dut.rst.value = 0
    monitor = Monitor(dut, spec, driver)
    drive = cocotb.start_soon(driver.run())
    await monitor.run()
    await drive
    return check(spec, program, cells, driver, monitor)


@cocotb.test()
async def pim_channel_matches_kernel(dut):
    """Run every case of the config through the two banks and compare with the kernel, cycle for cycle."""
    config = json.loads(os.environ["EINSIM_COSIM_CONFIG"])
    assert config["parameters"] == PARAMETERS, "the build's parameters must be PARAMETERS"
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    results = {}
    for case in config["cases"]:
        results[case["name"]] = await run_case(dut, case)
    result = {"rtl_cycles": sum(r["rtl_cycles"] for r in results.values()),
              "sim_cycles": sum(r["sim_cycles"] for r in results.values()),
              "values_match": all(r["values_match"] for r in results.values()),
              "timing_match": all(r["timing_match"] and r["rtl_cycles"] == r["sim_cycles"] for r in results.values()),
              "detail": " | ".join(f"{name}: rtl {r['rtl_cycles']} kernel {r['sim_cycles']} cycles, {r['detail']}"
                                   for name, r in results.items())}
    path = os.environ.get("EINSIM_COSIM_RESULT")
    if path:
        Path(path).write_text(json.dumps(result))
    assert result["values_match"], result["detail"]
    assert result["rtl_cycles"] == result["sim_cycles"] and result["timing_match"], result["detail"]


if __name__ == "__main__":  # run some configurations by name through the co-simulation harness
    from einsim.rtl import cosim

    for cfg in CONFIGS:
        print(cosim.run("pim_bank", cfg))

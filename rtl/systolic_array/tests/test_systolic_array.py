"""cocotb bench of rtl/systolic_array against the register-level kernel (sim/kernels/systolic.py).

Roles: the Driver fills the operand buffers with a GEMM's folds (planned by sim.systolic_gemm.plan_folds, the same
tiling the simulator uses) and pulses start; the Monitor samples every output port in every cycle (cycle 0 = first
cycle after start is sampled); the checker runs the kernel on the same folds and compares every output value and
the cycle it became valid, and the GEMM assembled from the RTL's outputs against numpy.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from einsim.arch.systolic import SystolicArraySpec
from einsim.sim.kernels.systolic import kernel_parameters, os_kernel, ws_kernel
from einsim.sim.systolic_gemm import assemble_output, plan_folds

TOPLEVEL = "systolic_array"
_HDL = Path(__file__).resolve().parents[1] / "hdl"
SOURCES = [_HDL / "systolic_array.v", _HDL / "ws_pe.v", _HDL / "os_pe.v", _HDL / "delay_line.v"]


def _config(name, rows, cols, dataflow, double_buffer, m, k, n, *, ops=2, seed=1, **micro):
    """A co-simulation: the spec (``micro`` = its micro-architecture keywords), a GEMM shape, back-to-back runs."""
    spec = SystolicArraySpec(rows=rows, cols=cols, dataflow=dataflow, double_buffer=double_buffer, **micro)
    a, b = np.zeros((m, k), np.int64), np.zeros((k, n), np.int64)
    plan = plan_folds(spec, a, b)
    t_len = plan.stream.shape[1]
    top_words = plan.folds * (rows if dataflow != "os" else t_len)
    params = spec.verilog_parameters() | {"LDEPTH": plan.folds * t_len, "TDEPTH": top_words}
    return {"name": name, "parameters": params,
            "spec": {"rows": rows, "cols": cols, "dataflow": dataflow, "double_buffer": double_buffer} | micro,
            "m": m, "k": k, "n": n, "ops": ops, "seed": seed}


CONFIGS = [
    _config("ws_2x2_m3k4n3", 2, 2, "ws", False, 3, 4, 3),
    _config("ws_4x4_m5k6n7", 4, 4, "ws", False, 5, 6, 7),
    _config("ws_4x4_db_m5k6n7", 4, 4, "ws", True, 5, 6, 7),
    _config("ws_3x5_db_m12k7n9", 3, 5, "ws", True, 12, 7, 9),
    _config("ws_8x8_db_m16k16n16", 8, 8, "ws", True, 16, 16, 16, ops=1),
    _config("ws_1x1_db_m3k2n2", 1, 1, "ws", True, 3, 2, 2),
    _config("os_4x4_m6k5n7", 4, 4, "os", False, 6, 5, 7),
    _config("os_3x2_db_m7k4n5", 3, 2, "os", True, 7, 4, 5),
    _config("os_8x8_db_m16k12n16", 8, 8, "os", True, 16, 12, 16, ops=1),
    _config("os_1x4_m3k3n6", 1, 4, "os", False, 3, 3, 6),
    _config("os_shift_4x3_m6k5n7", 4, 3, "os", False, 6, 5, 7, drain="shift"),
    _config("os_shadow_4x4_db_m9k3n6", 4, 4, "os", True, 9, 3, 6, drain="shadow_shift"),  # T = 3 < 2R - 2
    _config("os_shadow_3x5_db_m7k9n8", 3, 5, "os", True, 7, 9, 8, drain="shadow_shift"),  # T = 9 >= 2R - 2
    _config("is_4x3_m6k5n4", 4, 3, "is", False, 6, 5, 4),
    _config("is_4x4_db_m9k8n10", 4, 4, "is", True, 9, 8, 10),
    # micro-architecture variants (docs/systolic.md)
    _config("ws_mac2_acc2_3x3_db_m5k7n4", 3, 3, "ws", True, 5, 7, 4, mac_latency=2, acc_latency=2),
    _config("ws_edge_3x4_db_m6k5n7", 3, 4, "ws", True, 6, 5, 7, skew="edge"),
    _config("ws_chain_wl2_3x3_db_m4k6n5", 3, 3, "ws", True, 4, 6, 5, weight_load_cycles=2),
    _config("ws_onnxim_4x4_m3k9n6", 4, 4, "ws", True, 3, 9, 6, weight_path="pipeline", weight_load_cycles=2,
            min_interval=4),  # the onnxim preset; T = 3 streams 4 steps
    _config("is_mac3_min5_3x2_m4k5n3", 3, 2, "is", False, 4, 5, 3, mac_latency=3, min_interval=5),
    _config("os_shift_4x4_db_m9k3n6", 4, 4, "os", True, 9, 3, 6, drain="shift"),  # one bank, overlapped
    _config("os_parallel_3x4_db_m7k4n9", 3, 4, "os", True, 7, 4, 9, drain="parallel"),
    _config("os_pipe_shadow_edge_3x3_db_m6k5n6", 3, 3, "os", True, 6, 5, 6, drain="shadow_shift", skew="edge",
            mac_latency=2, acc_latency=2),
]


def _active_config() -> dict:
    raw = os.environ.get("EINSIM_COSIM_CONFIG")
    return json.loads(raw) if raw else CONFIGS[0]


def _pack(lanes, width) -> int:
    word = 0
    for lane, value in enumerate(lanes):
        word |= (int(value) & ((1 << width) - 1)) << (lane * width)
    return word


def _signed(raw: int, width: int) -> int:
    return raw - (1 << width) if raw >> (width - 1) else raw


class Driver:
    """Fills the operand buffers with one GEMM's folds and starts the array."""

    def __init__(self, dut, spec: SystolicArraySpec, plan):
        self.dut, self.spec, self.plan = dut, spec, plan

    async def write(self, sel: int, addr: int, lanes):
        self.dut.ld_en.value = 1
        self.dut.ld_sel.value = sel
        self.dut.ld_addr.value = addr
        self.dut.ld_data.value = _pack(lanes, self.spec.data_bits)
        await RisingEdge(self.dut.clk)
        self.dut.ld_en.value = 0

    async def load(self):
        plan, t_len = self.plan, self.plan.stream.shape[1]
        for f in range(plan.folds):
            for step in range(t_len):
                await self.write(0, f * t_len + step, plan.stream[plan.fold_stream[f], step])
            if plan.dataflow == "os":
                for step in range(t_len):
                    await self.write(1, f * t_len + step, plan.top[plan.fold_top[f], step])
            else:
                for r in range(self.spec.rows):
                    await self.write(1, f * self.spec.rows + r, plan.stationary[f, r])

    async def start(self):
        self.dut.cfg_folds.value = self.plan.folds
        self.dut.cfg_t.value = self.plan.stream.shape[1]
        self.dut.start.value = 1
        await RisingEdge(self.dut.clk)  # start is sampled here: cycle 0 begins
        self.dut.start.value = 0


class Monitor:
    """Samples every output port each cycle; returns [(cycle, port, value)] and the cycle done was seen."""

    def __init__(self, dut, n_ports: int, acc_bits: int):
        self.dut, self.n_ports, self.acc_bits = dut, n_ports, acc_bits

    async def collect(self, max_cycles: int):
        events, cycle = [], 0
        while cycle <= max_cycles:
            await FallingEdge(self.dut.clk)
            valid = int(self.dut.out_valid.value)
            if valid:
                bits = str(self.dut.out_data.value)  # MSB first; lanes that are not valid may hold X
                width = self.acc_bits
                for port in range(self.n_ports):
                    if valid >> port & 1:
                        lane = bits[len(bits) - (port + 1) * width:len(bits) - port * width]
                        value = _signed(int(lane, 2), width) if set(lane) <= {"0", "1"} else lane
                        events.append((cycle, port, value))
            if int(self.dut.done.value):
                return events, cycle
            await RisingEdge(self.dut.clk)
            cycle += 1
        return events, None


def check(spec: SystolicArraySpec, plan, events, done_cycle, a, b):
    """Compare the RTL's outputs with the kernel's; return (rtl_cycles, sim_cycles, values_match, detail)."""
    R, C = spec.rows, spec.cols
    n_folds = plan.folds
    folds = np.arange(n_folds, dtype=np.int64)
    problems = []
    shift = spec.drain in ("shift", "shadow_shift")
    ua = kernel_parameters(spec)
    if plan.dataflow == "os":
        out, out_cycle, _, total, _, _ = os_kernel(ua, plan.stream, plan.fold_stream, plan.top, plan.fold_top,
                                                   plan.rows_used, plan.cols_used)
        if shift:  # port j = bottom of column j: every fold's rows in the order they leave
            order = {p: sorted((int(out_cycle[f, i, p]), f, i) for f in range(n_folds) for i in range(R))
                     for p in range(C)}
            expected = {p: [(c, int(out[f, i, p])) for c, f, i in order[p]] for p in range(C)}
        else:
            expected = {p: [(int(out_cycle[f, p // C, p % C]), int(out[f, p // C, p % C])) for f in range(n_folds)]
                        for p in range(R * C)}
    else:  # one accumulator slot per fold: compare every fold's partial sums
        out, out_cycle, _, total, _, _ = ws_kernel(ua, plan.stationary, plan.stream, plan.fold_stream, n_folds,
                                                   folds, plan.rows_used, plan.cols_used)
        steps = out.shape[1]  # the stream's steps, padded ones included: their results leave the array too
        expected = {p: [(int(out_cycle[f, m, p]), int(out[f, m, p])) for f in range(n_folds) for m in range(steps)]
                    for p in range(C)}
    observed = {p: [] for p in expected}
    for cycle, port, value in events:
        observed[port].append((cycle, value))
    values_ok = all(observed[p] == expected[p] for p in expected)
    if not values_ok:
        bad = next(p for p in expected if observed[p] != expected[p])
        problems.append(f"port {bad}: rtl {observed[bad][:4]} vs sim {expected[bad][:4]}")
    # the GEMM assembled from the RTL's outputs must be A @ B
    rtl_vals = np.array([[v for _, v in observed[p]] for p in expected], dtype=np.int64) if values_ok else None
    if rtl_vals is not None:
        if plan.dataflow == "os" and shift:
            slots = np.zeros((n_folds, R, C), np.int64)
            for p in range(C):
                for (_, f, i), value in zip(order[p], rtl_vals[p], strict=True):
                    slots[f, i, p] = value
        elif plan.dataflow == "os":
            slots = rtl_vals.T.reshape(n_folds, R, C)
        else:
            per_fold = rtl_vals.reshape(C, n_folds, -1).transpose(1, 2, 0)
            slots = np.zeros((plan.n_out,) + per_fold.shape[1:], np.int64)
            for f in range(n_folds):
                slots[plan.fold_out[f]] += per_fold[f]
        if not np.array_equal(assemble_output(spec, plan, slots, a.shape[0], b.shape[1]), a @ b):
            problems.append("assembled RTL result differs from numpy A @ B")
    rtl_cycles = max((c for c, _, _ in events), default=-1)
    if done_cycle != rtl_cycles:
        problems.append(f"done in cycle {done_cycle}, last output in cycle {rtl_cycles}")
    return rtl_cycles, int(total), not problems, "; ".join(problems)


@cocotb.test()
async def systolic_array_matches_kernel(dut):
    config = _active_config()
    spec = SystolicArraySpec(**config["spec"])
    rng = np.random.default_rng(config["seed"])
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.ld_en.value = 0
    dut.start.value = 0
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    n_ports = spec.cols if spec.dataflow != "os" or spec.drain in ("shift", "shadow_shift") else spec.pes
    totals = [0, 0]
    ok, details = True, []
    for _ in range(config["ops"]):  # back-to-back GEMMs, new data each time
        a = rng.integers(-128, 128, (config["m"], config["k"]))
        b = rng.integers(-128, 128, (config["k"], config["n"]))
        plan = plan_folds(spec, a, b)
        driver = Driver(dut, spec, plan)
        await driver.load()
        await driver.start()
        events, done_cycle = await Monitor(dut, n_ports, spec.acc_bits).collect(max_cycles=100_000)
        rtl_cycles, sim_cycles, match, detail = check(spec, plan, events, done_cycle, a, b)
        totals[0] += rtl_cycles
        totals[1] += sim_cycles
        ok = ok and match and rtl_cycles == sim_cycles
        if detail:
            details.append(detail)
        await RisingEdge(dut.clk)
    result = {"rtl_cycles": totals[0], "sim_cycles": totals[1], "values_match": ok, "detail": "; ".join(details)}
    path = os.environ.get("EINSIM_COSIM_RESULT")
    if path:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(result, fh)
    assert ok, result

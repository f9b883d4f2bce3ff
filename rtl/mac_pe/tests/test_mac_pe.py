"""cocotb bench of rtl/mac_pe against the register-level kernel (sim/kernels/mac_pe.py).

Driver: back-to-back dot products (the first element of each with clr), with random bubbles (en = 0) and stray
clears. Monitor: the accumulator in every cycle (cycle 0 = first driven cycle). Checker: the whole per-cycle trace
equals the kernel's; cycles = the cycle in which the last dot product's result (numpy) is first visible.
"""

from __future__ import annotations

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from einsim.arch.systolic import SystolicArraySpec
from einsim.sim.kernels.mac_pe import mac_pe_kernel

TOPLEVEL = "mac_pe"


def _config(name, *, acc_bits=32, ops=6, max_len=12, bubble=0.2, stray_clear=0.0, seed=1):
    spec = SystolicArraySpec(rows=1, cols=1, acc_bits=acc_bits)
    params = {k: v for k, v in spec.verilog_parameters().items() if k in ("DATA_W", "ACC_W")}
    return {"name": name, "parameters": params, "acc_bits": acc_bits, "data_bits": spec.data_bits, "ops": ops,
            "max_len": max_len, "bubble": bubble, "stray_clear": stray_clear, "seed": seed}


CONFIGS = [
    _config("dots_back_to_back", ops=8, bubble=0.0),
    _config("dots_with_bubbles", ops=6, bubble=0.3, stray_clear=0.5, seed=2),
    _config("acc16_wraps", acc_bits=16, ops=3, max_len=40, bubble=0.1, seed=3),
]


def stimulus(config):
    """Per-cycle (a, b, en, clr) and the numpy result of the last dot product."""
    rng = np.random.default_rng(config["seed"])
    lo, hi = -(1 << (config["data_bits"] - 1)), 1 << (config["data_bits"] - 1)
    rows, last = [], 0
    for _ in range(config["ops"]):
        length = int(rng.integers(1, config["max_len"] + 1))
        first, dot = True, 0
        while length:
            if not first and rng.random() < config["bubble"]:
                rows.append((int(rng.integers(lo, hi)), int(rng.integers(lo, hi)), 0, 0))  # bubble
                continue
            a, b = int(rng.integers(lo, hi)), int(rng.integers(lo, hi))
            rows.append((a, b, 1, int(first)))
            dot += a * b
            first, length = False, length - 1
        if rng.random() < config["stray_clear"]:
            rows.append((0, 0, 0, 1))  # a lone clear between dot products
        last = dot
    arr = np.array(rows, dtype=np.int64)
    mask = (1 << config["acc_bits"]) - 1
    last = last & mask
    last = last - (1 << config["acc_bits"]) if last >> (config["acc_bits"] - 1) else last
    return arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], last


@cocotb.test()
async def mac_pe_matches_kernel(dut):
    raw = os.environ.get("EINSIM_COSIM_CONFIG")
    config = json.loads(raw) if raw else CONFIGS[0]
    a, b, en, clr, last = stimulus(config)
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.en.value = 0
    dut.clr.value = 0
    await RisingEdge(dut.clk)
    await RisingEdge(dut.clk)
    dut.rst.value = 0
    width = config["acc_bits"]
    trace = []
    n = len(a)
    for t in range(n + 2):  # Driver drives cycle t's inputs; Monitor samples acc mid-cycle
        await FallingEdge(dut.clk)
        value = int(dut.acc.value)
        trace.append(value - (1 << width) if value >> (width - 1) else value)
        if t < n:
            dut.a.value = int(a[t]) & 0xFF
            dut.b.value = int(b[t]) & 0xFF
            dut.en.value = int(en[t])
            dut.clr.value = int(clr[t])
        else:
            dut.en.value = 0
            dut.clr.value = 0
        await RisingEdge(dut.clk)
    # trace[t] = acc visible in cycle t, sampled before cycle t's inputs reach the register
    rtl = np.array(trace, dtype=np.int64)
    sim = mac_pe_kernel(a, b, en, clr, width)
    last_input = int(np.flatnonzero(en)[-1])
    rtl_cycles = next((t for t in range(last_input + 1, len(rtl)) if rtl[t] == last), -1)
    sim_cycles = next((t for t in range(last_input + 1, len(sim)) if sim[t] == last), -1)
    match = bool(np.array_equal(rtl[:n + 1], sim))
    detail = "" if match else f"first difference in cycle {int(np.flatnonzero(rtl[:n + 1] != sim)[0])}"
    result = {"rtl_cycles": rtl_cycles, "sim_cycles": sim_cycles, "values_match": match, "detail": detail}
    path = os.environ.get("EINSIM_COSIM_RESULT")
    if path:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(result, fh)
    assert match and rtl_cycles == sim_cycles, result

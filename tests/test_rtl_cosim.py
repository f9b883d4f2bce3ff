"""RTL co-simulation: every (block, config) from rtl.cosim must match the simulator exactly (values and cycles).

Needs Icarus Verilog. Without it the tests skip, except under `make test` (EINSIM_REQUIRE_RTL=1) or CI, where they fail.
"""

from __future__ import annotations

import os

import pytest

from einsim.rtl import cosim

CASES = [(block, config) for block in cosim.BLOCKS for config in cosim.configs(block)]


@pytest.mark.rtl
@pytest.mark.parametrize(("block", "config"), CASES, ids=[f"{b}-{c['name']}" for b, c in CASES])
def test_rtl_matches_simulator(block, config):
    if not cosim.simulator_available():
        message = "Icarus Verilog (iverilog, vvp) is not on PATH; install it with `make iverilog`"
        if os.environ.get("EINSIM_REQUIRE_RTL") == "1" or os.environ.get("CI"):
            pytest.fail(message + " (EINSIM_REQUIRE_RTL=1)")
        pytest.skip(message)
    result = cosim.run(block, config)
    assert result.values_match, result.detail
    assert result.rtl_cycles == result.sim_cycles, result.detail


def test_harness_discovers_at_least_the_systolic_blocks():
    assert {"mac_pe", "systolic_array"} <= set(cosim.BLOCKS)
    assert all(isinstance(c["name"], str) and isinstance(c["parameters"], dict)
               for b in cosim.BLOCKS for c in cosim.configs(b))


def test_unknown_block_is_reported():
    with pytest.raises(ValueError, match="block must be one of"):
        cosim.configs("no_such_block")

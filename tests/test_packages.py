"""The packages import their names on first use; a name that is also a submodule stays the function it exports."""

import subprocess
import sys

import pytest


@pytest.mark.slow
def test_function_names_shadowing_submodules_stay_functions():
    code = ("import einsim.sim.evaluate, einsim.sim.simulate, einsim.workloads.passes\n"
            "from einsim.sim import evaluate, simulate\n"
            "from einsim.workloads import passes\n"
            "import einsim\n"
            "assert all(callable(f) for f in (evaluate, simulate, passes, einsim.evaluate, einsim.simulate))\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_a_bench_import_loads_no_spec_machinery():
    code = ("import sys\n"
            "from einsim.sim.kernels.mac_pe import mac_pe_kernel\n"
            "from einsim.sim.systolic_gemm import assemble_output\n"
            "from einsim.sim import dram, dram_timing, pim_gemv, vector_program\n"
            "heavy = {'pydantic', 'networkx', 'pandas', 'einsim.workloads.cascade'} & set(sys.modules)\n"
            "assert not heavy, heavy\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)

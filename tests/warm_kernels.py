"""Compile the Numba kernels into the on-disk cache once, before the test processes start.

Run by ``conftest.py`` at the start of a session, one process per group, so that the pytest-xdist workers find
every kernel compiled instead of each compiling the same kernel at once. ``python tests/warm_kernels.py GROUP``;
GROUP is ``plan`` (timing kernels, event engine, mapper, systolic and vector arrays) or ``dram`` (the DRAM controller,
about as long to compile as the rest together).
Output is discarded; a failure here is left for the tests to report.
"""

import contextlib
import io
import sys

import numpy as np

from einsim.analysis.cli import main

ATTENTION = ["--workload", "attention_1pass", "--arch", "fusemax", "--mapping", "binding", "--set", "B=1", "--set",
             "H=1", "--set", "M=1024", "--set", "P=1024", "--set", "E=64", "--set", "F=64"]
GROUPS = {
    "plan": [["evaluate", *ATTENTION], ["simulate", *ATTENTION],
             ["map", "--workload", "gemm", "--arch", "tests/data/array128.yaml", "--set", "M=256", "--set", "K=256",
              "--set", "N=256", "--seconds", "1"],
             ["kernel", "systolic", "--rows", "8", "--cols", "8", "--dataflow", "ws", "--m", "16", "--k", "16",
              "--n", "16"],
             "vector"],
    "dram": [["dram", "bench", "--preset", "hbm2", "--pattern", "stream", "--requests", "1000"],
             ["dram", "gemv", "--preset", "hbm2-pim", "--rows", "32", "--cols", "512"]],
}


def _vector_softmax():
    """A 1-pass softmax on an 8-lane vector PE array (the CLI has no vector command)."""
    from einsim.arch.vector_unit import VectorUnitSpec
    from einsim.sim import vector_program as vp

    beats = np.vstack([np.full(8, -(2.0 ** 14)), np.ones((4, 8))])
    vp.run(VectorUnitSpec(lanes=8), vp.online_softmax_program(2), beats)


if __name__ == "__main__":
    for step in GROUPS[sys.argv[1]]:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            with contextlib.suppress(BaseException):
                _vector_softmax() if step == "vector" else main(step)

import os
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# `make test` reruns the kernel tests with Numba's JIT off so that the kernels' Python source runs too; the kernels
# run as plain Python there (orders of magnitude slower), so that rerun draws fewer random examples per property.
settings.register_profile("nojit", max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
if os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"):
    settings.load_profile("nojit")
else:
    settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_sessionstart(session):
    """Compile the Numba kernels once, in parallel groups, before the xdist worker processes start (a run without
    workers compiles only the kernels its tests use, as they come)."""
    off = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0") or os.environ.get("EINSIM_WARM_KERNELS") == "0"
    workers = session.config.getoption("numprocesses", default=None)
    if off or not workers or hasattr(session.config, "workerinput"):
        return
    script = Path(__file__).with_name("warm_kernels.py")
    procs = [subprocess.Popen([sys.executable, str(script), group], cwd=script.parent.parent)
             for group in ("plan", "dram")]
    for proc in procs:
        try:
            proc.wait(timeout=600)
        except subprocess.TimeoutExpired:
            proc.kill()

import os

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

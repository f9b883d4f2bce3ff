# einsim — quick start: `make demo` runs the FuseMax study on defaults, `make test` runs the whole test suite.
VENV    ?= .venv
# einsim needs Python >= 3.12 (its CACTI component models do): the first of python3.12, pyenv's 3.12, python3.13,
# pyenv's 3.13, python3 that is new enough.
PYENV_PY := $(shell ls -d $$(pyenv root 2>/dev/null || echo $$HOME/.pyenv)/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -V)
PYTHON  ?= $(shell for p in python3.12 $(filter %/3.12%,$(PYENV_PY)) python3.13 $(PYENV_PY) python3; do \
             command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null \
             && { echo $$p; break; }; done)
BIN     := $(VENV)/bin
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Test processes run on every core (pytest-xdist); they, the co-simulations' simulator processes and later runs share
# one Numba cache inside the checkout (gitignored), so each kernel is compiled once. Numba checks only the source file
# of the function it caches, not of the kernels it calls, so the cache folder is named by a hash of all kernel sources.
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
KERNELS := $(shell cat sim/kernels/*.py | sha1sum | cut -c1-12)
export NUMBA_CACHE_DIR ?= $(CURDIR)/.cache/numba/$(KERNELS)

.PHONY: demo test check lint bench bench-smoke iverilog clean

$(BIN)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: einsim needs Python >= 3.12 (python3.12 on PATH or a pyenv 3.12); found none" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/python -m einsim.arch.components --ensure-cacti
	touch $@

demo: $(BIN)/.installed
	$(BIN)/einsim study fusemax --out out/fusemax

iverilog:
	@command -v iverilog >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq iverilog; }

lint: $(BIN)/.installed
	$(BIN)/ruff check .

# The kernels' plain-Python references stay honest: the kernel tests run once more with Numba's JIT off.
test: $(BIN)/.installed iverilog lint
	EINSIM_REQUIRE_RTL=1 $(BIN)/pytest -q -n $(JOBS) --dist worksteal
	NUMBA_DISABLE_JIT=1 $(BIN)/pytest -q -n $(JOBS) --dist worksteal -p no:cacheprovider -m "not rtl" tests/test_sim_*.py

# The inner loop: lint and every test but the RTL co-simulations (under a minute).
check: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/pytest -q -n $(JOBS) --dist worksteal -m "not rtl and not slow"

bench: $(BIN)/.installed
	$(BIN)/python -m benchmarks

bench-smoke: $(BIN)/.installed
	$(BIN)/python -m benchmarks --smoke

clean:
	rm -rf $(VENV) out sim_build .pytest_cache .cache

# einsim — quick start: `make demo` runs the FuseMax study on defaults, `make test` runs the whole test suite.
VENV    ?= .venv
PYTHON  ?= python3
BIN     := $(VENV)/bin
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint bench bench-smoke iverilog clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/einsim study fusemax --out out/fusemax

iverilog:
	@command -v iverilog >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq iverilog; }

lint: $(BIN)/.installed
	$(BIN)/ruff check .

# The kernels' plain-Python references stay honest: the kernel tests run once more with Numba's JIT off.
test: $(BIN)/.installed iverilog lint
	EINSIM_REQUIRE_RTL=1 $(BIN)/pytest -q
	NUMBA_DISABLE_JIT=1 $(BIN)/pytest -q -p no:cacheprovider -m "not rtl" tests/test_sim_*.py

bench: $(BIN)/.installed
	$(BIN)/python -m benchmarks

bench-smoke: $(BIN)/.installed
	$(BIN)/python -m benchmarks --smoke

clean:
	rm -rf $(VENV) out sim_build .pytest_cache

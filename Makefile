# lapicque -- the two commands: `make demo` and `make test`.
PYTHON ?= python3
# the suite runs in this many processes (pytest-xdist); 2 fits the 2-core CI machine
TEST_WORKERS ?= 2
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip

.PHONY: demo test bench bench-quick bench-network train clean install install-test

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/activate
	$(PIP) install -q -e ".[plot]"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/activate
	$(PIP) install -q -e ".[test,plot,examples]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## make demo: create .venv, install, run the main job (report in demo/)
demo: install
	MPLBACKEND=Agg $(PY) -m lapicque.cli demo --out demo

## make test: create .venv, install with test extras, run the whole suite
test: install-test
	MPLBACKEND=Agg $(PY) -m pytest -q -n $(TEST_WORKERS)

## make bench: benchmarks against the reference and other simulators (peers that fail to install are skipped)
bench: install-test
	-$(PIP) install -q "brian2" "numpy<2.4"
	-$(PIP) install -q nest-simulator
	-$(PIP) install -q "torch==2.13.0"
	-$(PIP) install -q snntorch norse
	-$(PY) -m benchmarks.peer_envs install
	MPLBACKEND=Agg $(PY) -m benchmarks

## make bench-quick: a two-minute smoke run of the benchmarks
bench-quick: install-test
	MPLBACKEND=Agg $(PY) -m benchmarks --quick --peers none

## make bench-network: the E/I network (COBA, CUBA; N = 4,000, 16,000; p = 0.02): the unchanged brainpy.state
## script on brainpy.state (1x) and on lapicque, simulate, Brian2 cpp_standalone and ANNarchy (own environments)
bench-network: install-test
	-$(PIP) install -q "brian2<2.10" "numpy<2.4"
	-$(PY) -m benchmarks.peer_envs install
	MPLBACKEND=Agg $(PY) -m benchmarks.network --sizes 4000,16000 --cuba-sizes 4000,16000 --conns p \
		--impls script,lapicque,brian2-standalone,brian2.11-standalone,annarchy --rounds 2

## make train: the digits classifier example
train: install-test
	$(PY) examples/train_digits.py

clean:
	rm -rf $(VENV) demo .pytest_cache

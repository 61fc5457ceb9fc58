# One entry point for everything. The virtual environment is created on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# With a CUDA device (nvidia-smi lists one) the gpu extra (CuPy) is installed too, so the gpu tests run.
EXTRAS ?= $(if $(shell nvidia-smi -L 2>/dev/null | grep -q GPU && echo yes),dev$(,)dist$(,)gpu,dev$(,)dist)
, := ,

.PHONY: all venv test test-slow figures appendix bench lint clean check mutate real

all: figures

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[$(EXTRAS)]'
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

check: $(STAMP)
	$(VENV)/bin/lab check

# Every code-level mutant (lab/mutants.py) against `lab check --quick`, each on its own patched copy
# and cache; MUTATE_JOBS subprocesses at a time.  Not part of `make test` (a sample of it is).
MUTATE_JOBS ?= 2
mutate: $(STAMP)
	$(VENV)/bin/lab mutate --n-jobs $(MUTATE_JOBS)

figures: $(STAMP)
	$(VENV)/bin/lab figures

# The verdict tables come from `lab check` (it reuses the experiments cached by `make figures`);
# a violated claim is reported in the appendix, so it must not stop the build.
appendix: $(STAMP)
	-$(VENV)/bin/lab check
	$(VENV)/bin/lab appendix

# Real data through lab.torch (digits MLP, char transformer on stdlib source): about 10-15 minutes cold
# on 2 cores, so not part of `make figures`; runs are cached one by one (an interrupted build resumes).
real: $(STAMP)
	$(VENV)/bin/lab figures --real
	-$(VENV)/bin/lab check --only S1-real S2-real

bench: $(STAMP)
	$(VENV)/bin/lab bench

lint: $(STAMP)
	$(VENV)/bin/ruff check lab problems bounds figures tests

clean:
	rm -rf build .pytest_cache .lab-cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

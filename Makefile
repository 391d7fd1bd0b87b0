# The few commands people type. `make setup` makes a virtual environment in .venv (Debian's
# system Python refuses pip installs) and installs the project into it; the other targets use
# .venv when it exists (CI installs into its own Python and has none). CGEC_DATA_DIR defaults to
# the workplace's data mirror.
CGEC_DATA_DIR ?= $(abspath ../shared/data)
export CGEC_DATA_DIR
VENV ?= .venv
PYTHON ?= $(if $(wildcard $(VENV)/bin/python),$(VENV)/bin/python,python3)

.PHONY: setup test test-all demo bench score-demo

setup:
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install -e '.[test,plot]'

# The fast loop (under 2 minutes on 2 cores): unit tests and small end-to-end ones, two at a time.
test:
	$(PYTHON) -m pytest -n 2 -m "not slow and not local"

# Everything, golden, slow end-to-end and browser tests included (CI runs this), two at a time.
test-all:
	$(PYTHON) -m pytest -n 2

demo:
	$(PYTHON) -m harness run --config configs/llm-stored.yaml

bench:
	$(PYTHON) bench/score_speed.py

score-demo:
	$(PYTHON) -m harness score --hyp llm-goodgap --ref nacgec-dev --by-type

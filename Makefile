# The few commands people type. CGEC_DATA_DIR defaults to the workplace's data mirror.
CGEC_DATA_DIR ?= $(abspath ../shared/data)
export CGEC_DATA_DIR
PYTHON ?= python3

.PHONY: setup test demo bench score-demo

setup:
	$(PYTHON) -m pip install -e '.[test,plot]'

test:
	$(PYTHON) -m pytest

demo:
	$(PYTHON) -m harness run --config configs/llm-stored.yaml

bench:
	$(PYTHON) bench/score_speed.py

score-demo:
	$(PYTHON) -m harness score --hyp llm-goodgap --ref nacgec-dev --by-type

# The few commands people type. CGEC_DATA_DIR defaults to the workplace's data mirror.
CGEC_DATA_DIR ?= $(abspath ../shared/data)
export CGEC_DATA_DIR
PYTHON ?= python3

.PHONY: setup test demo bench

setup:
	$(PYTHON) -m pip install -e '.[test]'

test:
	$(PYTHON) -m pytest

demo:
	$(PYTHON) -m harness score --hyp $(CGEC_DATA_DIR)/outputs/llm-goodgap.nacgec-dev.txt \
		--ref $(CGEC_DATA_DIR)/nacgec/nacgec.dev.ref.para --by-type

bench:
	$(PYTHON) bench/score_speed.py

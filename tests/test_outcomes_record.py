"""Outcome counts and over-correction figures in the run record's metrics.json (typed in
harness.record.models): read back by name, and refused when they do not add up to the items."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.core.errors import HarnessError
from harness.record.models import Metrics
from harness.record.store import parse_json
from metrics.outcomes import OUTCOMES

FIGURES = {"tp": 1, "fp": 2, "fn": 1, "precision": 0.3333, "recall": 0.5, "f0.5": 0.3571, "signature": "level:char"}
OUTCOME_COUNTS = {"kept-correct": 1, "over-corrected": 1, "fixed": 0, "partly-fixed": 1, "wrong-fix": 0, "missed": 0,
                  "unscored": 0}
OVER_CORRECTION = {"over_correction_share": 0.5, "fp_per_100_chars": 10.0, "fp_by_operation": {"S": 2}}


def metrics_text(items: int, outcomes: dict[str, int] | None = OUTCOME_COUNTS) -> str:
    char = {**FIGURES, **({"outcomes": outcomes, "over_correction": OVER_CORRECTION} if outcomes else {})}
    return json.dumps({"char": char, "items": items, "failed": 0, "complete": True})


def test_outcomes_read_back_by_name_in_the_order_of_the_docs() -> None:
    metrics = parse_json(Metrics, metrics_text(3), Path("metrics.json"))
    assert metrics.char.outcomes.by_name() == OUTCOME_COUNTS
    assert list(metrics.char.outcomes.by_name()) == list(OUTCOMES)
    assert metrics.char.outcomes.total == 3
    assert metrics.char.over_correction.fp_by_operation == {"S": 2}
    dumped = metrics.model_dump(mode="json", by_alias=True)["char"]
    assert dumped["outcomes"] == OUTCOME_COUNTS and dumped["over_correction"] == OVER_CORRECTION


def test_outcomes_that_do_not_add_up_to_the_items_are_one_error_naming_the_level() -> None:
    with pytest.raises(HarnessError) as error:
        parse_json(Metrics, metrics_text(4), Path("metrics.json"))
    assert str(error.value).count("\n") == 0
    assert "char.outcomes: they add up to 3 sentences, not the 4 items scored" in str(error.value)


def test_an_unknown_outcome_is_refused() -> None:
    with pytest.raises(HarnessError, match="unknown key"):
        parse_json(Metrics, metrics_text(3, {**OUTCOME_COUNTS, "rewritten": 0}), Path("metrics.json"))


def test_a_record_scored_before_outcomes_were_stored_still_reads() -> None:
    assert parse_json(Metrics, metrics_text(3, None), Path("metrics.json")).char.outcomes is None

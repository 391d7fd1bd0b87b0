"""The pure sentence-level and spelling-check metrics of the benchmark suite (metrics/sentence.py,
metrics/csc.py), on small hand-written cases."""

from __future__ import annotations

import pytest

from metrics.csc import csc_scores
from metrics.sentence import binary_detection, exact_match


def test_exact_match_counts_a_hypothesis_equal_to_any_reference() -> None:
    result = exact_match(["甲", "乙", "丙"], [("甲",), ("丁", "乙"), ("戊",)])
    assert (result.matched, result.total) == (2, 3)
    assert result.rate == pytest.approx(2 / 3)


def test_exact_match_leaves_out_a_sentence_without_references() -> None:
    assert exact_match(["甲", "乙"], [("甲",), ()]).as_dict() == {"matched": 1, "total": 1, "rate": 1.0}


def test_binary_detection_figures() -> None:
    # predicted erroneous / gold erroneous: tp 2, fp 1, fn 1, tn 1
    result = binary_detection([True, True, True, False, False], [True, True, False, True, False])
    assert (result.tp, result.fp, result.fn, result.tn) == (2, 1, 1, 1)
    assert result.precision == pytest.approx(2 / 3)
    assert result.recall == pytest.approx(2 / 3)
    assert result.f1 == pytest.approx(2 / 3)
    assert result.accuracy == pytest.approx(3 / 5)
    assert result.macro_f1 == pytest.approx((2 / 3 + 0.5) / 2)


def test_binary_detection_with_no_predictions_is_zero_not_an_error() -> None:
    result = binary_detection([False, False], [True, False])
    assert (result.precision, result.recall, result.f1) == (0.0, 0.0, 0.0)


def test_csc_sentence_and_char_levels_as_cscd_ns_defines_them() -> None:
    sources = ["我门好", "天气很号", "今天晴"]
    targets = ["我们好", "天气很好", "今天晴"]
    # 1: right; 2: a wrong character at the right place; 3: over-correction of a correct sentence
    predictions = ["我们好", "天气很豪", "今天情"]
    result = csc_scores(sources, targets, predictions)
    assert (result.sentence_detection.right, result.sentence_detection.predicted, result.sentence_detection.gold) == (2, 3, 2)
    assert (result.sentence_correction.right, result.sentence_correction.predicted,
            result.sentence_correction.gold) == (1, 3, 2)
    assert (result.char_detection.right, result.char_detection.predicted, result.char_detection.gold) == (2, 3, 2)
    assert (result.char_correction.right, result.char_correction.predicted, result.char_correction.gold) == (1, 3, 2)
    assert result.sentence_correction.f1 == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))
    assert result.length_mismatch == ()


def test_csc_detection_needs_exactly_the_erroneous_positions() -> None:
    result = csc_scores(["我门好人"], ["我们好人"], ["我们好仁"])
    assert result.sentence_detection.right == 0  # one extra position changed
    assert result.char_detection.right == 1 and result.char_detection.predicted == 2


def test_csc_output_of_another_length_is_counted_and_never_right() -> None:
    result = csc_scores(["我门好", "天气好"], ["我们好", "天气好"], ["我们很好", "天气好"])
    assert result.length_mismatch == (0,)
    assert (result.sentence_detection.right, result.sentence_detection.predicted, result.sentence_detection.gold) == (0, 1, 1)
    assert (result.char_detection.right, result.char_detection.predicted, result.char_detection.gold) == (0, 0, 1)


def test_csc_refuses_a_gold_pair_of_unequal_length() -> None:
    with pytest.raises(ValueError, match="pair 1"):
        csc_scores(["我门"], ["我们好"], ["我们"])

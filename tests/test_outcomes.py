"""Sentence outcomes, marks, CLEME2.0 chunks and over-correction figures (docs/outcomes.md)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics.chunks import ChunkCounts, chunk_counts, merged_intervals
from metrics.compare import Counts, prf
from metrics.edit import Edit
from metrics.outcomes import (
    FIXED, KEPT_CORRECT, MEANINGS, MISSED, OUTCOMES, OVER_CORRECTED, PARTLY_FIXED, UNSCORED, WRONG_FIX, classify,
    classify_all, corpus_figures, outcome_counts, parse_edit_text, sentence_marks,
)
from metrics.overcorrection import (
    SentenceFacts, f_beta, false_positives_by_type, figure, figure_values, paired_bootstrap, paired_figure_difference,
    ratio, resample_weights,
)
from metrics.score import SentenceScore

# --------------------------------------------------------------------------------------------
# Outcomes from counts


@pytest.mark.parametrize("ref, tp, fp, fn, outcome", [
    (0, 0, 0, 0, KEPT_CORRECT),
    (0, 0, 2, 0, OVER_CORRECTED),
    (1, 2, 0, 0, FIXED),
    (0, 1, 1, 0, PARTLY_FIXED),
    (0, 1, 0, 1, PARTLY_FIXED),
    (0, 0, 1, 1, WRONG_FIX),
    (0, 0, 0, 3, MISSED),
    (None, 0, 0, 0, UNSCORED),
])
def test_each_outcome_is_read_from_the_counts_against_the_chosen_reference(ref, tp, fp, fn, outcome) -> None:
    assert classify(ref, tp, fp, fn) == outcome


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        classify(0, -1, 0, 0)


sentence_counts = st.tuples(st.one_of(st.none(), st.integers(0, 3)), st.integers(0, 5), st.integers(0, 5),
                            st.integers(0, 5))


@given(st.lists(sentence_counts, max_size=60))
def test_outcome_counts_add_up_to_the_sentence_count(rows) -> None:
    sentences = [SentenceScore(ref, tp, fp, fn) for ref, tp, fp, fn in rows]
    counts = outcome_counts(classify_all(sentences))
    assert list(counts) == list(OUTCOMES)
    assert sum(counts.values()) == len(rows)


@given(sentence_counts)
def test_outcomes_agree_with_the_counts(row) -> None:
    ref, tp, fp, fn = row
    outcome = classify(ref, tp, fp, fn)
    if outcome in (KEPT_CORRECT, OVER_CORRECTED):
        assert tp + fn == 0  # the chosen reference has no edits
    if outcome in (OVER_CORRECTED, WRONG_FIX):
        assert fp > 0 and tp == 0
    if outcome in (KEPT_CORRECT, MISSED):
        assert tp + fp == 0  # the hypothesis has no edits
    if outcome == FIXED:
        assert tp > 0 and fp == fn == 0


# --------------------------------------------------------------------------------------------
# Marks


def test_marks_say_which_edits_matched_the_chosen_reference() -> None:
    marks = sentence_marks(["2 3 得 S", "5 5 了 M"], ["2 3 得 S", "7 8 -NONE- R"])
    assert [(m.kind, m.start, m.end, m.correction, m.types) for m in marks] == [
        ("tp", 2, 3, "得", ("S",)), ("fp", 5, 5, "了", ("M",)), ("missed", 7, 8, "", ("R",))]


def test_an_edit_text_of_another_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="compared edit"):
        parse_edit_text("2 3 S 得 S")


# --------------------------------------------------------------------------------------------
# CLEME2.0 chunks

SOURCE = tuple("abcdef")


def _edit(start: int, end: int, correction: str) -> Edit:
    return Edit(start, end, "S", tuple(correction))


@pytest.mark.parametrize("hyp, ref, expected", [
    ([_edit(1, 2, "x")], [_edit(1, 2, "x")], ChunkCounts(hit=1)),
    ([_edit(1, 2, "y")], [_edit(1, 2, "x")], ChunkCounts(wrong=1)),
    ([_edit(3, 4, "y")], [], ChunkCounts(over=1)),
    ([], [_edit(4, 5, "")], ChunkCounts(under=1)),
    ([_edit(1, 2, "x"), _edit(2, 3, "y")], [_edit(1, 3, "xy")], ChunkCounts(hit=1)),  # one fix, two alignments
    ([_edit(1, 3, "xy")], [_edit(2, 3, "y")], ChunkCounts(wrong=1)),  # rewrote more than needed
    ([_edit(2, 2, "z")], [_edit(1, 2, "q")], ChunkCounts(wrong=1)),  # an insertion touching an edit joins its chunk
    ([_edit(0, 1, "x"), _edit(4, 5, "w")], [_edit(0, 1, "x")], ChunkCounts(hit=1, over=1)),
])
def test_chunks_are_merged_spans_classified_as_cleme2_defines_them(hyp, ref, expected) -> None:
    assert chunk_counts(SOURCE, hyp, ref) == expected


def test_overlapping_and_touching_spans_merge_into_one_chunk() -> None:
    assert merged_intervals([_edit(1, 2, "x")], [_edit(2, 2, "y"), _edit(4, 5, "")]) == [(1, 2), (4, 5)]


def test_chunk_rates_follow_cleme2() -> None:
    rates = ChunkCounts(hit=2, wrong=1, under=1, over=4).rates()
    assert rates == {"hit": 0.5, "wrong": 0.25, "under": 0.25, "over": 4 / 7}


# --------------------------------------------------------------------------------------------
# Figures and the paired bootstrap


def _facts(outcome: str, tp: int, fp: int, fn: int, chars: int = 10) -> SentenceFacts:
    return SentenceFacts(outcome, tp, fp, fn, chars)


def test_over_correction_figures_are_ratios_of_sums() -> None:
    facts = [_facts(KEPT_CORRECT, 0, 0, 0), _facts(OVER_CORRECTED, 0, 2, 0, 20), _facts(MISSED, 0, 0, 1, 30),
             _facts(KEPT_CORRECT, 0, 0, 0, 40)]
    assert figure("over_correction_share", facts) == pytest.approx(1 / 3)
    assert figure("fp_per_100_chars", facts) == pytest.approx(2.0)
    assert figure("over_correction_share", facts[2:3]) is None  # no error-free sentence: no figure


def test_the_corpus_figures_of_metrics_json_are_the_figures_of_the_sentences() -> None:
    facts = [_facts(KEPT_CORRECT, 0, 0, 0, 7), _facts(OVER_CORRECTED, 0, 3, 0, 13), _facts(PARTLY_FIXED, 1, 2, 1, 31),
             _facts(OVER_CORRECTED, 0, 1, 0, 9), _facts(UNSCORED, 0, 0, 0, 5)]
    counts = outcome_counts(f.outcome for f in facts)
    figures = corpus_figures(counts, sum(f.fp for f in facts), sum(f.source_chars for f in facts), {"S": 4, "M": 0})
    assert figures == {"over_correction_share": round(figure("over_correction_share", facts), 4),
                       "fp_per_100_chars": round(figure("fp_per_100_chars", facts), 4), "fp_by_operation": {"S": 4}}
    assert figures["over_correction_share"] == round(2 / 3, 4) and figures["fp_per_100_chars"] == round(600 / 65, 4)


def test_corpus_figures_are_none_where_undefined_and_untyped_methods_have_no_operations() -> None:
    figures = corpus_figures(outcome_counts([MISSED]), 0, 0, None)
    assert figures == {"over_correction_share": None, "fp_per_100_chars": None}


def test_every_outcome_has_a_meaning_to_print() -> None:
    assert list(MEANINGS) == list(OUTCOMES)


def test_false_positives_are_counted_by_operation_and_by_type() -> None:
    types = [{"S:NOUN": (1, 2, 0), "M:VERB": (0, 1, 1)}, {"S:VERB": (0, 1, 0), "R:OTHER": (0, 0, 1)}]
    assert false_positives_by_type(types, tier=1) == {"M": 1, "S": 3}
    assert false_positives_by_type(types, tier=3) == {"M:VERB": 1, "S:NOUN": 2, "S:VERB": 1}


def test_f_beta_is_prf_elementwise() -> None:
    rows = [(0, 0, 0), (3, 1, 2), (0, 4, 0), (5, 0, 7), (2, 9, 1)]
    expected = [prf(Counts(*row))[2] for row in rows]
    assert f_beta(0.5)(np.array(rows, dtype=float)).tolist() == expected


def test_paired_bootstrap_of_a_run_with_itself_is_zero() -> None:
    values = np.array([[1, 1], [0, 1], [0, 0], [2, 3]], dtype=float)
    difference = paired_bootstrap(values, values, ratio(), resamples=200, seed=3)
    assert (difference.difference, difference.interval.lo, difference.interval.hi) == (0.0, 0.0, 0.0)
    assert difference.a_higher_share == 0.0


def test_paired_bootstrap_is_deterministic_and_brackets_a_clear_difference() -> None:
    rng = np.random.default_rng(1)
    a = np.stack([rng.integers(0, 3, 300), np.full(300, 10)], axis=1).astype(float)
    b = np.stack([a[:, 0] + 1, np.full(300, 10)], axis=1)
    first = paired_bootstrap(b, a, ratio(100.0), resamples=300, seed=7)
    again = paired_bootstrap(b, a, ratio(100.0), resamples=300, seed=7)
    assert first == again
    assert first.difference == pytest.approx(10.0)
    assert first.interval.lo == pytest.approx(10.0) and first.interval.hi == pytest.approx(10.0)
    assert first.a_higher_share == 1.0


def test_resamples_are_those_of_harness_compare() -> None:
    comparison = pytest.importorskip("harness.reports.comparison")
    draw = getattr(comparison, "_resample_weights", None)
    if draw is None:
        pytest.skip("harness compare no longer exposes its resampling")
    assert np.array_equal(resample_weights(57, 20, 4), draw(57, 20, 4))


def test_paired_figure_difference_refuses_runs_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="same sentences"):
        paired_figure_difference("fp_per_100_chars", [_facts(MISSED, 0, 0, 1)], [], resample_weights(1, 5))


def test_figure_values_have_one_row_per_sentence() -> None:
    assert figure_values("f0.5", []).shape == (0, 3)
    assert figure_values("chunk_over", [_facts(FIXED, 1, 0, 0)]).tolist() == [[0.0, 0.0]]


# --------------------------------------------------------------------------------------------
# Through the scorer (needs the data mirror's lexical resources)

HAND_BUILT = [  # (source, hypothesis, references, outcome)
    ("我今天去了学校。", "我今天去了学校。", ["我今天去了学校。"], KEPT_CORRECT),
    ("我今天去了学校。", "我今天去学校了。", ["我今天去了学校。"], OVER_CORRECTED),
    ("他跑的很快。", "他跑得很快。", ["他跑得很快。"], FIXED),
    ("他跑的很快，我走的很慢。", "他跑得很快，我走的很慢。", ["他跑得很快，我走得很慢。"], PARTLY_FIXED),
    ("他跑的很快。", "她跑的很快。", ["他跑得很快。"], WRONG_FIX),
    ("他跑的很快。", "他跑的很快。", ["他跑得很快。"], MISSED),
    ("这句话无法改。", "这句话无法改。", ["无法标注"], UNSCORED),
    ("他跑的很快。", "他 跑的很快。", ["他跑得很快。"], MISSED),  # whitespace only: not a change
]


def test_every_outcome_occurs_on_the_hand_built_set_as_the_docs_define_it(shared_data, tmp_path) -> None:
    from harness.data.manifest import DataSettings
    from harness.scoring.corpus import score_corpus

    settings = DataSettings(data_dir=shared_data, cache_dir=tmp_path)
    sources, hypotheses, references, expected = (list(column) for column in zip(*HAND_BUILT))
    score = score_corpus(sources, hypotheses, references, "char", settings=settings, jobs=1)
    assert list(classify_all(score.per_sentence)) == expected
    assert set(expected) == set(OUTCOMES)


def test_a_score_json_carries_its_outcome_counts_and_over_correction_figures(shared_data, tmp_path) -> None:
    """What a run writes into metrics.json, computed with the scores."""
    from harness.data.manifest import DataSettings
    from harness.scoring.corpus import score_corpus

    settings = DataSettings(data_dir=shared_data, cache_dir=tmp_path)
    sources, hypotheses, references, expected = (list(column) for column in zip(*HAND_BUILT))
    payload = score_corpus(sources, hypotheses, references, "char", settings=settings, jobs=1).as_json()
    assert payload["outcomes"] == outcome_counts(expected)
    assert sum(payload["outcomes"].values()) == len(HAND_BUILT)
    characters = sum(len(s.replace(" ", "")) for s in sources)
    assert payload["over_correction"] == {
        "over_correction_share": 0.5, "fp_per_100_chars": round(100 * payload["fp"] / characters, 4),
        "fp_by_operation": {name: c["fp"] for name, c in payload["by_type"].items() if c["fp"]}}


def test_outcome_counts_on_nacgec_dev_with_the_stored_llm_outputs(shared_data, tmp_path) -> None:
    from harness.data.inputs import load_hypotheses, load_references
    from harness.data.manifest import DataSettings, resolve_input
    from harness.scoring.corpus import score_corpus

    settings = DataSettings(data_dir=shared_data, cache_dir=tmp_path)
    references = load_references(resolve_input("nacgec-dev", settings, "references"))
    hypotheses = load_hypotheses(resolve_input("llm-goodgap", settings, "outputs"), references, False)
    score = score_corpus(hypotheses.sources, hypotheses.sentences, references.targets, "char", settings=settings)
    counts = outcome_counts(classify_all(score.per_sentence))
    assert sum(counts.values()) == len(references.sources) == 500
    assert counts == {KEPT_CORRECT: 9, OVER_CORRECTED: 9, FIXED: 9, PARTLY_FIXED: 26, WRONG_FIX: 272, MISSED: 175,
                      UNSCORED: 0}
    payload = score.as_json()
    assert payload["outcomes"] == counts
    assert payload["over_correction"] == {"over_correction_share": 0.5, "fp_per_100_chars": 2.9222,
                                          "fp_by_operation": {"M": 221, "R": 220, "S": 364, "W": 16}}

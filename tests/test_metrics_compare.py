"""ChERRANT's compare step (SCORING.md section 7): pooling, TP/FP/FN, NA, best reference, P/R/F."""

from __future__ import annotations

import pytest

from metrics.compare import (
    Counts,
    PairCounts,
    choose_references,
    compare_pair,
    edit_dict,
    prf,
    sentence_pairs,
    total_counts,
)
from metrics.edit import Edit
from metrics.extract import Extractor
from metrics.m2 import format_block, read_m2
from metrics.score import collapse_type, type_totals
from metrics.zh.lexicon import Lexicon

NOOP_KEY = (-1, -1, "-NONE-")


def noop(annotator: int = 0) -> Edit:
    return Edit(-1, -1, "noop", (), annotator)


def na(annotator: int = 0) -> Edit:
    return Edit(-1, -1, "NA", (), annotator)


def pair(ref: int, tp: int, fp: int, fn: int, hyp: int = 0) -> PairCounts:
    return PairCounts(hyp, ref, Counts(tp, fp, fn), {})


# --- keys and pooling ------------------------------------------------------------------------


def test_edit_key_is_span_and_correction_without_spaces():
    assert Edit(2, 2, "M", ("G", "D", "P"), 0).key == (2, 2, "GDP")


def test_deletion_key_has_none_correction():
    assert Edit(1, 3, "R", (), 0).key == (1, 3, "-NONE-")


def test_edits_are_pooled_by_annotator():
    edits = [Edit(0, 1, "S", ("甲",), 0), Edit(2, 2, "M", ("乙",), 1)]
    assert edit_dict(edits) == {0: {(0, 1, "甲"): ["S"]}, 1: {(2, 2, "乙"): ["M"]}}


def test_same_edit_in_two_alignments_is_pooled_twice():
    # One annotator, alignments A0 and A1 both containing S 0..1 -> 甲: two entries.
    edits = [Edit(0, 1, "S", ("甲",), 0), Edit(3, 4, "R", (), 0), Edit(0, 1, "S", ("甲",), 0)]
    assert edit_dict(edits) == {0: {(0, 1, "甲"): ["S", "S"], (3, 4, "-NONE-"): ["R"]}}


def test_same_key_with_different_types_keeps_both_types():
    # W and S of the same span and correction (two alignments) share a key.
    edits = [Edit(0, 2, "W", ("乙", "甲"), 0), Edit(0, 2, "S", ("乙", "甲"), 0)]
    assert edit_dict(edits) == {0: {(0, 2, "乙甲"): ["W", "S"]}}


def test_no_edits_is_an_implicit_noop_of_annotator_zero():
    assert edit_dict([]) == {0: {NOOP_KEY: ["noop"]}}


def test_unk_edits_are_ignored_but_their_annotator_is_kept():
    assert edit_dict([Edit(0, 1, "UNK", (), 1)]) == {1: {}}


# --- counting ---------------------------------------------------------------------------------


def test_matching_edit_is_a_true_positive():
    counts, by_type = compare_pair({(0, 1, "甲"): ["S"]}, {(0, 1, "甲"): ["S"]})
    assert counts == Counts(1, 0, 0)
    assert by_type == {"S": [1, 0, 0]}


def test_edit_with_another_correction_is_a_false_positive_and_a_false_negative():
    counts, by_type = compare_pair({(0, 1, "甲"): ["S"]}, {(0, 1, "乙"): ["S"]})
    assert counts == Counts(0, 1, 1)
    assert by_type == {"S": [0, 1, 1]}


def test_type_does_not_matter_for_a_match():
    # Keys are span + correction; the types counted for a TP are the reference's.
    counts, by_type = compare_pair({(0, 2, "乙甲"): ["S"]}, {(0, 2, "乙甲"): ["W"]})
    assert counts == Counts(1, 0, 0)
    assert by_type == {"W": [1, 0, 0]}


def test_pooled_reference_duplicate_counts_two_true_positives():
    # TP += len(reference list) = 2, although the hypothesis has the edit once.
    counts, _ = compare_pair({(0, 1, "甲"): ["S"]}, {(0, 1, "甲"): ["S", "S"]})
    assert counts == Counts(2, 0, 0)


def test_pooled_hypothesis_duplicate_counts_one_true_positive_per_reference_entry():
    counts, _ = compare_pair({(0, 1, "甲"): ["S", "S"]}, {(0, 1, "甲"): ["S"]})
    assert counts == Counts(1, 0, 0)


def test_pooled_hypothesis_duplicate_counts_two_false_positives():
    counts, _ = compare_pair({(0, 1, "甲"): ["S", "S"]}, {NOOP_KEY: ["noop"]})
    assert counts == Counts(0, 2, 0)


def test_pooled_reference_duplicate_counts_two_false_negatives():
    counts, by_type = compare_pair({NOOP_KEY: ["noop"]}, {(0, 2, "乙甲"): ["W", "S"]})
    assert counts == Counts(0, 0, 2)
    assert by_type == {"W": [0, 0, 1], "S": [0, 0, 1]}


def test_noop_hypothesis_against_noop_reference_counts_nothing():
    counts, by_type = compare_pair({NOOP_KEY: ["noop"]}, {NOOP_KEY: ["noop"]})
    assert counts == Counts(0, 0, 0)
    assert by_type == {}


def test_noop_hypothesis_is_never_a_false_positive():
    counts, _ = compare_pair({NOOP_KEY: ["noop"]}, {(0, 1, "甲"): ["S"]})
    assert counts == Counts(0, 0, 1)


def test_noop_reference_is_never_a_false_negative():
    counts, _ = compare_pair({(0, 1, "甲"): ["S"]}, {NOOP_KEY: ["noop"]})
    assert counts == Counts(0, 1, 0)


# --- unannotatable references ------------------------------------------------------------------


def test_sentence_whose_only_reference_is_na_is_skipped():
    hyp = edit_dict([Edit(0, 1, "S", ("甲",), 0)])
    assert sentence_pairs(hyp, edit_dict([na()])) is None


def test_skipped_sentence_adds_nothing():
    sentences = [[pair(0, 1, 0, 0)], None, [pair(0, 0, 1, 0)]]
    choices = choose_references(sentences)
    assert choices[1] == PairCounts(0, None, Counts())
    assert total_counts(choices) == Counts(1, 1, 0)


def test_na_among_several_references_is_a_false_negative_when_the_hypothesis_has_edits():
    # Reference 0 is NA, reference 1 has an edit. Against the NA reference the hypothesis edit
    # is a FP and the NA key (-1, -1, -NONE-) is missing from the hypothesis: FN 1.
    hyp = edit_dict([Edit(3, 4, "R", (), 0)])
    ref = edit_dict([na(0), Edit(0, 1, "S", ("甲",), 1)])
    pairs = sentence_pairs(hyp, ref)
    assert [(p.hyp, p.ref, p.counts) for p in pairs] == [(0, 0, Counts(0, 1, 1)), (0, 1, Counts(0, 1, 1))]


def test_na_among_several_references_counts_nothing_when_the_hypothesis_has_no_edits():
    # The implicit noop has the NA's key: the NA is found, the noop is not counted.
    ref = edit_dict([na(0), Edit(0, 1, "S", ("甲",), 1)])
    pairs = sentence_pairs(edit_dict([]), ref)
    assert [(p.ref, p.counts) for p in pairs] == [(0, Counts(0, 0, 0)), (1, Counts(0, 0, 1))]


def test_every_hypothesis_annotator_meets_every_reference_annotator():
    hyp = edit_dict([Edit(0, 1, "S", ("甲",), 0), Edit(0, 1, "S", ("乙",), 1)])
    ref = edit_dict([Edit(0, 1, "S", ("甲",), 0), Edit(0, 1, "S", ("乙",), 1)])
    assert [(p.hyp, p.ref, p.counts) for p in sentence_pairs(hyp, ref)] == [
        (0, 0, Counts(1, 0, 0)), (0, 1, Counts(0, 1, 1)), (1, 0, Counts(0, 1, 1)), (1, 1, Counts(1, 0, 0))]


# --- best reference ---------------------------------------------------------------------------


def test_best_reference_has_the_highest_f():
    # Nothing so far. (1,1,0): P .5 R 1 F .5556; (1,0,1): P 1 R .5 F .8333 -> reference 1.
    [choice] = choose_references([[pair(0, 1, 1, 0), pair(1, 1, 0, 1)]])
    assert (choice.ref, choice.counts) == (1, Counts(1, 0, 1))


def test_best_reference_uses_the_cumulative_counts_so_far():
    # Alone, (0,0,0) has F 1.0 and beats (1,1,0) with F .5556.
    [alone] = choose_references([[pair(0, 0, 0, 0), pair(1, 1, 1, 0)]])
    assert alone.ref == 0
    # After a sentence with counts (0,0,10): (0,0,10) has P 1, R 0 -> F 0, while (1,1,10) has
    # P .5, R 1/11 -> F = 1.25 * .5 * (1/11) / (.125 + 1/11) = .2632 -> reference 1.
    choices = choose_references([[pair(0, 0, 0, 10)], [pair(0, 0, 0, 0), pair(1, 1, 1, 0)]])
    assert choices[1].ref == 1
    assert total_counts(choices) == Counts(1, 1, 10)


def test_best_reference_f_is_rounded_to_four_places_before_the_tie_rules():
    # So far (300,100,200). Reference 0 adds (1,0,0): F = 5*301/(5*301+200+4*100) = 1505/2105
    # = .714964; reference 1 adds (2,0,2): F = 1510/2112 = .714962. Unrounded, reference 0 is
    # better; rounded both are .7150 and reference 1 wins on TP.
    choices = choose_references([[pair(0, 300, 100, 200)], [pair(0, 1, 0, 0), pair(1, 2, 0, 2)]])
    assert choices[1].ref == 1


def test_equal_f_goes_to_higher_tp():
    # (1,0,0) and (2,0,0) both have F 1.0 -> the second, with TP 2.
    [choice] = choose_references([[pair(0, 1, 0, 0), pair(1, 2, 0, 0)]])
    assert choice.ref == 1


def test_higher_tp_wins_an_f_tie_even_with_more_false_positives():
    # (1,0,2): F = 1.25 / (1.25 + .5) = .7143; (2,1,0): F = 2.5 / (2.5 + 1) = .7143.
    [choice] = choose_references([[pair(0, 1, 0, 2), pair(1, 2, 1, 0)]])
    assert choice.ref == 1


def test_equal_f_and_tp_goes_to_lower_fp():
    # (1,1,0): P .5 R 1 -> .5556; (1,0,4): P 1 R .2 -> .25/.45 = .5556 (rounded) -> lower FP.
    [choice] = choose_references([[pair(0, 1, 1, 0), pair(1, 1, 0, 4)]])
    assert choice.ref == 1


def test_equal_f_tp_and_fp_goes_to_lower_fn():
    # TP 0 and FP 1: P 0, R 0 -> F 0 for both -> lower FN.
    [choice] = choose_references([[pair(0, 0, 1, 2), pair(1, 0, 1, 1)]])
    assert choice.ref == 1


def test_complete_tie_goes_to_the_first_pair():
    [choice] = choose_references([[pair(0, 1, 1, 1), pair(1, 1, 1, 1)]])
    assert choice.ref == 0


def test_first_pair_is_taken_even_when_all_f_are_zero():
    [choice] = choose_references([[pair(0, 0, 2, 0), pair(1, 0, 3, 0)]])
    assert (choice.ref, choice.counts) == (0, Counts(0, 2, 0))


def test_chosen_pair_brings_its_hypothesis_annotator_and_types():
    pairs = [PairCounts(0, 0, Counts(0, 1, 0), {"S": [0, 1, 0]}),
             PairCounts(1, 0, Counts(1, 0, 0), {"W": [1, 0, 0]})]
    [choice] = choose_references([pairs])
    assert choice == PairCounts(1, 0, Counts(1, 0, 0), {"W": [1, 0, 0]})


def test_type_totals_by_first_letter_and_full_type():
    choices = [PairCounts(0, 0, Counts(2, 1, 0), {"S": [1, 0, 0], "W": [1, 1, 0]}),
               PairCounts(0, 0, Counts(0, 0, 1), {"S": [0, 0, 1]})]
    assert type_totals(c.by_type for c in choices) == {"S": Counts(1, 0, 1), "W": Counts(1, 1, 0)}
    word = [{"R:NOUN": [1, 0, 0], "M:NOUN": [0, 0, 1]}]
    assert type_totals(word, tier=1) == {"M": Counts(0, 0, 1), "R": Counts(1, 0, 0)}
    assert type_totals(word, tier=2) == {"NOUN": Counts(1, 0, 1)}
    assert type_totals(word, tier=3) == {"M:NOUN": Counts(0, 0, 1), "R:NOUN": Counts(1, 0, 0)}


def test_the_tier_collapse_keeps_unk_and_bare_operations():
    assert [collapse_type("R:NOUN", tier) for tier in (1, 2, 3)] == ["R", "NOUN", "R:NOUN"]
    assert [collapse_type("UNK", tier) for tier in (1, 2, 3)] == ["UNK", "UNK", "UNK"]
    assert [collapse_type("W", tier) for tier in (1, 2, 3)] == ["W", "", "W"]
    assert type_totals([{"UNK": Counts(0, 1, 0)}, {"UNK": (0, 0, 2)}]) == {"UNK": Counts(0, 1, 2)}


def test_counts_sum_and_unpack():
    assert Counts.sum([Counts(1, 2, 3), Counts(4, 5, 6)]) == Counts(5, 7, 9)
    assert Counts.sum([]) == Counts()
    tp, fp, fn = Counts(1, 2, 3)
    assert (tp, fp, fn) == (1, 2, 3)


# --- P, R, F -----------------------------------------------------------------------------------


def test_prf_ordinary_counts():
    # P = 3/4, R = 3/5, F0.5 = 1.25 * .75 * .6 / (.25 * .75 + .6) = .5625 / .7875 = .714285...
    p, r, f = prf(Counts(3, 1, 2))
    assert (p, r) == (0.75, 0.6)
    assert f == pytest.approx(0.5625 / 0.7875)


def test_prf_without_false_positives_has_precision_one():
    assert prf(Counts(0, 0, 3)) == (1.0, 0.0, 0.0)


def test_prf_without_false_negatives_has_recall_one():
    assert prf(Counts(0, 2, 0)) == (0.0, 1.0, 0.0)


def test_prf_of_nothing_is_perfect():
    assert prf(Counts(0, 0, 0)) == (1.0, 1.0, 1.0)


def test_prf_with_zero_precision_and_recall_has_f_zero():
    assert prf(Counts(0, 1, 1)) == (0.0, 0.0, 0.0)


def test_prf_beta_one_is_the_harmonic_mean():
    p, r, f = prf(Counts(1, 1, 3), beta=1.0)
    assert (p, r) == (0.5, 0.25)
    assert f == pytest.approx(2 * 0.5 * 0.25 / 0.75)


# --- through M2 text --------------------------------------------------------------------------


def test_edit_in_two_reference_alignments_counts_twice_end_to_end():
    # ， and 、 share a Cilin code, so ，、 -> 、， has two alignments with the same key
    # (0, 2, "、，"): W and S. The reference lists it twice; a hypothesis equal to the target has
    # it too -> TP = len(reference list) = 2.
    extractor = Extractor(Lexicon.from_texts("Aa01A01= ， 、", ""))
    ref_m2 = format_block(extractor.block("，、", ["、，"]))
    hyp_m2 = format_block(extractor.block("，、", ["、，"]))
    [ref] = read_m2(ref_m2)
    [hyp] = read_m2(hyp_m2)
    pairs = sentence_pairs(edit_dict(hyp.edits), edit_dict(ref.edits))
    [choice] = choose_references([pairs])
    assert choice.counts == Counts(2, 0, 0)
    assert choice.by_type == {"W": [1, 0, 0], "S": [1, 0, 0]}


def test_noop_hypothesis_block_against_an_edited_reference_end_to_end():
    extractor = Extractor(Lexicon())
    [ref] = read_m2(format_block(extractor.block("甲乙丙", ["甲丙"])))
    [hyp] = read_m2(format_block(extractor.block("甲乙丙", ["甲乙丙"])))
    [choice] = choose_references([sentence_pairs(edit_dict(hyp.edits), edit_dict(ref.edits))])
    assert choice.counts == Counts(0, 0, 1)

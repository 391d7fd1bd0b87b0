"""MaxMatch (M2Scorer) on hand-made sentences. Every expectation below is derived by hand from
how M2Scorer works (the reasoning is in the comments), not by running a scorer.

Reminders used in the derivations:
- the hypothesis edits are the arcs of a cheapest path through the edit lattice; an arc equal
  to a gold edit weighs -len(arc list) (very negative), any other edit arc its length plus
  0.001 per entry, an unchanged token 1; so a path through gold arcs wins whenever one exists;
- an arc may merge neighbouring edits across at most `max_unchanged_words` unchanged tokens;
- counting: the path's edits, left to right, are each compared with the gold list from just
  after the last gold edit matched (so gold order matters);
- P = C/E (1.0 when E = 0), R = C/G (1.0 when G = 0), F = 1.25 P R / (0.25 P + R) (0.0 when
  P = R = 0).
"""

from __future__ import annotations

import pytest

from metrics import maxmatch
from metrics.maxmatch import (
    GoldEdit,
    GoldSentence,
    HypothesisEdit,
    evaluate_sentence,
    parse_gold_m2,
    score,
)


@pytest.fixture(autouse=True, params=["python", "numpy"])
def lattice_kind(request, monkeypatch):
    """Run every case through both closure/path implementations (small and large lattices)."""
    monkeypatch.setattr(maxmatch, "SMALL_LATTICE", 10**9 if request.param == "python" else 0)
    return request.param


def block(source: str, *edits: str) -> str:
    """An M2 block: `edits` are 'start end|||correction|||annotator' shorthands."""
    lines = [f"S {source}"]
    for e in edits:
        span, cor, ann = e.split("|||")
        kind = "noop" if span == "-1 -1" else "X"
        lines.append(f"A {span}|||{kind}|||{cor}|||REQUIRED|||-NONE-|||{ann}")
    return "\n".join(lines) + "\n\n"


def counts(result) -> tuple[int, int, int]:
    return result.correct, result.proposed, result.gold


# --------------------------------------------------------------------------- reading gold


def test_parse_alternatives_none_and_noop():
    text = block("a b c", "1 2|||x||-NONE-|||0", "2 2|||y|||0", "-1 -1|||-NONE-|||1") + block("d e")
    first, second = parse_gold_m2(text)
    assert first.source == ("a", "b", "c")
    # alternatives split on '||', -NONE- read as ''; the original text comes from the source
    assert first.annotators[0] == (GoldEdit(1, 2, "b", ("x", "")), GoldEdit(2, 2, "", ("y",)))
    # an annotator whose only line is a noop is kept, with no edits
    assert first.annotator_ids == (0, 1)
    assert first.annotators[1] == ()
    # a block without any A line: one annotator, id 0, no edits
    assert second.annotator_ids == (0,)
    assert second.annotators == ((),)


def test_parse_orders_annotators_by_id():
    # M2Scorer keeps annotators in a dict keyed by id; small ids come out ascending
    (sentence,) = parse_gold_m2(block("a b", "0 1|||x|||1", "1 2|||y|||0"))
    assert sentence.annotator_ids == (0, 1)
    assert sentence.annotators == ((GoldEdit(1, 2, "b", ("y",)),), (GoldEdit(0, 1, "a", ("x",)),))


# --------------------------------------------------------------------------- one sentence


def test_hypothesis_equal_to_source():
    # Only the diagonal of unchanged tokens is on a cheapest path: no edit is proposed.
    gold = parse_gold_m2(block("a b c", "1 2|||x|||0"))
    result = score(["a b c"], gold)
    assert counts(result) == (0, 0, 1)
    # P = 1.0 (nothing proposed), R = 0/1, F = 1.25 * 1 * 0 / (0.25 + 0) = 0
    assert (result.precision, result.recall, result.f) == (1.0, 0.0, 0.0)


def test_empty_gold_block_noop_only():
    gold = parse_gold_m2(block("a b c", "-1 -1|||-NONE-|||0"))
    # no gold edit, no hypothesis edit: P = R = 1.0, F = 1.25 / 1.25 = 1.0
    same = score([["a", "b", "c"]], gold)
    assert counts(same) == (0, 0, 0)
    assert (same.precision, same.recall, same.f) == (1.0, 1.0, 1.0)
    # one substitution proposed, nothing to match: P = 0, R = 1.0 (no gold), F = 0
    changed = score(["a x c"], gold)
    assert counts(changed) == (0, 1, 0)
    assert (changed.precision, changed.recall, changed.f) == (0.0, 1.0, 0.0)


@pytest.mark.parametrize("hypothesis", ["a y c", "a x c", "a c"])
def test_alternatives(hypothesis):
    # gold: b -> x, or y, or deletion (-NONE-); each hypothesis makes one of them, and the
    # gold arc is on the path: 1 correct of 1 proposed, 1 gold
    gold = parse_gold_m2(block("a b c", "1 2|||x||y||-NONE-|||0"))
    (ann,) = evaluate_sentence(hypothesis, gold[0])
    expected = {"a y c": "y", "a x c": "x", "a c": ""}[hypothesis]
    assert ann.edits == (HypothesisEdit(1, 2, "b", expected),)
    assert (ann.correct, ann.proposed, ann.gold) == (1, 1, 1)


def test_insertion_next_to_deletion():
    # a b c -> a x c. With substitution cost 2, "delete b, insert x" and "insert x, delete b"
    # are as cheap as "b -> x", so all three are in the lattice:
    #   (1,1) -b-> (2,1) -+x-> (2,2): deletion [1,2) then insertion at 2
    #   (1,1) -+x-> (1,2) -b-> (2,2): insertion at 1 then deletion [1,2)
    source = "a b c"
    delete_b = "1 2|||-NONE-|||0"
    # gold: deletion, then insertion at 2 -> the path takes both gold arcs, in that order
    (ann,) = evaluate_sentence("a x c", parse_gold_m2(block(source, delete_b, "2 2|||x|||0"))[0])
    assert ann.edits == (HypothesisEdit(1, 2, "b", ""), HypothesisEdit(2, 2, "", "x"))
    assert (ann.correct, ann.proposed, ann.gold) == (2, 2, 2)
    # gold: insertion at 1, then deletion -> the other order, both correct
    (ann,) = evaluate_sentence("a x c", parse_gold_m2(block(source, "1 1|||x|||0", delete_b))[0])
    assert ann.edits == (HypothesisEdit(1, 1, "", "x"), HypothesisEdit(1, 2, "b", ""))
    assert (ann.correct, ann.proposed, ann.gold) == (2, 2, 2)
    # same two gold edits listed deletion first: the path still inserts, then deletes, but
    # the insertion matches gold[1], so the deletion is only compared with gold[2:] = []:
    # 1 correct of 2.
    (ann,) = evaluate_sentence("a x c", parse_gold_m2(block(source, delete_b, "1 1|||x|||0"))[0])
    assert ann.edits == (HypothesisEdit(1, 1, "", "x"), HypothesisEdit(1, 2, "b", ""))
    assert (ann.correct, ann.proposed, ann.gold) == (1, 2, 2)


def test_two_insertions_at_one_position_and_gold_order():
    # a b -> a x y b. Lattice arcs at position 1: +x (1,1)->(1,2), +y (1,2)->(1,3) and the
    # merged +"x y"; +y followed by the unchanged "b" also merges into "b" -> "y b" [1,2).
    # Both tables (substitution cost 1 and 2) contain the single path a, +x, +y, b, so every
    # base arc has 2 entries in the arc list: weight 1 + 2 * 0.001 when not gold; a merged
    # arc has 1 entry: its length + 0.001.
    #
    # Gold [x, y]: insertion arcs are matched from the left end: +x takes gold[0], the next
    # arc continuing it (+y) takes gold[1]. Path a, +x, +y, b; both correct.
    in_order = parse_gold_m2(block("a b", "1 1|||x|||0", "1 1|||y|||0"))[0]
    (ann,) = evaluate_sentence("a x y b", in_order)
    assert ann.edits == (HypothesisEdit(1, 1, "", "x"), HypothesisEdit(1, 1, "", "y"))
    assert (ann.correct, ann.proposed, ann.gold) == (2, 2, 2)
    # Gold [y, x]: from the left, +x scans gold[0..1], matches gold[1] ("x"), and the gold
    # range left for the next arcs is gold[2..1], empty: +y is not recognised as gold and
    # weighs 1.002. After +x the cheapest way on is then "b" -> "y b" (2.001) rather than
    # +y then "b" (1.002 + 1). Counting: +x matches gold[1]; [1,2) "y b" is no gold edit.
    reversed_order = parse_gold_m2(block("a b", "1 1|||y|||0", "1 1|||x|||0"))[0]
    (ann,) = evaluate_sentence("a x y b", reversed_order)
    assert ann.edits == (HypothesisEdit(1, 1, "", "x"), HypothesisEdit(1, 2, "b", "y b"))
    assert (ann.correct, ann.proposed, ann.gold) == (1, 2, 2)
    # the merged insertion as gold: one arc, one correct edit
    merged = parse_gold_m2(block("a b", "1 1|||x y|||0"))[0]
    (ann,) = evaluate_sentence("a x y b", merged)
    assert ann.edits == (HypothesisEdit(1, 1, "", "x y"),)
    assert (ann.correct, ann.proposed, ann.gold) == (1, 1, 1)


def test_gold_edit_reached_only_through_a_transitive_arc():
    # a b c d -> a x c y: the lattice steps are "b -> x", "c" unchanged, "d -> y"; the gold
    # edit [1,4) "b c d" -> "x c y" is no single step, only the merge of the three, which
    # keeps 1 unchanged token (<= 2). The path: "a" unchanged, then the merged gold arc.
    gold = parse_gold_m2(block("a b c d", "1 4|||x c y|||0"))[0]
    (ann,) = evaluate_sentence("a x c y", gold)
    assert ann.edits == (HypothesisEdit(1, 4, "b c d", "x c y"),)
    assert (ann.correct, ann.proposed, ann.gold) == (1, 1, 1)
    # With max_unchanged_words=0 no arc may span the unchanged "c": the two substitutions are
    # proposed separately (one step each, cheaper than a deletion plus an insertion), and
    # neither equals the gold edit.
    (ann,) = evaluate_sentence("a x c y", gold, max_unchanged_words=0)
    assert ann.edits == (HypothesisEdit(1, 2, "b", "x"), HypothesisEdit(3, 4, "d", "y"))
    assert (ann.correct, ann.proposed, ann.gold) == (0, 2, 1)


def test_string_and_token_hypotheses_agree():
    gold = parse_gold_m2(block("a b c", "1 2|||x|||0"))
    assert score(["a  x c "], gold) == score([["a", "x", "c"]], gold)


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError):
        score(["a", "b"], parse_gold_m2(block("a")))


# --------------------------------------------------------------------------- annotator choice


def test_annotator_with_higher_f():
    # hypothesis b -> x; annotator 0 wants y (C 0, E 1, G 1: F 0), annotator 1 wants x (F 1)
    gold = parse_gold_m2(block("a b c", "1 2|||y|||0", "1 2|||x|||1"))
    result = score(["a x c"], gold)
    assert result.sentences[0].annotator == 1
    assert counts(result) == (1, 1, 1)


def test_equal_f_then_more_correct():
    # a b c d -> a x c y. Annotator 0: one gold edit [1,4) -> the merged arc, C 1 E 1 G 1,
    # F 1.0. Annotator 1: the two substitutions, C 2 E 2 G 2, F 1.0. Equal F: more correct
    # wins, so annotator 1 although it comes second.
    gold = parse_gold_m2(block("a b c d", "1 4|||x c y|||0", "1 2|||x|||1", "3 4|||y|||1"))
    result = score(["a x c y"], gold)
    assert result.sentences[0].annotator == 1
    assert counts(result) == (2, 2, 2)


def test_equal_f_and_correct_then_fewer_proposed_plus_beta2_gold():
    # a b c -> a x c, nothing correct for either annotator: F 0 and C 0 for both.
    # Annotator 0: gold {a -> p, c -> q}: E 1, G 2, E + 0.25 G = 1.5.
    # Annotator 1: gold {c -> q}: E 1, G 1, 1.25 < 1.5, so annotator 1.
    gold = parse_gold_m2(block("a b c", "0 1|||p|||0", "2 3|||q|||0", "2 3|||q|||1"))
    result = score(["a x c"], gold)
    assert result.sentences[0].annotator == 1
    assert counts(result) == (0, 1, 1)


def test_complete_tie_keeps_first_annotator():
    gold = parse_gold_m2(block("a b c", "1 2|||y|||0", "1 2|||z|||1"))
    result = score(["a x c"], gold)
    assert result.sentences[0].annotator == 0


def test_choice_uses_cumulative_counts():
    # Sentence 1: one correct edit (C 1, E 1, G 1).
    # Sentence 2 = source, so E 0; annotator 0 has one gold edit, annotator 1 none.
    #   annotator 0: cumulative C 1, E 1, G 2: F = 1.25 / (0.5 + 1) = 0.833
    #   annotator 1: cumulative C 1, E 1, G 1: F = 1.0 -> chosen
    gold = parse_gold_m2(block("a b", "1 2|||x|||0") + block("c d", "0 1|||e|||0", "-1 -1|||-NONE-|||1"))
    result = score(["a x", "c d"], gold)
    assert [s.annotator for s in result.sentences] == [0, 1]
    assert counts(result) == (1, 1, 1)
    assert (result.precision, result.recall, result.f) == (1.0, 1.0, 1.0)


def test_corpus_scores():
    # sentence 1: C 1 E 1 G 1; sentence 2: C 0 E 1 G 1 (b -> z proposed, x expected)
    gold = parse_gold_m2(block("a b", "1 2|||x|||0") + block("a b", "1 2|||x|||0"))
    result = score(["a x", "a z"], gold)
    assert counts(result) == (1, 2, 2)
    # P = R = 0.5, F = 1.25 * 0.25 / (0.125 + 0.5) = 0.5
    assert (result.precision, result.recall) == (0.5, 0.5)
    assert result.f == pytest.approx(0.5)


def test_hand_built_gold_sentence():
    sentence = GoldSentence(("a", "b"), ((GoldEdit(1, 2, "b", ("x",)),),))
    assert sentence.annotator_ids == (0,)
    assert counts(score(["a x"], [sentence])) == (1, 1, 1)

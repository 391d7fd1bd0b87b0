"""Char level against the reference ChERRANT outputs in ../shared/golden/nacgec-dev (its README
says how they were made): M2 byte for byte, corpus, per-type and per-sentence counts."""

from __future__ import annotations


import pytest

from harness.scoring.corpus import LexiconTexts, Workers, score_corpus
from metrics.m2 import format_blocks
from metrics.scorers import ChERRANT

pytestmark = pytest.mark.golden

SETS = ["llm", "mix", "refs"]


@pytest.fixture(scope="module")
def scored(golden, dev_references, dev_settings):
    out = {}
    for name in SETS:
        hypotheses = (golden / f"hyp.{name}.txt").read_text(encoding="utf-8").split("\n")[:500]
        out[name] = score_corpus(dev_references.sources, hypotheses, dev_references.targets, "char",
                                 settings=dev_settings, jobs=2)
    return out


def test_reference_m2_equals_golden_byte_for_byte(golden, dev_references, dev_settings):
    scorer = ChERRANT(LexiconTexts.load(dev_settings, char_meta=False).lexicon())
    with Workers(scorer, 2, min_pairs=1) as extract:  # references in worker processes (the pool's path)
        blocks = scorer.reference_blocks(dev_references.sources, dev_references.targets, extract)
    assert format_blocks(blocks) == (golden / "ref.char.m2").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", SETS)
def test_hypothesis_m2_equals_golden_byte_for_byte(name, golden, scored):
    assert scored[name].texts()["hyp.char.m2"] == (golden / f"hyp.{name}.char.m2").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", SETS)
def test_corpus_counts_equal_golden(name, scored, golden_scores):
    gold = golden_scores[name]["char"]
    got = scored[name].as_json()
    assert (got["tp"], got["fp"], got["fn"]) == (gold["tp"], gold["fp"], gold["fn"])
    assert (got["precision"], got["recall"], got["f0.5"]) == (gold["p"], gold["r"], gold["f0.5"])


@pytest.mark.parametrize("name", SETS)
def test_tier1_type_counts_equal_golden(name, scored, golden_scores):
    got = {t: (c.tp, c.fp, c.fn) for t, c in scored[name].by_type.items()}
    gold = {t: (c["tp"], c["fp"], c["fn"]) for t, c in golden_scores[name]["char_by_type"].items()}
    assert got == gold


@pytest.mark.parametrize("name", SETS)
def test_per_sentence_counts_and_chosen_reference_equal_golden(name, golden, scored):
    rows = (golden / f"persent.{name}.char.tsv").read_text().strip().split("\n")[1:]
    expected = []
    for row in rows:
        line, tp, fp, fn, best = row.split("\t")
        expected.append((int(tp), int(fp), int(fn), None if best == "NA" else int(best)))
    got = [(c.tp, c.fp, c.fn, c.ref) for c in scored[name].per_sentence]
    assert len(got) == 500
    mismatches = [i + 1 for i, (a, b) in enumerate(zip(got, expected)) if a != b]
    assert not mismatches, f"sentences differing from the golden per-sentence counts: {mismatches[:20]}"

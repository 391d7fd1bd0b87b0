"""Word level (THULAC) against the reference outputs in ../shared/golden/nacgec-dev: ChERRANT
word-mode M2 and counts, the MaxMatch gold rebuilt from them, and THULAC's segmentations."""

from __future__ import annotations

import pytest

from harness.data.manifest import load_manifest
from harness.scoring.corpus import build_scorers, score_with, word_sentences
from harness.scoring.options import ScoringOptions
from harness.scoring.segmentation import segment_all
from metrics.m2 import maxmatch_gold
from metrics.normalise import remove_whitespace
from metrics.scorers import MaxMatch

pytestmark = [pytest.mark.golden, pytest.mark.slow]  # THULAC over three sets

SETS = ["llm", "mix", "refs"]


@pytest.fixture(scope="module")
def hypotheses(golden):
    return {name: (golden / f"hyp.{name}.txt").read_text(encoding="utf-8").split("\n")[:500] for name in SETS}


@pytest.fixture(scope="module")
def scorers(dev_references, hypotheses, dev_settings):
    """Word-level ChERRANT and MaxMatch over one THULAC batch for the three sets (the slow part)."""
    sentences = set()
    for name in SETS:
        sentences |= word_sentences(dev_references.sources, hypotheses[name], dev_references.targets)
    options = ScoringOptions(levels=("word",), word_scorer="cherrant", segmenter="thulac")
    words = build_scorers(options, dev_settings, sentences, dev_settings.cache_dir, 2)["word"]
    return words, MaxMatch(words)


@pytest.fixture(scope="module")
def scored(dev_references, hypotheses, dev_settings, scorers):
    return {name: score_with(scorers[0], dev_references.sources, hypotheses[name], dev_references.targets,
                             cache_dir=dev_settings.cache_dir, jobs=2) for name in SETS}


def test_reference_word_m2_equals_golden_byte_for_byte(golden, scored):
    assert scored["mix"].texts()["ref.word-thulac.m2"] == (golden / "ref.word-thulac.m2").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", SETS)
def test_hypothesis_word_m2_equals_golden_byte_for_byte(name, golden, scored):
    """FASPell's char_meta.txt (pinned) decides S:SPELL exactly as ChERRANT does."""
    sha = load_manifest().files["resources/char_meta.txt"].sha256
    assert f"|spell:faspell-{sha[:12]}|" in scored[name].signature
    assert scored[name].texts()["hyp.word-thulac.m2"] == \
        (golden / f"hyp.{name}.word-thulac.m2").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", SETS)
def test_word_cherrant_counts_equal_golden(name, scored, golden_scores):
    gold = golden_scores[name]["word_cherrant_thulac"]
    got = scored[name].as_json()
    assert (got["tp"], got["fp"], got["fn"]) == (gold["tp"], gold["fp"], gold["fn"])
    assert (got["precision"], got["recall"], got["f0.5"]) == (gold["p"], gold["r"], gold["f0.5"])


def test_maxmatch_gold_rebuilt_from_reference_m2_equals_golden(golden, scored):
    assert maxmatch_gold(scored["mix"].texts()["ref.word-thulac.m2"]) == \
        (golden / "gold.word-thulac.maxmatch.m2").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", SETS)
def test_maxmatch_from_reference_blocks_equals_m2scorer(name, dev_references, hypotheses, dev_settings, scorers,
                                                        golden, golden_scores):
    """The whole NLPCC 2023 word metric from the references' blocks (no M2 text in between)."""
    score = score_with(scorers[1], dev_references.sources, hypotheses[name], dev_references.targets,
                       cache_dir=dev_settings.cache_dir, jobs=2)
    gold = golden_scores[name]["word_maxmatch_thulac"]
    assert (score.tp, score.tp + score.fp, score.tp + score.fn) == \
        (gold["correct_edits"], gold["proposed_edits"], gold["gold_edits"])
    assert score.as_json()["f0.5"] == gold["f0.5"]
    assert score.texts()["hyp.thulac.txt"].split("\n")[:500] == \
        (golden / f"hyp.{name}.thulac.txt").read_text(encoding="utf-8").split("\n")[:500]


@pytest.mark.parametrize("name", SETS)
def test_thulac_segmented_hypotheses_equal_golden(name, golden, hypotheses, dev_settings, scored):
    cleaned = [remove_whitespace(h) for h in hypotheses[name]]
    tagged = segment_all([h for h in cleaned if h], "thulac", dev_settings.cache_dir, jobs=2)
    ours = [" ".join(word for word, _ in tagged[h]) if h else "" for h in cleaned]
    gold = (golden / f"hyp.{name}.thulac.txt").read_text(encoding="utf-8").split("\n")[:500]
    assert ours == gold


def test_maxmatch_per_sentence_results_are_the_same_for_any_number_of_worker_processes(
        dev_references, hypotheses, dev_settings, scorers):
    """The raw LLM outputs (the longest hypotheses) matched in 1, 2 and 4 processes (the pool
    starts at 200 sentences): every sentence's annotator, counts and edits agree."""
    results = []
    for jobs in (1, 2, 4):
        score = score_with(scorers[1], dev_references.sources, hypotheses["llm"], dev_references.targets,
                           cache_dir=dev_settings.cache_dir, jobs=jobs)
        results.append([(s.ref, s.tp, s.fp, s.fn, s.hyp_edits) for s in score.per_sentence])
    assert results[0] == results[1] == results[2]

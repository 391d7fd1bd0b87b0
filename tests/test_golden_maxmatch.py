"""MaxMatch (M2Scorer) word level against the reference numbers in ../shared/golden/nacgec-dev:
`gold.word-thulac.maxmatch.m2` and `hyp.<set>.thulac.txt` scored here must give M2Scorer's
printed P/R/F0.5 (%.4f) and its verbose-mode totals (`word_maxmatch_thulac` in scores.json)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from metrics.maxmatch import parse_gold_m2, score

GOLDEN = Path(__file__).resolve().parents[2] / "shared" / "golden" / "nacgec-dev"
SETS = ["llm", "mix", "refs"]

pytestmark = [
    pytest.mark.golden,
    pytest.mark.skipif(not (GOLDEN / "scores.json").is_file(),
                       reason=f"golden files not found at {GOLDEN} (a clone outside the workplace)"),
]


def read_hypotheses(path: Path) -> list[str]:
    """One hypothesis per line, as M2Scorer reads them (lines split on '\\n' only)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


@pytest.fixture(scope="module")
def scored() -> dict:
    gold = parse_gold_m2((GOLDEN / "gold.word-thulac.maxmatch.m2").read_text(encoding="utf-8"))
    out = {}
    for name in SETS:
        started = time.process_time()  # CPU time: other jobs on the machine do not count
        result = score(read_hypotheses(GOLDEN / f"hyp.{name}.thulac.txt"), gold)
        out[name] = (result, time.process_time() - started)
    return out


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads((GOLDEN / "scores.json").read_text())


def test_gold_has_one_block_per_dev_sentence():
    gold = parse_gold_m2((GOLDEN / "gold.word-thulac.maxmatch.m2").read_text(encoding="utf-8"))
    assert len(gold) == 500
    # 413 + 85 + 1 + 1 sentences with 1, 2, 3, 4 references
    assert sorted(len(g.annotators) for g in gold).count(1) == 413


@pytest.mark.parametrize("name", SETS)
def test_counts_equal_m2scorer_verbose_totals(name, scored, expected):
    result, _ = scored[name]
    gold = expected[name]["word_maxmatch_thulac"]
    assert (result.correct, result.proposed, result.gold) == (
        gold["correct_edits"], gold["proposed_edits"], gold["gold_edits"])
    assert len(result.sentences) == 500
    assert sum(s.correct for s in result.sentences) == result.correct
    assert sum(s.proposed for s in result.sentences) == result.proposed
    assert sum(s.gold for s in result.sentences) == result.gold


@pytest.mark.parametrize("name", SETS)
def test_scores_equal_m2scorer_printout(name, scored, expected):
    result, _ = scored[name]
    gold = expected[name]["word_maxmatch_thulac"]
    printed = tuple(float(f"{x:.4f}") for x in (result.precision, result.recall, result.f))
    assert printed == (gold["p"], gold["r"], gold["f0.5"])
    assert tuple(round(x, 4) for x in (result.precision, result.recall, result.f)) == printed


def test_all_sets_fast(scored):
    # M2Scorer itself needs about 28 minutes of CPU for `llm`; here all three sets together
    # must take less than 30 s (about 5 s on the 2-core reference machine)
    total = sum(seconds for _, seconds in scored.values())
    assert total < 30, {name: round(seconds, 2) for name, (_, seconds) in scored.items()}

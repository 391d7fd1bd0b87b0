"""Sentence outcomes on every benchmark of the suite (data/benchmarks.yaml): scoring each one's
first references and its sources at char level, the outcome counts `metrics.json` would store add
up to the sentences scored and say what such outputs are (docs/outcomes.md). Slow: every
benchmark's references are aligned (about 10 s on an empty cache)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.benchmarks import Benchmark, load_benchmark, load_registry
from harness.benchmarks.options import scoring_options
from harness.benchmarks.preprocess import prepare, scored_indices
from harness.benchmarks.references import first_references
from harness.data.manifest import DataSettings
from harness.scoring.corpus import score_levels
from metrics.outcomes import (
    FIXED, KEPT_CORRECT, MISSED, OUTCOMES, OVER_CORRECTED, UNSCORED, classify_all, outcome_counts,
)
from metrics.score import Score

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def settings(shared_data: Path, tmp_path_factory) -> DataSettings:
    return DataSettings(data_dir=shared_data, cache_dir=tmp_path_factory.mktemp("outcome-cache"))


def char_score(benchmark: Benchmark, outputs: list[str], settings: DataSettings) -> Score:
    """ChERRANT at char level under the benchmark's options, on the sentences its protocol scores
    (a spelling-check benchmark: every sentence, its one target as the reference)."""
    gold = benchmark.gold
    assert gold is not None
    options = scoring_options(benchmark.spec.protocol.options, ("char",))
    if gold.targets is not None:
        sources = [item.source for item in benchmark.items]
        return score_levels(sources, outputs, [(t,) for t in gold.targets], settings, options).scores["char"]
    prepared = prepare(benchmark, outputs, scored_indices(benchmark))
    blocks = tuple(gold.reference_blocks[i] for i in prepared.indices) if gold.reference_blocks else None
    return score_levels(prepared.sources, prepared.hypotheses, prepared.references, settings, options,
                        reference_sources=prepared.sources, reference_blocks=blocks).scores["char"]


def check_outcomes(score: Score) -> dict[str, int]:
    """The outcome counts the score's JSON (what metrics.json stores) gives: every outcome, adding
    up to the sentences scored, equal to the counts of the per-sentence outcomes."""
    stored = score.as_json()["outcomes"]
    assert list(stored) == list(OUTCOMES)
    assert sum(stored.values()) == len(score.per_sentence) > 0
    assert stored == outcome_counts(classify_all(score.per_sentence))
    return stored


@pytest.mark.parametrize("name", sorted(load_registry().benchmarks))
def test_outcomes_of_references_and_sources_add_up_on_every_benchmark(name: str, settings: DataSettings) -> None:
    benchmark = load_benchmark(name, settings, progress=False)
    if not benchmark.has_references:  # an inputs-only split: its organisers score the submission
        assert benchmark.spec.submission is not None and benchmark.items
        return
    references = check_outcomes(char_score(benchmark, first_references(benchmark), settings))
    sources = check_outcomes(char_score(benchmark, [item.source for item in benchmark.items], settings))
    # An output that is a reference neither misses an error nor changes a sentence left as it was,
    # and (nearly always: realigning an M2 gold may split an edit) fixes its sentence.
    assert references[MISSED] == references[OVER_CORRECTED] == 0
    assert references[FIXED] + references[KEPT_CORRECT] + references[UNSCORED] >= 0.99 * sum(references.values())
    # A sentence whose first reference is its source is kept-correct when the source is output;
    # a source may have more (another reference equal to it); unscored depends on the references only.
    assert sources[KEPT_CORRECT] >= references[KEPT_CORRECT]
    assert sources[UNSCORED] == references[UNSCORED]

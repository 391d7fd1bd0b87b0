"""Scoring a benchmark by its official protocol: given the benchmark and one output per item (in
item order), every figure the protocol defines as plain data, with the protocol's name, a
signature and whether the result is official. `run --benchmarks` and `table --suite` build on
`score_benchmark`; the GEC figures come from the one scorer (`harness.scoring.corpus`)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Sequence

from harness.benchmarks.benchmark import Benchmark
from harness.benchmarks.options import scoring_options
from harness.benchmarks.preprocess import Prepared, exact_options, prepare, scored_indices
from harness.benchmarks.references import block_targets
from harness.core.errors import HarnessError
from harness.data.manifest import DataSettings
from harness.scoring.corpus import Workers, build_scorers, score_levels, score_with_gold
from harness.scoring.options import ScoringOptions
from metrics import maxmatch
from metrics.csc import csc_scores
from metrics.normalise import remove_whitespace
from metrics.score import Score, package_version
from metrics.sentence import binary_detection, exact_match


@dataclass(frozen=True)
class BenchmarkScore:
    """A benchmark's figures under its protocol. `metrics` is flat: keys such as `char.f05`,
    `word.tp`, `exact_match`, `sentence.correction.f1`; rates are fractions (0..1)."""

    benchmark: str
    protocol: str
    data_sha256: str
    headline: str
    metrics: dict[str, float | int]
    official: bool
    scorer_signatures: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    # The one scorer's own scores behind the char/word figures (per-sentence counts included, for a
    # run record), and the items they scored (FCGEC: the erroneous ones), in item order.
    level_scores: dict[str, Score] = field(default_factory=dict, compare=False, repr=False)
    scored: tuple[int, ...] = ()

    @property
    def headline_value(self) -> float | int | None:
        """The headline figure; None when the run could not give it (e.g. NaCGEC's task score
        under another segmenter than THULAC)."""
        return self.metrics.get(self.headline)

    @property
    def signature(self) -> str:
        return "|".join([f"bench:{self.benchmark}", f"protocol:{self.protocol}", f"data:{self.data_sha256[:12]}",
                         f"official:{'yes' if self.official else 'no'}",
                         f"version:cgec-harness-{package_version('cgec-harness')}"])

    def as_json(self) -> dict[str, Any]:
        return {"benchmark": self.benchmark, "protocol": self.protocol, "signature": self.signature,
                "data_sha256": self.data_sha256, "official": self.official, "headline": self.headline,
                "headline_value": self.headline_value, "metrics": dict(sorted(self.metrics.items())),
                "scorer_signatures": dict(sorted(self.scorer_signatures.items())), "notes": list(self.notes)}


@dataclass
class _Run:
    """What the scorers of one call share: settings, and the figures as they come."""

    benchmark: Benchmark
    predictions: list[str]
    data: DataSettings
    segmenter: str | None
    presegmented: bool
    jobs: int | None
    use_cache: bool
    progress: bool
    metrics: dict[str, float | int] = field(default_factory=dict)
    signatures: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    official: bool = True
    scores: dict[str, Score] = field(default_factory=dict)


def _put_score(run: _Run, level: str, score: Score) -> None:
    run.metrics.update({f"{level}.tp": score.tp, f"{level}.fp": score.fp, f"{level}.fn": score.fn,
                        f"{level}.p": score.precision, f"{level}.r": score.recall, f"{level}.f05": score.f})
    run.signatures[level] = score.signature
    run.scores[level] = score


def _gec_levels(run: _Run, prepared: Prepared) -> None:
    """ChERRANT at char level (and, for maxmatch-word, MaxMatch on words) via the one scorer."""
    scorers = run.benchmark.spec.protocol.scorers
    levels = tuple(level for level, name in (("char", "cherrant-char"), ("word", "maxmatch-word")) if name in scorers)
    gold = run.benchmark.gold
    assert gold is not None
    blocks = tuple(gold.reference_blocks[i] for i in prepared.indices) if gold.reference_blocks else None
    options = scoring_options(run.benchmark.spec.protocol.options, levels, run.segmenter)
    score_set = score_levels(prepared.sources, prepared.hypotheses, prepared.references, run.data, options,
                             reference_sources=prepared.sources, reference_blocks=blocks, jobs=run.jobs,
                             use_cache=run.use_cache, progress=run.progress)
    for level, score in score_set.scores.items():
        _put_score(run, level, score)
    if score_set.nlpcc2023 is not None:
        run.metrics["nlpcc2023"] = score_set.nlpcc2023
    if "word" in levels and options.segmenter != run.benchmark.spec.protocol.options.segmenter:
        run.official = False
        run.notes.append(f"unofficial segmentation: {options.segmenter} instead of the protocol's "
                         f"{run.benchmark.spec.protocol.options.segmenter}")


def _m2scorer_gold(run: _Run, prepared: Prepared) -> None:
    """M2Scorer against the gold file: outputs as given when pre-segmented (official), else
    segmented here (unofficial: the gold's segmenter, PKUNLP, is not available)."""
    benchmark = run.benchmark
    gold = benchmark.gold
    assert gold is not None and gold.word_gold is not None
    sentences = [gold.word_gold[i] for i in prepared.indices]
    options = scoring_options(benchmark.spec.protocol.options, ("word",), run.segmenter)
    if run.presegmented:
        with Workers(None, run.jobs) as pool:  # type: ignore[arg-type]  # MaxMatch matching only
            result = maxmatch.score(list(prepared.hypotheses), sentences, options.beta, options.max_unchanged_words,
                                    evaluate=pool.evaluate)
        run.metrics.update({"word.tp": result.correct, "word.fp": result.proposed - result.correct,
                            "word.fn": result.gold - result.correct, "word.p": result.precision,
                            "word.r": result.recall, "word.f05": result.f})
        gold_file = next(f for f in benchmark.files if f.role == "word_gold")
        run.signatures["word"] = (f"level:word|method:maxmatch|tok:given|gold:{gold_file.relpath}@"
                                  f"{gold_file.sha256[:12]}|max_unchanged:{options.max_unchanged_words}|protocol:official")
        return
    gold_file = next(f for f in benchmark.files if f.role == "word_gold")
    hypotheses = [remove_whitespace(h) for h in prepared.hypotheses]
    if benchmark.limit is None:
        score = score_with_gold(hypotheses, gold_file.path, run.data, options, jobs=run.jobs, use_cache=run.use_cache)
    else:
        score = _score_gold_head(run, hypotheses, sentences, gold_file.sha256, options)
    _put_score(run, "word", score)
    run.official = False
    run.notes.append(f"unofficial segmentation: outputs segmented with {options.segmenter}, gold.01 with PKUNLP")


def _score_gold_head(run: _Run, hypotheses: list[str], sentences: list[maxmatch.GoldSentence], gold_sha256: str,
                     options: ScoringOptions) -> Score:
    """`score_with_gold` for the first sentences of the gold file (a `run --limit`): the same
    scorer and steps, on the gold the loader read (named by the file's sha256)."""
    word = replace(options, levels=("word",), word_scorer="maxmatch")
    cache_dir = run.data.cache_dir if run.use_cache else None
    scorer = build_scorers(word, run.data, set(hypotheses), cache_dir, run.jobs)["word"]
    sources = ["".join(g.source) for g in sentences]
    with Workers(scorer.aligner, run.jobs) as pool:
        score = scorer.corpus_score(sources, hypotheses, None, gold=sentences, gold_name=f"m2-{gold_sha256[:12]}",
                                    evaluate=pool.evaluate)
    return replace(score, source_chars=sum(len(remove_whitespace(s)) for s in sources))


def _exact_match(run: _Run, prepared: Prepared) -> None:
    gold = run.benchmark.gold
    assert gold is not None
    if prepared.references is not None:
        options = [exact_options(s, refs) for s, refs in zip(prepared.sources, prepared.references)]
    else:
        assert gold.reference_blocks is not None
        options = [exact_options(s, block_targets(gold.reference_blocks[i]))
                   for s, i in zip(prepared.sources, prepared.indices)]
    result = exact_match([remove_whitespace(h) for h in prepared.hypotheses], options)
    run.metrics.update({"exact_match": result.rate, "exact_match.matched": result.matched,
                        "exact_match.total": result.total})


def _detection(run: _Run) -> None:
    """Over every sentence: an output that differs from its source once whitespace is removed
    says "erroneous" (punctuation counts here: a punctuation-only correction is a detection)."""
    gold = run.benchmark.gold
    assert gold is not None and gold.erroneous is not None
    predicted = [remove_whitespace(p) != remove_whitespace(item.source)
                 for p, item in zip(run.predictions, run.benchmark.items)]
    result = binary_detection(predicted, list(gold.erroneous))
    run.metrics.update({f"detection.{key}": value for key, value in result.as_dict().items()})


def _csc(run: _Run) -> None:
    gold = run.benchmark.gold
    assert gold is not None and gold.targets is not None
    result = csc_scores([item.source for item in run.benchmark.items], gold.targets, run.predictions)
    for name, part in (("sentence.detection", result.sentence_detection),
                       ("sentence.correction", result.sentence_correction),
                       ("char.detection", result.char_detection), ("char.correction", result.char_correction)):
        run.metrics.update({f"{name}.{key}": value for key, value in part.as_dict().items()})
    run.metrics["length_mismatch"] = len(result.length_mismatch)
    if result.length_mismatch:
        run.notes.append(f"{len(result.length_mismatch)} outputs differ in length from their source (first: item "
                         f"{run.benchmark.items[result.length_mismatch[0]].id}); scored by the rule of "
                         "docs/benchmarks.md")


def _checked(benchmark: Benchmark, predictions: Sequence[str]) -> list[str]:
    if benchmark.gold is None:
        raise HarnessError(f"{benchmark.name}: no references here (scored by its organisers); write the submission "
                           "file instead")
    if len(predictions) != len(benchmark.items):
        raise HarnessError(f"{len(predictions)} outputs for the {len(benchmark.items)} items of {benchmark.name}")
    bad = next((i for i, p in enumerate(predictions) if not isinstance(p, str)), None)
    if bad is not None:
        raise HarnessError(f"output {bad + 1} is not a string")
    return list(predictions)


def score_benchmark(benchmark: Benchmark, predictions: Sequence[str], settings: DataSettings | None = None, *,
                    presegmented: bool = False, segmenter: str | None = None, jobs: int | None = None,
                    use_cache: bool = True, progress: bool = False) -> BenchmarkScore:
    """Every figure of `benchmark`'s protocol for `predictions` (one output per item, in item
    order). `presegmented`: word-level outputs come segmented (tokens split by spaces), as an
    official M2Scorer run needs; `segmenter` overrides the protocol's for unsegmented ones."""
    outputs = _checked(benchmark, predictions)
    protocol = benchmark.spec.protocol
    run = _Run(benchmark, outputs, settings or DataSettings.from_env(), segmenter, presegmented, jobs, use_cache,
               progress)
    prepared = prepare(benchmark, outputs, scored_indices(benchmark)) if benchmark.spec.task == "gec" else None
    if prepared is not None and len(prepared.indices) != len(benchmark.items):
        run.notes.append(f"{len(prepared.indices)} of {len(benchmark.items)} sentences scored (the erroneous ones); "
                         "detection counts every sentence")
    levels_done = False
    for name in protocol.scorers:
        if name in ("cherrant-char", "maxmatch-word"):
            if not levels_done:
                _gec_levels(run, prepared)
            levels_done = True
        elif name == "m2scorer-gold":
            _m2scorer_gold(run, prepared)
        elif name == "exact-match":
            _exact_match(run, prepared)
        elif name == "detection":
            _detection(run)
        elif name == "csc":
            _csc(run)
    return BenchmarkScore(benchmark.name, protocol.name, benchmark.sha256, protocol.headline, run.metrics,
                          run.official, run.signatures, tuple(run.notes), run.scores,
                          prepared.indices if prepared is not None else ())


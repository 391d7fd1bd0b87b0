"""The report's view model from plain inputs: sources, hypotheses, references, raw outputs, cleaning
flags and, per level, metrics' per-sentence scores. Whatever feeds the report (a run record
through `from_record`, a test's hand-built lists) goes through here, so the page always shows
what the scorer counted.

The char level is always scored here, through the harness scorer (`harness.scoring.corpus`):
the marks and the chunk view need its edits and blocks. Other levels are taken as given, or
scored with `score_corpus` (README, "Scoring from Python") when missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from harness.core.errors import HarnessError
from harness.data.manifest import DataSettings
from harness.reports.html.model import (
    DifferenceRow, FigureRow, Identity, MarkView, MetricRow, PairView, ReportView, RunView, SentenceView,
)
from harness.scoring.corpus import LexiconTexts, Workers, cached_reference_blocks, score_corpus
from metrics.chunks import ChunkCounts, sentence_chunks
from metrics.compare import Counts, prf
from metrics.edit import Block
from metrics.normalise import remove_whitespace
from metrics.outcomes import classify_all, outcome_counts, sentence_marks
from metrics.overcorrection import (
    FIGURES, SentenceFacts, bootstrap_interval, f_beta, false_positives_by_type, figure, figure_values,
    paired_bootstrap, paired_figure_difference, resample_weights,
)
from metrics.score import DEFAULT_BETA, Score, SentenceScore
from metrics.scorers import ChERRANT
from metrics.options import LEVELS

# Char-level figures shown for every run and compared between runs: label, unit ("%": x100).
FIGURE_LABELS = {
    "over_correction_share": ("error-free sentences changed", "%"),
    "fp_per_100_chars": ("false-positive edits per 100 source characters", ""),
    "chunk_hit": ("chunks hit (of the reference's changed chunks)", "%"),
    "chunk_wrong": ("chunks wrong (of the reference's changed chunks)", "%"),
    "chunk_under": ("chunks under-corrected (of the reference's changed chunks)", "%"),
    "chunk_over": ("chunks over-corrected (of the hypothesis' changed chunks)", "%"),
}


@dataclass(frozen=True)
class LevelScores:
    """One level's scores as the report needs them: the signature and per-sentence counts."""

    signature: str
    per_sentence: tuple[SentenceScore, ...]
    beta: float = DEFAULT_BETA

    @classmethod
    def of(cls, score: Score) -> "LevelScores":
        return cls(score.signature, tuple(score.per_sentence), score.recipe.beta)


@dataclass(frozen=True)
class RunInputs:
    """What one run gives the report; `scores` are levels already scored (others are scored here)."""

    name: str
    sources: tuple[str, ...]
    hypotheses: tuple[str, ...]
    references: tuple[tuple[str, ...], ...]
    ids: tuple[str, ...] | None = None
    raw_outputs: tuple[str | None, ...] | None = None
    flags: tuple[tuple[str, ...], ...] | None = None
    errors: tuple[str | None, ...] | None = None
    model: str | None = None
    dataset: str = "dataset"
    dataset_sha256: str = ""
    date: str | None = None
    cost_usd: float | None = None
    scores: dict[str, LevelScores] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    path: str | None = None  # where the inputs come from: named in errors
    # How a reader sees each reference, index-aligned with `references` (没有错误 as the source, say);
    # None: as `references` write them.
    shown_references: tuple[tuple[str, ...], ...] | None = None
    # A char-level M2 gold (NLPCC 2018's), scored in place of blocks extracted from `references`.
    reference_blocks: tuple[Block, ...] | None = None
    # Characters per source for FP per 100 chars (0 for a sentence a protocol leaves out); None: the sources'.
    source_chars: tuple[int, ...] | None = None

    def check(self) -> None:
        n = len(self.sources)
        for label, values in (("hypotheses", self.hypotheses), ("references", self.references), ("ids", self.ids),
                              ("raw outputs", self.raw_outputs), ("flags", self.flags), ("errors", self.errors),
                              ("shown references", self.shown_references), ("reference blocks", self.reference_blocks),
                              ("source lengths", self.source_chars)):
            if values is not None and len(values) != n:
                raise HarnessError(f"run {self.name}: {len(values)} {label} for {n} sources", self.path)
        for level, scores in self.scores.items():
            if len(scores.per_sentence) != n:
                raise HarnessError(f"run {self.name}: {len(scores.per_sentence)} {level} sentence scores for "
                                   f"{n} sources", self.path)


@dataclass(frozen=True)
class _Scored:
    inputs: RunInputs
    levels: dict[str, LevelScores]
    hyp_blocks: tuple[Block, ...]
    ref_blocks: tuple[Block, ...]


# --------------------------------------------------------------------------------------------
# Scoring


def _score_char(inputs: RunInputs, settings: DataSettings, jobs: int | None) -> tuple[Score, list, list]:
    """ChERRANT at char level, as `score_levels` scores it (the reference cache, the worker
    pool), keeping the blocks: the chunk view needs every alignment, which the M2 text of
    `Score.texts()` cannot give back safely (a correction made of `|` breaks its fields)."""
    scorer = ChERRANT(LexiconTexts.load(settings, char_meta=False).lexicon())
    references = inputs.references if inputs.reference_blocks is None else None
    with Workers(scorer, jobs) as extract:
        ref_blocks = list(inputs.reference_blocks) if inputs.reference_blocks is not None else \
            cached_reference_blocks(scorer, inputs.sources, inputs.references, settings.cache_dir, extract)
        hyp_blocks = scorer.hypothesis_blocks(inputs.sources, inputs.hypotheses, ref_blocks, references, extract)
        score = scorer.corpus_score(inputs.sources, None, references, ref_blocks, extract,
                                    hypothesis_blocks=hyp_blocks)
    return score, ref_blocks, hyp_blocks


def _same_counts(given: LevelScores, scored: LevelScores, inputs: RunInputs) -> None:
    """Given char scores must be what the scorer finds now: else marks would contradict counts."""
    for index, (a, b) in enumerate(zip(given.per_sentence, scored.per_sentence)):
        if (a.ref, a.tp, a.fp, a.fn) != (b.ref, b.tp, b.fp, b.fn):
            sentence = inputs.ids[index] if inputs.ids else str(index + 1)
            raise HarnessError(f"run {inputs.name}: sentence {sentence} has char counts tp/fp/fn {a.tp}/{a.fp}/{a.fn} "
                               f"(reference {a.ref}) but scores {b.tp}/{b.fp}/{b.fn} (reference {b.ref}) now: "
                               "scored by another scorer version? score the run again", inputs.path)


def score_run(inputs: RunInputs, settings: DataSettings, levels: Sequence[str] = LEVELS,
              jobs: int | None = None) -> _Scored:
    inputs.check()
    char, ref_blocks, hyp_blocks = _score_char(inputs, settings, jobs)
    scored = {"char": LevelScores.of(char)}
    if "char" in inputs.scores:
        _same_counts(inputs.scores["char"], scored["char"], inputs)
    missing = tuple(level for level in levels if level != "char" and level not in inputs.scores)
    if missing:
        scored.update({level: LevelScores.of(score_corpus(inputs.sources, inputs.hypotheses, inputs.references, level,
                                                          settings=settings, jobs=jobs))
                       for level in missing})
    scored.update({level: s for level, s in inputs.scores.items() if level != "char" and level in levels})
    ordered = {level: scored[level] for level in LEVELS if level in scored}
    return _Scored(inputs, ordered, tuple(hyp_blocks), tuple(ref_blocks))


# --------------------------------------------------------------------------------------------
# One run


def _marks(sentence: SentenceScore, aligned: str) -> tuple[MarkView, ...]:
    try:
        marks = sentence_marks(sentence.hyp_edits, sentence.ref_edits)
    except ValueError:  # edits compared under another mode (-cse, -ds, -dt): no spans to mark
        return ()
    return tuple(MarkView(m.kind, m.start, m.end, aligned[m.start:m.end], m.correction, m.types) for m in marks)


def _sentence(scored: _Scored, index: int, outcome: str) -> SentenceView:
    inputs = scored.inputs
    char = scored.levels["char"].per_sentence[index]
    source = inputs.sources[index]
    references = tuple((inputs.shown_references or inputs.references)[index])
    aligned = remove_whitespace(source)
    chosen = references[char.ref] if char.ref is not None and char.ref < len(references) else None
    return SentenceView(
        index=index, id=inputs.ids[index] if inputs.ids else str(index + 1), source=source, aligned_source=aligned,
        hypothesis=inputs.hypotheses[index], reference=chosen, references=references, marks=_marks(char, aligned),
        flags=tuple(inputs.flags[index]) if inputs.flags else (),
        raw=inputs.raw_outputs[index] if inputs.raw_outputs else None,
        error=inputs.errors[index] if inputs.errors else None, outcome=outcome,
        counts={level: (s.per_sentence[index].tp, s.per_sentence[index].fp, s.per_sentence[index].fn)
                for level, s in scored.levels.items()})


def _facts(scored: _Scored, outcomes: Sequence[str]) -> tuple[SentenceFacts, ...]:
    char = scored.levels["char"].per_sentence
    inputs = scored.inputs
    chars = inputs.source_chars or tuple(len(remove_whitespace(source)) for source in inputs.sources)
    return tuple(SentenceFacts(outcome, s.tp, s.fp, s.fn, n, sentence_chunks(hyp, ref, s.ref))
                 for s, outcome, n, hyp, ref in zip(char, outcomes, chars, scored.hyp_blocks, scored.ref_blocks))


def _counts_values(scores: LevelScores) -> np.ndarray:
    return np.array([[s.tp, s.fp, s.fn] for s in scores.per_sentence], dtype=np.float64).reshape(-1, 3)


def _metric_row(level: str, scores: LevelScores, weights: np.ndarray) -> MetricRow:
    total = Counts(sum(s.tp for s in scores.per_sentence), sum(s.fp for s in scores.per_sentence),
                   sum(s.fn for s in scores.per_sentence))
    p, r, f = prf(total, scores.beta)
    interval = bootstrap_interval(_counts_values(scores), f_beta(scores.beta), weights)
    return MetricRow(level, total.tp, total.fp, total.fn, p, r, f, interval, scores.signature)


def _figures(facts: Sequence[SentenceFacts], weights: np.ndarray) -> tuple[FigureRow, ...]:
    rows = []
    for name, (label, unit) in FIGURE_LABELS.items():
        value = figure(name, facts)
        interval = None if value is None else bootstrap_interval(figure_values(name, facts), FIGURES[name][1], weights)
        rows.append(FigureRow(name, label, value, interval, unit))
    return tuple(rows)


def run_view(scored: _Scored, label: str, weights: np.ndarray) -> tuple[RunView, tuple[SentenceFacts, ...]]:
    """A run's page section and the per-sentence facts its figures come from (for pairing)."""
    inputs = scored.inputs
    outcomes = {level: classify_all(s.per_sentence) for level, s in scored.levels.items()}
    facts = _facts(scored, outcomes["char"])
    identity = Identity(label, inputs.model, inputs.dataset, inputs.dataset_sha256,
                        {level: s.signature for level, s in scored.levels.items()}, inputs.date, inputs.cost_usd,
                        inputs.notes)
    typed = {level: false_positives_by_type((s.types for s in scores.per_sentence), tier=3)
             for level, scores in scored.levels.items() if any(s.types for s in scores.per_sentence)}
    view = RunView(
        identity=identity,
        metrics=tuple(_metric_row(level, s, weights) for level, s in scored.levels.items()),
        outcomes={level: outcome_counts(values) for level, values in outcomes.items()},
        fp_by_operation=false_positives_by_type((s.types for s in scored.levels["char"].per_sentence), tier=1),
        fp_by_type=typed, chunks=sum((f.chunks for f in facts), ChunkCounts()), figures=_figures(facts, weights),
        sentences=tuple(_sentence(scored, i, outcome) for i, outcome in enumerate(outcomes["char"])))
    return view, facts


# --------------------------------------------------------------------------------------------
# Several runs


def _labels(names: Sequence[str]) -> tuple[str, ...]:
    """Run names with #2, #3... on repeats, as `harness compare` labels them."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return tuple(out)


def _check_same_dataset(runs: Sequence[RunInputs]) -> None:
    first = runs[0]
    for run in runs[1:]:
        if run.dataset_sha256 != first.dataset_sha256 or len(run.sources) != len(first.sources):
            raise HarnessError(f"runs {first.name} and {run.name} are over different datasets "
                               f"({first.dataset} sha256 {first.dataset_sha256[:12]}, {len(first.sources)} sentences "
                               f"vs {run.dataset} sha256 {run.dataset_sha256[:12]}, {len(run.sources)})", run.path)
        if tuple(run.sources) != tuple(first.sources) or (run.ids or ()) != (first.ids or ()):
            raise HarnessError(f"runs {first.name} and {run.name} list different sentences", run.path)


def _pair(a: tuple[RunView, Sequence[SentenceFacts]], b: tuple[RunView, Sequence[SentenceFacts]],
          scored: tuple[_Scored, _Scored], weights: np.ndarray) -> PairView:
    rows: list[DifferenceRow] = []
    for level in LEVELS:
        if level in scored[0].levels and level in scored[1].levels:
            beta = scored[0].levels[level].beta
            d = paired_bootstrap(_counts_values(scored[0].levels[level]), _counts_values(scored[1].levels[level]),
                                 f_beta(beta), weights=weights)
            rows.append(DifferenceRow(f"f0.5-{level}", f"F0.5 ({level})", d.a, d.b, d.difference, d.interval,
                                      d.a_higher_share, "%"))
    for name, (label, unit) in FIGURE_LABELS.items():
        if figure(name, a[1]) is None or figure(name, b[1]) is None:
            continue
        d = paired_figure_difference(name, a[1], b[1], weights)
        rows.append(DifferenceRow(name, label, d.a, d.b, d.difference, d.interval, d.a_higher_share, unit))
    return PairView(a[0].identity.run, b[0].identity.run, tuple(rows))


def _differing(views: Sequence[RunView]) -> int:
    if len(views) < 2:
        return 0
    rows = zip(*(v.sentences for v in views))
    return sum(1 for row in rows if len({(remove_whitespace(s.hypothesis), s.outcome) for s in row}) > 1)


def build_report(runs: Sequence[RunInputs], settings: DataSettings, levels: Sequence[str] = LEVELS,
                 bootstrap: int = 1000, seed: int = 0, jobs: int | None = None, title: str | None = None) -> ReportView:
    """The view model of one or more runs over the same dataset. Intervals: `bootstrap`
    resamples of sentences drawn with `seed`, the same for every run (so differences are paired)."""
    if not runs:
        raise HarnessError("nothing to report: no runs given")
    if isinstance(bootstrap, bool) or bootstrap < 0:
        raise HarnessError(f"bootstrap: expected a number of resamples >= 0, got {bootstrap!r}")
    _check_same_dataset(runs)
    n = len(runs[0].sources)
    weights = resample_weights(n, bootstrap, seed) if n and bootstrap else np.empty((0, n))
    scored = [score_run(run, settings, levels, jobs) for run in runs]
    labels = _labels([run.name for run in runs])
    built = [run_view(s, label, weights) for s, label in zip(scored, labels)]
    pairs = tuple(_pair(built[i], built[j], (scored[i], scored[j]), weights)
                  for i in range(len(built)) for j in range(i + 1, len(built)))
    views = tuple(view for view, _ in built)
    return ReportView(title=title or f"{' vs '.join(labels)} on {runs[0].dataset}", runs=views, pairs=pairs,
                      bootstrap=bootstrap if n else 0, seed=seed, differing=_differing(views))

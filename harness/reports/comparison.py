"""Comparing runs: is system A really better than B on this dataset, on which edit and error
types, and on which sentences do they differ? A difference of a point of F0.5 on 500 sentences
can be noise, so corpus scores come with paired-bootstrap intervals over sentences.

Everything is computed from the stored per-sentence counts of each run (`sentences.jsonl`), with
the reference chosen for each sentence at scoring time kept fixed: nothing is rescored. Sentence
outcomes and the over-correction figures (docs/outcomes.md) come from the same counts, their
paired differences from `metrics.overcorrection` over the same resamples as F0.5.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from harness.core.errors import HarnessError
from harness.core.textfile import read_json
from harness.data.datasets import manifest_sha256
from harness.data.manifest import DataSettings, load_manifest, resolve
from harness.record.models import RunRecord
from harness.reports.references import run_sentences
from harness.scoring.signature import signature_differences
from metrics.compare import Counts, prf
from metrics.normalise import remove_whitespace
from metrics.outcomes import OUTCOMES, classify
from metrics.options import LEVELS
from metrics.overcorrection import Interval, SentenceFacts, figure, paired_figure_difference

# Disagreement without a score level (CSC records): does the output equal a reference?
OUTPUT_LEVEL = "output"
EDIT_TYPES = ("M", "R", "S", "W")
# NaCGEC's error types, in the paper's order; sentences missing from the map are `unknown`.
ERROR_TYPES = ("语序不当", "搭配不当", "成分残缺", "成分赘余", "句式杂糅", "不合逻辑", "正确")
UNKNOWN = "unknown"
NOT_IN_RECORD = "(not in the run folder)"
CONFIDENCE = 0.95
# Over-correction figures compared between runs (metrics.overcorrection.FIGURES): name -> label.
OVER_CORRECTION_FIGURES = {"over_correction_share": "error-free changed (%)", "fp_per_100_chars": "FP per 100 chars"}


# --------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Score:
    """Corpus counts and P/R/F0.5 of one run at one level, with its bootstrap interval of F0.5."""

    run: str
    counts: Counts
    precision: float
    recall: float
    f: float
    interval: Interval | None


@dataclass(frozen=True)
class PairDifference:
    """F0.5(a) - F0.5(b) on the full set, its bootstrap interval, and the share of resamples
    in which a scores strictly higher than b."""

    a: str
    b: str
    difference: float
    interval: Interval | None
    win_share: float | None


@dataclass(frozen=True)
class LevelComparison:
    level: str
    signature: str
    scores: tuple[Score, ...]
    pairs: tuple[PairDifference, ...]


@dataclass(frozen=True)
class TypeScore:
    """Counts and P/R/F0.5 of one run on one type (edit type or sentence error type)."""

    type: str
    counts: Counts
    precision: float
    recall: float
    f: float
    sentences: int | None = None  # error types only: sentences of this type


@dataclass(frozen=True)
class Breakdown:
    """Per run, per type scores at one level; the types of a run add up to its level totals."""

    level: str
    kind: str  # "edit_type" or "error_type"
    types: tuple[str, ...]
    runs: dict[str, tuple[TypeScore, ...]]


@dataclass(frozen=True)
class RunSentence:
    """One run's output and counts on one sentence."""

    run: str
    prediction: str | None
    error: str | None
    counts: dict[str, Counts]
    f: dict[str, float]


@dataclass(frozen=True)
class Disagreement:
    index: int  # 0-based position in the dataset
    id: str
    source: str | None
    references: tuple[str, ...] | None
    spread: float
    runs: tuple[RunSentence, ...]


@dataclass(frozen=True)
class RunOutcomes:
    """One run's sentence outcomes at one level (they add up to its sentences) and its
    over-correction figures (None: undefined, e.g. no error-free sentence, or no sources)."""

    run: str
    counts: dict[str, int]
    figures: dict[str, float | None]


@dataclass(frozen=True)
class FigureDifference:
    """figure(a) - figure(b) with its paired-bootstrap interval and the share of resamples in
    which a's figure is strictly higher."""

    a: str
    b: str
    figure: str
    a_value: float
    b_value: float
    difference: float
    interval: Interval | None
    a_higher_share: float | None


@dataclass(frozen=True)
class OutcomeComparison:
    level: str
    runs: tuple[RunOutcomes, ...]
    pairs: tuple[FigureDifference, ...]


@dataclass(frozen=True)
class BenchmarkFigures:
    """The figures of a benchmark's protocol each run's record holds (metrics.json `benchmark`),
    as recorded: rates as fractions, counts as integers; None where a run has no such figure."""

    name: str
    protocol: str
    headline: str
    keys: tuple[str, ...]  # the headline first, then the others in order
    runs: dict[str, dict[str, float | int | None]]


@dataclass(frozen=True)
class Comparison:
    runs: tuple[RunRecord, ...]
    labels: tuple[str, ...]  # run names, made unique (a run compared with itself)
    dataset: str
    dataset_sha256: str
    sentences: int
    bootstrap: int
    seed: int
    levels: tuple[LevelComparison, ...]
    edit_types: tuple[Breakdown, ...]
    error_types: tuple[Breakdown, ...]
    disagreement_level: str | None
    disagreements: tuple[Disagreement, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    outcomes: tuple[OutcomeComparison, ...] = ()
    benchmark: BenchmarkFigures | None = None


# --------------------------------------------------------------------------------------------
# Loading


def load_error_types(path: str | Path) -> dict[str, str]:
    """NaCGEC's `nacgec_all_type.json` (a JSON list of {source, target[], error_type}) as a map
    from the source without whitespace to its error type."""
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, list):
        raise HarnessError("expected a JSON list of {source, target, error_type} records", path)
    out: dict[str, str] = {}
    for number, record in enumerate(data, 1):
        if not isinstance(record, dict) or not isinstance(record.get("source"), str) \
                or not isinstance(record.get("error_type"), str):
            raise HarnessError(f"record {number}: expected an object with string source and error_type", path)
        key = remove_whitespace(record["source"])
        previous = out.setdefault(key, record["error_type"])
        if previous != record["error_type"]:
            raise HarnessError(f"record {number}: source listed with two error types "
                               f"({previous} and {record['error_type']})", path)
    return out


@dataclass(frozen=True)
class ComparisonInputs:
    """What `compare` reads beside the records, from the data the runs scored: the sources and
    references (as sentences: 没有错误 as the source) of the runs' sentences, the characters the
    scorer aligned in each, NaCGEC's error types, and notes on what could not be had."""

    sources: list[str] | None = None
    references: list[tuple[str, ...]] | None = None
    source_chars: list[int] | None = None
    error_types: dict[str, str] | None = None
    notes: tuple[str, ...] = ()


def comparison_inputs(runs: Sequence[RunRecord], settings: DataSettings) -> ComparisonInputs:
    """The inputs of comparing `runs` (harness.reports.references: a benchmark record's from its
    benchmark, as its protocol scored them); data that cannot be read is noted, not an error:
    the comparison itself needs only the records."""
    first = runs[0]
    notes: list[str] = []
    sources = references = chars = None
    try:
        sentences = run_sentences(first, settings)
        positions = sentences.positions([row.id for row in first.rows], first.path)
    except HarnessError as error:
        notes.append(f"sources and references not shown: {error}")
    else:
        sources = [sentences.sources[i] for i in positions]
        references = [sentences.shown[i] for i in positions] if sentences.has_references else None
        chars = [sentences.source_chars(i) for i in positions]
        notes += sentences.notes
    return ComparisonInputs(sources, references, chars, _nacgec_error_types(first, settings, notes), tuple(notes))


def _nacgec_error_types(run: RunRecord, settings: DataSettings, notes: list[str]) -> dict[str, str] | None:
    """NaCGEC's error types, when the run scored a manifest dataset that has them (by sha256)."""
    recorded = run.dataset
    if manifest_sha256(recorded.name) == recorded.sha256:
        manifest = load_manifest()
        if "error_types" in manifest.datasets[recorded.name]:
            return load_error_types(resolve(manifest.datasets[recorded.name]["error_types"], settings, manifest))
    if run.metrics.benchmark is not None and run.metrics.levels():
        notes.append(f"no error-type breakdown: {recorded.name} has no error-type annotation (NaCGEC's only)")
    return None


# --------------------------------------------------------------------------------------------
# Comparing


def compare(runs: list[RunRecord], bootstrap: int = 1000, seed: int = 0, sources: list[str] | None = None,
            references: list[tuple[str, ...]] | None = None, error_types: dict[str, str] | None = None,
            top: int = 10, source_chars: list[int] | None = None, notes: Sequence[str] = ()) -> Comparison:
    """Scores with paired-bootstrap intervals, pairwise differences, breakdowns by edit type and
    NaCGEC error type, and the sentences on which the runs disagree most.

    The bootstrap draws `bootstrap` resamples of sentence indices (with replacement) from
    `numpy.random.default_rng(seed)`; the same resamples serve every run and level, so the
    differences are paired. Disagreement is the spread (max - min over runs) of per-sentence
    F0.5 at the char level (word when char is absent); ties keep dataset order. Benchmark records
    without a level (CSC) are compared by their protocol's recorded figures, and disagree where
    one run's output equals a reference and another's does not.

    `sources` and `references` are those of the runs' sentences, in order (from the data the
    runs scored); without `sources`, the runs' own predictions.jsonl supplies them.
    `source_chars`: the characters the scorer aligned per sentence (FP per 100 chars; default
    the sources' without whitespace). `notes` are added to the comparison's."""
    _check_arguments(runs, bootstrap, top)
    _check_comparable(runs)
    labels = _labels(runs)
    first, n = runs[0], len(runs[0].rows)
    if sources is None:
        with_predictions = next((run for run in runs if run.predictions is not None), None)
        sources = [p.source for p in with_predictions.predictions] if with_predictions is not None else None
    for name, values in (("references", references), ("sources", sources), ("source_chars", source_chars)):
        if values is not None and len(values) != n:
            raise HarnessError(f"{name}: {len(values)} sentences but the runs have {n}")
    levels, level_notes = _levels(runs, labels)
    all_notes = [*notes, *level_notes]
    resamples = _resample_weights(n, bootstrap, seed)
    level_results = tuple(_compare_level(level, runs, labels, resamples) for level in levels)
    if source_chars is None and sources is not None:
        source_chars = [len(remove_whitespace(s)) for s in sources]
    if source_chars is None and levels:
        all_notes.append("no false positives per 100 source characters: neither the dataset nor any run's "
                         "predictions give the sources")
    outcome_results = tuple(_compare_outcomes(level, runs, labels, source_chars, resamples) for level in levels)
    # Edit types exist for ChERRANT levels (every row carries `types`), not for MaxMatch.
    edit_breakdowns = tuple(_edit_types(level, runs, labels) for level in levels
                            if all(row.level(level).types is not None for run in runs for row in run.rows))
    error_breakdowns = _error_breakdowns(runs, labels, levels, sources, error_types, all_notes)
    disagreement_level, disagreements = _disagreement_part(runs, labels, levels, sources, references, top)
    return Comparison(runs=tuple(runs), labels=labels, dataset=first.dataset.name, dataset_sha256=first.dataset.sha256,
                      sentences=n, bootstrap=bootstrap, seed=seed, levels=level_results,
                      edit_types=edit_breakdowns, error_types=error_breakdowns,
                      disagreement_level=disagreement_level, disagreements=disagreements, notes=tuple(all_notes),
                      outcomes=outcome_results, benchmark=_benchmark_figures(runs, labels, levels))


def _disagreement_part(runs: Sequence[RunRecord], labels: Sequence[str], levels: Sequence[str],
                       sources: list[str] | None, references: list[tuple[str, ...]] | None,
                       top: int) -> tuple[str | None, tuple[Disagreement, ...]]:
    """The level the disagreements are measured at, and the sentences (none for a single run)."""
    if len(runs) < 2:
        return None, ()
    if levels:
        return levels[0], _disagreements(runs, labels, levels, levels[0], sources, references, top)
    if references is None or any(run.predictions is None for run in runs):
        return None, ()
    return OUTPUT_LEVEL, _output_disagreements(runs, labels, sources, references, top)


def _output_disagreements(runs: Sequence[RunRecord], labels: Sequence[str], sources: list[str] | None,
                          references: list[tuple[str, ...]], top: int) -> tuple[Disagreement, ...]:
    """Without a score level (CSC): the sentences where one run's output is one of the
    references (a CSC target: the sentence-level correction is right) and another's is not,
    in dataset order."""
    right = np.array([[p.hypothesis in refs for p, refs in zip(run.predictions or (), references)] for run in runs],
                     dtype=np.float64)
    out: list[Disagreement] = []
    for index in [i for i in range(right.shape[1]) if right[:, i].max() > right[:, i].min()][:top]:
        entries = tuple(RunSentence(label, run.predictions[index].prediction, run.predictions[index].error, {},
                                    {OUTPUT_LEVEL: float(right[k, index])})  # type: ignore[index]
                        for k, (run, label) in enumerate(zip(runs, labels)))
        out.append(Disagreement(index, runs[0].rows[index].id, sources[index] if sources is not None else None,
                                tuple(references[index]), 1.0, entries))
    return tuple(out)


def _benchmark_figures(runs: Sequence[RunRecord], labels: Sequence[str],
                       levels: Sequence[str]) -> BenchmarkFigures | None:
    """The protocol's figures of benchmark records, those of the levels compared above left out
    (the headline always in)."""
    blocks = [run.metrics.benchmark for run in runs]
    first = next((block for block in blocks if block is not None), None)
    if first is None:
        return None
    compared = tuple(f"{level}." for level in levels)
    others = sorted({key for block in blocks if block is not None for key in block.figures
                     if not key.startswith(compared)} - {first.headline})
    keys = (first.headline, *others) if first.references else ()
    return BenchmarkFigures(first.name, first.protocol, first.headline, keys,
                            {label: {key: block.figures.get(key) if block is not None else None for key in keys}
                             for label, block in zip(labels, blocks)})


def _check_arguments(runs: Sequence[RunRecord], bootstrap: int, top: int) -> None:
    if not runs:
        raise HarnessError("nothing to compare: no runs given")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 0:
        raise HarnessError(f"bootstrap: expected a number of resamples >= 0, got {bootstrap!r}")
    if isinstance(top, bool) or not isinstance(top, int) or top < 0:
        raise HarnessError(f"top: expected a number of sentences >= 0, got {top!r}")


def _levels(runs: Sequence[RunRecord], labels: Sequence[str]) -> tuple[list[str], list[str]]:
    """The levels every run scored, with comparable signatures, and notes on what is left out."""
    first = runs[0]
    notes: list[str] = []
    levels = [level for level in LEVELS if all(level in run.signatures for run in runs)]
    for level in LEVELS:
        if level not in levels and any(level in run.signatures for run in runs):
            having = ", ".join(label for label, run in zip(labels, runs) if level in run.signatures)
            notes.append(f"{level} level not compared: only {having} scored it")
    for level in levels:
        for run, label in zip(runs[1:], labels[1:]):
            difference = signature_differences(first.metrics.levels()[level].signature_data,
                                               run.metrics.levels()[level].signature_data)
            if difference:
                raise HarnessError(f"{level} scores of {labels[0]} and {label} are not comparable: their "
                                   f"signatures differ ({'; '.join(difference)})")
    blocks = [run.metrics.benchmark for run in runs]
    if not levels and any(block is None for block in blocks):
        raise HarnessError("no score level is present in every run: "
                           + "; ".join(f"{label}: {', '.join(run.levels)}" for label, run in zip(labels, runs)))
    if not levels:
        block = blocks[0]
        assert block is not None
        what = "their protocol's figures" if block.references else "no figures (no references here)"
        notes.append(f"no char or word level: these {block.name} records ({block.task}, protocol {block.protocol}) "
                     f"hold {what}, compared as recorded, with no intervals, outcomes or breakdowns")
    notes += [f"{label} has {run.failed} failed items (scored as their source)"
              for label, run in zip(labels, runs) if run.failed]
    if len(first.rows) < first.dataset.sentences:
        notes.append(f"the runs cover {len(first.rows)} of the dataset's {first.dataset.sentences} sentences")
    notes += [f"{label}: predictions.jsonl is not in its folder; its outputs are not shown"
              for label, run in zip(labels, runs) if run.predictions is None]
    return levels, notes


def _error_breakdowns(runs: Sequence[RunRecord], labels: Sequence[str], levels: Sequence[str],
                      sources: list[str] | None, error_types: dict[str, str] | None,
                      notes: list[str]) -> tuple[Breakdown, ...]:
    """Breakdowns by NaCGEC error type (needs the sources to look them up); notes what is missing."""
    if error_types is None:
        return ()
    if sources is None:
        notes.append("no error-type breakdown: neither the dataset nor any run's predictions give the sources")
        return ()
    sentence_types = [error_types.get(remove_whitespace(source), UNKNOWN) for source in sources]
    unknown = sentence_types.count(UNKNOWN)
    if unknown:
        notes.append(f"{unknown} of {len(sources)} sentences have no NaCGEC error type (reported as {UNKNOWN})")
    return tuple(_error_types(level, runs, labels, sentence_types) for level in levels)


def _check_comparable(runs: Sequence[RunRecord]) -> None:
    first = runs[0]
    for run in runs[1:]:
        both = f"{first.name} ({first.path}) and {run.name} ({run.path})"
        if run.dataset.sha256 != first.dataset.sha256:
            raise HarnessError(f"runs {both} are over different datasets: {first.dataset.name} (sha256 "
                               f"{first.dataset.sha256[:12]}) vs {run.dataset.name} (sha256 {run.dataset.sha256[:12]})")
        if len(run.rows) != len(first.rows):
            raise HarnessError(f"runs {both} scored different numbers of sentences: {len(first.rows)} vs "
                               f"{len(run.rows)} (was one run with --limit?)")
        for index, (a, b) in enumerate(zip(first.rows, run.rows)):
            if a.id != b.id:
                raise HarnessError(f"runs {both} list different sentences: sentence {index + 1} is "
                                   f"id {a.id!r} in one and {b.id!r} in the other")


def _labels(runs: Sequence[RunRecord]) -> tuple[str, ...]:
    """Run names, with a #2, #3... suffix on repeats so that pairs stay distinguishable."""
    seen: dict[str, int] = {}
    labels = []
    for run in runs:
        seen[run.name] = seen.get(run.name, 0) + 1
        labels.append(run.name if seen[run.name] == 1 else f"{run.name}#{seen[run.name]}")
    return tuple(labels)


def _resample_weights(n: int, bootstrap: int, seed: int) -> np.ndarray:
    """(bootstrap, n): how many times each sentence is drawn in each resample. Summing counts
    with these weights equals summing the counts of the drawn indices, in less memory."""
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, n, size=(bootstrap, n))
    weights = np.empty((bootstrap, n), dtype=np.float64)  # float: the matrix product uses BLAS, exact below 2**53
    for b in range(bootstrap):  # a bincount per row beats one over the flattened matrix (no offsets, cache-sized)
        weights[b] = np.bincount(indices[b], minlength=n)
    return weights


def f_scores(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, beta: float = 0.5) -> np.ndarray:
    """`metrics.compare.prf`'s F-beta, element-wise (bit-identical for the same counts)."""
    tp, fp, fn = (np.asarray(x, dtype=np.float64) for x in (tp, fp, fn))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(fp > 0, tp / (tp + fp), 1.0)
        r = np.where(fn > 0, tp / (tp + fn), 1.0)
        f = np.where(p + r > 0, ((1 + beta**2) * p * r) / ((beta**2 * p) + r), 0.0)
    return f


def _counts_matrix(run: RunRecord, level: str) -> np.ndarray:
    return np.array([[row.level(level).tp, row.level(level).fp, row.level(level).fn] for row in run.rows],
                    dtype=np.float64)


def _total(counts: Iterable[Counts]) -> Counts:
    return Counts.sum(counts)


def _interval(values: np.ndarray) -> Interval:
    tail = (1 - CONFIDENCE) / 2 * 100
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return Interval(float(lo), float(hi))


def _compare_level(level: str, runs: Sequence[RunRecord], labels: Sequence[str], weights: np.ndarray) -> LevelComparison:
    scores: list[Score] = []
    samples: list[np.ndarray] = []
    for run, label in zip(runs, labels):
        total = _total(row.level(level).counts for row in run.rows)
        p, r, f = prf(total)
        interval = None
        if len(weights):
            summed = weights @ _counts_matrix(run, level)  # (bootstrap, 3)
            sample = f_scores(summed[:, 0], summed[:, 1], summed[:, 2])
            samples.append(sample)
            interval = _interval(sample)
        scores.append(Score(label, total, p, r, f, interval))
    pairs: list[PairDifference] = []
    for i in range(len(runs)):
        for j in range(i + 1, len(runs)):
            interval = win = None
            if len(weights):
                delta = samples[i] - samples[j]
                interval = _interval(delta)
                win = float(np.mean(samples[i] > samples[j]))
            pairs.append(PairDifference(labels[i], labels[j], scores[i].f - scores[j].f, interval, win))
    return LevelComparison(level, runs[0].signatures[level], tuple(scores), tuple(pairs))


def _facts(run: RunRecord, level: str, source_chars: Sequence[int] | None) -> tuple[SentenceFacts, ...]:
    """Per sentence: its outcome and counts at `level`, and its source's characters (0 unknown)."""
    rows = [row.level(level) for row in run.rows]
    chars = source_chars if source_chars is not None else [0] * len(rows)
    return tuple(SentenceFacts(classify(c.ref, c.tp, c.fp, c.fn), c.tp, c.fp, c.fn, n) for c, n in zip(rows, chars))


def _compare_outcomes(level: str, runs: Sequence[RunRecord], labels: Sequence[str],
                      source_chars: Sequence[int] | None, weights: np.ndarray) -> OutcomeComparison:
    """Outcome counts of every run, its over-correction figures, and the paired difference of
    each figure between every two runs (over the resamples of the F0.5 intervals)."""
    facts = [_facts(run, level, source_chars) for run in runs]
    names = [name for name in OVER_CORRECTION_FIGURES if name != "fp_per_100_chars" or source_chars is not None]
    per_run = tuple(RunOutcomes(label, {o: sum(1 for f in run_facts if f.outcome == o) for o in OUTCOMES},
                                {name: figure(name, run_facts) if name in names else None
                                 for name in OVER_CORRECTION_FIGURES})
                    for label, run_facts in zip(labels, facts))
    pairs: list[FigureDifference] = []
    for i in range(len(runs)):
        for j in range(i + 1, len(runs)):
            for name in names:
                if per_run[i].figures[name] is None or per_run[j].figures[name] is None:
                    continue  # undefined for a run (no error-free sentence): nothing to compare
                d = paired_figure_difference(name, facts[i], facts[j], weights)
                interval = None if d.interval is None else Interval(d.interval.lo, d.interval.hi)
                pairs.append(FigureDifference(labels[i], labels[j], name, d.a, d.b, d.difference, interval,
                                              d.a_higher_share))
    return OutcomeComparison(level, per_run, tuple(pairs))


def _type_score(name: str, counts: Counts, sentences: int | None = None) -> TypeScore:
    p, r, f = prf(counts)
    return TypeScore(name, counts, p, r, f, sentences)


def _edit_types(level: str, runs: Sequence[RunRecord], labels: Sequence[str]) -> Breakdown:
    per_row = {label: [row.level(level).edit_types() for row in run.rows] for run, label in zip(runs, labels)}
    seen = {name for rows in per_row.values() for types in rows for name in types}
    names = tuple([t for t in EDIT_TYPES if t in seen] + sorted(seen - set(EDIT_TYPES)))
    per_run: dict[str, tuple[TypeScore, ...]] = {}
    for run, label in zip(runs, labels):
        per_run[label] = tuple(_type_score(name, _total(types.get(name, Counts()) for types in per_row[label]))
                               for name in names)
    return Breakdown(level, "edit_type", names, per_run)


def _error_types(level: str, runs: Sequence[RunRecord], labels: Sequence[str], sentence_types: list[str]) -> Breakdown:
    seen = set(sentence_types)
    names = tuple([t for t in ERROR_TYPES if t in seen] + sorted(seen - set(ERROR_TYPES) - {UNKNOWN})
                  + ([UNKNOWN] if UNKNOWN in seen else []))
    per_run: dict[str, tuple[TypeScore, ...]] = {}
    for run, label in zip(runs, labels):
        per_run[label] = tuple(
            _type_score(name, _total(row.level(level).counts for row, t in zip(run.rows, sentence_types) if t == name),
                        sentence_types.count(name))
            for name in names)
    return Breakdown(level, "error_type", names, per_run)


def _disagreements(runs: Sequence[RunRecord], labels: Sequence[str], levels: Sequence[str], level: str,
                   sources: list[str] | None, references: list[tuple[str, ...]] | None,
                   top: int) -> tuple[Disagreement, ...]:
    per_run_f = np.stack([f_scores(*_counts_matrix(run, level).T) for run in runs])  # (runs, n)
    spread = per_run_f.max(axis=0) - per_run_f.min(axis=0)
    order = sorted((i for i in range(len(spread)) if spread[i] > 0), key=lambda i: (-spread[i], i))[:top]
    out: list[Disagreement] = []
    for index in order:
        entries = []
        for run, label in zip(runs, labels):
            row = run.rows[index]
            prediction, error = NOT_IN_RECORD, None
            if run.predictions is not None:
                prediction, error = run.predictions[index].prediction, run.predictions[index].error
            entries.append(RunSentence(label, prediction, error, {lv: row.level(lv).counts for lv in levels},
                                       {lv: prf(row.level(lv).counts)[2] for lv in levels}))
        out.append(Disagreement(index, runs[0].rows[index].id, sources[index] if sources is not None else None,
                                tuple(references[index]) if references is not None else None,
                                float(spread[index]), tuple(entries)))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Reporting


def _counts_json(counts: Counts) -> dict[str, int]:
    return {"tp": counts.tp, "fp": counts.fp, "fn": counts.fn}


def _interval_json(interval: Interval | None) -> list[float] | None:
    return None if interval is None else [interval.lo, interval.hi]


def _type_json(score: TypeScore) -> dict[str, Any]:
    out: dict[str, Any] = {**_counts_json(score.counts), "precision": score.precision, "recall": score.recall,
                           "f0.5": score.f}
    if score.sentences is not None:
        out["sentences"] = score.sentences
    return out


def _breakdown_json(breakdowns: Sequence[Breakdown]) -> dict[str, Any]:
    return {b.level: {"types": list(b.types),
                      "runs": {label: {s.type: _type_json(s) for s in scores} for label, scores in b.runs.items()}}
            for b in breakdowns}


def _outcomes_json(outcomes: Sequence[OutcomeComparison]) -> dict[str, Any]:
    return {oc.level: {
        "runs": {r.run: {"outcomes": dict(r.counts), **r.figures} for r in oc.runs},
        "pairs": [{"a": d.a, "b": d.b, "figure": d.figure, "a_value": d.a_value, "b_value": d.b_value,
                   "difference": d.difference, "interval": _interval_json(d.interval),
                   "a_higher_share": d.a_higher_share} for d in oc.pairs],
    } for oc in outcomes}


def to_json(comparison: Comparison) -> dict:
    """The comparison as plain JSON data: keys sorted, floats rounded to 4 places."""
    payload = {
        "dataset": {"name": comparison.dataset, "sha256": comparison.dataset_sha256,
                    "sentences": comparison.sentences},
        "runs": [{"name": label, "path": str(run.path), "complete": run.complete, "failed": run.failed}
                 for label, run in zip(comparison.labels, comparison.runs)],
        "bootstrap": {"resamples": comparison.bootstrap, "seed": comparison.seed, "confidence": CONFIDENCE},
        "levels": {
            lc.level: {
                "signature": lc.signature,
                "scores": {s.run: {**_counts_json(s.counts), "precision": s.precision, "recall": s.recall,
                                   "f0.5": s.f, "interval": _interval_json(s.interval)} for s in lc.scores},
                "pairs": [{"a": d.a, "b": d.b, "difference": d.difference, "interval": _interval_json(d.interval),
                           "win_share": d.win_share} for d in lc.pairs],
            } for lc in comparison.levels},
        "outcomes": _outcomes_json(comparison.outcomes),
        "edit_types": _breakdown_json(comparison.edit_types),
        "error_types": _breakdown_json(comparison.error_types) if comparison.error_types else None,
        "disagreements": {
            "level": comparison.disagreement_level,
            "measure": "the output is one of the references (no score level)"
            if comparison.disagreement_level == OUTPUT_LEVEL else "max - min over runs of per-sentence F0.5",
            "sentences": [{
                "index": d.index, "id": d.id, "source": d.source,
                "references": list(d.references) if d.references is not None else None, "spread": d.spread,
                "runs": [{"run": e.run, "prediction": e.prediction, "error": e.error,
                          "counts": {lv: _counts_json(c) for lv, c in e.counts.items()}, "f0.5": e.f}
                         for e in d.runs],
            } for d in comparison.disagreements]},
        "notes": list(comparison.notes),
    }
    if comparison.benchmark is not None:  # only for benchmark records: a plain comparison's JSON is as it was
        payload["benchmark"] = {"name": comparison.benchmark.name, "protocol": comparison.benchmark.protocol,
                                "headline": comparison.benchmark.headline, "figures": comparison.benchmark.runs}
    return _normalise(payload)


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _normalise(value[key]) for key in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [_normalise(item) for item in value]
    if isinstance(value, float):
        return round(value, 4)
    return value


def _pct(value: float) -> str:
    return f"{100 * value:.2f}"


def _pct_interval(interval: Interval | None) -> str:
    return "-" if interval is None else f"[{_pct(interval.lo)}, {_pct(interval.hi)}]"


def _cell(text: str | None) -> str:
    """Text safe inside a markdown table cell."""
    if text is None:
        return "(none)"
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ") or "(empty)"


def _figure_text(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    return _pct(value) if name == "over_correction_share" else f"{value:.2f}"


def _outcomes_markdown(outcomes: Sequence[OutcomeComparison], table: Callable[[list[str], list], str]) -> list[str]:
    """Per level: each run's outcome counts and over-correction figures, then the paired
    differences of the figures between every two runs."""
    out: list[str] = []
    for oc in outcomes:
        out += [f"## {oc.level} level: sentence outcomes and over-correction", "",
                "Outcomes as docs/outcomes.md defines them, from each sentence's counts against its chosen reference. "
                "Error-free changed: over-corrected / (kept-correct + over-corrected); FP per 100 chars: "
                "false-positive edits per 100 source characters (whitespace removed).", ""]
        out.append(table(["run", *OUTCOMES, "sentences", *OVER_CORRECTION_FIGURES.values()],
                         [[_cell(r.run), *(r.counts[o] for o in OUTCOMES), sum(r.counts.values()),
                           *(_figure_text(name, r.figures[name]) for name in OVER_CORRECTION_FIGURES)]
                          for r in oc.runs]))
        if oc.pairs:
            out += ["", table(["A", "B", "figure", "A", "B", "A - B", "95% CI", "P(A>B)"],
                              [_difference_row(d) for d in oc.pairs])]
        out.append("")
    return out


def _difference_row(d: FigureDifference) -> list[str]:
    """A pair's figure difference in the figure's unit (the share in percentage points)."""
    values = [_figure_text(d.figure, v) for v in (d.a_value, d.b_value, d.difference)]
    interval = "-" if d.interval is None else \
        f"[{_figure_text(d.figure, d.interval.lo)}, {_figure_text(d.figure, d.interval.hi)}]"
    return [_cell(d.a), _cell(d.b), OVER_CORRECTION_FIGURES[d.figure], *values, interval,
            "-" if d.a_higher_share is None else f"{d.a_higher_share:.3f}"]


def to_markdown(comparison: Comparison) -> str:
    """A report with tables (P/R/F0.5 in percent, 2 decimals; intervals as [lo, hi])."""
    from tabulate import tabulate

    def table(headers: list[str], rows: list[list[Any]]) -> str:
        return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)

    intervals = (f" Intervals: {int(CONFIDENCE * 100)}% paired bootstrap over sentences, {comparison.bootstrap} "
                 f"resamples, seed {comparison.seed}; P(A>B) is the share of resamples in which A scores higher."
                 if comparison.levels else "")
    out = [f"# Comparison of {', '.join(comparison.labels)}", "",
           f"Dataset {comparison.dataset} ({comparison.sentences} sentences, sha256 "
           f"{comparison.dataset_sha256[:12]}).{intervals}", ""]
    if comparison.notes:
        out += [f"- {note}" for note in comparison.notes] + [""]
    if comparison.benchmark is not None:
        out += _benchmark_markdown(comparison.benchmark, table)
    for lc in comparison.levels:
        out += [f"## {lc.level} level", "", f"`{lc.signature}`", ""]
        out.append(table(["run", "TP", "FP", "FN", "P", "R", "F0.5", "95% CI"],
                         [[_cell(s.run), s.counts.tp, s.counts.fp, s.counts.fn, _pct(s.precision), _pct(s.recall),
                           _pct(s.f), _pct_interval(s.interval)] for s in lc.scores]))
        if lc.pairs:
            out += ["", table(["A", "B", "F0.5(A) - F0.5(B)", "95% CI", "P(A>B)"],
                              [[_cell(d.a), _cell(d.b), _pct(d.difference), _pct_interval(d.interval),
                                "-" if d.win_share is None else f"{d.win_share:.3f}"] for d in lc.pairs])]
        out.append("")
    out += _outcomes_markdown(comparison.outcomes, table)
    for title, breakdowns in (("edit type", comparison.edit_types), ("NaCGEC error type", comparison.error_types)):
        for b in breakdowns:
            out += [f"## {b.level} level by {title}", ""]
            with_sentences = b.kind == "error_type"
            headers = ["type"] + (["sentences"] if with_sentences else []) + ["run", "TP", "FP", "FN", "P", "R", "F0.5"]
            rows = []
            for index, name in enumerate(b.types):
                for label, scores in b.runs.items():
                    s = scores[index]
                    rows.append([name] + ([s.sentences] if with_sentences else [])
                                + [_cell(label), s.counts.tp, s.counts.fp, s.counts.fn, _pct(s.precision),
                                   _pct(s.recall), _pct(s.f)])
            out += [table(headers, rows), ""]
    if comparison.disagreement_level is not None:
        out += _disagreements_markdown(comparison, table)
    return "\n".join(out).rstrip() + "\n"


def _disagreements_markdown(comparison: Comparison, table: Callable[[list[str], list], str]) -> list[str]:
    """The sentences the runs disagree on most, each with its source, references and outputs."""
    by_output = comparison.disagreement_level == OUTPUT_LEVEL
    if by_output:
        out = ["## Sentences where one run's output is a reference and another's is not", "",
               f"No score level to rank them by: the first {len(comparison.disagreements)} in dataset order.", ""]
    else:
        out = [f"## Sentences with the largest disagreement ({comparison.disagreement_level} level)", "",
               "Spread: max - min over runs of the sentence's F0.5 (1 = right, 0 = wrong), in percent; "
               "ties in dataset order.", ""]
    if not comparison.disagreements:
        out += ["The runs score every sentence the same.", ""]
    for rank, d in enumerate(comparison.disagreements, 1):
        spread = "" if by_output else f" (spread {_pct(d.spread)})"
        out += [f"### {rank}. id {d.id}{spread}", "", f"- source: {_cell(d.source)}"]
        for k, ref in enumerate(d.references or (), 1):
            out.append(f"- reference {k}: {_cell(ref)}")
        out.append("")
        levels = list(d.runs[0].counts)
        rows = []
        for e in d.runs:
            text = _cell(e.prediction) if e.error is None else f"(failed: {_cell(e.error)})"
            rows.append([_cell(e.run), text] + [f"{e.counts[lv].tp}/{e.counts[lv].fp}/{e.counts[lv].fn} "
                                                 f"({_pct(e.f[lv])})" for lv in levels]
                        + (["yes" if e.f[OUTPUT_LEVEL] else "no"] if by_output else []))
        headers = ["run", "prediction"] + [f"{lv} TP/FP/FN (F0.5)" for lv in levels] + \
            (["is a reference"] if by_output else [])
        out += [table(headers, rows), ""]
    return out


def _benchmark_markdown(figures: BenchmarkFigures, table: Callable[[list[str], list], str]) -> list[str]:
    """The protocol's figures of each run, as recorded (rates in %, counts as they are)."""
    out = [f"## Benchmark figures ({figures.name}, protocol {figures.protocol})", ""]
    if not figures.keys:
        return out + ["No figures: no references here.", ""]
    out += [f"As each run's record holds them (metrics.json `benchmark`), without intervals; headline "
            f"`{figures.headline}`. Rates in %, counts as they are.", ""]
    labels = list(figures.runs)
    rows = [[key, *(_figure_value(figures.runs[label][key]) for label in labels)] for key in figures.keys]
    return out + [table(["figure", *(_cell(label) for label in labels)], rows), ""]


def _figure_value(value: float | int | None) -> str:
    if value is None:
        return "-"
    return str(value) if isinstance(value, int) else _pct(value)


def plot(comparison: Comparison, path: Path) -> None:
    """A precision/recall chart (one labelled point per run and level) with F0.5 iso-curves, as PNG."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import PercentFormatter
    except ImportError:
        raise HarnessError("matplotlib is not installed: pip install 'cgec-harness[plot]' "
                           "(or pip install matplotlib)") from None
    path = Path(path)
    figure = Figure(figsize=(7, 6.5), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for target in (0.2, 0.4, 0.6, 0.8):
        # F = 1.25PR / (0.25P + R)  <=>  P = FR / (1.25R - 0.25F), defined for R > F/5.
        recall = np.linspace(target / 5 + 1e-6, 1.0, 400)
        precision = target * recall / (1.25 * recall - 0.25 * target)
        keep = precision <= 1.0
        axes.plot(recall[keep], precision[keep], color="0.75", linewidth=0.8, linestyle="--", zorder=1)
        axes.annotate(f"F0.5={target:.1f}", (1.0, target * 1.0 / (1.25 - 0.25 * target)), xytext=(-4, 3),
                      textcoords="offset points", ha="right", va="bottom", fontsize=7, color="0.5")
    markers = {"char": "o", "word": "s"}
    colours = [f"C{i % 10}" for i in range(len(comparison.labels))]
    points = []
    for lc in comparison.levels:
        for k, score in enumerate(lc.scores):
            axes.scatter([score.recall], [score.precision], marker=markers.get(lc.level, "^"), s=55,
                         color=colours[k], edgecolor="black", linewidth=0.6, zorder=3)
            points.append((score.recall, score.precision, f"{score.run} ({lc.level}, F0.5 {100 * score.f:.2f})",
                           colours[k]))
    for (x, y, text, colour), (lx, ly, align) in zip(points, _label_positions(points)):
        axes.annotate(text, (x, y), xytext=(lx, ly), textcoords="data", ha=align, va="center", fontsize=8,
                      color=colour, zorder=4,
                      arrowprops={"arrowstyle": "-", "color": colour, "linewidth": 0.5, "shrinkA": 0, "shrinkB": 4})
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.05)
    axes.xaxis.set_major_formatter(PercentFormatter(1.0))
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.set_xlabel("recall")
    axes.set_ylabel("precision")
    axes.set_title(f"{comparison.dataset}: precision / recall (circles: char level, squares: word level)")
    axes.grid(True, linewidth=0.3, alpha=0.5)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", bbox_inches="tight")


def _label_positions(points: Sequence[tuple[float, float, str, str]]) -> list[tuple[float, float, str]]:
    """Where to write each point's label (data coordinates, alignment): beside the point, moved
    up or down in steps until it does not overlap a label already placed (a rough box estimate)."""
    step, height, char_width = 0.04, 0.035, 0.0105
    placed: list[tuple[float, float, float]] = []  # (left, right, y)
    out: list[tuple[float, float, str]] = []
    for x, y, text, _ in points:
        width = len(text) * char_width
        align = "right" if x + 0.02 + width > 1.0 else "left"
        lx = x - 0.02 if align == "right" else x + 0.02
        left, right = (lx - width, lx) if align == "right" else (lx, lx + width)
        base = min(max(y, 0.02), 1.02)
        for shift in [0.0] + [sign * step * k for k in range(1, 40) for sign in (-1, 1)]:
            ly = base + shift
            if not 0.01 <= ly <= 1.04:
                continue
            if all(abs(ly - py) >= height or right <= pl or left >= pr for pl, pr, py in placed):
                break
        placed.append((left, right, ly))
        out.append((lx, ly, align))
    return out

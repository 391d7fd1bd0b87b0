"""Over-correction figures of a run, and paired-bootstrap intervals for their differences between
two runs: how often a system changes sentences that were right, how many false-positive edits
it makes per 100 source characters, which operations and types they are, and CLEME2.0's chunk
rates. Each figure is a ratio of sums of per-sentence values, so resampling sentences gives
its interval, paired when both runs use the same resamples (docs/outcomes.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from metrics.chunks import ChunkCounts
from metrics.outcomes import KEPT_CORRECT, OVER_CORRECTED

CONFIDENCE = 0.95
Statistic = Callable[[np.ndarray], np.ndarray]  # summed columns (resamples, k) -> figure (resamples,)


@dataclass(frozen=True)
class SentenceFacts:
    """What the figures need of one sentence at one level."""

    outcome: str
    tp: int
    fp: int
    fn: int
    source_chars: int  # characters of the source, whitespace removed (what ChERRANT aligns)
    chunks: ChunkCounts = ChunkCounts()


@dataclass(frozen=True)
class Interval:
    lo: float
    hi: float


@dataclass(frozen=True)
class Difference:
    """figure(a) - figure(b) on the full set, its paired-bootstrap interval and the share of
    resamples in which a's figure is strictly higher."""

    a: float
    b: float
    difference: float
    interval: Interval | None
    a_higher_share: float | None


# --------------------------------------------------------------------------------------------
# Statistics on summed columns


def ratio(scale: float = 1.0) -> Statistic:
    """scale * column 0 / column 1 (0.0 where column 1 sums to 0)."""
    def statistic(sums: np.ndarray) -> np.ndarray:
        num, den = sums[:, 0], sums[:, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(den > 0, scale * num / den, 0.0)
    return statistic


def f_beta(beta: float = 0.5) -> Statistic:
    """ChERRANT's F-beta of summed (tp, fp, fn) columns (`metrics.compare.prf`, element-wise)."""
    def statistic(sums: np.ndarray) -> np.ndarray:
        tp, fp, fn = sums[:, 0], sums[:, 1], sums[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(fp > 0, tp / (tp + fp), 1.0)
            r = np.where(fn > 0, tp / (tp + fn), 1.0)
            return np.where(p + r > 0, ((1 + beta**2) * p * r) / ((beta**2 * p) + r), 0.0)
    return statistic


# Each figure: its per-sentence columns and the statistic of their sums.
FIGURES: dict[str, tuple[Callable[[SentenceFacts], tuple[int, ...]], Statistic]] = {
    "f0.5": (lambda s: (s.tp, s.fp, s.fn), f_beta(0.5)),
    "over_correction_share": (lambda s: (int(s.outcome == OVER_CORRECTED),
                                         int(s.outcome in (KEPT_CORRECT, OVER_CORRECTED))), ratio()),
    "fp_per_100_chars": (lambda s: (s.fp, s.source_chars), ratio(100.0)),
    "chunk_hit": (lambda s: (s.chunks.hit, s.chunks.necessary), ratio()),
    "chunk_wrong": (lambda s: (s.chunks.wrong, s.chunks.necessary), ratio()),
    "chunk_under": (lambda s: (s.chunks.under, s.chunks.necessary), ratio()),
    "chunk_over": (lambda s: (s.chunks.over, s.chunks.proposed), ratio()),
}


def figure_values(name: str, facts: Sequence[SentenceFacts]) -> np.ndarray:
    """The per-sentence columns of a figure, shape (sentences, k)."""
    columns, _ = FIGURES[name]
    width = 3 if name == "f0.5" else 2
    return np.array([columns(s) for s in facts], dtype=np.float64).reshape(len(facts), width)


def figure(name: str, facts: Sequence[SentenceFacts]) -> float | None:
    """The figure on the whole set; None for a ratio over nothing (no error-free sentence...)."""
    values = figure_values(name, facts)
    sums = values.sum(axis=0, keepdims=True)
    if name != "f0.5" and sums[0, 1] == 0:
        return None
    return float(FIGURES[name][1](sums)[0])


# --------------------------------------------------------------------------------------------
# Paired bootstrap


def resample_weights(n: int, resamples: int, seed: int = 0) -> np.ndarray:
    """(resamples, n): how often each sentence is drawn in each resample. The draws are those of
    `harness compare` for the same n, resamples and seed (numpy's default_rng(seed), then
    integers(0, n, (resamples, n))), so these intervals use its resamples."""
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, n, size=(resamples, n))
    weights = np.empty((resamples, n), dtype=np.float64)
    for b in range(resamples):
        weights[b] = np.bincount(indices[b], minlength=n)
    return weights


def _percentiles(samples: np.ndarray, confidence: float) -> Interval:
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(samples, [tail, 100 - tail])
    return Interval(float(lo), float(hi))


def bootstrap_interval(values: np.ndarray, statistic: Statistic, weights: np.ndarray,
                       confidence: float = CONFIDENCE) -> Interval | None:
    """The percentile interval of a statistic of summed per-sentence columns over resamples."""
    if not len(weights) or not len(values):
        return None
    return _percentiles(statistic(weights @ values), confidence)


def paired_bootstrap(values_a: np.ndarray, values_b: np.ndarray, statistic: Statistic, resamples: int = 1000,
                     seed: int = 0, confidence: float = CONFIDENCE, weights: np.ndarray | None = None) -> Difference:
    """statistic(a) - statistic(b) with its paired-bootstrap interval: both runs' per-sentence
    columns (sentences, k) are summed under the same resamples of sentences, as `harness
    compare` does for F0.5. `weights` (from `resample_weights`) saves drawing them again."""
    values_a, values_b = np.asarray(values_a, dtype=np.float64), np.asarray(values_b, dtype=np.float64)
    if values_a.shape != values_b.shape or values_a.ndim != 2:
        raise ValueError(f"per-sentence values of both runs must have one shape (sentences, k): "
                         f"{values_a.shape} vs {values_b.shape}")
    a = float(statistic(values_a.sum(axis=0, keepdims=True))[0])
    b = float(statistic(values_b.sum(axis=0, keepdims=True))[0])
    if weights is None:
        weights = resample_weights(len(values_a), resamples, seed) if len(values_a) and resamples else np.empty((0, 0))
    if not len(weights):
        return Difference(a, b, a - b, None, None)
    sample_a, sample_b = statistic(weights @ values_a), statistic(weights @ values_b)
    return Difference(a, b, a - b, _percentiles(sample_a - sample_b, confidence), float(np.mean(sample_a > sample_b)))


def paired_figure_difference(name: str, facts_a: Sequence[SentenceFacts], facts_b: Sequence[SentenceFacts],
                             weights: np.ndarray) -> Difference:
    """A named figure of run a minus run b (same sentences, in the same order)."""
    if len(facts_a) != len(facts_b):
        raise ValueError(f"paired runs need the same sentences: {len(facts_a)} vs {len(facts_b)}")
    return paired_bootstrap(figure_values(name, facts_a), figure_values(name, facts_b), FIGURES[name][1],
                            weights=weights)


# --------------------------------------------------------------------------------------------
# False positives by operation and type


def false_positives_by_type(types: Iterable[Mapping[str, Sequence[int]]], tier: int = 1) -> dict[str, int]:
    """FP edits per type from per-sentence type counts (`SentenceScore.types`: type -> [tp, fp,
    fn]); tier 1: the operation (M, R, S, W), 3: the full ChERRANT type. Types without FPs are left out."""
    out: dict[str, int] = {}
    for sentence in types:
        for name, counts in sentence.items():
            key = name if tier == 3 or name == "UNK" else name[0]
            if counts[1]:
                out[key] = out.get(key, 0) + int(counts[1])
    return dict(sorted(out.items()))

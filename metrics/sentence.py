"""Sentence-level metrics that need no alignment: exact match against a list of references, and
binary error detection ("is this sentence erroneous?") as classification figures.

Plain data in, plain data out; callers normalise the text (whitespace, punctuation) first, so
the rule that decides equality is theirs and is written down once, in their protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


def ratio(numerator: int, denominator: int) -> float:
    """numerator / denominator, 0.0 when there is nothing to divide (no predictions, no gold)."""
    return numerator / denominator if denominator else 0.0


def f_beta(precision: float, recall: float, beta: float = 1.0) -> float:
    """F-beta of a precision and a recall; 0.0 when both are 0."""
    denominator = beta * beta * precision + recall
    return (1 + beta * beta) * precision * recall / denominator if denominator else 0.0


@dataclass(frozen=True)
class ExactMatch:
    """Sentences whose hypothesis equals one of its references, out of those that have one."""

    matched: int
    total: int

    @property
    def rate(self) -> float:
        return ratio(self.matched, self.total)

    def as_dict(self) -> dict[str, float | int]:
        return {"matched": self.matched, "total": self.total, "rate": self.rate}


def exact_match(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> ExactMatch:
    """A sentence counts when its hypothesis is one of its references (compared as given); a
    sentence with no reference at all (an unannotatable one) is left out of the total."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} reference lists")
    matched = total = 0
    for hypothesis, options in zip(hypotheses, references):
        if not options:
            continue
        total += 1
        matched += hypothesis in options
    return ExactMatch(matched, total)


@dataclass(frozen=True)
class BinaryDetection:
    """Confusion counts of "erroneous" (positive) against "correct", and the figures of both."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        return f_beta(self.precision, self.recall)

    @property
    def accuracy(self) -> float:
        return ratio(self.tp + self.tn, self.tp + self.fp + self.fn + self.tn)

    @property
    def macro_f1(self) -> float:
        """Mean F1 of the two classes (FCGEC's README names Macro F1 for its detection task)."""
        negative_p = ratio(self.tn, self.tn + self.fn)
        negative_r = ratio(self.tn, self.tn + self.fp)
        return (self.f1 + f_beta(negative_p, negative_r)) / 2

    def as_dict(self) -> dict[str, float | int]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn, "p": self.precision,
                "r": self.recall, "f1": self.f1, "accuracy": self.accuracy, "macro_f1": self.macro_f1}


def binary_detection(predicted: Sequence[bool], gold: Sequence[bool]) -> BinaryDetection:
    """`predicted[i]`: the system says sentence i is erroneous; `gold[i]`: it is."""
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predictions for {len(gold)} gold labels")
    tp = sum(p and g for p, g in zip(predicted, gold))
    fp = sum(p and not g for p, g in zip(predicted, gold))
    fn = sum(g and not p for p, g in zip(predicted, gold))
    return BinaryDetection(tp, fp, fn, len(gold) - tp - fp - fn)

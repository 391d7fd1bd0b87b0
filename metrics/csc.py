"""Chinese spelling check (CSC) figures as CSCD-NS's evaluation defines them (nghuyong/cscd-ns,
evaluation/evaluate.py): detection and correction precision, recall and F1 at sentence level and
at character level, from (source, target, prediction) triples of equal length.

- Sentence level: a sentence is "predicted" when the prediction changes any character; detection
  is right when the changed positions are exactly the erroneous ones, correction when the
  prediction equals the target. Recall counts the erroneous sentences.
- Character level: every changed position is a prediction; detection is right on an erroneous
  position, correction when the predicted character is the target's.

The upstream script refuses a prediction whose length differs from its source. Here such a
prediction is counted (`length_mismatch`) and scored by one stated rule: at sentence level it is
a prediction that is never right (the system did change the sentence); at character level it
predicts nothing, since its positions cannot be lined up with the source, and its sentence's
erroneous characters stay in the recall denominators. Division by zero gives 0.0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from metrics.sentence import f_beta, ratio


@dataclass(frozen=True)
class PRCounts:
    """Right predictions, all predictions, all gold errors: P = right/predicted, R = right/gold."""

    right: int = 0
    predicted: int = 0
    gold: int = 0

    @property
    def precision(self) -> float:
        return ratio(self.right, self.predicted)

    @property
    def recall(self) -> float:
        return ratio(self.right, self.gold)

    @property
    def f1(self) -> float:
        return f_beta(self.precision, self.recall)

    def __add__(self, other: "PRCounts") -> "PRCounts":
        return PRCounts(self.right + other.right, self.predicted + other.predicted, self.gold + other.gold)

    def as_dict(self) -> dict[str, float | int]:
        return {"right": self.right, "predicted": self.predicted, "gold": self.gold, "p": self.precision,
                "r": self.recall, "f1": self.f1}


@dataclass(frozen=True)
class CSCResult:
    sentence_detection: PRCounts
    sentence_correction: PRCounts
    char_detection: PRCounts
    char_correction: PRCounts
    sentences: int
    length_mismatch: tuple[int, ...]  # 0-based indices of predictions whose length differs

    def as_dict(self) -> dict[str, dict[str, float | int] | int | list[int]]:
        return {"sentence.detection": self.sentence_detection.as_dict(),
                "sentence.correction": self.sentence_correction.as_dict(),
                "char.detection": self.char_detection.as_dict(), "char.correction": self.char_correction.as_dict(),
                "sentences": self.sentences, "length_mismatch": list(self.length_mismatch)}


@dataclass(frozen=True)
class _Sentence:
    sentence_detection: PRCounts
    sentence_correction: PRCounts
    char_detection: PRCounts
    char_correction: PRCounts


def _sentence(source: str, target: str, prediction: str) -> _Sentence:
    errors = [i for i, (s, t) in enumerate(zip(source, target)) if s != t]
    gold = PRCounts(gold=1 if errors else 0)
    if len(prediction) != len(source):
        return _Sentence(gold + PRCounts(predicted=1), gold + PRCounts(predicted=1), PRCounts(gold=len(errors)),
                         PRCounts(gold=len(errors)))
    changed = [i for i, (s, p) in enumerate(zip(source, prediction)) if s != p]
    if not changed:
        return _Sentence(gold, gold, PRCounts(gold=len(errors)), PRCounts(gold=len(errors)))
    detected = sum(source[i] != target[i] for i in changed)
    corrected = sum(prediction[i] == target[i] for i in changed)
    return _Sentence(gold + PRCounts(int(changed == errors), 1), gold + PRCounts(int(prediction == target), 1),
                     PRCounts(detected, len(changed), len(errors)), PRCounts(corrected, len(changed), len(errors)))


def csc_scores(sources: Sequence[str], targets: Sequence[str], predictions: Sequence[str]) -> CSCResult:
    """The four P/R/F1 figures of `predictions`, one per (source, target) pair of equal length."""
    if not len(sources) == len(targets) == len(predictions):
        raise ValueError(f"{len(sources)} sources, {len(targets)} targets and {len(predictions)} predictions")
    unequal = next((i for i, (s, t) in enumerate(zip(sources, targets)) if len(s) != len(t)), None)
    if unequal is not None:
        raise ValueError(f"pair {unequal + 1}: source and target differ in length")
    totals = [PRCounts()] * 4
    mismatch: list[int] = []
    for index, triple in enumerate(zip(sources, targets, predictions)):
        one = _sentence(*triple)
        if len(triple[2]) != len(triple[0]):
            mismatch.append(index)
        parts = (one.sentence_detection, one.sentence_correction, one.char_detection, one.char_correction)
        totals = [total + part for total, part in zip(totals, parts)]
    return CSCResult(*totals, sentences=len(sources), length_mismatch=tuple(mismatch))

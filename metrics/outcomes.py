"""What a corrector did to each sentence, in one word: kept-correct, over-corrected, fixed, partly
fixed, wrong fix, missed (or unscored). F0.5 says how good a system is; outcomes say how it
fails, and LLM correctors fail mostly by changing sentences that were right.

An outcome is read from the counts the scorer already has for the sentence against the
reference it chose (`metrics.score.SentenceScore`: ref, tp, fp, fn), so outcomes always agree
with the TP/FP/FN that make the F0.5. Definitions and the reasons for them: docs/outcomes.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

KEPT_CORRECT = "kept-correct"
OVER_CORRECTED = "over-corrected"
FIXED = "fixed"
PARTLY_FIXED = "partly-fixed"
WRONG_FIX = "wrong-fix"
MISSED = "missed"
UNSCORED = "unscored"  # ChERRANT skipped it (its only reference is 无法标注): no counts to read
OUTCOMES = (KEPT_CORRECT, OVER_CORRECTED, FIXED, PARTLY_FIXED, WRONG_FIX, MISSED, UNSCORED)
# What each outcome says, in a few words (for `harness show` and tables).
MEANINGS = {
    KEPT_CORRECT: "the source was correct and was left as it was",
    OVER_CORRECTED: "the source was correct and was changed",
    FIXED: "the hypothesis matches the chosen reference",
    PARTLY_FIXED: "some edits right, some wrong or missing",
    WRONG_FIX: "changed, but no edit right",
    MISSED: "an erroneous source left unchanged",
    UNSCORED: "the scorer left the sentence out (its only reference is 无法标注)",
}

# Mark kinds of an edit against the chosen reference.
TRUE_POSITIVE, FALSE_POSITIVE, MISSED_EDIT = "tp", "fp", "missed"


def classify(ref: int | None, tp: int, fp: int, fn: int) -> str:
    """The outcome of one sentence from its counts against the chosen reference.

    The source is correct when the chosen reference has no edits (tp + fn == 0: every edit of
    a reference counts as a TP or an FN); the hypothesis changed it when it has edits
    (tp + fp > 0: every hypothesis edit counts as a TP or an FP)."""
    if min(tp, fp, fn) < 0:
        raise ValueError(f"negative counts: tp={tp} fp={fp} fn={fn}")
    if ref is None:
        return UNSCORED
    if tp + fn == 0:
        return OVER_CORRECTED if fp else KEPT_CORRECT
    if tp == 0:
        return WRONG_FIX if fp else MISSED
    return FIXED if fp == 0 and fn == 0 else PARTLY_FIXED


def classify_all(sentences: Iterable) -> tuple[str, ...]:
    """Outcomes of sentence scores (anything with ref, tp, fp, fn), in order."""
    return tuple(classify(s.ref, s.tp, s.fp, s.fn) for s in sentences)


def outcome_counts(outcomes: Iterable[str]) -> dict[str, int]:
    """Every outcome with its count (zeros included), in the order of OUTCOMES."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for outcome in outcomes:
        if outcome not in counts:
            raise ValueError(f"unknown outcome {outcome!r}")
        counts[outcome] += 1
    return counts


def over_correction_share(counts: Mapping[str, int]) -> float | None:
    """over-corrected / (kept-correct + over-corrected): the share of error-free sentences that
    were changed; None when no sentence is error-free. `metrics.overcorrection.figure` gives the
    same value from per-sentence facts (there with bootstrap intervals)."""
    error_free = counts.get(KEPT_CORRECT, 0) + counts.get(OVER_CORRECTED, 0)
    return counts.get(OVER_CORRECTED, 0) / error_free if error_free else None


def fp_per_100_chars(fp: int, source_chars: int | None) -> float | None:
    """False-positive edits per 100 source characters (whitespace removed); None without characters."""
    return 100.0 * fp / source_chars if source_chars else None


def corpus_figures(counts: Mapping[str, int], fp: int, source_chars: int | None,
                   fp_by_operation: Mapping[str, int] | None) -> dict[str, Any]:
    """A level's over-correction figures as `metrics.json` stores them (rounded to 4 places, as
    the scorers' figures are); `fp_by_operation` only for a method that types its edits."""
    share, per_100 = over_correction_share(counts), fp_per_100_chars(fp, source_chars)
    figures: dict[str, Any] = {"over_correction_share": None if share is None else round(share, 4),
                               "fp_per_100_chars": None if per_100 is None else round(per_100, 4)}
    if fp_by_operation is not None:
        figures["fp_by_operation"] = {name: int(n) for name, n in sorted(fp_by_operation.items()) if n}
    return figures


# --------------------------------------------------------------------------------------------
# Edits marked against the chosen reference


@dataclass(frozen=True)
class Mark:
    """One compared edit over the source characters [start, end): `correction` replaces them
    ("" deletes; start == end inserts). `kind`: tp (a hypothesis edit the chosen reference
    has), fp (one it has not), missed (a reference edit the hypothesis lacks)."""

    kind: str
    start: int
    end: int
    correction: str
    types: tuple[str, ...]


def parse_edit_text(text: str) -> tuple[int, int, str, tuple[str, ...]]:
    """`SentenceScore.hyp_edits` / `ref_edits` entries as ChERRANT's default mode writes them,
    `start end correction type[/type...]` (correction `-NONE-` for a deletion)."""
    parts = text.split(" ")
    if len(parts) != 4:
        raise ValueError(f"not a compared edit 'start end correction types': {text!r}")
    start, end = int(parts[0]), int(parts[1])
    correction = "" if parts[2] == "-NONE-" else parts[2]
    return start, end, correction, tuple(parts[3].split("/"))


def sentence_marks(hyp_edits: Sequence[str], ref_edits: Sequence[str]) -> tuple[Mark, ...]:
    """The hypothesis' edits marked tp or fp and the chosen reference's unmatched edits marked
    missed, by the key ChERRANT compares (span and correction), sorted by position."""
    hyp = [parse_edit_text(t) for t in hyp_edits]
    ref = [parse_edit_text(t) for t in ref_edits]
    ref_keys = {(s, e, c) for s, e, c, _ in ref}
    hyp_keys = {(s, e, c) for s, e, c, _ in hyp}
    marks = [Mark(TRUE_POSITIVE if (s, e, c) in ref_keys else FALSE_POSITIVE, s, e, c, types)
             for s, e, c, types in hyp]
    marks += [Mark(MISSED_EDIT, s, e, c, types) for s, e, c, types in ref if (s, e, c) not in hyp_keys]
    return tuple(sorted(marks, key=lambda m: (m.start, m.end, m.kind, m.correction)))

"""ChERRANT's compare: pool each annotator's edits, count TP/FP/FN for every hypothesis x
reference annotator pair, then pick the best reference sentence by sentence in file order.

Pair counts are independent per sentence (compute them in any order, in parallel); the choice
depends on the counts accumulated so far and so is made sequentially by `choose_references`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from metrics.edit import NOOP, NOT_ANNOTATABLE, Annotation, Block, Edit
from metrics.options import EVAL_MODES
from metrics.score import Counts, prf

__all__ = ["Counts", "EditDict", "EditFilter", "MODES", "PairCounts", "annotation_edits", "block_edits",
           "choose_references", "compare_pair", "edit_dict", "edit_keys", "prf", "sentence_pairs", "total_counts"]

Key = tuple  # (start, end, correction) in the default mode; see edit_keys
# annotator id -> edit key -> the types of every occurrence (an edit found in two alignments of
# one annotator occurs twice and counts twice, as in ChERRANT).
EditDict = dict[int, dict[Key, list[str]]]
TypeCounts = dict[str, list[int]]  # type -> [tp, fp, fn]


@dataclass(frozen=True)
class PairCounts:
    """Counts of one hypothesis annotator against one reference annotator; `choose_references`
    returns the pair chosen for each sentence (`ref` None: a skipped unannotatable sentence)."""

    hyp: int
    ref: int | None
    counts: Counts
    by_type: TypeCounts = field(default_factory=dict)


MODES = EVAL_MODES  # ChERRANT's evaluation modes (metrics.options): what makes two edits the same


@dataclass(frozen=True)
class EditFilter:
    """ChERRANT's edit selection: `-single` keeps edits over at most one source token, `-multi`
    the others (its test on the correction's tokens never fires: it reads the correction with
    its spaces removed); `-filt` drops the listed types."""

    single: bool = False
    multi: bool = False
    types: frozenset[str] = frozenset()

    def drops(self, edit: Edit) -> bool:
        width = edit.end - edit.start
        return (self.single and width >= 2) or (self.multi and width < 2) or edit.type in self.types


def edit_keys(edit: Edit, mode: str = "cs") -> list[tuple]:
    """How an edit is identified under a mode; token detection splits a span into its tokens
    (an insertion counts against the token on its right)."""
    if mode == "cs":
        return [edit.key]
    if mode == "cse":
        return [(edit.start, edit.end, edit.type, edit.key[2])]
    if mode == "ds":
        return [(edit.start, edit.end)]
    if edit.start == -1:
        return [(-1, -1)]
    if edit.start == edit.end:
        return [(edit.start, edit.start + 1)]
    return [(i, i + 1) for i in range(edit.start, edit.end)]


def edit_dict(edits: Iterable[Edit], mode: str = "cs", selection: EditFilter = EditFilter()) -> EditDict:
    """Pool edits by annotator; a sentence without edits gets annotator 0's implicit noop. An
    annotator whose edits are all filtered out stays, with none (as in ChERRANT)."""
    edits = list(edits)
    if not edits:
        edits = [Edit(-1, -1, NOOP, (), 0)]
    detection = mode in ("ds", "dt")
    pooled: EditDict = {}
    for edit in edits:
        per_annotator = pooled.setdefault(edit.annotator, {})
        if (edit.type == "UNK" and not detection) or selection.drops(edit):
            continue
        for key in edit_keys(edit, mode):
            per_annotator.setdefault(key, []).append(edit.type)
    return pooled


def block_edits(block: Block) -> list[Edit]:
    """Every edit line of a block, as a written M2 file would list them."""
    edits: list[Edit] = []
    for annotation in block.annotations:
        edits.extend(annotation_edits(annotation))
    return edits


def annotation_edits(annotation: Annotation) -> list[Edit]:
    if annotation.marker is not None:
        kind = NOT_ANNOTATABLE if annotation.marker != "没有错误" else NOOP
        return [Edit(-1, -1, kind, (), annotation.annotator)]
    return [edit for alignment in annotation.alignments for edit in alignment]


def compare_pair(hyp: dict[Key, list[str]], ref: dict[Key, list[str]]) -> tuple[Counts, TypeCounts]:
    tp = fp = fn = 0
    by_type: TypeCounts = {}
    for key, types in hyp.items():
        if types[0] == NOOP:
            continue
        if key in ref:
            for t in ref[key]:
                tp += 1
                by_type.setdefault(t, [0, 0, 0])[0] += 1
        else:
            for t in types:
                fp += 1
                by_type.setdefault(t, [0, 0, 0])[1] += 1
    for key, types in ref.items():
        if types[0] == NOOP:
            continue
        if key not in hyp:
            for t in types:
                fn += 1
                by_type.setdefault(t, [0, 0, 0])[2] += 1
    return Counts(tp, fp, fn), by_type


def sentence_pairs(hyp: EditDict, ref: EditDict) -> list[PairCounts] | None:
    """All annotator pairs of one sentence, or None when its only reference is unannotatable."""
    if len(ref) == 1:
        only = next(iter(ref.values()))
        if len(only) == 1 and next(iter(only.values()))[0] == NOT_ANNOTATABLE:
            return None
    pairs = []
    for hyp_id, hyp_edits in hyp.items():
        for ref_id, ref_edits in ref.items():
            counts, by_type = compare_pair(hyp_edits, ref_edits)
            pairs.append(PairCounts(hyp_id, ref_id, counts, by_type))
    return pairs


def choose_references(sentences: Sequence[list[PairCounts] | None], beta: float = 0.5) -> list[PairCounts]:
    """Per sentence, the pair maximising the corpus F so far (rounded to 4 places); ties go to
    higher TP, then lower FP, then lower FN, then the first pair."""
    total = Counts()
    choices: list[PairCounts] = []
    for pairs in sentences:
        if pairs is None:
            choices.append(PairCounts(0, None, Counts()))
            continue
        best: PairCounts | None = None
        best_f = -1.0
        for pair in pairs:
            f = round(prf(total + pair.counts, beta)[2], 4)
            c = pair.counts
            if best is None or f > best_f or (f == best_f and (
                    c.tp > best.counts.tp
                    or (c.tp == best.counts.tp and c.fp < best.counts.fp)
                    or (c.tp == best.counts.tp and c.fp == best.counts.fp and c.fn < best.counts.fn))):
                best, best_f = pair, f
        assert best is not None
        total = total + best.counts
        choices.append(best)
    return choices


def total_counts(choices: Iterable[PairCounts]) -> Counts:
    return Counts.sum(choice.counts for choice in choices)

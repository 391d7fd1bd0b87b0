"""CLEME2.0's chunk view of one sentence (Ye et al., ACL 2025; THUKElab/CLEME): edits grouped into
chunks, so that a rewrite that fixes an error by changing far more than needed is seen as one
wrong or over-correcting chunk rather than as a scatter of edits.

The source is cut into chunks: every edit span of the hypothesis and of the reference is an
interval of the source, and intervals that overlap or touch are merged (CLEME's merge distance
0); what lies between merged intervals is unchanged for both. On each merged chunk:

- hit: the hypothesis changed the chunk and its text there equals the reference's;
- wrong: the hypothesis changed it, differently from a reference that also changed it;
- over: the hypothesis changed a chunk the reference leaves as it is (over-correction);
- under: the reference changed a chunk the hypothesis leaves as it is (under-correction).

Rates as CLEME2.0 defines them: hit, wrong and under over the necessary chunks
(hit + wrong + under); over over the chunks the hypothesis changed (hit + wrong + over).

Unlike CLEME, which cuts chunks with every reference at once and then picks a reference, this
view uses the reference ChERRANT chose for the sentence, so its chunks speak of the same
reference as the sentence's TP/FP/FN and its outcome (docs/outcomes.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from metrics.edit import Block, Edit

Alignment = Sequence[Edit]


@dataclass(frozen=True)
class ChunkCounts:
    hit: int = 0
    wrong: int = 0
    under: int = 0
    over: int = 0

    def __add__(self, other: "ChunkCounts") -> "ChunkCounts":
        return ChunkCounts(self.hit + other.hit, self.wrong + other.wrong, self.under + other.under,
                           self.over + other.over)

    @property
    def necessary(self) -> int:
        """Chunks the reference changed."""
        return self.hit + self.wrong + self.under

    @property
    def proposed(self) -> int:
        """Chunks the hypothesis changed."""
        return self.hit + self.wrong + self.over

    def rates(self) -> dict[str, float]:
        """hit, wrong, under over necessary chunks; over over proposed ones (0.0 when empty)."""
        need, made = self.necessary, self.proposed
        return {"hit": self.hit / need if need else 0.0, "wrong": self.wrong / need if need else 0.0,
                "under": self.under / need if need else 0.0, "over": self.over / made if made else 0.0}


def _real(edits: Alignment) -> list[Edit]:
    """Edits with a span (noop and 无法标注 lines have -1 -1)."""
    return sorted((e for e in edits if e.start >= 0), key=lambda e: (e.start, e.end))


def merged_intervals(*alignments: Alignment) -> list[tuple[int, int]]:
    """Edit spans of all alignments, merged where they overlap or touch."""
    spans = sorted((e.start, e.end) for edits in alignments for e in _real(edits))
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def chunk_text(source: Sequence[str], edits: Alignment, start: int, end: int) -> tuple[str, bool]:
    """The text one alignment gives to the chunk source[start:end], and whether it edits it.
    Chunks are merged intervals, so an edit lies wholly inside one chunk or outside it (an
    insertion at `end` is inside: it touches the interval and was merged into it)."""
    inside = [e for e in _real(edits) if start <= e.start and e.end <= end]
    out: list[str] = []
    position = start
    for edit in inside:
        out.extend(source[position:edit.start])
        out.extend(edit.correction)
        position = max(position, edit.end)
    out.extend(source[position:end])
    return "".join(out), bool(inside)


def _chunk_kind(hyp: tuple[str, bool], ref: tuple[str, bool]) -> str | None:
    (hyp_text, hyp_changed), (ref_text, ref_changed) = hyp, ref
    if hyp_changed:
        return "hit" if hyp_text == ref_text else "wrong" if ref_changed else "over"
    return "under" if ref_changed else None


def chunk_counts(source: Sequence[str], hyp: Alignment, ref: Alignment) -> ChunkCounts:
    """The chunk view of one hypothesis alignment against one reference alignment."""
    tally = {"hit": 0, "wrong": 0, "under": 0, "over": 0}
    for start, end in merged_intervals(hyp, ref):
        kind = _chunk_kind(chunk_text(source, hyp, start, end), chunk_text(source, ref, start, end))
        if kind is not None:
            tally[kind] += 1
    return ChunkCounts(**tally)


def sentence_chunks(hypothesis: Block, reference: Block, annotator: int | None) -> ChunkCounts:
    """The chunk view of a sentence: the hypothesis block against annotator `annotator` of the
    reference block (None: the sentence was not scored, no chunks). With several cheapest
    alignments on either side, the pair with the most hits (then fewest other chunks) counts."""
    if annotator is None:
        return ChunkCounts()
    hyp_alignments = alignments_of(hypothesis, 0)
    ref_alignments = alignments_of(reference, annotator)
    best: ChunkCounts | None = None
    for hyp in hyp_alignments:
        for ref in ref_alignments:
            counts = chunk_counts(hypothesis.source_tokens, hyp, ref)
            if best is None or (counts.hit, -(counts.wrong + counts.under + counts.over)) > \
                    (best.hit, -(best.wrong + best.under + best.over)):
                best = counts
    return best or ChunkCounts()


def alignments_of(block: Block, annotator: int) -> tuple[tuple[Edit, ...], ...]:
    """An annotator's alignments in a block; one empty alignment when it has no edits."""
    for annotation in block.annotations:
        if annotation.annotator == annotator:
            return tuple(tuple(a) for a in annotation.alignments) or ((),)
    return ((),)

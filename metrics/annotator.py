"""annotate(source, target): tokens -> all cheapest alignments -> merged edits -> typed edits.

This is the whole ChERRANT extraction method; each step lives in its own module.
"""

from __future__ import annotations

from typing import Callable, Sequence

from metrics.alignment import align, cheapest_paths
from metrics.classifier import classify
from metrics.cost import SubstitutionCost
from metrics.edit import NO_ERROR_TEXT, NOT_ANNOTATABLE_TEXT, Annotation, Edit
from metrics.merger import merge
from metrics.zh.tokens import Token


class Annotator:
    """Extracts the edits of (source, target) token sequences for one granularity."""

    def __init__(self, cost: SubstitutionCost, granularity: str = "char",
                 spelling: Callable[[str, str], bool] | None = None) -> None:
        self.cost = cost
        self.granularity = granularity
        self.spelling = spelling

    def __call__(self, src: Sequence[Token], tgt: Sequence[Token], annotator: int = 0) -> Annotation:
        src_texts = [t.text for t in src]
        tgt_texts = [t.text for t in tgt]
        target_tokens = tuple(tgt_texts)
        target_text = "".join(tgt_texts)
        if target_text == NO_ERROR_TEXT or "".join(src_texts) == target_text:
            return Annotation(annotator, target_tokens, marker=NO_ERROR_TEXT)
        if target_text == NOT_ANNOTATABLE_TEXT:
            return Annotation(annotator, target_tokens, marker=NOT_ANNOTATABLE_TEXT)
        table = align(src, tgt, self.cost, self.cost.unique_matrix)
        src_tokens, tgt_tokens = list(src), list(tgt)
        seen: set[tuple] = set()
        alignments: list[tuple[Edit, ...]] = []
        for path in cheapest_paths(table, compact=True):
            steps = merge(path, src_texts, tgt_texts, self.granularity)
            key = tuple(steps)
            if key in seen:
                continue
            seen.add(key)
            alignments.append(tuple(
                classify(step, src_tokens, tgt_tokens, self.granularity, annotator, self.spelling)
                for step in steps
            ))
        return Annotation(annotator, target_tokens, tuple(alignments))

"""Records passed between the steps: an edit with its type, and the edits of one M2 block."""

from __future__ import annotations

from dataclasses import dataclass, field

NOOP = "noop"
NOT_ANNOTATABLE = "NA"
NO_ERROR_TEXT = "没有错误"
NOT_ANNOTATABLE_TEXT = "无法标注"


@dataclass(frozen=True)
class Edit:
    """A typed edit: source token span [start, end), correction tokens, type, annotator."""

    start: int
    end: int
    type: str
    correction: tuple[str, ...]
    annotator: int = 0

    @property
    def key(self) -> tuple[int, int, str]:
        """How ChERRANT's compare identifies an edit: span and correction without spaces."""
        return (self.start, self.end, "".join(self.correction) if self.correction else "-NONE-")


@dataclass(frozen=True)
class Annotation:
    """One annotator's target for a sentence: its tokens and the edit list of each distinct
    cheapest alignment (A0, A1, ...). `marker` is 没有错误 / 无法标注 for the noop / NA cases."""

    annotator: int
    target_tokens: tuple[str, ...]
    alignments: tuple[tuple[Edit, ...], ...] = ()
    marker: str | None = None


@dataclass(frozen=True)
class Block:
    """One M2 block: the source tokens and every annotator's annotation."""

    source_tokens: tuple[str, ...]
    annotations: tuple[Annotation, ...] = field(default_factory=tuple)

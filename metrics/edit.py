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
        """How ChERRANT's compare identifies an edit: span and the correction field of its M2
        line as read back (`read_correction_field`), spaces removed."""
        return (self.start, self.end, read_correction_field(self.correction).replace(" ", ""))


def written_correction(correction: tuple[str, ...]) -> str:
    """The correction field of an M2 edit line as ChERRANT writes it: the tokens joined by
    spaces, `-NONE-` for none (a deletion, noop or NA)."""
    return " ".join(correction) if correction else "-NONE-"


def read_correction_field(correction: tuple[str, ...]) -> str:
    """The correction field as the scorers that read M2 edit lines get it back: ChERRANT's
    compare and M2Scorer split the whole line on `|||` and take field 2, so the field ends at
    the first `|||` of the written text followed by the line's own `|||REQUIRED...`. A
    correction with a `|` in it is cut (`|` reads back as "", `好 |` as `好 `), on the
    hypothesis and reference side alike: this is what they compare, not the correction."""
    return (written_correction(correction) + "|||").partition("|||")[0]


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

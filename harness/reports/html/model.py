"""The HTML report's view model: plain frozen records holding everything the page shows, so that
rendering is a pure function of it and anything (a run record, plain lists) can feed it.

Character spans (`MarkView.start`, `end`) index the source with its whitespace removed, as
ChERRANT aligns it (`SentenceView.aligned_source`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from metrics.chunks import ChunkCounts
from metrics.overcorrection import Interval


@dataclass(frozen=True)
class Identity:
    """Which run this is: the model that answered, what it was scored on, how, when, for how much."""

    run: str
    model: str | None
    dataset: str
    dataset_sha256: str
    signatures: dict[str, str]  # level -> scorer signature
    date: str | None = None
    cost_usd: float | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetricRow:
    """One level's corpus counts and P/R/F0.5, with the bootstrap interval of F0.5."""

    level: str
    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f05: float
    interval: Interval | None
    signature: str


@dataclass(frozen=True)
class FigureRow:
    """An over-correction figure of one run (None: a ratio over nothing)."""

    name: str
    label: str
    value: float | None
    interval: Interval | None
    unit: str  # "%" (shown x100) or "" (as is)


@dataclass(frozen=True)
class DifferenceRow:
    """figure(a) - figure(b), its paired-bootstrap interval and P(a > b) over resamples."""

    name: str
    label: str
    a: float
    b: float
    difference: float
    interval: Interval | None
    a_higher_share: float | None
    unit: str


@dataclass(frozen=True)
class MarkView:
    """An edit at char level: tp, fp (hypothesis edits) or missed (chosen reference's)."""

    kind: str
    start: int
    end: int
    source_text: str
    correction: str
    types: tuple[str, ...]


@dataclass(frozen=True)
class SentenceView:
    index: int  # 0-based position in the dataset
    id: str
    source: str
    aligned_source: str  # the source without whitespace: what the spans index
    hypothesis: str
    reference: str | None  # the reference the char scorer chose (None: not scored)
    references: tuple[str, ...]
    marks: tuple[MarkView, ...]
    flags: tuple[str, ...]
    raw: str | None
    error: str | None
    outcome: str  # char level
    counts: dict[str, tuple[int, int, int]]  # level -> (tp, fp, fn)


@dataclass(frozen=True)
class RunView:
    identity: Identity
    metrics: tuple[MetricRow, ...]
    outcomes: dict[str, dict[str, int]]  # level -> outcome -> sentences
    fp_by_operation: dict[str, int]  # char level: M, R, S, W
    fp_by_type: dict[str, dict[str, int]]  # level -> full ChERRANT type -> FP edits (ChERRANT levels)
    chunks: ChunkCounts  # char level, CLEME2.0's chunk view
    figures: tuple[FigureRow, ...]
    sentences: tuple[SentenceView, ...]


@dataclass(frozen=True)
class PairView:
    a: str
    b: str
    rows: tuple[DifferenceRow, ...]


@dataclass(frozen=True)
class ReportView:
    title: str
    runs: tuple[RunView, ...]
    pairs: tuple[PairView, ...] = ()
    bootstrap: int = 1000
    seed: int = 0
    confidence: float = 0.95
    differing: int = 0  # sentences on which the runs' hypotheses or outcomes differ
    notes: tuple[str, ...] = field(default_factory=tuple)

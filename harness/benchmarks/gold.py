"""What a loader gives: the items a model sees (id and source, nothing else) and, apart, the gold
the protocol scores against. Keeping them in two objects is what keeps references out of
prompts: `run` hands `items` to a backend and `gold` only to the scorer."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.data.datasets import Item
from metrics.edit import Block
from metrics.maxmatch import GoldSentence


@dataclass(frozen=True)
class Gold:
    """Per item, in item order. GEC: `references` (corrections as ChERRANT reads a para file,
    没有错误/无法标注 kept), or `reference_blocks` of a char-level M2 with the `reference_sources` they
    were written on; `word_gold` an M2Scorer gold; `erroneous` the gold's own "has an error" flag
    where the data has one. CSC: one `targets` sentence per item, as long as its source."""

    references: tuple[tuple[str, ...], ...] | None = None
    reference_blocks: tuple[Block, ...] | None = None
    reference_sources: tuple[str, ...] | None = None
    word_gold: tuple[GoldSentence, ...] | None = None
    erroneous: tuple[bool, ...] | None = None
    targets: tuple[str, ...] | None = None

    def head(self, count: int) -> "Gold":
        """The gold of the first `count` items (a `run --limit` scores only those)."""
        return replace(self, **{name: value[:count] for name, value in vars(self).items() if value is not None})


@dataclass(frozen=True)
class Loaded:
    """A loader's result: items, gold (None for an inputs-only split), and counts worth stating."""

    items: tuple[Item, ...]
    gold: Gold | None
    stats: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class BenchmarkFile:
    role: str
    relpath: str
    path: Path
    sha256: str

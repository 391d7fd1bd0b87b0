"""What a worker does with a chunk of pairs: metrics' ChERRANT extractor (the scorer's own, so
the blocks are the scorer's byte for byte) and `metrics.m2.format_block`, nothing else.

`AnnotateContext` is what travels to a worker (pickled once per worker, see
harness.scoring.executor): the resource texts and the settings. The worker builds the lexicon
and, at word level, the segmenter once. The extractor memoises every sentence it tokenises,
so it is made anew every RENEW_SENTENCES pairs, keeping its annotator (whose memos are per
character at char level); the annotator itself (per word pair at word level) every
RENEW_ANNOTATOR pairs. So a worker's memory stays flat over millions of pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from harness.scoring.corpus import LexiconTexts
from metrics.extract import Extractor
from metrics.m2 import format_block
from metrics.zh.lexicon import Lexicon

RENEW_SENTENCES = 2_000
RENEW_ANNOTATOR = 100_000


@dataclass(frozen=True)
class AnnotateSettings:
    """`level`: char or word; `segmenter` (word level): thulac or jieba; `t2s`: targets converted
    to simplified characters, as ChERRANT does unless --no_simplified."""

    level: str = "char"
    segmenter: str = "thulac"
    t2s: bool = True


class AnnotateContext:
    """The resources and settings of a run; the lexicon, segmenter and extractor are built on
    first use in the process that uses them (and never pickled)."""

    def __init__(self, texts: LexiconTexts, settings: AnnotateSettings) -> None:
        self.texts = texts
        self.settings = settings
        self._lexicon: Lexicon | None = None
        self._tokenizer = None
        self._spelling = None
        self._extractor: Extractor | None = None
        self._annotator = None
        self._pairs = 0  # pairs annotated by this process

    def __getstate__(self) -> dict:
        return {"texts": self.texts, "settings": self.settings}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["texts"], state["settings"])  # type: ignore[misc]

    def _new_extractor(self) -> Extractor:
        if self._lexicon is None:
            self._lexicon = self.texts.lexicon()
        settings = self.settings
        if settings.level == "char":
            return Extractor(self._lexicon, "char", convert_t2s=settings.t2s)
        if self._tokenizer is None:
            from harness.scoring.segmentation import make_segmenter
            from metrics.zh.segment import WordTokenizer

            self._tokenizer = WordTokenizer(make_segmenter(settings.segmenter))
            self._spelling = self.texts.spelling()
        return Extractor(self._lexicon, "word", self._tokenizer, settings.t2s, self._spelling)

    def annotate(self, pairs: Sequence[tuple[str, tuple[str, ...]]]) -> str:
        """The M2 blocks of (source, targets) pairs, in order, as one text."""
        out = []
        for source, targets in pairs:
            if self._extractor is None or self._pairs % RENEW_SENTENCES == 0:
                self._extractor = self._new_extractor()
                if self._annotator is not None and self._pairs % RENEW_ANNOTATOR:
                    self._extractor.annotator = self._annotator  # its memos stay: bounded by the charset
                self._annotator = self._extractor.annotator
            out.append(format_block(self._extractor.block(source, targets)))
            self._pairs += 1
        return "".join(out)


def annotate_chunk(context: AnnotateContext, pairs: Sequence[tuple[str, tuple[str, ...]]]) -> str:
    """The task a worker runs (module level, so that any executor can import it)."""
    return context.annotate(pairs)

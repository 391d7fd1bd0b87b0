"""Word tokens for word-level scoring: THULAC (joint segmentation + POS, the NLPCC 2023 stand-in
for LTP) or jieba, with tags mapped to LTP's tagset. Both sit behind one small interface."""

from __future__ import annotations

import functools
from importlib.metadata import PackageNotFoundError, version
from typing import Protocol

from metrics.zh.tokens import MISSING_COMPONENT, Token

# SCORING.md section 2: THULAC tag -> LTP tag; anything else -> x.
THULAC_TO_LTP = {
    "n": "n", "np": "nh", "ns": "ns", "ni": "ni", "nz": "nz", "m": "m", "q": "q", "mq": "m", "t": "nt",
    "f": "nd", "s": "nl", "v": "v", "a": "a", "d": "d", "h": "h", "k": "k", "i": "i", "id": "i", "j": "j",
    "r": "r", "c": "c", "p": "p", "u": "u", "y": "u", "e": "e", "o": "o", "g": "g", "w": "wp", "x": "x",
}

# jieba (ICTCLAS-style) tag -> LTP tag. Not part of any published protocol: a documented variant.
JIEBA_TO_LTP = {
    "n": "n", "nr": "nh", "nrfg": "nh", "nrt": "nh", "ns": "ns", "nt": "ni", "nz": "nz", "ng": "n",
    "m": "m", "mq": "m", "q": "q", "t": "nt", "tg": "nt", "f": "nd", "s": "nl",
    "v": "v", "vd": "v", "vn": "v", "vg": "v", "vi": "v", "vq": "v",
    "a": "a", "ad": "a", "an": "a", "ag": "a", "b": "b", "z": "a",
    "d": "d", "dg": "d", "df": "d", "h": "h", "k": "k", "i": "i", "l": "i", "j": "j",
    "r": "r", "rr": "r", "rz": "r", "rg": "r", "c": "c", "p": "p",
    "u": "u", "uj": "u", "ul": "u", "uz": "u", "ug": "u", "uv": "u", "ud": "u", "y": "u",
    "e": "e", "o": "o", "g": "g", "w": "wp", "x": "wp", "eng": "ws",
}


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "missing"


@functools.lru_cache(maxsize=1 << 17)
def word_readings(word: str) -> tuple[str, ...]:
    """`lazy_pinyin(word)`, memoised: a word's readings depend on the word alone, and the
    same few thousand words recur in every sentence (pypinyin took over half of word-level
    alignment)."""
    from pypinyin import lazy_pinyin  # imported when first needed (see metrics.zh.tokens)

    return tuple(lazy_pinyin(word))


class Segmenter(Protocol):
    """Splits a sentence (no whitespace) into (word, LTP tag) pairs."""

    name: str

    @property
    def version(self) -> str: ...

    def tag(self, sentence: str) -> list[tuple[str, str]]: ...


class ThulacSegmenter:
    """THULAC 0.2.2 in its joint segmentation + POS mode (its seg-only mode segments about a
    quarter of sentences differently, so the joint mode is used everywhere). Loading the model
    takes seconds: create one per process."""

    name = "thulac"

    def __init__(self, fast: bool = True) -> None:
        import thulac  # imported here: loading prints to stdout and takes time

        if not fast:
            self._thulac = thulac.thulac(seg_only=False)
            return
        # Same output, about 5 times faster in numpy and 10 times more in C, and the model
        # mapped from disk instead of unpacked into Python ints (seconds and over a gigabyte a
        # process): metrics/zh/thulac_fast.py.
        from metrics.zh import thulac_fast

        with thulac_fast.mapped_models(dat=thulac_fast.compiled()):
            self._thulac = thulac.thulac(seg_only=False)
        thulac_fast.install(self._thulac._thulac__tagging_decoder)

    @property
    def version(self) -> str:
        return _version("thulac")

    def tag(self, sentence: str) -> list[tuple[str, str]]:
        return [(word, THULAC_TO_LTP.get(tag, "x")) for word, tag in self._thulac.cut(sentence)]


class JiebaSegmenter:
    """jieba.posseg with its own dictionary instance (deterministic: no HMM for unknown words)."""

    name = "jieba"

    def __init__(self) -> None:
        import jieba
        import jieba.posseg

        jieba.setLogLevel(60)
        self._tokenizer = jieba.posseg.POSTokenizer(jieba.Tokenizer())

    @property
    def version(self) -> str:
        return _version("jieba")

    def tag(self, sentence: str) -> list[tuple[str, str]]:
        return [(pair.word, JIEBA_TO_LTP.get(pair.flag, "x")) for pair in self._tokenizer.cut(sentence, HMM=False)]


class WordTokenizer:
    """Word tokens with LTP tags and lazy_pinyin readings. ``[缺失成分]`` is one word tagged n
    (the text on each side is segmented on its own); a sentence whose words do not join back
    to its text falls back to one token per character tagged x."""

    def __init__(self, segmenter: Segmenter) -> None:
        self.segmenter = segmenter
        self.name = segmenter.name

    @property
    def version(self) -> str:
        return self.segmenter.version

    def tagged(self, sentence: str) -> list[tuple[str, str]]:
        pieces = sentence.split(MISSING_COMPONENT)
        out: list[tuple[str, str]] = []
        for index, piece in enumerate(pieces):
            if index:
                out.append((MISSING_COMPONENT, "n"))
            if piece:
                words = self.segmenter.tag(piece)
                if "".join(word for word, _ in words) != piece:
                    words = [(ch, "x") for ch in piece]
                out.extend(words)
        return out

    def __call__(self, sentence: str) -> list[Token]:
        return [Token(word, tag, word_readings(word)) for word, tag in self.tagged(sentence)]

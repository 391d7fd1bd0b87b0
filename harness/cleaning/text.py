"""Facts about text that every rule asks, with no rule in them: which characters count (letters and
digits), how similar a prediction is to its source, how much of a part comes from a whole, and where
sentence units end."""

from __future__ import annotations

import unicodedata
from collections import Counter

TERMINATORS = "。！？!?．…"
CLOSERS = "”’」』）)》】\"'"  # closing quotes and brackets that may follow a terminator


def is_wide(ch: str) -> bool:
    """CJK ideographs, kana, CJK punctuation, full-width forms and the curly quotes/dashes Chinese uses."""
    code = ord(ch)
    return (0x2E80 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0xFE30 <= code <= 0xFE4F
            or 0xFF00 <= code <= 0xFFEF or 0x20000 <= code <= 0x3FFFF or 0x2010 <= code <= 0x206F
            or 0xAC00 <= code <= 0xD7AF)


def content(text: str) -> Counter[str]:
    """The multiset of letters and digits (Unicode categories L*, N*), lower-cased."""
    return Counter(ch for ch in text.lower() if unicodedata.category(ch)[:1] in ("L", "N"))


def similarity(prediction: str, source: str) -> float:
    """Dice coefficient of the letter/digit multisets: 1.0 for the same characters, 0.0 for none in common."""
    a, b = content(prediction), content(source)
    size = sum(a.values()) + sum(b.values())
    if size == 0:
        return 1.0
    return 2 * sum((a & b).values()) / size


def bigrams(text: str) -> Counter[str]:
    """The multiset of pairs of consecutive letters/digits (punctuation and whitespace skipped)."""
    chars = [ch for ch in text.lower() if unicodedata.category(ch)[:1] in ("L", "N")]
    return Counter(a + b for a, b in zip(chars, chars[1:]))


def containment(part: Counter[str], whole: Counter[str]) -> float:
    """The share of `part` (a multiset) that `whole` holds; 1.0 for an empty part."""
    size = sum(part.values())
    return sum((part & whole).values()) / size if size else 1.0


def latin_share(counter: Counter[str]) -> float:
    """The share of Latin letters among the letters/digits (an English remark scores high)."""
    size = sum(counter.values())
    return sum(n for ch, n in counter.items() if "a" <= ch <= "z") / size if size else 0.0


def sentence_units(text: str) -> list[str]:
    """Sentence units: each ends after a run of terminators and closing quotes/brackets (lossless)."""
    units: list[str] = []
    start, i, n = 0, 0, len(text)
    while i < n:
        ch = text[i]
        end = None
        if ch in TERMINATORS:
            end = i + 1
        elif ch == "." and i > 0 and text[i - 1].isascii() and text[i - 1].isalpha() \
                and (i + 1 == n or text[i + 1].isspace()):
            end = i + 1  # an English full stop, not a decimal point
        if end is None:
            i += 1
            continue
        while end < n and (text[end] in TERMINATORS or text[end] in CLOSERS):
            end += 1
        units.append(text[start:end])
        start = i = end
    if start < n:
        units.append(text[start:])
    return units


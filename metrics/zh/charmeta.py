"""FASPell's character metadata (char_meta.txt) and the shape and sound similarities that
ChERRANT's word-level S:SPELL test is built on.

A line of char_meta.txt is `code point<TAB>char<TAB>readings<TAB>decomposition[<TAB>...]`:
readings are per language (Mandarin, Cantonese, Korean, Japanese, Vietnamese) separated by `;`,
alternatives within a language by `,`, `null` where a language has none; a decomposition is an
IDS string (ideographic description characters U+2FF0..U+2FFB with components and strokes).

Similarities follow FASPell's string (not tree) edit distance: shape is the best
1 - distance / longer length over all pairs of decompositions; sound is, over the languages
where both characters have readings, the mean of the best 1 - distance / longer length.
Where FASPell would divide by zero (an empty reading or decomposition on both sides, or no
language in common) the pair is left out, or the similarity is 0.0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from metrics.levenshtein import distance

# FASPell replaces the description characters by letters before measuring (a console encoding
# guard); a one-to-one mapping, kept so that decompositions containing these letters measure
# the same as there.
_SAFE = str.maketrans({chr(0x2FF0 + i): letter for i, letter in enumerate("ABCDEFGHIJLM")})


class CharMetaError(ValueError):
    """A malformed line of char_meta.txt; `line` is 1-based."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class CharMeta:
    """One character's readings (the raw per-language string) and IDS decompositions."""

    readings: str
    decompositions: tuple[str, ...]


def parse_char_meta(text: str) -> dict[str, CharMeta]:
    """Parse char_meta.txt as FASPell reads it (each line stripped, then split on tabs)."""
    table: dict[str, CharMeta] = {}
    for number, line in enumerate(text.splitlines(), 1):
        items = line.strip().split("\t")
        if len(items) < 3:
            raise CharMetaError(number, f"expected code point, character and readings separated by tabs, got {line!r}")
        char = items[1]
        if char in table:
            raise CharMetaError(number, f"character {char!r} is listed twice")
        table[char] = CharMeta(items[2], tuple(_safe(d) for d in items[3:]))
    return table


class LazyCharMeta(Mapping[str, CharMeta]):
    """The table, parsed by `load` on first use: parsing 47,000 lines costs a tenth of a second
    that a rescoring from cached alignments never needs (the file's sha256 is checked before)."""

    def __init__(self, load: Callable[[], dict[str, CharMeta]]) -> None:
        self._load = load
        self._table: dict[str, CharMeta] | None = None

    def _parsed(self) -> dict[str, CharMeta]:
        if self._table is None:
            self._table = self._load()
        return self._table

    def __getitem__(self, char: str) -> CharMeta:
        return self._parsed()[char]

    def __iter__(self) -> Iterator[str]:
        return iter(self._parsed())

    def __len__(self) -> int:
        return len(self._parsed())


def _safe(decomposition: str) -> str:
    return decomposition.translate(_SAFE)


def _normalised_similarity(a: str, b: str) -> float | None:
    longer = max(len(a), len(b))
    if longer == 0:
        return None
    return 1 - distance(a, b) / longer


def shape_similarity(a: CharMeta, b: CharMeta) -> float:
    best = 0.0
    for first in a.decompositions:
        for second in b.decompositions:
            similarity = _normalised_similarity(first, second)
            if similarity is not None:
                best = max(best, similarity)
    return best


def sound_similarity(a: CharMeta, b: CharMeta) -> float:
    # FASPell returns 0.0 when the second character's whole reading field is `null`.
    if b.readings == "null":
        return 0.0
    total = 0.0
    count = 0
    for first, second in zip(a.readings.split(";"), b.readings.split(";")):
        if first == "null" or second == "null":
            continue
        best = 0.0
        for p in first.split(","):
            for q in second.split(","):
                similarity = _normalised_similarity(p, q)
                if similarity is not None:
                    best = max(best, similarity)
        total += best
        count += 1
    return total / count if count else 0.0

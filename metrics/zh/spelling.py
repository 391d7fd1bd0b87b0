"""Word-level S:SPELL test (ChERRANT's check_spell_error), without FASPell's char_meta.txt.

ChERRANT calls a same-length substitution a spelling error when the characters are an
anagram, or when every differing character pair is similar: both characters in FASPell's
char_meta.txt and (shape + sound similarity >= 0.8, or a shared pinyin reading). char_meta.txt
is not available here, so this version keeps the anagram and shared-reading tests and never
takes the shape route. The type only labels an edit: TP/FP/FN do not depend on it.
"""

from __future__ import annotations

from pypinyin import Style, pinyin


class SpellingCheck:
    """Memoised per instance (readings are looked up once per character)."""

    def __init__(self) -> None:
        self._readings: dict[str, frozenset[str]] = {}

    def readings(self, char: str) -> frozenset[str]:
        found = self._readings.get(char)
        if found is None:
            found = self._readings[char] = frozenset(pinyin(char, style=Style.NORMAL, heteronym=True)[0])
        return found

    def __call__(self, source: str, target: str) -> bool:
        if len(source) != len(target):
            return False
        if sorted(source) == sorted(target):
            return True
        for a, b in zip(source, target):
            if a != b and not (self.readings(a) & self.readings(b)):
                return False
        return True

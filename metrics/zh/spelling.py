"""Word-level S:SPELL test, as ChERRANT's check_spell_error decides it.

ChERRANT calls a same-length substitution a spelling error when its characters are an anagram,
or when every differing character pair is similar: both characters are in FASPell's
char_meta.txt and either their shape + sound similarity is at least 0.8 or they share a pinyin
reading. With the char_meta table the test is exact. Without it (the file is not always at
hand) only the anagram and shared-reading routes remain, and the pair need not be in any table:
an approximation the score signature names. The type only labels an edit: TP/FP/FN never
depend on it.
"""

from __future__ import annotations

from collections.abc import Mapping

from metrics.zh.charmeta import CharMeta, shape_similarity, sound_similarity
from metrics.zh.readings import Readings

THRESHOLD = 0.8


class SpellingCheck:
    """`check(source_span, target_span)`; readings and pair verdicts memoised per instance."""

    def __init__(self, char_meta: Mapping[str, CharMeta] | None = None, threshold: float = THRESHOLD,
                 name: str | None = None) -> None:
        self.char_meta = char_meta
        # How the signature names the rule: pass the table's identity (e.g. `faspell-<sha256 prefix>`).
        self.name = name or ("faspell" if char_meta is not None else "readings")
        self.threshold = threshold
        self._readings: dict[str, frozenset[str]] = {}
        self._pinyin = Readings()
        self._pairs: dict[tuple[str, str], bool] = {}

    @property
    def exact(self) -> bool:
        return self.char_meta is not None

    def readings(self, char: str) -> frozenset[str]:
        found = self._readings.get(char)
        if found is None:
            found = self._readings[char] = frozenset(self._pinyin(char))
        return found

    def similar(self, a: str, b: str) -> bool:
        """Whether two different characters count as a misspelling of one another."""
        verdict = self._pairs.get((a, b))
        if verdict is None:
            verdict = self._pairs[(a, b)] = self._similar(a, b)
        return verdict

    def _similar(self, a: str, b: str) -> bool:
        if self.char_meta is None:
            return bool(self.readings(a) & self.readings(b))
        meta_a, meta_b = self.char_meta.get(a), self.char_meta.get(b)
        if meta_a is None or meta_b is None:
            return False
        if shape_similarity(meta_a, meta_b) + sound_similarity(meta_a, meta_b) >= self.threshold:
            return True
        return bool(self.readings(a) & self.readings(b))

    def __call__(self, source: str, target: str) -> bool:
        if len(source) != len(target):
            return False
        if sorted(source) == sorted(target):
            return True
        return all(a == b or self.similar(a, b) for a, b in zip(source, target))

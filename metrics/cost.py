"""ChERRANT's substitution cost: semantic (Cilin) + POS/punctuation + spelling (readings, confusion).

The float operations are done in ChERRANT's order, because the alignment keeps every op whose
cost ties under exact float equality, and a different rounding would change the alignments.
"""

from __future__ import annotations

from string import punctuation
from typing import NamedTuple, Sequence

import numpy as np

from metrics.zh.lexicon import Lexicon
from metrics.zh.tokens import Token

CHINESE_PUNCTUATION = (
    "！？｡＂＃＄％＆＇（）＊＋，－／：；＜＝＞＠［＼］＾＿｀｛｜｝～｟｠｢｣､、〃》「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟〰〾〿–—‘'‛“”„‟…‧﹏"
)
# Punctuation test of the char-level POS cost: a token is punctuation when it is a SUBSTRING of this.
ALIGNMENT_PUNCTUATION = CHINESE_PUNCTUATION + punctuation


def all_chinese(text: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" for ch in text)


class _CharFacts(NamedTuple):
    """What the char-level cost needs to know of one token, looked up once."""

    code: tuple[int, int, int]  # Cilin code parts as ids, (-1, -1, -1) when unknown
    chinese: bool
    punctuation: bool
    readings: frozenset[str]
    confusable: frozenset[str]


class SubstitutionCost:
    """Cost of aligning token `a` with a different token `b`, memoised per instance.

    At char level the cost depends on the two texts only; at word level on texts and POS tags.
    """

    def __init__(self, lexicon: Lexicon, granularity: str = "char") -> None:
        if granularity not in ("char", "word"):
            raise ValueError(f"granularity must be 'char' or 'word', not {granularity!r}")
        self.lexicon = lexicon
        self.granularity = granularity
        self._memo: dict[tuple, float] = {}
        self._facts: dict[str, _CharFacts] = {}
        self._code_part_ids: dict[str, int] = {}

    def __call__(self, a: Token, b: Token) -> float:
        if a.text == b.text:
            return 0
        key = (a.text, b.text) if self.granularity == "char" else (a.text, a.pos, b.text, b.pos)
        cost = self._memo.get(key)
        if cost is None:
            cost = self._compute(a, b)
            self._memo[key] = cost
        return cost

    def semantic(self, a: str, b: str) -> int:
        """Cilin distance: 4 when either word is unknown, else 2 per differing code position."""
        a_class = self.lexicon.semantic.get(a)
        b_class = self.lexicon.semantic.get(b)
        if a_class is None or b_class is None:
            return 4
        if a_class == b_class:
            return 0
        return 2 * (3 - sum(x == y for x, y in zip(a_class, b_class)))

    def spelling(self, a: Token, b: Token) -> float:
        """Share of the shorter token's characters that have no similar character in the other."""
        if not (all_chinese(a.text) and all_chinese(b.text)):
            return 0.5
        if len(a.text) > len(b.text):
            a, b = b, a
        if a.text == b.text:
            return 0
        confusion = self.lexicon.confusion
        # ChERRANT compares the TOKENS' reading sets inside the character loop.
        readings_meet = bool(set(a.readings) & set(b.readings))
        count = 0
        for x in a.text:
            for y in b.text:
                if (
                    x == y
                    or readings_meet
                    or (y in confusion and x in confusion[y])
                    or (x in confusion and y in confusion[x])
                ):
                    count += 1
                    break
        return (len(a.text) - count) / (len(a.text) * 2)

    def _compute(self, a: Token, b: Token) -> float:
        semantic_cost = self.semantic(a.text, b.text) / 6.0
        if self.granularity == "word":
            pos_cost = 0 if a.pos == b.pos else 0.499
            return semantic_cost + pos_cost + self.spelling(a, b)
        a_punct = a.text in ALIGNMENT_PUNCTUATION
        b_punct = b.text in ALIGNMENT_PUNCTUATION
        if a_punct and b_punct:
            pos_cost = 0.0
        elif not a_punct and not b_punct:
            pos_cost = 0.25
        else:
            pos_cost = 0.499
        return semantic_cost + self.spelling(a, b) + pos_cost

    def _char_facts(self, text: str, readings: Sequence[str]) -> _CharFacts:
        facts = self._facts.get(text)
        if facts is None:
            code = self.lexicon.semantic.get(text)
            ids = self._code_part_ids
            code_ids = (-1, -1, -1) if code is None else tuple(
                ids.setdefault(f"{position}:{part}", len(ids)) for position, part in enumerate(code))
            facts = _CharFacts(code_ids, all_chinese(text), text in ALIGNMENT_PUNCTUATION,
                               frozenset(readings), frozenset(self.lexicon.confusion.get(text, ())))
            self._facts[text] = facts
        return facts

    def matrix(self, src: Sequence[Token], tgt: Sequence[Token]) -> np.ndarray:
        """Costs of every (src, tgt) token pair as an array; entries of equal tokens are unused.

        At char level this is vectorised with the same float operations, in the same order, as
        `__call__`; at word level it calls `__call__` once per distinct pair.
        """
        if self.granularity == "word" or not src or not tgt:
            from metrics.alignment import substitution_matrix

            return substitution_matrix(src, tgt, self)
        src_unique: dict[str, int] = {}
        tgt_unique: dict[str, int] = {}
        src_index = np.array([src_unique.setdefault(t.text, len(src_unique)) for t in src])
        tgt_index = np.array([tgt_unique.setdefault(t.text, len(tgt_unique)) for t in tgt])
        readings = {t.text: t.readings for t in (*src, *tgt)}
        src_facts = [self._char_facts(text, readings[text]) for text in src_unique]
        tgt_facts = [self._char_facts(text, readings[text]) for text in tgt_unique]

        src_code = np.array([f.code for f in src_facts], dtype=np.int64)
        tgt_code = np.array([f.code for f in tgt_facts], dtype=np.int64)
        unknown = (src_code[:, 0] < 0)[:, None] | (tgt_code[:, 0] < 0)[None, :]
        equal_parts = (src_code[:, None, :] == tgt_code[None, :, :]).sum(axis=2)
        semantic = np.where(unknown, 4, 2 * (3 - equal_parts))

        both_chinese = np.array([f.chinese for f in src_facts])[:, None] & np.array(
            [f.chinese for f in tgt_facts])[None, :]
        similar = self._similar(list(src_unique), src_facts, list(tgt_unique), tgt_facts)
        spelling = np.where(both_chinese & similar, 0.0, 0.5)

        src_punct = np.array([f.punctuation for f in src_facts])[:, None]
        tgt_punct = np.array([f.punctuation for f in tgt_facts])[None, :]
        pos = np.where(src_punct & tgt_punct, 0.0, np.where(~src_punct & ~tgt_punct, 0.25, 0.499))

        unique_cost = semantic / 6.0 + spelling + pos
        return unique_cost[src_index][:, tgt_index]

    @staticmethod
    def _similar(src_texts: list[str], src_facts: list[_CharFacts],
                 tgt_texts: list[str], tgt_facts: list[_CharFacts]) -> np.ndarray:
        """Pairs whose reading sets meet or that are in each other's confusion set."""
        by_reading: dict[str, list[int]] = {}
        for j, facts in enumerate(tgt_facts):
            for reading in facts.readings:
                by_reading.setdefault(reading, []).append(j)
        rows = []
        for facts in src_facts:
            row = [text in facts.confusable for text in tgt_texts]
            for reading in facts.readings:
                for j in by_reading.get(reading, ()):
                    row[j] = True
            rows.append(row)
        similar = np.array(rows, dtype=bool).reshape(len(src_texts), len(tgt_texts))
        src_position = {text: i for i, text in enumerate(src_texts)}
        for j, facts in enumerate(tgt_facts):
            for text in src_texts:
                if text in facts.confusable:
                    similar[src_position[text], j] = True
        return similar

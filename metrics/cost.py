"""ChERRANT's substitution cost: semantic (Cilin) + POS/punctuation + spelling (readings, confusion).

The float operations are done in ChERRANT's order, because the alignment keeps every op whose
cost ties under exact float equality, and a different rounding would change the alignments.
"""

from __future__ import annotations

from string import punctuation

from metrics.zh.lexicon import Lexicon
from metrics.zh.tokens import Token

CHINESE_PUNCTUATION = (
    "！？｡＂＃＄％＆＇（）＊＋，－／：；＜＝＞＠［＼］＾＿｀｛｜｝～｟｠｢｣､、〃》「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟〰〾〿–—‘'‛“”„‟…‧﹏"
)
# Punctuation test of the char-level POS cost: a token is punctuation when it is a SUBSTRING of this.
ALIGNMENT_PUNCTUATION = CHINESE_PUNCTUATION + punctuation


def all_chinese(text: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" for ch in text)


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

"""ChERRANT's substitution cost: semantic (Cilin) + POS/punctuation + spelling (readings, confusion).

The float operations are done in ChERRANT's order, because the alignment keeps every op whose
cost ties under exact float equality, and a different rounding would change the alignments.
"""

from __future__ import annotations

import sys
from array import array
from string import punctuation
from typing import NamedTuple, Sequence

import numpy as np

from metrics.kernel import COMPILED
from metrics.zh.lexicon import Lexicon
from metrics.zh.tokens import Token

CHINESE_PUNCTUATION = (
    "！？｡＂＃＄％＆＇（）＊＋，－／：；＜＝＞＠［＼］＾＿｀｛｜｝～｟｠｢｣､、〃》「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟〰〾〿–—‘'‛“”„‟…‧﹏"
)
# Punctuation test of the char-level POS cost: a token is punctuation when it is a SUBSTRING of this.
ALIGNMENT_PUNCTUATION = CHINESE_PUNCTUATION + punctuation
# Cells per block of the vectorised char-level cost (bounds its temporaries on long texts).
MATRIX_BLOCK_CELLS = 1 << 18


def all_chinese(text: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" for ch in text)


class _CharFacts(NamedTuple):
    """What the char-level cost needs to know of one token, looked up once."""

    id: int  # row of the token in SubstitutionCost's attribute array
    code: tuple[int, int, int]  # Cilin code parts as ids, (-1, -1, -1) when unknown
    chinese: bool
    punctuation: bool
    readings: frozenset[str]
    confusable: frozenset[str]


def _char_cost_table() -> np.ndarray:
    """Every possible char-level cost sem/6 + char + pos, computed as `__call__` computes it,
    indexed by ((equal code parts + 4 * unknown) * 2 + similar) * 3 + punctuation marks."""
    table = []
    for state in range(8):
        semantic = 4 if state >= 4 else 2 * (3 - state)
        for similar in (False, True):
            spelling = 0.0 if similar else 0.5
            for marks in range(3):
                table.append(semantic / 6.0 + spelling + (0.25, 0.499, 0.0)[marks])
    out = np.array(table, dtype=np.float64)
    out.flags.writeable = False
    return out


CHAR_COSTS = _char_cost_table()
CHINESE_END = 0xA000  # all_chinese: U+4E00..U+9FFF, so only code points below this can be alike
_UTF32 = "utf-32-le" if sys.byteorder == "little" else "utf-32-be"


def code_points(chars: Sequence[str]) -> array:
    """The code points of the one-character strings of `chars`, in order (a longer or empty
    entry can never equal a one-character token: ChERRANT's `x in confusion[y]` skips it too)."""
    joined = "".join(chars)
    if len(joined) == len(chars) and "" not in chars:  # all single characters: no Python loop
        return array("i", joined.encode(_UTF32))
    return array("i", [ord(c) for c in chars if len(c) == 1])


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
        # per registered token: code part ids (3), unknown code, Chinese, punctuation
        self._attributes = np.zeros((256, 6), dtype=np.int32)
        # The same facts as flat arrays for the compiled kernel: per token its reading ids
        # (offsets into `_readings`), its character's code point (0 unless it is one Chinese
        # character: only those can be spelled alike) and the code points of its confusion set.
        self._reading_ids: dict[str, int] = {}
        self._reading_offsets, self._readings = array("i", [0]), array("i")
        self._token_chars = array("i")
        self._confusion_offsets, self._confusion = array("i", [0]), array("i")
        self._scratch = np.full(CHINESE_END, -1, dtype=np.int32)  # per code point, for char_costs
        self._compiled = COMPILED  # fixed per instance: the kernel its facts are made for

    def __getstate__(self) -> dict:
        """Pickled as its resources only (the kernel is a module, the memos rebuild themselves):
        what a worker process of another machine needs, with the kernel that one has."""
        return {"lexicon": self.lexicon, "granularity": self.granularity}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["lexicon"], state["granularity"])  # type: ignore[misc]

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
            # the compiled kernel reads the confusion set from `_register`'s arrays instead
            confusable = frozenset(self.lexicon.confusion.get(text, ())) if self._compiled is None else frozenset()
            facts = _CharFacts(len(self._facts), code_ids, all_chinese(text), text in ALIGNMENT_PUNCTUATION,
                               frozenset(readings), confusable)
            if facts.id == len(self._attributes):
                self._attributes = np.concatenate([self._attributes, np.zeros_like(self._attributes)])
            self._attributes[facts.id] = (*code_ids, code is None, facts.chinese, facts.punctuation)
            self._facts[text] = facts
            self._register(text, facts)
        return facts

    def _register(self, text: str, facts: _CharFacts) -> None:
        """The token's facts in the compiled kernel's arrays (reading ids in order of first use)."""
        readings = self._reading_ids
        self._readings.extend([readings.setdefault(r, len(readings)) for r in facts.readings])
        self._reading_offsets.append(len(self._readings))
        self._token_chars.append(ord(text) if facts.chinese and len(text) == 1 else 0)
        self._confusion.extend(code_points(self.lexicon.confusion.get(text, ())))
        self._confusion_offsets.append(len(self._confusion))

    def _distinct(self, tokens: Sequence[Token]) -> tuple[dict[str, int], np.ndarray, list[_CharFacts]]:
        """The distinct texts of `tokens` (text -> index), each token's index, their facts."""
        index: dict[str, int] = {}
        positions = [index.setdefault(token.text, len(index)) for token in tokens]
        known = self._facts
        facts = [known.get(text) for text in index]
        if None in facts:  # texts seen for the first time (their readings: their tokens')
            readings = {token.text: token.readings for token in tokens}
            facts = [found or self._char_facts(text, readings[text]) for found, text in zip(facts, index)]
        return index, np.array(positions, dtype=np.int64), facts  # type: ignore[return-value]

    def matrix(self, src: Sequence[Token], tgt: Sequence[Token]) -> np.ndarray:
        """Costs of every (src, tgt) token pair as an array; entries of equal tokens are unused."""
        unique, src_index, tgt_index = self.unique_matrix(src, tgt)
        return unique[src_index][:, tgt_index]

    def unique_matrix(self, src: Sequence[Token], tgt: Sequence[Token]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Costs between the distinct tokens of each side, and each token's index in them.

        At char level every cost is one of CHAR_COSTS (the same float operations, in the same
        order, as `__call__`), picked by index from the tokens' attributes; row blocks bound the
        temporaries of long texts. At word level `__call__` runs once per distinct pair.
        """
        if self.granularity == "word" or not src or not tgt:
            from metrics.alignment import unique_costs

            return unique_costs(src, tgt, self)
        src_texts, src_index, src_facts = self._distinct(src)
        tgt_texts, tgt_index, tgt_facts = self._distinct(tgt)
        if self._compiled is not None:  # the same costs in C (metrics/_kernel.c)
            out = np.empty((len(src_facts), len(tgt_facts)), dtype=np.float64)
            self._compiled.char_costs([f.id for f in src_facts], [f.id for f in tgt_facts], self._attributes,
                                self._reading_offsets, self._readings, self._token_chars, self._confusion_offsets,
                                self._confusion, self._scratch, CHAR_COSTS, out)
            return out, src_index, tgt_index
        rows, columns = self._spelled_alike(src_texts, src_facts, tgt_texts, tgt_facts)
        src_attributes = self._attributes[[f.id for f in src_facts]].T
        tgt_attributes = self._attributes[[f.id for f in tgt_facts]].T
        step = max(1, MATRIX_BLOCK_CELLS // len(tgt_facts))
        if step >= len(src_facts):
            return _cost_block(src_attributes, tgt_attributes, rows, columns), src_index, tgt_index
        rows_array, columns_array = np.array(rows, dtype=np.int64), np.array(columns, dtype=np.int64)
        parts = []
        for start in range(0, len(src_facts), step):
            inside = (rows_array >= start) & (rows_array < start + step)
            parts.append(_cost_block(src_attributes[:, start: start + step], tgt_attributes,
                                     rows_array[inside] - start, columns_array[inside]))
        return np.concatenate(parts), src_index, tgt_index

    @staticmethod
    def _spelled_alike(src_texts: dict[str, int], src_facts: list[_CharFacts], tgt_texts: dict[str, int],
                       tgt_facts: list[_CharFacts]) -> tuple[list[int], list[int]]:
        """Pairs of Chinese tokens whose reading sets meet or that are in each other's confusion
        set (their char cost is 0), as row and column lists, with repeats; texts map to their
        indexes. Sparse, so found by set tests and a reading index."""
        rows: list[int] = []
        columns: list[int] = []
        src_chinese = {text: i for text, i in src_texts.items() if src_facts[i].chinese}
        tgt_chinese = {text: j for text, j in tgt_texts.items() if tgt_facts[j].chinese}
        by_reading: dict[str, list[int]] = {}
        for j in tgt_chinese.values():
            for reading in tgt_facts[j].readings:
                by_reading.setdefault(reading, []).append(j)
        for i in src_chinese.values():
            facts = src_facts[i]
            if not facts.confusable.isdisjoint(tgt_chinese):
                for text in facts.confusable.intersection(tgt_chinese):
                    rows.append(i)
                    columns.append(tgt_chinese[text])
            for reading in facts.readings:
                found = by_reading.get(reading)
                if found:
                    rows.extend([i] * len(found))
                    columns.extend(found)
        for j in tgt_chinese.values():
            confusable = tgt_facts[j].confusable
            if not confusable.isdisjoint(src_chinese):
                for text in confusable.intersection(src_chinese):
                    rows.append(src_chinese[text])
                    columns.append(j)
        return rows, columns


def _cost_block(src: np.ndarray, tgt: np.ndarray, rows: Sequence[int] | np.ndarray,
                columns: Sequence[int] | np.ndarray) -> np.ndarray:
    """Char-level costs of some source tokens against every target token: CHAR_COSTS picked by
    their attributes (columns of `src` and `tgt`: code part ids, unknown, Chinese, punctuation)
    and the pairs spelled alike (`rows`, `columns`)."""
    state = np.add.outer(src[5], tgt[5])  # punctuation marks
    state += np.maximum.outer(24 * src[3], 24 * tgt[3])  # unknown code
    for part in range(3):
        state += np.equal.outer(src[part], tgt[part]) * np.int32(6)
    state[rows, columns] += 3  # a repeated pair is raised once
    return CHAR_COSTS[state]

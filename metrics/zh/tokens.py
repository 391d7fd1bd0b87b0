"""Tokens with readings: the unit the alignment works on (char level here, words in segmenters)."""

from __future__ import annotations

from typing import NamedTuple

from metrics.zh.readings import Readings

MISSING_COMPONENT = "[缺失成分]"


class Token(NamedTuple):
    """One token: its text, a POS tag (``unk`` at char level) and its toneless readings."""

    text: str
    pos: str
    readings: tuple[str, ...]


class CharTokenizer:
    """Splits a sentence into characters, keeping ``[缺失成分]`` whole.

    Readings are pypinyin's heteronym readings of the token (for a multi-character token, of its
    first character, as ChERRANT takes ``pinyin(token)[0]``). They are memoised per instance.
    """

    def __init__(self) -> None:
        self.readings = Readings()
        self._tokens: dict[str, Token] = {}

    def token(self, text: str) -> Token:
        found = self._tokens.get(text)
        if found is None:
            found = self._tokens[text] = Token(text, "unk", self.readings(text))
        return found

    def __call__(self, sentence: str) -> list[Token]:
        tokens = self._tokens
        return [tokens.get(text) or self.token(text) for text in split_chars(sentence)]


def split_chars(sentence: str) -> list[str]:
    """Characters of `sentence`, with each ``[缺失成分]`` as one token."""
    if MISSING_COMPONENT not in sentence:
        return list(sentence)
    out: list[str] = []
    i = 0
    while i < len(sentence):
        if sentence.startswith(MISSING_COMPONENT, i):
            out.append(MISSING_COMPONENT)
            i += len(MISSING_COMPONENT)
        else:
            out.append(sentence[i])
            i += 1
    return out

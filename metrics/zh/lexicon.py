"""The two lexical resources of ChERRANT's substitution cost, parsed exactly as ChERRANT does."""

from __future__ import annotations

import io
from functools import cached_property


class Lexicon:
    """Tongyici Cilin codes and the character confusion sets.

    `semantic` maps a word to its Cilin code split into (code[0], code[1], code[2:4]);
    `confusion` maps a character to the list of characters confusable with it. Built from the
    texts, each table is parsed when first used: rescoring from cached alignments needs neither.
    """

    def __init__(self, semantic: dict[str, tuple[str, str, str]] | None = None,
                 confusion: dict[str, list[str]] | None = None) -> None:
        self._texts = ("", "")
        if semantic is not None:
            self.__dict__["semantic"] = semantic
        if confusion is not None:
            self.__dict__["confusion"] = confusion

    @classmethod
    def from_texts(cls, cilin_text: str, confusion_text: str) -> "Lexicon":
        lexicon = cls()
        lexicon._texts = (cilin_text, confusion_text)
        return lexicon

    @cached_property
    def semantic(self) -> dict[str, tuple[str, str, str]]:
        return parse_cilin(self._texts[0])

    @cached_property
    def confusion(self) -> dict[str, list[str]]:
        return parse_confusion(self._texts[1])


def parse_cilin(text: str) -> dict[str, tuple[str, str, str]]:
    """Parse cilin.txt (already decoded from GBK). A word on several lines keeps the LAST code."""
    semantic: dict[str, tuple[str, str, str]] = {}
    for line in text.strip().split("\n"):
        code, *words = line.split(" ")
        split_code = (code[0:1], code[1:2], code[2:4])
        for word in words:
            semantic[word] = split_code
    return semantic


def parse_confusion(text: str) -> dict[str, list[str]]:
    """Parse confusion_dict.txt: a character, a space, then its confusable characters."""
    confusion: dict[str, list[str]] = {}
    for line in io.StringIO(text):
        fields = line.rstrip("\n").split(" ")
        confusion[fields[0]] = fields[1:]
    return confusion

"""The two lexical resources of ChERRANT's substitution cost, parsed exactly as ChERRANT does."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from functools import cached_property


class Lexicon:
    """Tongyici Cilin codes and the character confusion sets.

    `semantic` maps a word to its Cilin code split into (code[0], code[1], code[2:4]);
    `confusion` maps a character to the list of characters confusable with it. Built from the
    texts, each table is parsed when first used: rescoring from cached alignments needs neither;
    a confusion set is split only when its character is looked up (`ConfusionSets`).
    """

    def __init__(self, semantic: dict[str, tuple[str, str, str]] | None = None,
                 confusion: Mapping[str, list[str]] | None = None) -> None:
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
    def confusion(self) -> Mapping[str, list[str]]:
        return ConfusionSets(self._texts[1])


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


class ConfusionSets(Mapping):
    """`parse_confusion(text)`, each line split when its character is first looked up: a run
    looks up a few thousand of the file's 4,936 characters, and splitting them all (about
    a million one-character strings) cost 40-70 ms of every cold run."""

    def __init__(self, text: str) -> None:
        lines = text.split("\n")
        if lines[-1] == "":  # the end of the last line (or of an empty text), as io.StringIO reads it
            lines.pop()
        self._rest: dict[str, str | None] = {}  # a character -> the rest of its (last) line
        for line in lines:
            key, separator, rest = line.partition(" ")
            self._rest[key] = rest if separator else None
        self._split: dict[str, list[str]] = {}

    def __getitem__(self, key: str) -> list[str]:
        found = self._split.get(key)
        if found is None:
            rest = self._rest[key]
            found = self._split[key] = rest.split(" ") if rest is not None else []
        return found

    def __contains__(self, key: object) -> bool:
        return key in self._rest

    def __iter__(self) -> Iterator[str]:
        return iter(self._rest)

    def __len__(self) -> int:
        return len(self._rest)

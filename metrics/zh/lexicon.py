"""The two lexical resources of ChERRANT's substitution cost, parsed exactly as ChERRANT does."""

from __future__ import annotations

import io
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Lexicon:
    """Tongyici Cilin codes and the character confusion sets.

    `semantic` maps a word to its Cilin code split into (code[0], code[1], code[2:4]);
    `confusion` maps a character to the list of characters confusable with it.
    """

    semantic: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    confusion: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_texts(cls, cilin_text: str, confusion_text: str) -> "Lexicon":
        return cls(parse_cilin(cilin_text), parse_confusion(confusion_text))


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

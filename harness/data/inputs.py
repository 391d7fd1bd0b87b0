"""The scorer's inputs: references (para or M2 file) and hypotheses (plain lines, para or M2),
read strictly: anything ambiguous is an error naming the file and line."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from harness.core.errors import HarnessError
from harness.core.textfile import read_lines, read_text
from metrics.edit import Block
from metrics.m2 import M2FormatError, read_blocks
from metrics.normalise import remove_whitespace
from metrics.zh.tokens import MISSING_COMPONENT


@dataclass(frozen=True)
class References:
    """Sources and reference corrections of a corpus. From an M2 file `targets` is None and
    `blocks` holds its parsed blocks (sources are their joined tokens)."""

    path: Path
    sources: tuple[str, ...]
    targets: tuple[tuple[str, ...], ...] | None = None
    blocks: tuple[Block, ...] | None = None
    ids: tuple[str, ...] = ()  # a para file's first column; M2 blocks are numbered from 1

    def __len__(self) -> int:
        return len(self.sources)

    def id(self, index: int) -> str:
        return self.ids[index] if self.ids else str(index + 1)


@dataclass(frozen=True)
class Hypotheses:
    """One hypothesis per sentence, with the source it corrects (ChERRANT aligns each
    hypothesis with its own source). From an M2 file `blocks` holds its edits."""

    path: Path
    sentences: tuple[str, ...] | None
    sources: tuple[str, ...]
    blocks: tuple[Block, ...] | None = None


def looks_like_m2(text: str) -> bool:
    first = text.lstrip("\ufeff\n").split("\n", 1)[0]
    return first.startswith("S ") or first == "S"


def read_m2_file(path: Path, text: str) -> tuple[Block, ...]:
    try:
        blocks = read_blocks(text)
    except M2FormatError as error:
        raise HarnessError(f"M2 block does not parse: {error}", path, error.line) from None
    if not blocks:
        raise HarnessError("no M2 blocks found", path)
    return tuple(blocks)


def refuse_word_tokens(path: Path, text: str, blocks: tuple[Block, ...]) -> None:
    """Refuse an M2 file tokenised in words where characters are expected (a word M2 scored
    as char level gives TP 0 to perfect hypotheses)."""
    for number, block in enumerate(blocks):
        word = next((t for t in block.source_tokens if len(t) > 1 and t != MISSING_COMPONENT), None)
        if word is not None:
            s_lines = [n for n, line in enumerate(text.split("\n"), 1) if line.startswith("S")]
            raise HarnessError(f"this M2 file is tokenised in words ({word!r}); char-level scoring needs a "
                               "char-level M2 (or a para file)", path, s_lines[number])


def load_references(path: str | Path) -> References:
    path = Path(path)
    text = read_text(path)
    if looks_like_m2(text):
        blocks = read_m2_file(path, text)
        refuse_word_tokens(path, text, blocks)  # an M2 reference is scored at char level only
        return References(path, tuple("".join(b.source_tokens) for b in blocks), None, blocks)
    lines = read_lines(path)
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise HarnessError("empty reference file", path)
    sources: list[str] = []
    targets: list[tuple[str, ...]] = []
    ids: list[str] = []
    for number, line in enumerate(lines, 1):
        fields = line.split("\t")
        if len(fields) < 2:
            raise HarnessError("para line has no source column (expected id<TAB>source<TAB>reference...)",
                               path, number)
        if len(fields) < 3:
            raise HarnessError("para line has no reference column (expected id<TAB>source<TAB>reference...)",
                               path, number)
        empty = next((k for k, field in enumerate(fields[2:], 1) if not field.strip()), None)
        if empty is not None:
            raise HarnessError(f"reference {empty} is empty (a stray tab?); a reference equal to the source "
                               "marks a correct sentence", path, number)
        ids.append(fields[0])
        sources.append(remove_whitespace(fields[1]))
        targets.append(tuple(fields[2:]))
    return References(path, tuple(sources), tuple(targets), ids=tuple(ids))


def load_hypotheses(path: str | Path, references: References, strict_sources: bool = False) -> Hypotheses:
    """One hypothesis per reference sentence: plain lines; a para file `id<TAB>source<TAB>
    hypothesis` (detected from its first line); or an M2 file. A para or M2 file's sources are
    the ones its hypotheses correct: where one differs from the reference's, a warning names
    the sentence (an error with `strict_sources`)."""
    path = Path(path)
    text = read_text(path)
    if looks_like_m2(text):
        blocks = read_m2_file(path, text)
        refuse_word_tokens(path, text, blocks)
        sources = tuple("".join(b.source_tokens) for b in blocks)
        _check_count(len(blocks), references, path, "hypothesis M2 blocks")
        _check_sources(sources, references, path, strict_sources, [None] * len(sources))
        return Hypotheses(path, None, sources, blocks)
    lines = read_lines(path)
    is_para = bool(lines) and lines[0].count("\t") >= 2
    hypotheses: list[str] = []
    sources: list[str] = []
    for number, line in enumerate(lines, 1):
        tabs = line.count("\t")
        if not is_para:
            if tabs:
                raise HarnessError("a tab in a file of plain hypotheses (one sentence a line); is this line of a "
                                   "para file `id<TAB>source<TAB>hypothesis`?", path, number)
            hypotheses.append(line)
            continue
        if tabs != 2:
            raise HarnessError(f"para line has {tabs + 1} columns; expected 3: id<TAB>source<TAB>hypothesis",
                               path, number)
        _, source, hypothesis = line.split("\t")
        sources.append(remove_whitespace(source))
        hypotheses.append(hypothesis)
    _check_count(len(hypotheses), references, path)
    if not is_para:
        return Hypotheses(path, tuple(hypotheses), references.sources)
    _check_sources(tuple(sources), references, path, strict_sources, list(range(1, len(sources) + 1)))
    return Hypotheses(path, tuple(hypotheses), tuple(sources))


def _check_count(count: int, references: References, path: Path, unit: str = "hypothesis lines") -> None:
    if count != len(references):
        where = min(count, len(references)) + 1 if unit == "hypothesis lines" else None
        raise HarnessError(f"{count} {unit} but {len(references)} reference sentences in {references.path}",
                           path, where)


def _check_sources(sources: tuple[str, ...], references: References, path: Path, strict: bool,
                   lines: list[int | None]) -> None:
    for index, (ours, theirs) in enumerate(zip(sources, references.sources)):
        if ours == theirs:
            continue
        message = (f"sentence {index + 1}: source differs from the reference source in {references.path}; "
                   "the hypothesis is aligned with its own source")
        if strict:
            raise HarnessError(message + " (--strict-sources)", path, lines[index])
        print(f"warning: {HarnessError(message, path, lines[index])}", file=sys.stderr)


MAX_CHARS = 4000  # a 2,000-character paragraph passes; longer pairs need --max-chars (time and memory grow)


def refuse_long(texts: Sequence[str], path: Path | None, limit: int, what: str, lines: Sequence[int] | None = None) -> None:
    """A one-line error naming the first sentence longer than `limit` characters, by its line."""
    for index, text in enumerate(texts):
        if len(text) > limit:
            line = lines[index] if lines is not None else index + 1
            raise HarnessError(f"this {what} has {len(text)} characters, over --max-chars {limit} (alignment time "
                               f"and memory grow with the square of the length; raise the limit to score it)", path,
                               line)

"""The scorer's inputs: references (para or M2 file) and hypotheses (plain lines or para)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.textfile import read_lines, read_text
from metrics.m2 import M2FormatError, M2Sentence, read_m2
from metrics.normalise import remove_whitespace


@dataclass(frozen=True)
class References:
    """Sources and reference targets of a corpus. From an M2 file `targets` is None and
    `m2` holds the parsed blocks (sources are their joined tokens)."""

    path: Path
    sources: tuple[str, ...]
    targets: tuple[tuple[str, ...], ...] | None = None
    m2: tuple[M2Sentence, ...] | None = None
    m2_text: str | None = None

    def __len__(self) -> int:
        return len(self.sources)

    @property
    def reference_counts(self) -> tuple[int, ...]:
        if self.targets is not None:
            return tuple(len(t) for t in self.targets)
        return tuple(len({e.annotator for e in s.edits}) or 1 for s in self.m2 or ())


def looks_like_m2(text: str) -> bool:
    first = text.lstrip("\ufeff\n").split("\n", 1)[0]
    return first.startswith("S ") or first == "S"


def load_references(path: str | Path) -> References:
    path = Path(path)
    text = read_text(path)
    if looks_like_m2(text):
        try:
            sentences = read_m2(text)
        except M2FormatError as error:
            raise HarnessError(f"M2 block does not parse: {error}", path, error.line) from None
        if not sentences:
            raise HarnessError("no M2 blocks found", path)
        return References(path, tuple("".join(s.source_tokens) for s in sentences), None,
                          tuple(sentences), text)
    lines = read_lines(path)
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise HarnessError("empty reference file", path)
    sources: list[str] = []
    targets: list[tuple[str, ...]] = []
    for number, line in enumerate(lines, 1):
        fields = line.split("\t")
        if len(fields) < 2:
            raise HarnessError("para line has no source column (expected id<TAB>source<TAB>reference...)",
                               path, number)
        if len(fields) < 3:
            raise HarnessError("para line has no reference column (expected id<TAB>source<TAB>reference...)",
                               path, number)
        sources.append(remove_whitespace(fields[1]))
        targets.append(tuple(fields[2:]))
    return References(path, tuple(sources), tuple(targets))


def load_hypotheses(path: str | Path, references: References) -> list[str]:
    """One hypothesis per reference sentence. A file whose first line has two tabs is read as a
    para file `id<TAB>source<TAB>hypothesis` and its sources must match the references'."""
    path = Path(path)
    lines = read_lines(path)
    is_para = bool(lines) and lines[0].count("\t") >= 2
    hypotheses: list[str] = []
    for number, line in enumerate(lines, 1):
        if not is_para:
            hypotheses.append(line)
            continue
        fields = line.split("\t")
        if len(fields) < 3:
            raise HarnessError("para line has no source column (expected id<TAB>source<TAB>hypothesis)",
                               path, number)
        if number <= len(references) and remove_whitespace(fields[1]) != references.sources[number - 1]:
            raise HarnessError(f"source differs from the reference source of sentence {number} "
                               f"in {references.path}", path, number)
        hypotheses.append("".join(fields[2:]))
    if len(hypotheses) != len(references):
        where = min(len(hypotheses), len(references)) + 1
        raise HarnessError(f"{len(hypotheses)} hypothesis lines but {len(references)} reference sentences "
                           f"in {references.path}", path, where)
    return hypotheses

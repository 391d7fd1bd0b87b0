"""NLPCC 2018 Task 2 test: the official input (`source.txt`, a sentence a line), the official
word-level gold (`gold.01`, M2 on PKUNLP words) and MuCGEC's char-level M2 of the same references.

The input is not byte-for-byte the gold's sentences: seven of its lines start with a BOM (the
file is a concatenation of files), a few hold spaces between Latin words, and 78 use full-width
`：；（）` where gold's S lines have the half-width forms (PKUNLP normalises them). The items keep
the official text (BOMs removed); the loader checks that, with BOMs and whitespace removed, every
input sentence has its gold sentence's length, so that scoring can carry each sentence's width
differences over to the output (the `gold-punctuation` step)."""

from __future__ import annotations

from pathlib import Path

from harness.benchmarks.gold import Gold, Loaded
from harness.core.errors import HarnessError
from harness.core.textfile import read_lines, read_text
from harness.data.datasets import Item
from harness.data.inputs import read_m2_file
from metrics import maxmatch
from metrics.normalise import remove_whitespace

BOM = "\ufeff"


def read_gold(path: Path) -> tuple[maxmatch.GoldSentence, ...]:
    """An M2Scorer gold file read as M2Scorer reads it (an edit beyond its sentence is dropped,
    as there: gold.01 has one, line 7193); a block that does not open with an S line, or a line
    that is not S, A or I, is an error naming its line."""
    text = read_text(path)
    opening = True
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            opening = True
            continue
        if opening and not line.startswith("S "):
            raise HarnessError(f"M2 block does not start with an 'S ' line: {line[:60]!r}", path, number)
        if not line.startswith(("S ", "A ", "I ")):
            raise HarnessError(f"M2 line is neither S, A nor I: {line[:60]!r}", path, number)
        opening = False
    try:
        return tuple(maxmatch.parse_gold_m2(text))
    except maxmatch.GoldFormatError as error:
        raise HarnessError(f"not an M2Scorer gold file: {error}", path) from None


def _s_lines(path: Path) -> list[int]:
    return [number for number, line in enumerate(read_lines(path), 1) if line.startswith("S")]


def _check_same_sentences(sources: list[str], char_sources: list[str], gold_sources: list[str],
                          paths: dict[str, Path]) -> None:
    """The three files describe the same 2,000 sentences, in the same order."""
    counts = {len(sources), len(char_sources), len(gold_sources)}
    if len(counts) != 1:
        raise HarnessError(f"{len(sources)} input lines, {len(char_sources)} char M2 blocks and "
                           f"{len(gold_sources)} gold blocks: the files do not belong together", paths["sources"])
    for index, (mine, char, gold) in enumerate(zip(sources, char_sources, gold_sources)):
        if char != gold:
            raise HarnessError(f"sentence {index + 1}: the char M2 and gold.01 disagree on the source",
                               paths["char_m2"], _s_lines(paths["char_m2"])[index])
        if len(mine) != len(gold):
            raise HarnessError(f"sentence {index + 1}: {len(mine)} characters, gold's S line has {len(gold)} "
                               "(only full-width/half-width forms may differ)", paths["sources"], index + 1)


def load_nlpcc18(paths: dict[str, Path]) -> Loaded:
    lines = read_lines(paths["sources"])
    texts = [line.replace(BOM, "") for line in lines]
    empty = next((n for n, text in enumerate(texts, 1) if not text.strip()), None)
    if empty is not None:
        raise HarnessError("empty input line", paths["sources"], empty)
    char_path = paths["char_m2"]
    blocks = read_m2_file(char_path, read_text(char_path))
    gold = read_gold(paths["word_gold"])
    char_sources = ["".join(block.source_tokens) for block in blocks]
    _check_same_sentences([remove_whitespace(t) for t in texts], char_sources, ["".join(g.source) for g in gold],
                          paths)
    items = tuple(Item(str(n), text) for n, text in enumerate(texts, 1))
    stats = {"sentences": len(items), "bom_lines": paths["sources"].read_bytes().count(BOM.encode()),
             "two_annotators": sum(len(g.annotators) == 2 for g in gold),
             "no_edit": sum(not any(g.annotators) for g in gold),
             "width_differences": sum(remove_whitespace(t) != s for t, s in zip(texts, char_sources))}
    return Loaded(items, Gold(reference_blocks=tuple(blocks), reference_sources=tuple(char_sources),
                              word_gold=gold), stats)

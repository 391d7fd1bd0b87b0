"""Reference sentences as outputs: one per item, for checking a protocol end to end (references
scored as hypotheses give 100), for the speed bench, and for exact match against an M2 gold."""

from __future__ import annotations

from harness.benchmarks.benchmark import Benchmark
from harness.core.errors import HarnessError
from metrics.edit import NO_ERROR_TEXT, NOT_ANNOTATABLE_TEXT, Block
from metrics.maxmatch import GoldSentence


def block_targets(block: Block) -> tuple[str, ...]:
    """Each annotator's corrected sentence of a char M2 block (its T line; the source for a
    noop annotator), 无法标注 annotators left out."""
    source = "".join(block.source_tokens)
    targets = []
    for annotation in block.annotations:
        if annotation.marker == NOT_ANNOTATABLE_TEXT:
            continue
        targets.append(source if annotation.marker is not None else "".join(annotation.target_tokens))
    return tuple(targets) or (source,)


def gold_target(sentence: GoldSentence, annotator: int = 0) -> str:
    """The corrected token line an M2Scorer gold annotator describes (its first correction of
    each edit applied), tokens joined by spaces: a pre-segmented output."""
    tokens = list(sentence.source)
    edits = sentence.annotators[annotator] if sentence.annotators else ()
    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):  # right to left
        tokens[edit.start:edit.end] = edit.corrections[0].split() if edit.corrections[0] else []
    return " ".join(tokens)


def first_references(benchmark: Benchmark) -> list[str]:
    """Per item, its first reference as an output (没有错误 and 无法标注 read as the source)."""
    gold = benchmark.gold
    if gold is None:
        raise HarnessError(f"{benchmark.name} has no references here")
    if gold.targets is not None:
        return list(gold.targets)
    if gold.reference_blocks is not None:
        return [block_targets(block)[0] for block in gold.reference_blocks]
    assert gold.references is not None
    return [item.source if refs[0] in (NO_ERROR_TEXT, NOT_ANNOTATABLE_TEXT) else refs[0]
            for item, refs in zip(benchmark.items, gold.references)]


def word_gold_targets(benchmark: Benchmark) -> list[str]:
    """Per item, the first gold annotator's corrected sentence, pre-segmented (nlpcc18)."""
    gold = benchmark.gold
    if gold is None or gold.word_gold is None:
        raise HarnessError(f"{benchmark.name} has no word-level gold")
    return [gold_target(sentence) for sentence in gold.word_gold]

"""A protocol's preprocessing, applied the same way to sources, references and outputs before any
scorer sees them (`preprocessing` in benchmarks.yaml), and which sentences count."""

from __future__ import annotations

from dataclasses import dataclass

from harness.benchmarks.benchmark import Benchmark
from harness.core.errors import HarnessError
from metrics.edit import NO_ERROR_TEXT, NOT_ANNOTATABLE_TEXT
from metrics.normalise import remove_whitespace

BOM = "\ufeff"


@dataclass(frozen=True)
class Prepared:
    """Per scored sentence (in item order, the protocol's subset only): the source the gold was
    written on, the output, and the references as ChERRANT reads them (None: an M2 gold)."""

    indices: tuple[int, ...]
    sources: tuple[str, ...]
    hypotheses: tuple[str, ...]
    references: tuple[tuple[str, ...], ...] | None


def width_map(source: str, gold_source: str) -> dict[str, str]:
    """The characters in which an input sentence differs from its gold sentence, position by
    position (the loader checked their lengths), e.g. {'：': ':'}."""
    return {a: b for a, b in zip(remove_whitespace(source.replace(BOM, "")), gold_source) if a != b}


def _deleter(benchmark: Benchmark):
    chars = benchmark.spec.protocol.remove_chars or ""
    table = str.maketrans("", "", chars)
    return (lambda text: text.translate(table)) if chars else (lambda text: text)


def _output(benchmark: Benchmark, index: int, text: str) -> str:
    steps = benchmark.spec.protocol.preprocessing
    if "bom" in steps:
        text = text.replace(BOM, "")
    if "gold-punctuation" in steps:
        gold = benchmark.gold
        assert gold is not None and gold.reference_sources is not None
        mapping = width_map(benchmark.items[index].source, gold.reference_sources[index])
        text = "".join(mapping.get(char, char) for char in text)
    return _deleter(benchmark)(text)


def scored_indices(benchmark: Benchmark) -> tuple[int, ...]:
    """All sentences, or (`sentences: erroneous`) those the gold marks erroneous."""
    gold = benchmark.gold
    if benchmark.spec.protocol.sentences == "erroneous":
        if gold is None or gold.erroneous is None:
            raise HarnessError(f"{benchmark.name}: the protocol scores erroneous sentences, the gold has no flags")
        return tuple(i for i, flag in enumerate(gold.erroneous) if flag)
    return tuple(range(len(benchmark.items)))


def prepare(benchmark: Benchmark, predictions: list[str], indices: tuple[int, ...]) -> Prepared:
    gold = benchmark.gold
    assert gold is not None
    delete = _deleter(benchmark)
    if gold.reference_sources is not None:
        sources = tuple(gold.reference_sources[i] for i in indices)
    else:
        sources = tuple(delete(benchmark.items[i].source) for i in indices)
    references = None
    if gold.references is not None:
        references = tuple(tuple(delete(r) for r in gold.references[i]) for i in indices)
    return Prepared(indices, sources, tuple(_output(benchmark, i, predictions[i]) for i in indices), references)


def exact_options(source: str, references: tuple[str, ...]) -> tuple[str, ...]:
    """The sentences an output must equal: 没有错误 is the source itself, 无法标注 accepts nothing."""
    out = (source if r == NO_ERROR_TEXT else r for r in references if r != NOT_ANNOTATABLE_TEXT)
    return tuple(dict.fromkeys(remove_whitespace(r) for r in out))

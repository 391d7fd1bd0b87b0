"""A run's sentences as the reports read them (`show`, `compare`, the HTML report): the one place
that finds the sources and references a run was scored against, and says how its scorer read them.

A plain run's are the dataset it scored (`harness.data.datasets.load_run_dataset`, found by
sha256). A benchmark run's (metrics.json's `benchmark` block names it) are its benchmark's: loaded
by name (`harness.benchmarks.load_benchmark`), refused when its data sha256 is not the one the
record scored, and prepared as its protocol prepares them (FCGEC's punctuation removed, NLPCC 2018's
gold sentences), so that what a report shows and re-scores is what the protocol counted. Literal
ChERRANT references (没有错误, 无法标注) are kept for the scorer and turned into sentences a reader can
see: 没有错误 is the source itself, 无法标注 has no correction.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from harness.benchmarks import Benchmark, load_benchmark
from harness.benchmarks.preprocess import prepare, scored_indices
from harness.core.errors import HarnessError
from harness.data.datasets import load_run_dataset
from harness.data.manifest import DataSettings
from harness.record.models import MANIFEST, RunRecord
from metrics.edit import NO_ERROR_TEXT, NOT_ANNOTATABLE_TEXT, Block
from metrics.m2 import annotation_target
from metrics.normalise import remove_whitespace

# How a 无法标注 reference reads: there is no correction to show (ChERRANT scores it as `NA`).
NO_CORRECTION = "(无法标注: not annotatable, no correction)"
# The scorer's references of a sentence the protocol leaves out (FCGEC's correct ones): ChERRANT
# skips a sentence whose only reference is 无法标注, exactly as the protocol's record has it (unscored).
LEFT_OUT = (NOT_ANNOTATABLE_TEXT,)


@dataclass(frozen=True)
class RunSentences:
    """A run's dataset, per item in dataset order. `sources` and the references are what the
    char scorer compared: `references` as ChERRANT reads them (没有错误/无法标注 literal), or
    `blocks` (a char-level M2 gold, NLPCC 2018) in their place; `shown` is each reference as a
    sentence, index-aligned with the scorer's (so a chosen reference's index reads in both), and
    `markers` the literal 没有错误/无法标注 each stands for. `counted`: the protocol scores the
    sentence (FCGEC: the erroneous ones only)."""

    dataset: str
    ids: tuple[str, ...]
    items: tuple[str, ...]  # the sources as the model saw them
    sources: tuple[str, ...]
    references: tuple[tuple[str, ...], ...] | None
    blocks: tuple[Block, ...] | None
    shown: tuple[tuple[str, ...], ...]
    counted: tuple[bool, ...]
    markers: tuple[tuple[str | None, ...], ...] = ()  # per shown reference: 没有错误, 无法标注 or None
    task: str = "gec"
    notes: tuple[str, ...] = ()
    benchmark: Benchmark | None = None

    @property
    def has_references(self) -> bool:
        return self.references is not None or self.blocks is not None

    def marker(self, index: int, reference: int) -> str | None:
        markers = self.markers[index] if self.markers else ()
        return markers[reference] if reference < len(markers) else None

    def positions(self, item_ids: Sequence[str], where: str | Path | None = None) -> list[int]:
        """The dataset position of each item id (one error naming `where` for an id not there)."""
        known = {item_id: index for index, item_id in enumerate(self.ids)}
        missing = next((i for i in item_ids if i not in known), None)
        if missing is not None:
            raise HarnessError(f"sentence id {missing} is not in the dataset {self.dataset}", where)
        return [known[i] for i in item_ids]

    def hypotheses(self, positions: Sequence[int], outputs: Sequence[str]) -> tuple[str, ...]:
        """Outputs as the scorer compared them (a GEC benchmark's preprocessing applied; CSC
        compares outputs as they are)."""
        if self.benchmark is None or self.benchmark.gold is None or self.task != "gec":
            return tuple(outputs)
        padded = list(self.items)
        for index, output in zip(positions, outputs):
            padded[index] = output
        return prepare(self.benchmark, padded, tuple(positions)).hypotheses

    def source_chars(self, index: int) -> int:
        """The characters the scorer aligned (FP per 100 chars): none for a sentence left out."""
        return len(remove_whitespace(self.sources[index])) if self.counted[index] else 0


def run_sentences(run: RunRecord, settings: DataSettings) -> RunSentences:
    """The sentences `run` was scored against: its benchmark's (checked by sha256), else its dataset's."""
    block = run.metrics.benchmark
    if block is None:
        dataset = load_run_dataset(run.dataset, settings)
        sources = tuple(dataset.references.sources)
        targets = tuple(tuple(t) for t in (dataset.references.targets or [() for _ in sources]))
        return RunSentences(dataset=dataset.name, ids=tuple(item.id for item in dataset.items), items=sources,
                            sources=sources, references=targets, blocks=None,
                            shown=tuple(_readable(s, t) for s, t in zip(sources, targets)),
                            counted=tuple(True for _ in sources), markers=tuple(_markers(t) for t in targets))
    benchmark = load_benchmark(block.name, settings, progress=False)
    if benchmark.sha256 != run.dataset.sha256:
        raise HarnessError(f"the data of benchmark {block.name} changed since this run scored it (sha256 "
                           f"{benchmark.sha256[:12]} now, {run.dataset.sha256[:12]} in the record): run it again",
                           run.path / MANIFEST)
    return _benchmark_sentences(benchmark)


def _readable(source: str, references: Sequence[str]) -> tuple[str, ...]:
    """ChERRANT's literal references as sentences: 没有错误 is the source, 无法标注 has no correction."""
    return tuple(source if r == NO_ERROR_TEXT else NO_CORRECTION if r == NOT_ANNOTATABLE_TEXT else r
                 for r in references)


def _markers(references: Sequence[str]) -> tuple[str | None, ...]:
    return tuple(r if r in (NO_ERROR_TEXT, NOT_ANNOTATABLE_TEXT) else None for r in references)


def _block_sentences(block: Block) -> tuple[str, ...]:
    """Each annotator's corrected sentence of a char M2 block, in annotator order."""
    out = []
    for annotation in block.annotations:
        tokens = annotation_target(block, annotation)
        out.append(NO_CORRECTION if tokens is None else "".join(tokens))
    return tuple(out)


def _benchmark_sentences(benchmark: Benchmark) -> RunSentences:
    ids = tuple(item.id for item in benchmark.items)
    items = tuple(item.source for item in benchmark.items)
    common = {"dataset": benchmark.name, "ids": ids, "items": items, "benchmark": benchmark,
              "task": benchmark.spec.task}
    gold = benchmark.gold
    if gold is None:  # an inputs-only split
        return RunSentences(**common, sources=items, references=None, blocks=None, shown=tuple(() for _ in items),
                            counted=tuple(False for _ in items),
                            notes=(f"{benchmark.name} has no references here (its organisers score it)",))
    if gold.targets is not None:  # CSC: one target per item, as long as its source
        targets = tuple((t,) for t in gold.targets)
        return RunSentences(**common, sources=items, references=targets, blocks=None, shown=targets,
                            counted=tuple(True for _ in items))
    every = tuple(range(len(items)))
    prepared = prepare(benchmark, list(items), every)
    counted = set(scored_indices(benchmark))
    flags = tuple(i in counted for i in every)
    notes = _protocol_notes(benchmark, len(counted))
    if gold.reference_blocks is not None:
        blocks = tuple(gold.reference_blocks)
        return RunSentences(**common, sources=prepared.sources, references=None, blocks=blocks,
                            shown=tuple(_block_sentences(b) for b in blocks), counted=flags,
                            markers=tuple(tuple(a.marker for a in b.annotations) for b in blocks), notes=notes)
    assert prepared.references is not None
    return RunSentences(**common, sources=prepared.sources, blocks=None, counted=flags, notes=notes,
                        references=tuple(refs if flags[i] else LEFT_OUT for i, refs in enumerate(prepared.references)),
                        shown=tuple(_readable(s, refs) for s, refs in zip(prepared.sources, prepared.references)),
                        markers=tuple(_markers(refs) for refs in prepared.references))


def _protocol_notes(benchmark: Benchmark, counted: int) -> tuple[str, ...]:
    """What a reader of a benchmark's sentences should know: how the protocol prepared them."""
    protocol = benchmark.spec.protocol
    notes = []
    if protocol.remove_chars:
        notes.append(f"sources, references and outputs as protocol {protocol.name} scores them: its punctuation "
                     "marks removed")
    if "gold-punctuation" in protocol.preprocessing:
        notes.append(f"sources as the gold writes them (protocol {protocol.name}): outputs' punctuation mapped "
                     "to the gold's, references read from its char-level M2")
    if counted < len(benchmark.items):
        notes.append(f"protocol {protocol.name} scores {counted} of the {len(benchmark.items)} sentences (the "
                     "erroneous ones); the others are unscored")
    return tuple(notes)

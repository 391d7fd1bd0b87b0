"""Para files (`id<TAB>source<TAB>ref1<TAB>ref2...`, NaCGEC and MuCGEC dev) and inputs-only
files (`id<TAB>source`, MuCGEC test). MuCGEC's literal references keep their meaning for the
scorer: 没有错误 is a correct sentence (noop), 无法标注 one ChERRANT could not annotate."""

from __future__ import annotations

from pathlib import Path

from harness.benchmarks.gold import Gold, Loaded
from harness.core.errors import HarnessError
from harness.core.textfile import read_lines
from harness.data.datasets import Item
from harness.data.inputs import load_references
from metrics.edit import NO_ERROR_TEXT, NOT_ANNOTATABLE_TEXT


def _unique(ids: list[str], path: Path) -> None:
    seen: dict[str, int] = {}
    for number, item_id in enumerate(ids, 1):
        if item_id in seen:
            raise HarnessError(f"id {item_id!r} repeats line {seen[item_id]}", path, number)
        seen[item_id] = number


def load_para(paths: dict[str, Path]) -> Loaded:
    """NaCGEC's para files: a reference equal to the source marks a correct sentence."""
    path = paths["references"]
    references = load_references(path)
    if references.targets is None:
        raise HarnessError("expected a para file (id<TAB>source<TAB>references), not M2", path)
    _unique(list(references.ids), path)
    items = tuple(Item(i, s) for i, s in zip(references.ids, references.sources))
    correct = sum(any(t == s for t in targets) for s, targets in zip(references.sources, references.targets))
    return Loaded(items, Gold(references=references.targets), {"sentences": len(items), "correct": correct})


def load_mucgec_para(paths: dict[str, Path]) -> Loaded:
    """MuCGEC dev: as a para file; counts the 没有错误 and 无法标注 sentences."""
    loaded = load_para(paths)
    targets = loaded.gold.references if loaded.gold else ()
    stats = {"sentences": len(loaded.items),
             "correct": sum(NO_ERROR_TEXT in t for t in targets or ()),
             "unannotatable": sum(NOT_ANNOTATABLE_TEXT in t for t in targets or ())}
    return Loaded(loaded.items, loaded.gold, stats)


def load_inputs(paths: dict[str, Path]) -> Loaded:
    """`id<TAB>source` lines, no references (a test split scored by its organisers)."""
    path = paths["sources"]
    items: list[Item] = []
    for number, line in enumerate(read_lines(path), 1):
        fields = line.split("\t")
        if len(fields) != 2 or not fields[1].strip():
            raise HarnessError(f"expected id<TAB>source, got {len(fields)} column(s)", path, number)
        items.append(Item(fields[0], fields[1]))
    if not items:
        raise HarnessError("no sentences", path)
    _unique([item.id for item in items], path)
    return Loaded(tuple(items), None, {"sentences": len(items)})

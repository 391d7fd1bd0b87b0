"""Spelling-check pairs: `source<TAB>target` lines (SIGHAN 15 as pycorrector ships it) or a JSON
list of `{src, tgt}` (CSCD-NS as C-LLM ships it). The protocol compares position by position,
so a pair whose source and target differ in length is an error naming its line or record."""

from __future__ import annotations

from pathlib import Path

from harness.benchmarks.gold import Gold, Loaded
from harness.core.errors import HarnessError
from harness.core.textfile import parse_json, read_lines, read_text
from harness.data.datasets import Item


def _loaded(pairs: list[tuple[str, str]]) -> Loaded:
    items = tuple(Item(str(n), source) for n, (source, _) in enumerate(pairs, 1))
    targets = tuple(target for _, target in pairs)
    stats = {"sentences": len(pairs), "correct": sum(s == t for s, t in pairs),
             "error_chars": sum(a != b for s, t in pairs for a, b in zip(s, t))}
    return Loaded(items, Gold(targets=targets, erroneous=tuple(s != t for s, t in pairs)), stats)


def load_csc_tsv(paths: dict[str, Path]) -> Loaded:
    path = paths["pairs"]
    pairs: list[tuple[str, str]] = []
    for number, line in enumerate(read_lines(path), 1):
        fields = line.split("\t")
        if len(fields) != 2 or not fields[0]:
            raise HarnessError(f"expected source<TAB>target, got {len(fields)} column(s)", path, number)
        if len(fields[0]) != len(fields[1]):
            raise HarnessError(f"source ({len(fields[0])} characters) and target ({len(fields[1])}) differ in "
                               "length; the CSC protocol compares them position by position", path, number)
        pairs.append((fields[0], fields[1]))
    if not pairs:
        raise HarnessError("no pairs", path)
    return _loaded(pairs)


def _record_line(text: str, index: int) -> int | None:
    """The line of the `index`-th object of a JSON list (each record opens with `{`)."""
    at = -1
    for _ in range(index + 1):
        at = text.find("{", at + 1)
        if at < 0:
            return None
    return text.count("\n", 0, at) + 1


def load_csc_json(paths: dict[str, Path]) -> Loaded:
    path = paths["pairs"]
    text = read_text(path)
    data = parse_json(text, path)
    if not isinstance(data, list) or not data:
        raise HarnessError("expected a JSON list of {src, tgt} records", path)
    pairs: list[tuple[str, str]] = []
    for index, record in enumerate(data):
        if not (isinstance(record, dict) and isinstance(record.get("src"), str) and record["src"]
                and isinstance(record.get("tgt"), str)):
            raise HarnessError(f"record {index + 1}: expected {{src, tgt}} strings", path, _record_line(text, index))
        if len(record["src"]) != len(record["tgt"]):
            raise HarnessError(f"record {index + 1}: src ({len(record['src'])} characters) and tgt "
                               f"({len(record['tgt'])}) differ in length; the CSC protocol compares them position "
                               "by position", path, _record_line(text, index))
        pairs.append((record["src"], record["tgt"]))
    return _loaded(pairs)

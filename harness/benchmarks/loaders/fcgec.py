"""FCGEC's JSON (`{id: {sentence, error_flag, error_type, operation}}`): items are the
sentences; the gold is each record's error flag and its references, expanded from the operations
(`harness.benchmarks.fcgec_operations`). A correct sentence's only reference is itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.benchmarks import fcgec_operations
from harness.benchmarks.gold import Gold, Loaded
from harness.core.errors import HarnessError
from harness.core.textfile import parse_json, read_text
from harness.data.datasets import Item


def _line_of(text: str, key: str) -> int | None:
    at = text.find(json.dumps(key, ensure_ascii=False) + ":")
    return text.count("\n", 0, at) + 1 if at >= 0 else None


def _record(uid: str, record: Any) -> tuple[str, bool, list]:
    """Sentence, error flag and operation sets of one record, checked."""
    if not isinstance(record, dict) or not isinstance(record.get("sentence"), str) or not record["sentence"]:
        raise fcgec_operations.OperationError("needs a non-empty 'sentence'")
    if record.get("error_flag") not in (0, 1):
        raise fcgec_operations.OperationError(f"error_flag is {record.get('error_flag')!r}, expected 0 or 1")
    try:
        operations = json.loads(record.get("operation") or "[]")
    except (TypeError, json.JSONDecodeError) as error:
        raise fcgec_operations.OperationError(f"operation is not a JSON string of operation sets ({error})") from None
    if not isinstance(operations, list):
        raise fcgec_operations.OperationError("operation is not a list of operation sets")
    if record["error_flag"] == 1 and not operations:
        raise fcgec_operations.OperationError("an erroneous sentence without operations")
    return record["sentence"], record["error_flag"] == 1, operations


def load_fcgec(paths: dict[str, Path], upstream: bool = False) -> Loaded:
    """`upstream=True`: the references as the maintainers' converter makes them (to measure the
    fix; never the default)."""
    path = paths["records"]
    text = read_text(path)
    data = parse_json(text, path)
    if not isinstance(data, dict) or not data:
        raise HarnessError("expected a JSON object of records keyed by id", path)
    expand = fcgec_operations.expand_upstream if upstream else fcgec_operations.expand
    items, references, erroneous = [], [], []
    for uid, record in data.items():
        try:
            sentence, is_erroneous, operations = _record(uid, record)
            targets = expand(sentence, operations) if is_erroneous else (sentence,)
        except (fcgec_operations.OperationError, KeyError, TypeError, IndexError) as error:
            raise HarnessError(f"record {uid}: {error}", path, _line_of(text, uid)) from None
        items.append(Item(uid, sentence))
        references.append(targets)
        erroneous.append(is_erroneous)
    stats = {"sentences": len(items), "erroneous": sum(erroneous), "references": sum(map(len, references))}
    return Loaded(tuple(items), Gold(references=tuple(references), erroneous=tuple(erroneous)), stats)

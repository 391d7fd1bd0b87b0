"""FCGEC's edit operations -> reference sentences.

An FCGEC record lists alternative operation sets; each set may hold a Switch (a new order of the
characters, applied first), Deletes, Inserts (after a position; -1 is the start) and Modifies
(`MOD_k` replaces k characters from a position), and an Insert or Modify label may itself be a
list of alternatives. `expand` gives every reference the record allows: each set, with every
combination of its labels, all of the set's parts applied.

The maintainers' converter (scripts/convert_fcgec_to_seq2seq.py at xlxwalex/FCGEC@ee4b6cc)
loses parts of some references, and `expand_upstream` reproduces what it gives, to measure
the difference (docs/benchmarks.md): once a set with list labels has been seen, (a) each later
set keeps only its Inserts and Modifies, one label and one position at a time, so the Delete
or Switch of that set is dropped; (b) a later set with neither is dropped whole; (c) a later
string label is split into its characters. Where an Insert or Delete shares a position with a
Modify, the Modify wins, in both (as upstream, and as the annotators' alternatives read).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any, Sequence

KINDS = ("Switch", "Delete", "Insert", "Modify")
_MOD_TAG = re.compile(r"^MOD_(\d+)")


class OperationError(ValueError):
    """An operation that cannot apply to its sentence (the loader adds file, record and line)."""


@dataclass(frozen=True)
class Change:
    """One Insert or Modify with its label alternatives; `width` is how many characters a
    Modify replaces (0 for an Insert)."""

    kind: str
    pos: int
    width: int
    labels: tuple[str, ...]


@dataclass(frozen=True)
class OperationSet:
    order: tuple[int, ...] | None
    deletes: tuple[int, ...]
    changes: tuple[Change, ...]


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise OperationError(f"{what} is not a whole number: {value!r}")
    return value


def _order(raw: Any, length: int) -> tuple[int, ...]:
    """A Switch: a permutation of the first k <= length positions (one valid record leaves its
    last character, a private-use U+E004, out: the tail keeps its place)."""
    order = tuple(_int(p, "Switch position") for p in raw) if isinstance(raw, list) else None
    if not order:
        raise OperationError(f"Switch is not a non-empty list of positions: {raw!r}")
    past = [p for p in order if not 0 <= p < length]
    if past:
        raise OperationError(f"Switch position {past[0]} is past the sentence ({length} characters)")
    if sorted(order) != list(range(len(order))):
        raise OperationError("Switch is not a reordering of the sentence's first positions")
    return order


def _change(kind: str, raw: Any, length: int) -> Change:
    """An Insert or Modify entry. Its tag decides what it does, as upstream: `MOD_k` replaces k
    characters, `INS...` inserts after the position (one valid Modify is tagged INS_2)."""
    if not isinstance(raw, dict) or not {"pos", "label"} <= set(raw):
        raise OperationError(f"{kind} entry needs pos and label: {raw!r}")
    pos = _int(raw["pos"], f"{kind} position")
    labels = tuple(raw["label"]) if isinstance(raw["label"], list) else (raw["label"],)
    if not labels or not all(isinstance(label, str) and label for label in labels):
        raise OperationError(f"{kind} label is not a non-empty string or list of them: {raw['label']!r}")
    tag = str(raw.get("tag", "INS" if kind == "Insert" else ""))
    match = _MOD_TAG.match(tag)
    if not (tag.startswith("INS") or match and int(match.group(1)) >= 1):
        raise OperationError(f"{kind} tag {tag!r} is neither INS_k nor MOD_k")
    width = int(match.group(1)) if match else 0
    lowest = 0 if width else -1
    if not lowest <= pos < length or pos + width > length:
        raise OperationError(f"{kind} position {pos} is past the sentence ({length} characters)")
    return Change("Modify" if width else "Insert", pos, width, labels)


def parse_set(raw: Any, length: int) -> OperationSet:
    """One operation set, checked against a sentence of `length` characters."""
    if not isinstance(raw, dict) or not raw or set(raw) - set(KINDS):
        raise OperationError(f"an operation set holds only {', '.join(KINDS)}: {raw!r}")
    order = _order(raw["Switch"], length) if "Switch" in raw else None
    deletes_raw = raw.get("Delete", [])
    if not isinstance(deletes_raw, list):
        raise OperationError(f"Delete is not a list: {deletes_raw!r}")
    deletes = tuple(_int(p, "Delete position") for p in deletes_raw)
    past = [p for p in deletes if not 0 <= p < length]
    if past:
        raise OperationError(f"Delete position {past[0]} is past the sentence ({length} characters)")
    changes = []
    for kind in ("Insert", "Modify"):
        entries = raw.get(kind, [])
        if not isinstance(entries, list) or (kind in raw and not entries):
            raise OperationError(f"{kind} is not a non-empty list: {entries!r}")
        changes.extend(_change(kind, entry, length) for entry in entries)
    return OperationSet(order, deletes, tuple(changes))


def _reordered(sentence: str, order: tuple[int, ...] | None, keep_tail: bool = True) -> str:
    if order is None:
        return sentence
    return "".join(sentence[p] for p in order) + (sentence[len(order):] if keep_tail else "")


def apply(sentence: str, deletes: Sequence[int], changes: Sequence[tuple[Change, str]]) -> str:
    """The sentence after its deletes and (change, chosen label) pairs; a Modify covers its
    characters and wins over an Insert or Delete at its position."""
    action: dict[int, tuple[str, int, str]] = {p: ("D", 1, "") for p in deletes}
    prefix = ""
    for change, label in changes:
        if change.kind == "Insert" and change.pos == -1:
            prefix += label
        elif change.kind == "Insert":
            action[change.pos] = ("I", 1, label)
        else:
            action[change.pos] = ("M", change.width, label)
    for change, label in changes:  # Modifies last: they win
        if change.kind == "Modify":
            action[change.pos] = ("M", change.width, label)
    out, index = [prefix], 0
    while index < len(sentence):
        kind, width, label = action.get(index, ("O", 1, ""))
        out.append({"O": sentence[index], "D": "", "I": sentence[index] + label, "M": label}[kind])
        index += width if kind == "M" else 1
    return "".join(out)


def _unique(sentences: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(sentences))


def expand(sentence: str, operation_sets: Sequence[Any]) -> tuple[str, ...]:
    """Every reference of a record: each set, each combination of its label alternatives."""
    references: list[str] = []
    for raw in operation_sets:
        parsed = parse_set(raw, len(sentence))
        base = _reordered(sentence, parsed.order)
        for labels in itertools.product(*(change.labels for change in parsed.changes)):
            references.append(apply(base, parsed.deletes, list(zip(parsed.changes, labels))))
    return _unique(references)


def _upstream_sets(operation_sets: Sequence[Any]) -> list[dict]:
    """The operation sets as the maintainers' converter unpacks them (see the module docstring)."""
    unpacked: list[dict] = []
    listed = False
    for raw in operation_sets:
        for kind in ("Insert", "Modify"):
            if not listed and kind in raw and isinstance(raw[kind][0]["label"], list):
                listed = True
        if not listed:
            unpacked.append(raw)
            continue
        for kind in ("Insert", "Modify"):
            unpacked.extend({kind: [{**entry, "label": label}]} for entry in raw.get(kind, ())
                            for label in entry["label"])
    return unpacked


def expand_upstream(sentence: str, operation_sets: Sequence[Any]) -> tuple[str, ...]:
    """The references the maintainers' converter gives (its losses included), deduplicated."""
    references = []
    for raw in _upstream_sets(operation_sets):
        parsed = parse_set(raw, len(sentence))
        # as upstream: a Switch sticks to later sets, and a short one drops the sentence's tail
        sentence = _reordered(sentence, parsed.order, keep_tail=False)
        if any(len(change.labels) != 1 for change in parsed.changes):
            raise OperationError("a list label after a string label: the upstream converter fails here")
        references.append(apply(sentence, parsed.deletes, [(c, c.labels[0]) for c in parsed.changes]))
    return _unique(references)

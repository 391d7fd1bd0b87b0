"""The input of `annotate`: `id<TAB>source<TAB>target[<TAB>target2...]` a line, as ChERRANT's
`parallel_to_m2.py` reads it (the id is dropped whatever it holds), read lazily line by line.

Anything ChERRANT cannot annotate is refused with the file and line: a line without a target
column, an empty source or target (after whitespace is removed), invalid UTF-8, an empty line
between pairs (empty lines before the first and after the last are ignored: ChERRANT strips the
file), and a sentence over `max_chars` characters (time and memory grow with the square of the
length).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, NamedTuple

from harness.core.errors import HarnessError
from metrics.normalise import remove_whitespace


class Pair(NamedTuple):
    """One input line: its 1-based number, its source and its targets, as written."""

    line: int
    source: str
    targets: tuple[str, ...]


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Decoded lines without their LF or CRLF, numbered from 1; a BOM is dropped."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise HarnessError("no such file", path) from None
    except OSError as error:
        raise HarnessError(f"cannot read: {error.strerror}", path) from None
    with handle:
        for number, raw in enumerate(handle, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise HarnessError(f"invalid UTF-8 (byte 0x{raw[error.start]:02x} at column {error.start + 1})",
                                   path, number) from None
            if number == 1:
                line = line.removeprefix("\ufeff")
            yield number, line.removesuffix("\n").removesuffix("\r")


def _pair(path: Path, number: int, line: str, max_chars: int) -> Pair:
    fields = line.split("\t")
    if len(fields) < 3:
        raise HarnessError("expected id<TAB>source<TAB>target[<TAB>target...] (ChERRANT's parallel format), "
                           f"found {len(fields)} column{'s' if len(fields) != 1 else ''}", path, number)
    for index, field in enumerate(fields[1:]):
        what = "the source" if index == 0 else f"target {index}"
        text = remove_whitespace(field)
        if not text:
            raise HarnessError(f"{what} is empty (ChERRANT cannot annotate an empty sentence)", path, number)
        if len(text) > max_chars:
            raise HarnessError(f"{what} has {len(text)} characters, over --max-chars {max_chars} (alignment time "
                               "and memory grow with the square of the length)", path, number)
    return Pair(number, fields[1], tuple(fields[2:]))


def read_pairs(path: str | Path, max_chars: int) -> Iterator[Pair]:
    """Every pair of the file, in order, checked (see the module docstring)."""
    path = Path(path)
    blank: int | None = None  # the first of the empty lines seen since the last pair
    seen = False
    for number, line in _lines(path):
        if not line.strip():
            blank = blank or number
            continue
        if blank is not None and seen:
            raise HarnessError("empty line between pairs (ChERRANT stops there)", path, blank)
        blank, seen = None, True
        yield _pair(path, number, line, max_chars)
    # empty lines before the first pair and after the last: ignored, as ChERRANT strips the file

"""Where an interrupted M2 output stops. Every block `annotate` writes ends with the only blank
line it contains ("...\\n\\n"), and blocks are written in input order, so the complete blocks
are the bytes up to the last "\\n\\n": a kill leaves them, and perhaps the start of the next
one, which is cut off before the run continues with the pair after the last complete block.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from harness.core.errors import HarnessError

READ_SIZE = 1 << 22
SEPARATOR = b"\n\n"


class ResumePoint(NamedTuple):
    """`blocks` complete blocks in the first `offset` bytes; `last_source`: the source of the
    last one (its S line without the spaces between tokens), to check it is this input's."""

    blocks: int
    offset: int
    last_source: str | None


def _scan(handle) -> tuple[int, int, int]:
    """(complete blocks, end of the last, start of the last): counts "\\n\\n" across reads."""
    blocks, last_end, previous_end, position, carry = 0, 0, 0, 0, b""
    while True:
        data = handle.read(READ_SIZE)
        if not data:
            return blocks, last_end, previous_end
        window = carry + data
        base = position - len(carry)
        at = window.find(SEPARATOR)
        while at >= 0:
            end = base + at + len(SEPARATOR)
            if end > last_end:  # a separator across the previous read is found twice
                blocks += 1
                previous_end, last_end = last_end, end
            at = window.find(SEPARATOR, at + len(SEPARATOR))
        position += len(data)
        carry = data[-1:]


def resume_point(path: Path) -> ResumePoint:
    """Where to continue writing `path` (nothing to keep when it does not exist or is empty)."""
    if not path.exists():
        return ResumePoint(0, 0, None)
    try:
        with path.open("rb") as handle:
            head = handle.read(2)
            if head and head != b"S "[: len(head)]:
                raise HarnessError("the output exists and is not an M2 file written by `annotate` (its first line "
                                   "is not an S line); give --restart to overwrite it", path, 1)
            handle.seek(0)
            blocks, end, start = _scan(handle)
            handle.seek(start)
            first_line = handle.read(end - start).split(b"\n", 1)[0] if blocks else b""
    except OSError as error:
        raise HarnessError(f"cannot read: {error.strerror}", path) from None
    try:
        last = first_line.decode("utf-8") if blocks else None
    except UnicodeDecodeError:
        raise HarnessError("the output's last complete block is not UTF-8 text; give --restart", path) from None
    if last is not None and not last.startswith("S"):
        raise HarnessError("the output's last complete block does not start with an S line; give --restart", path)
    return ResumePoint(blocks, end, None if last is None else "".join(last[2:].split(" ")))

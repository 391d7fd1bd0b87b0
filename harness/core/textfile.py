"""Reading user text files (whole, by line, or as JSON), with errors that name the file and line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.core.errors import HarnessError


def read_text(path: str | Path) -> str:
    """The file decoded as UTF-8 (a BOM is dropped); invalid bytes are reported by line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise HarnessError("no such file", path) from None
    except OSError as error:
        raise HarnessError(f"cannot read: {error.strerror}", path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise HarnessError(f"invalid UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start})",
                           path, line) from None
    return text.removeprefix("\ufeff")


def read_lines(path: str | Path) -> list[str]:
    """Lines without their line ends (LF or CRLF). A final line end does not start a new line;
    empty lines elsewhere are kept, since an empty hypothesis is a valid line."""
    text = read_text(path)
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def parse_json(text: str, path: str | Path) -> Any:
    """The JSON value of a file's text; invalid JSON is one error naming the file and line."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise HarnessError(f"invalid JSON: {error.msg}", Path(path), error.lineno) from None


def read_json(path: str | Path) -> Any:
    """The file's JSON value (UTF-8, as `read_text` reads it)."""
    return parse_json(read_text(path), path)

"""One error type for bad input, so the CLI can print it once as `file:line: message`."""

from __future__ import annotations

from pathlib import Path


class HarnessError(Exception):
    """A user-facing error: bad input, bad config, failed download. Exit code 2."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
            where += ": "
        return f"{where}{self.message}"

"""Files written whole or not at all (a temp file beside them, then a rename or a link)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _written_beside(path: Path, text: str) -> Path:
    """A complete temp file next to `path`, readable like any new file (temp files are 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False,
                                         prefix=f".{path.name}.", suffix=".part")
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o666 & ~_umask())
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return Path(handle.name)


def atomic_write_text(path: Path, text: str) -> None:
    """Replace `path` with `text`, never leaving it half-written."""
    temp = _written_beside(path, text)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def create_text(path: Path, text: str) -> bool:
    """Write a new file whole; False, and nothing written, when `path` already exists (a
    hard link is created only if the name is free, so no other writer is ever overwritten)."""
    temp = _written_beside(path, text)
    try:
        os.link(temp, path)
    except FileExistsError:
        return False
    finally:
        temp.unlink(missing_ok=True)
    return True


def write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2) + "\n")

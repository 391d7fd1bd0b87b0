"""What every command shares: argument types that refuse a bad value with one message, the
options most commands take, the parser of one command, an output file the user names, and the
executor (`--dask`) that scoring and annotation run on."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, ContextManager

from harness.core.errors import HarnessError

if TYPE_CHECKING:
    from concurrent.futures import Executor

# The type of `add_subparsers()`'s result, spelled once for the `add_*_command` functions.
Subcommands = "argparse._SubParsersAction[argparse.ArgumentParser]"


def positive_float(text: str) -> float:
    """An argparse type: a number > 0 (seconds, beta), refused with a message otherwise."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def whole_number(minimum: int):
    """An argparse type: a whole number >= `minimum`, refused with a message otherwise."""

    def parse(text: str) -> int:
        value = int(text) if text.lstrip("-").isdigit() else None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text!r}")
        return value

    return parse


positive_int = whole_number(1)
non_negative_int = whole_number(0)


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """--jobs, --quiet and --data-dir: the same words for every command that scores."""
    parser.add_argument("--jobs", type=positive_int, default=None, help="processes for scoring (default: all cores)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars (none either when stderr is not "
                                                             "a terminal)")
    parser.add_argument("--data-dir", default=None, help="local data mirror (default: $CGEC_DATA_DIR)")


def add_command(commands: Subcommands, name: str, summary: str, description: str) -> argparse.ArgumentParser:
    """One command: its line in `--help` and the description its own `--help` opens with."""
    return commands.add_parser(name, help=summary, description=description)


def write_output(path: Path, text: str) -> None:
    """An output file the user named: refused with a one-line error where it cannot be written."""
    from harness.core.atomic import atomic_write_text

    if path.is_dir():
        raise HarnessError("is a folder: give a file name", path)
    try:
        atomic_write_text(path, text)
    except OSError as error:
        raise HarnessError(f"cannot write: {error.strerror}", path) from None


def executor_for(args: argparse.Namespace) -> "ContextManager[Executor | None]":
    """--dask SCHEDULER: the Dask cluster's executor (closed after); else None (local processes)."""
    if getattr(args, "dask", None) is None:
        from contextlib import nullcontext

        return nullcontext()
    from harness.scoring.executor import dask_executor

    return dask_executor(args.dask)

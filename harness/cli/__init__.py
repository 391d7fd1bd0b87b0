"""The command line, `python -m harness <command>`: a thin layer that parses arguments, calls
one package and prints. `common` holds what every command shares; one module per command
family holds its parser (`add_*_command`) and its handler (`cmd_*`). It may import every other
harness package, but lazily: a command imports what it needs when it runs, so `--help` and
`table` never load the scorer."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from harness import __version__
from harness.cli.data import add_cite_command, add_list_command
from harness.cli.finetune import add_finetune_command
from harness.cli.local import add_serve_local_command
from harness.cli.reports import (add_compare_command, add_record_upgrade_command, add_report_command,
                                 add_show_command, add_table_command)
from harness.cli.run import add_run_command
from harness.cli.score import add_annotate_command, add_score_command
from harness.core.errors import HarnessError
from harness.core.redact import redact

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, run one command, and print a HarnessError once, as one line with secrets redacted;
    the exit code: 0 done, 2 refused, 130 interrupted."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except HarnessError as error:
        print(f"error: {redact(str(error))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ImportError as error:
        if not interrupted_import(error):
            raise
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `... | head`: the reader has gone, nothing more to say
        sys.stderr.close()
        return 0


def interrupted_import(error: ImportError) -> bool:
    """Whether a Ctrl-C landed inside an import: a pybind11 module's initialisation turns the
    KeyboardInterrupt into ImportError("initialization failed") raised from it."""
    return isinstance(error.__cause__, KeyboardInterrupt) or isinstance(error.__context__, KeyboardInterrupt)


def build_parser() -> argparse.ArgumentParser:
    """Every command, in the order `--help` lists them."""
    parser = argparse.ArgumentParser(
        prog="python -m harness", description="Evaluate Chinese grammatical error correction: run models on a "
        "dataset, score them as ChERRANT and M2Scorer do, compare and tabulate the results.",
        epilog="Environment: CGEC_DATA_DIR, a local data mirror (e.g. ../shared/data; else files are downloaded "
               "and checked); CGEC_CACHE_DIR, downloads and caches (default ~/.cache/cgec-harness); API keys "
               "in the variable a config names (model.api_key_env).")
    parser.add_argument("--version", action="version", version=f"cgec-harness {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_score_command(commands)
    add_annotate_command(commands)
    add_run_command(commands)
    add_table_command(commands)
    add_compare_command(commands)
    add_show_command(commands)
    add_list_command(commands)
    add_cite_command(commands)
    add_finetune_command(commands)
    add_serve_local_command(commands)
    add_record_upgrade_command(commands)
    add_report_command(commands)
    return parser

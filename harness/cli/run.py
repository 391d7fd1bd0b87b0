"""`harness run`: a config on its dataset, or on benchmarks (harness.run does the work)."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.common import Subcommands, add_command, add_common_options, positive_int
from harness.data.manifest import DataSettings


def add_run_command(commands: Subcommands) -> None:
    """`harness run`: a config on its dataset."""
    run = add_command(commands, "run", "run a model config on its dataset, clean, score, write results",
                      "Send a dataset to the model a config names (or read stored outputs), clean the replies, "
                      "score them and write the run record to results/runs/<name>/.")
    run.add_argument("--config", required=True, help="a run config (configs/*.yaml); `harness list` shows them")
    run.add_argument("--set", action="append", metavar="KEY=VALUE",
                     help="override a config value, checked like the file: model.model=gpt-4o-mini, "
                          "model.base_url=http://127.0.0.1:8000/v1, model.params.temperature=0 (repeatable)")
    run.add_argument("--benchmarks", default=None, metavar="A,B,...",
                     help="run on these benchmarks of data/benchmarks.yaml instead of the config's dataset, one "
                          "record each in results/runs/<name>@<benchmark>/ (`harness list` shows them)")
    run.add_argument("--limit", type=positive_int, default=None,
                     help="first N sentences only (written to results/runs/<name>.limit-N)")
    run.add_argument("--fresh", action="store_true", help="ask again even when a response is cached")
    run.add_argument("--retry-failed", action="store_true", help="re-ask only the items that failed last time")
    run.add_argument("--dry-run", action="store_true", help="print the first request and the cost estimate; send nothing")
    run.add_argument("--out", default="results/runs", help="results root (default results/runs)")
    add_common_options(run)
    run.add_argument("--no-progress", action="store_true", help="no progress bar (as --quiet)")
    run.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    """A config end to end (harness.run.execute), or once per benchmark with --benchmarks."""
    from harness.config.schema import load_config
    from harness.run.execute import RunOptions, execute

    config = load_config(args.config, overrides=args.set or ())
    settings = DataSettings.from_env(data_dir=args.data_dir)
    options = RunOptions(out_root=Path(args.out), limit=args.limit, fresh=args.fresh, retry_failed=args.retry_failed,
                         dry_run=args.dry_run, progress=not (args.no_progress or args.quiet), jobs=args.jobs)
    if args.benchmarks is not None:
        from harness.benchmarks.registry import benchmark_names
        from harness.run.suite import execute_suite

        return execute_suite(config, settings, options, benchmark_names(args.benchmarks))
    return execute(config, settings, options)

"""The commands that read run records: `table` (and `table --suite`), `compare`, `show`,
`report`, and `record-upgrade`, which rewrites them."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness.cli.common import Subcommands, add_command, add_common_options, non_negative_int, write_output
from harness.core.errors import HarnessError
from harness.data.manifest import DataSettings


def add_table_command(commands: Subcommands) -> None:
    """`harness table`: the results table."""
    table = add_command(commands, "table", "the results table: reported figures beside reproduced runs",
                        "The results table of a dataset: each published row (data/reported/) with the runs that "
                        "reproduce it, matched by the sha256 of the data they scored.")
    table.add_argument("--runs", default="results/runs", help="runs folder (default results/runs)")
    table.add_argument("--dataset", default=None,
                       help="a dataset with reported figures or of the manifest (default nacgec-dev; nacgec-test "
                            "has the NLPCC 2023 leaderboard)")
    table.add_argument("--suite", action="store_true",
                       help="the benchmark suite instead: models x benchmarks, the headline of each benchmark's "
                            "protocol, published rows beside reproduced ones (md, latex or csv)")
    table.add_argument("--benchmarks", default=None, metavar="A,B,...",
                       help="with --suite: these benchmarks only (default: every benchmark of data/benchmarks.yaml)")
    table.add_argument("--format", default="md", choices=["md", "csv", "latex", "json"],
                       help="markdown (default), csv, latex (booktabs) or json")
    table.add_argument("--out", default=None, help="also write the table to this file")
    table.set_defaults(func=cmd_table)


def add_compare_command(commands: Subcommands) -> None:
    """`harness compare`: paired bootstrap comparisons of runs."""
    compare = add_command(commands, "compare", "compare runs: bootstrap intervals, per-type breakdowns",
                          "Compare two or more runs of one dataset: P/R/F0.5 with paired bootstrap intervals, the "
                          "differences, breakdowns by edit and error type, and the sentences they disagree on most.")
    compare.add_argument("runs", nargs="+", help="two or more run folders (results/runs/<name>)")
    compare.add_argument("--bootstrap", type=non_negative_int, default=1000,
                         help="paired bootstrap resamples (default 1000)")
    compare.add_argument("--seed", type=int, default=0, help="seed of the resampling (default 0)")
    compare.add_argument("--top", type=non_negative_int, default=10, help="sentences where the runs disagree most")
    compare.add_argument("--out", default=None, help="write comparison.md, comparison.json (and the plot) here")
    compare.add_argument("--plot", action="store_true", help="a precision/recall PNG (needs matplotlib: the plot extra)")
    compare.add_argument("--data-dir", default=None, help="local data mirror (default: $CGEC_DATA_DIR)")
    compare.set_defaults(func=cmd_compare)


def add_show_command(commands: Subcommands) -> None:
    """`harness show`: one sentence of a run."""
    show = add_command(commands, "show", "one sentence of a run: outputs, edits and which matched",
                       "One sentence of a run for error analysis: source, references, raw output, prediction and "
                       "the char-level edits of each, marked as matched.")
    show.add_argument("run", help="a run folder (results/runs/<name>)")
    show.add_argument("--id", required=True, help="the sentence id")
    show.add_argument("--data-dir", default=None, help="local data mirror (default: $CGEC_DATA_DIR)")
    show.set_defaults(func=cmd_show)


def add_record_upgrade_command(commands: Subcommands) -> None:
    """`harness record-upgrade RUN...`: a run record rewritten in today's schema, re-scored."""
    upgrade = add_command(commands, "record-upgrade", "rewrite run records in today's schema, re-scored and checked",
                          "Rewrite run folders written by an earlier record schema (or by today's) in today's: the "
                          "outputs are kept, the hypotheses are scored again against the dataset found by its "
                          "sha256, and nothing is written unless every figure is equal. Run it again at will: a "
                          "record that would not change is left as it is.")
    upgrade.add_argument("runs", nargs="+", help="run folders (results/runs/<name>)")
    add_common_options(upgrade)
    upgrade.set_defaults(func=cmd_record_upgrade)


def add_report_command(commands: Subcommands) -> None:
    """`harness report RUN... --out report.html`: one self-contained HTML page of runs."""
    report = add_command(commands, "report", "an HTML report of runs: outcomes, over-correction, a sentence browser",
                         "One self-contained HTML file (no network) of one or more runs of a dataset: identity and "
                         "scores with bootstrap intervals, sentence outcomes, over-correction figures, and a sentence "
                         "browser with edits marked; with several runs, paired differences and the sentences where "
                         "they differ first.")
    report.add_argument("runs", nargs="+", help="run folders (results/runs/<name>) over the same dataset")
    report.add_argument("--out", required=True, help="the HTML file to write")
    report.add_argument("--bootstrap", type=non_negative_int, default=1000, help="bootstrap resamples (default 1000)")
    report.add_argument("--seed", type=int, default=0, help="seed of the resampling (default 0)")
    add_common_options(report)
    report.set_defaults(func=cmd_report)


def cmd_table(args: argparse.Namespace) -> int:
    """The results table of one dataset (harness.reports.table), or the suite with --suite."""
    from harness.reports.table import build_table, render

    if args.suite:
        return suite_table(args)
    if args.benchmarks is not None:
        raise HarnessError("--benchmarks chooses the columns of --suite")
    table = build_table(Path(args.runs), args.dataset or "nacgec-dev")
    text = render(table, args.format)
    if args.out:
        write_output(Path(args.out), text if text.endswith("\n") else text + "\n")
    print(text, end="" if text.endswith("\n") else "\n")
    if args.format in ("csv", "latex"):
        for note in table.notes:
            print(f"not shown: {note}", file=sys.stderr)
    return 0


def suite_table(args: argparse.Namespace) -> int:
    """`table --suite`: models x benchmarks (harness.reports.suite)."""
    from harness.reports.suite import build_suite, render_suite

    if args.dataset is not None:
        raise HarnessError("--suite covers the benchmarks (choose them with --benchmarks), not a --dataset")
    if args.format == "json":
        raise HarnessError("--suite: --format json is not available (md, latex or csv)")
    names = None
    if args.benchmarks is not None:
        from harness.benchmarks.registry import benchmark_names

        names = benchmark_names(args.benchmarks)
    table = build_suite(Path(args.runs), names)
    text = render_suite(table, args.format)
    if args.out:
        write_output(Path(args.out), text)
    print(text, end="")
    if args.format == "csv":
        for line in (*table.protocols, *(f"not shown: {note}" for note in table.notes)):
            print(line, file=sys.stderr)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """One sentence of a run (harness.reports.show)."""
    from harness.reports.show import show

    print(show(Path(args.run), args.id, DataSettings.from_env(data_dir=args.data_dir)))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Paired comparisons of runs (harness.reports.comparison), printed and, with --out, written."""
    from harness.reports.comparison import compare, comparison_inputs, plot, to_json, to_markdown
    from harness.record.store import read_record

    if len(args.runs) < 2:
        raise HarnessError("compare needs two or more run folders")
    if args.plot and not args.out:
        raise HarnessError("--plot needs --out DIR (where to write the PNG)")
    settings = DataSettings.from_env(data_dir=args.data_dir)
    runs = [read_record(path) for path in args.runs]
    inputs = comparison_inputs(runs, settings)  # a benchmark record's sentences from its benchmark
    comparison = compare(runs, bootstrap=args.bootstrap, seed=args.seed, sources=inputs.sources,
                         references=inputs.references, error_types=inputs.error_types, top=args.top,
                         source_chars=inputs.source_chars, notes=inputs.notes)
    text = to_markdown(comparison)
    print(text)
    if args.out:
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise HarnessError("--out: not a folder (comparison.md, comparison.json and the plot go in it)", out)
        write_output(out / "comparison.md", text + "\n")
        write_output(out / "comparison.json", json.dumps(to_json(comparison), ensure_ascii=False, sort_keys=True,
                                                          indent=2) + "\n")
        if args.plot:
            plot(comparison, out / "precision-recall.png")
            print(f"\nplot: {out / 'precision-recall.png'}")
    return 0


def cmd_record_upgrade(args: argparse.Namespace) -> int:
    """Each run folder rewritten in today's schema (harness.run.upgrade), a line per folder."""
    from harness.run.upgrade import upgrade

    settings = DataSettings.from_env(data_dir=args.data_dir)
    for path in args.runs:
        done = upgrade(Path(path), settings, args.jobs, progress=not args.quiet)
        outcome = "rewritten" if done.changed else "unchanged: it already holds this record"
        print(f"{path}: schema {done.from_schema} -> re-scored, figures equal; {outcome} ({done.fingerprint[:12]})")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """One self-contained HTML page of runs (harness.reports.html)."""
    from harness.reports.html.from_record import report_from_runs
    from harness.reports.html.render import render

    report = report_from_runs(args.runs, DataSettings.from_env(data_dir=args.data_dir), args.bootstrap, args.seed,
                              args.jobs)
    write_output(Path(args.out), render(report))
    print(f"{args.out}: {len(report.runs)} run(s), {len(report.runs[0].sentences)} sentences")
    return 0

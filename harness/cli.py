"""Command line: `python -m harness <command>`. A thin layer: parse arguments, call, print."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Sequence

from harness import __version__
from harness.data import DataSettings, resolve_input
from harness.errors import HarnessError
from harness.redact import redact
from harness.inputs import load_hypotheses, load_references
from harness.report import score_table
from harness.scoring import score_levels


def cmd_score(args: argparse.Namespace) -> int:
    settings = DataSettings.from_env(data_dir=args.data_dir)
    levels = ("char", "word") if args.level == "all" else (args.level,)
    references = load_references(resolve_input(args.ref, settings, "references"))
    if references.targets is None and "word" in levels:
        raise HarnessError("word-level scoring needs para references (sentences to segment), not an M2 file "
                           "(use --level char)", references.path)
    hypotheses = load_hypotheses(resolve_input(args.hyp, settings, "outputs"), references, args.strict_sources)
    if hypotheses.blocks is not None and "word" in levels:
        raise HarnessError("a hypothesis M2 file is scored at char level only (--level char): the word level "
                           "segments the hypotheses itself", hypotheses.path)
    score_set = score_levels(hypotheses.sources, hypotheses.sentences, references.targets, settings, levels,
                             args.word_scorer, args.segmenter, args.jobs, not args.no_cache,
                             reference_sources=references.sources, reference_blocks=references.blocks,
                             hypothesis_blocks=hypotheses.blocks)
    if args.m2_out is not None:
        write_texts(Path(args.m2_out), score_set)
    if args.json:
        print(json.dumps(score_set.as_json(), ensure_ascii=False, sort_keys=True))
    else:
        print(score_table(score_set, args.by_type))
    return 0


def write_texts(out: Path, score_set) -> None:
    """Each score's files (M2 files, segmented hypotheses) under their own names."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise HarnessError(f"--m2-out: cannot create the folder ({error.strerror})", out) from None
    for score in score_set.scores.values():
        for name, text in score.texts().items():
            (out / name).write_text(text, encoding="utf-8")


def cmd_run(args: argparse.Namespace) -> int:
    from harness.config import load_config
    from harness.run import RunOptions, execute

    config = load_config(args.config)
    settings = DataSettings.from_env(data_dir=args.data_dir)
    options = RunOptions(out_root=Path(args.out), limit=args.limit, fresh=args.fresh, retry_failed=args.retry_failed,
                         dry_run=args.dry_run, progress=not args.no_progress, jobs=args.jobs)
    return execute(config, settings, options)


def cmd_table(args: argparse.Namespace) -> int:
    from harness.table import build_table, render

    table = build_table(Path(args.runs), args.dataset)
    text = render(table, args.format)
    if args.out:
        write_output(Path(args.out), text if text.endswith("\n") else text + "\n")
    print(text, end="" if text.endswith("\n") else "\n")
    if args.format in ("csv", "latex"):
        for note in table.notes:
            print(f"not shown: {note}", file=sys.stderr)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from harness.show import show

    print(show(Path(args.run), args.id, DataSettings.from_env(data_dir=args.data_dir)))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from harness.comparison import compare, load_error_types, plot, to_json, to_markdown
    from harness.data import load_manifest, resolve
    from harness.datasets import load_run_dataset, manifest_sha256
    from harness.record import read_record

    settings = DataSettings.from_env(data_dir=args.data_dir)
    runs = [read_record(path) for path in args.runs]
    recorded = runs[0].dataset
    sources = references = error_types = None
    try:
        dataset = load_run_dataset(recorded, settings)
    except HarnessError as error:
        print(f"note: sources and references not shown: {error}", file=sys.stderr)
    else:
        by_id = {item.id: index for index, item in enumerate(dataset.items)}
        indices = [by_id[row.id] for row in runs[0].rows]
        sources = [dataset.references.sources[i] for i in indices]
        references = [dataset.references.targets[i] for i in indices]
    if manifest_sha256(recorded.name) == recorded.sha256:
        manifest = load_manifest()
        if "error_types" in manifest.datasets[recorded.name]:
            error_types = load_error_types(resolve(manifest.datasets[recorded.name]["error_types"], settings,
                                                   manifest))
    comparison = compare(runs, bootstrap=args.bootstrap, seed=args.seed, sources=sources, references=references,
                         error_types=error_types, top=args.top)
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
    elif args.plot:
        raise HarnessError("--plot needs --out DIR (where to write the PNG)")
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    from harness.finetune import jobs

    connection = jobs.Connection(base_url=args.base_url, api_key_env=args.api_key_env)
    records, configs = Path(args.records), Path(args.configs)
    if args.action == "prepare":
        from harness.config import load_config
        from harness.finetune.prepare import prepare

        config = load_config(args.config, strict_env=False)
        settings = DataSettings.from_env(data_dir=args.data_dir)
        for report in prepare(args.train, config, settings, Path(args.out), args.validation,
                              args.drop_identity, args.drop_duplicates, args.force):
            overlap = (f"{len(report.exact_overlap)} exact, {len(report.near_overlap)} near (forced)"
                       if report.exact_overlap or report.near_overlap else "none")
            print(f"{report.input}: {report.read} pairs read, {report.examples} examples written; "
                  f"{report.stripped} had stray whitespace; identity pairs {report.identity} "
                  f"(dropped {report.identity_dropped}); duplicates {report.duplicates} "
                  f"(dropped {report.duplicates_dropped}); overlap with the evaluation set: {overlap}")
        print(f"written to {args.out}")
        return 0
    if args.action == "validate":
        from harness.finetune.validate import validate

        result = validate(args.file, args.model, args.epochs)
        print(result.report())
        return 0 if result.ok else 2
    if args.action == "launch":
        record = jobs.launch(connection, Path(args.train), args.model, records,
                             Path(args.validation) if args.validation else None, args.epochs, args.suffix, args.seed,
                             Path(args.config) if args.config else None, poll_s=args.poll)
        print(f"job {record['job_id']} created ({record['status']}); record {records / (record['job_id'] + '.json')}")
        print(f"follow it with: python -m harness finetune follow {record['job_id']}")
        return 0
    if args.action == "follow":
        try:
            record = jobs.follow(connection, args.job, records, configs, poll_s=args.poll)
        except KeyboardInterrupt:
            return 130
        if record["status"] != "succeeded":
            error = record.get("error") or {}
            print(f"job {args.job} ended {record['status']}" + (f": {error.get('message')}" if error else ""))
            return 1
        return 0
    if args.action == "cancel":
        print(f"job {args.job}: {jobs.cancel(connection, args.job)}")
        return 0
    for job_id, model, status, fine_tuned in jobs.list_jobs(connection):
        print(f"{job_id}  {model}  {status}  {fine_tuned or ''}")
    return 0


def cmd_serve_local(args: argparse.Namespace) -> int:
    from harness.backends import SERVE_LOCAL_DIR
    from harness.serve_local import serve

    identities = DataSettings.from_env().cache_dir / SERVE_LOCAL_DIR
    return serve(args.model, args.port, identities, args.ready_timeout, args.threads)


def positive_int(text: str) -> int:
    value = int(text) if text.lstrip("-").isdigit() else None
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text) if text.lstrip("-").isdigit() else None
    if value is None or value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def write_output(path: Path, text: str) -> None:
    """An output file the user named: refused with a one-line error where it cannot be written."""
    from harness.atomic import atomic_write_text

    if path.is_dir():
        raise HarnessError("is a folder: give a file name", path)
    try:
        atomic_write_text(path, text)
    except OSError as error:
        raise HarnessError(f"cannot write: {error.strerror}", path) from None


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", type=positive_int, default=None, help="processes for scoring (default: all cores)")
    parser.add_argument("--data-dir", default=None, help="local data mirror (default: $CGEC_DATA_DIR)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m harness",
                                     description="Evaluate Chinese grammatical error correction.")
    parser.add_argument("--version", action="version", version=f"cgec-harness {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    score = commands.add_parser("score", help="score hypotheses against references (char and word level)")
    score.add_argument("--hyp", required=True, help="one hypothesis per line, a para file id<TAB>src<TAB>hyp, "
                       "a char-level M2 file (ChERRANT's hypothesis M2), or the name of stored outputs in "
                       "data/manifest.yaml (e.g. llm-goodgap)")
    score.add_argument("--ref", required=True, help="para file id<TAB>src<TAB>ref1..., a char-level M2 file, "
                       "or a dataset name of data/manifest.yaml (e.g. nacgec-dev)")
    score.add_argument("--level", default="all", choices=["char", "word", "all"],
                       help="char (ChERRANT), word, or both (default; adds the NLPCC 2023 score)")
    score.add_argument("--word-scorer", default="maxmatch", choices=["maxmatch", "cherrant"],
                       help="word-level method (default maxmatch: the NLPCC 2023 Task 1 protocol)")
    score.add_argument("--segmenter", default="thulac", choices=["thulac", "jieba"],
                       help="word segmenter (default thulac 0.2.2, joint seg+POS; jieba is unofficial)")
    score.add_argument("--by-type", action="store_true", help="also print per-type (M/R/S/W) scores")
    score.add_argument("--m2-out", metavar="DIR", help="write the M2 files (and segmented hypotheses) here")
    score.add_argument("--json", action="store_true", help="print one JSON object")
    add_common_options(score)
    score.add_argument("--no-cache", action="store_true", help="neither read nor write the reference M2 cache")
    score.add_argument("--strict-sources", action="store_true",
                       help="refuse a para or M2 hypothesis file whose sources differ from the references' "
                            "(default: warn, and align each hypothesis with its own source, as ChERRANT does)")
    score.set_defaults(func=cmd_score)

    run = commands.add_parser("run", help="run a model config on its dataset, clean, score, write results")
    run.add_argument("--config", required=True, help="a run config (configs/*.yaml)")
    run.add_argument("--limit", type=positive_int, default=None,
                     help="first N sentences only (written to results/runs/<name>.limit-N)")
    run.add_argument("--fresh", action="store_true", help="ask again even when a response is cached")
    run.add_argument("--retry-failed", action="store_true", help="re-ask only the items that failed last time")
    run.add_argument("--dry-run", action="store_true", help="print the first request and the cost estimate; send nothing")
    run.add_argument("--out", default="results/runs", help="results root (default results/runs)")
    add_common_options(run)
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_run)

    table = commands.add_parser("table", help="the results table: reported figures beside reproduced runs")
    table.add_argument("--runs", default="results/runs", help="runs directory (default results/runs)")
    table.add_argument("--dataset", default="nacgec-dev")
    table.add_argument("--format", default="md", choices=["md", "csv", "latex", "json"])
    table.add_argument("--out", default=None, help="also write the table to this file")
    table.set_defaults(func=cmd_table)

    compare = commands.add_parser("compare", help="compare runs: bootstrap intervals, per-type breakdowns")
    compare.add_argument("runs", nargs="+", help="two or more run directories (results/runs/<name>)")
    compare.add_argument("--bootstrap", type=non_negative_int, default=1000,
                         help="paired bootstrap resamples (default 1000)")
    compare.add_argument("--seed", type=int, default=0)
    compare.add_argument("--top", type=non_negative_int, default=10, help="sentences where the runs disagree most")
    compare.add_argument("--out", default=None, help="write comparison.md, comparison.json (and the plot) here")
    compare.add_argument("--plot", action="store_true", help="a precision/recall PNG (needs matplotlib: the plot extra)")
    compare.add_argument("--data-dir", default=None, help="local data mirror (default: $CGEC_DATA_DIR)")
    compare.set_defaults(func=cmd_compare)

    finetune = commands.add_parser("finetune", help="prepare, validate, launch and follow OpenAI fine-tuning")
    actions = finetune.add_subparsers(dest="action", required=True)
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("--base-url", default=os.environ.get("OPENAI_BASE_URL"), help="API base URL")
    connection.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable with the key")
    connection.add_argument("--records", default="results/finetune", help="where job records are kept")
    connection.add_argument("--configs", default="configs", help="where the run config of a new model goes")
    prep = actions.add_parser("prepare", parents=[connection], help="chat JSONL rendered with a run config's prompt")
    prep.add_argument("--train", required=True, help="instruction.json, a para file or chat JSONL (or a manifest path)")
    prep.add_argument("--validation", default=None)
    prep.add_argument("--config", required=True, help="the run config whose prompt to use (e.g. configs/gpt35.yaml)")
    prep.add_argument("--out", required=True, help="directory for train.jsonl (and validation.jsonl)")
    prep.add_argument("--drop-identity", action="store_true", help="drop pairs whose target equals the source")
    prep.add_argument("--drop-duplicates", action="store_true", help="drop repeated (source, target) pairs")
    prep.add_argument("--force", action="store_true", help="train even on sources that overlap the evaluation set")
    prep.add_argument("--data-dir", default=None)
    check = actions.add_parser("validate", parents=[connection], help="check a chat JSONL as OpenAI's guide does")
    check.add_argument("file")
    check.add_argument("--model", default="gpt-3.5-turbo")
    check.add_argument("--epochs", type=positive_int, default=3)
    start = actions.add_parser("launch", parents=[connection], help="upload, create the job, record it")
    start.add_argument("--train", required=True)
    start.add_argument("--validation", default=None)
    start.add_argument("--model", default="gpt-3.5-turbo")
    start.add_argument("--epochs", type=positive_int, default=None)
    start.add_argument("--suffix", default=None)
    start.add_argument("--seed", type=int, default=None)
    start.add_argument("--config", default=None, help="the run config the data was prepared with")
    start.add_argument("--poll", type=float, default=1.0, help="seconds between file status checks")
    watch = actions.add_parser("follow", parents=[connection], help="status, events, losses until the job ends")
    watch.add_argument("job")
    watch.add_argument("--poll", type=float, default=10.0, help="seconds between checks")
    stop = actions.add_parser("cancel", parents=[connection], help="cancel a job")
    stop.add_argument("job")
    actions.add_parser("list", parents=[connection], help="recent jobs")
    finetune.set_defaults(func=cmd_finetune)

    local = commands.add_parser("serve-local", help="a llama.cpp OpenAI-compatible server with a small model")
    local.add_argument("--model", default=None, help="a GGUF file (default: the packaged Gemma 3 270M)")
    local.add_argument("--port", type=int, default=8011)
    local.add_argument("--threads", type=positive_int, default=None)
    local.add_argument("--ready-timeout", type=float, default=120.0)
    local.set_defaults(func=cmd_serve_local)

    show = commands.add_parser("show", help="one sentence of a run: outputs, edits and which matched")
    show.add_argument("run", help="a run directory (results/runs/<name>)")
    show.add_argument("--id", required=True, help="the sentence id")
    show.add_argument("--data-dir", default=None, help="local data mirror (default: $CGEC_DATA_DIR)")
    show.set_defaults(func=cmd_show)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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

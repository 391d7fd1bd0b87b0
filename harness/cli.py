"""Command line: `python -m harness <command>`. A thin layer: parse arguments, call, print."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, ContextManager, Sequence

from harness import __version__
from harness.data.manifest import DataSettings, resolve_input
from harness.core.errors import HarnessError
from harness.core.redact import redact

# Commands import what they need when they run: `table` or `--help` should not load the scorer.
if TYPE_CHECKING:
    from concurrent.futures import Executor

    from harness.data.inputs import Hypotheses, References
    from harness.scoring.corpus import ScoreSet
    from harness.scoring.options import ScoringOptions


def cmd_score(args: argparse.Namespace) -> int:
    from harness.data.inputs import load_hypotheses, load_references
    from harness.scoring.corpus import score_levels

    settings = DataSettings.from_env(data_dir=args.data_dir)
    options = scoring_options(args)
    if args.gold_m2 is not None:
        return score_against_gold(args, settings, options)
    if args.ref is None:
        raise HarnessError("give --ref (references) or --gold-m2 (a word-level M2Scorer gold)")
    references = load_references(resolve_input(args.ref, settings, "references"))
    if references.targets is None and "word" in options.levels:
        raise HarnessError("word-level scoring needs para references (sentences to segment), not an M2 file "
                           "(use --level char)", references.path)
    hypotheses = load_hypotheses(resolve_input(args.hyp, settings, "outputs"), references, options.strict_sources)
    refuse_long_inputs(references, hypotheses, options.max_chars)
    if hypotheses.blocks is not None and "word" in options.levels:
        raise HarnessError("a hypothesis M2 file is scored at char level only (--level char): the word level "
                           "segments the hypotheses itself", hypotheses.path)
    sentences = hypotheses.sentences
    if args.clean:
        if sentences is None:
            raise HarnessError("--clean applies to raw model outputs, not to an M2 file", hypotheses.path)
        from harness.cleaning import CleaningSpec, clean

        sentences = tuple(clean(raw, source, CleaningSpec()).prediction for raw, source in
                          zip(sentences, hypotheses.sources))
    with executor_for(args) as executor:
        score_set = score_levels(hypotheses.sources, sentences, references.targets, settings, options,
                                 reference_sources=references.sources, reference_blocks=references.blocks,
                                 hypothesis_blocks=hypotheses.blocks, jobs=args.jobs, use_cache=not args.no_cache,
                                 progress=not args.quiet, executor=executor)
    report_scores(args, options, score_set, references.id)
    return 0


def executor_for(args: argparse.Namespace) -> "ContextManager[Executor | None]":
    """--dask SCHEDULER: the Dask cluster's executor (closed after); else None (local processes)."""
    if getattr(args, "dask", None) is None:
        from contextlib import nullcontext

        return nullcontext()
    from harness.scoring.executor import dask_executor

    return dask_executor(args.dask)


def cmd_annotate(args: argparse.Namespace) -> int:
    """`harness annotate`: ChERRANT's parallel_to_m2.py, streamed and resumable (harness.annotate)."""
    from harness.annotate.stream import annotate_file
    from harness.annotate.work import AnnotateSettings

    settings = AnnotateSettings(args.level, args.segmenter, not args.no_t2s)
    with executor_for(args) as executor:
        report = annotate_file(args.input, args.output, settings, DataSettings.from_env(data_dir=args.data_dir),
                               jobs=args.jobs, executor=executor, chunk=args.chunk, restart=args.restart,
                               progress=not args.quiet, max_chars=args.max_chars)
    kept = f" (the first {report.resumed} kept from an earlier run)" if report.resumed else ""
    print(f"{report.resumed + report.written} blocks in {args.output}{kept}; {report.written} pairs annotated in "
          f"{report.seconds:.1f} s", file=sys.stderr)
    return 0


def refuse_long_inputs(references: "References", hypotheses: "Hypotheses", max_chars: int) -> None:
    """--max-chars: a sentence over it is an error naming its file and line."""
    from harness.data.inputs import refuse_long

    refuse_long(references.sources, references.path, max_chars, "source")
    for index, targets in enumerate(references.targets or ()):
        refuse_long(targets, references.path, max_chars, "reference", [index + 1] * len(targets))
    if hypotheses.sentences is not None:
        refuse_long(hypotheses.sentences, hypotheses.path, max_chars, "hypothesis")


def scoring_options(args: argparse.Namespace) -> "ScoringOptions":
    """The options `harness score`'s flags give, built as the API and a run config build them."""
    from harness.scoring.options import ScoringOptions

    return ScoringOptions.from_mapping({
        "levels": args.level, "word_scorer": args.word_scorer, "segmenter": args.segmenter, "eval": args.eval,
        "edits": "single" if args.single else "multi" if args.multi else "all", "filter": args.filter or (),
        "t2s": not args.no_t2s, "beta": args.beta, "max_unchanged_words": args.max_unchanged_words,
        "cat": args.cat or (1 if args.by_type else None), "strict_sources": args.strict_sources,
        "max_chars": args.max_chars})


def score_against_gold(args: argparse.Namespace, settings: DataSettings, options: "ScoringOptions") -> int:
    """M2Scorer's own use: segmented hypotheses against a word-level gold M2."""
    from harness.scoring.corpus import ScoreSet, score_with_gold

    if args.ref is not None or "word" not in options.levels or options.word_scorer != "maxmatch":
        raise HarnessError("--gold-m2 is M2Scorer's gold: it replaces --ref, at word level with MaxMatch")
    from harness.core.textfile import read_lines

    path = resolve_input(args.hyp, settings, "outputs")
    with executor_for(args) as executor:
        score = score_with_gold(read_lines(path), Path(args.gold_m2), settings, options, jobs=args.jobs,
                                use_cache=not args.no_cache, hypotheses_path=path, executor=executor)
    report_scores(args, options, ScoreSet({"word": score}), lambda index: str(index + 1))
    return 0


def report_scores(args: argparse.Namespace, options: "ScoringOptions", score_set: "ScoreSet", sentence_id) -> None:
    if args.m2_out is not None:
        write_texts(Path(args.m2_out), score_set)
    if args.per_sentence is not None:
        write_output(Path(args.per_sentence), per_sentence_tsv(score_set, sentence_id))
    if args.json:
        print(json.dumps(score_set.as_json(), ensure_ascii=False, sort_keys=True))
    else:
        from harness.reports.text import score_table  # tabulate: only for the table, not --json

        print(score_table(score_set, options.cat))


def per_sentence_tsv(score_set: "ScoreSet", sentence_id) -> str:
    """ChERRANT's and M2Scorer's verbose output as a table: a row per sentence and level."""
    rows = ["\t".join(["id", "level", "annotator", "tp", "fp", "fn", "hypothesis_edits", "reference_edits"])]
    for level, score in score_set.scores.items():
        for index, sentence in enumerate(score.per_sentence):
            rows.append("\t".join([sentence_id(index), level, "" if sentence.ref is None else str(sentence.ref),
                                   str(sentence.tp), str(sentence.fp), str(sentence.fn),
                                   " | ".join(sentence.hyp_edits), " | ".join(sentence.ref_edits)]))
    return "\n".join(rows) + "\n"


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


def cmd_table(args: argparse.Namespace) -> int:
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
    from harness.reports.show import show

    print(show(Path(args.run), args.id, DataSettings.from_env(data_dir=args.data_dir)))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
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
    from harness.run.upgrade import upgrade

    settings = DataSettings.from_env(data_dir=args.data_dir)
    for path in args.runs:
        done = upgrade(Path(path), settings, args.jobs, progress=not args.quiet)
        outcome = "rewritten" if done.changed else "unchanged: it already holds this record"
        print(f"{path}: schema {done.from_schema} -> re-scored, figures equal; {outcome} ({done.fingerprint[:12]})")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from harness.reports.html.from_record import report_from_runs
    from harness.reports.html.render import render

    report = report_from_runs(args.runs, DataSettings.from_env(data_dir=args.data_dir), args.bootstrap, args.seed,
                              args.jobs)
    write_output(Path(args.out), render(report))
    print(f"{args.out}: {len(report.runs)} run(s), {len(report.runs[0].sentences)} sentences")
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    from harness.finetune import jobs

    if args.action == "prepare":
        from harness.config.schema import load_config
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
    connection = jobs.Connection(base_url=args.base_url, api_key_env=args.api_key_env)
    records, configs = Path(args.records), Path(getattr(args, "configs", "configs"))
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


def cmd_list(args: argparse.Namespace) -> int:
    """What there is to run and score: shipped configs, datasets, stored outputs, and the
    scoring options with their allowed values (the ones `--help` offers)."""
    from tabulate import tabulate

    from harness.config.schema import load_config
    from harness.data.manifest import load_manifest
    from harness.scoring.options import choices_table

    configs = []
    for path in sorted(Path(args.configs).glob("*.yaml")):
        try:
            config = load_config(path, strict_env=False)
            configs.append([str(path), config.model.backend, config.model.model or config.model.predictions,
                            config.dataset.name or config.dataset.path, config.report.label or ""])
        except HarnessError as error:
            configs.append([str(path), "(invalid)", str(error), "", ""])
    manifest = load_manifest()
    datasets = [[name, spec["references"], f"{manifest.files[spec['references']].size:,}",
                 manifest.files[spec["references"]].licence] for name, spec in sorted(manifest.datasets.items())]
    outputs = [[name, spec.get("dataset", ""), f"{manifest.files[spec['file']].size:,}",
                manifest.files[spec["file"]].licence] for name, spec in sorted(manifest.outputs.items())]
    print(tabulate(configs, headers=["config", "backend", "model / predictions", "dataset", "report label"],
                   tablefmt="github"))
    print()
    print(tabulate(datasets, headers=["dataset", "file", "bytes", "licence"], tablefmt="github"))
    print()
    print(tabulate(outputs, headers=["stored outputs", "dataset", "bytes", "licence"], tablefmt="github"))
    print()
    from harness.benchmarks.registry import listing_rows, load_registry

    print(tabulate(listing_rows(load_registry()), headers=["benchmark", "task", "split", "protocol", "headline",
                                                           "files"], tablefmt="github"))
    print("(harness cite BENCH prints its BibTeX; docs/benchmarks.md gives each protocol)")
    print()
    print(tabulate(choices_table(), headers=["score option", "scoring: key", "values", "default"],
                   tablefmt="github"))
    return 0


def cmd_cite(args: argparse.Namespace) -> int:
    """A benchmark's BibTeX, and its terms of use as a comment line."""
    from harness.benchmarks.registry import load_registry

    spec = load_registry().get(args.benchmark)
    print(f"% {args.benchmark}: {spec.terms}")
    print(spec.citation, end="")
    return 0


def cmd_serve_local(args: argparse.Namespace) -> int:
    from harness.backends import SERVE_LOCAL_DIR
    from harness.backends.serve_local import serve

    identities = DataSettings.from_env().cache_dir / SERVE_LOCAL_DIR
    return serve(args.model, args.port, identities, args.ready_timeout, args.threads, args.chat_format, args.ctx,
                 Path(args.log) if args.log else None)


def positive_float(text: str) -> float:
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


def write_output(path: Path, text: str) -> None:
    """An output file the user named: refused with a one-line error where it cannot be written."""
    from harness.core.atomic import atomic_write_text

    if path.is_dir():
        raise HarnessError("is a folder: give a file name", path)
    try:
        atomic_write_text(path, text)
    except OSError as error:
        raise HarnessError(f"cannot write: {error.strerror}", path) from None


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", type=positive_int, default=None, help="processes for scoring (default: all cores)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars (none either when stderr is not "
                                                             "a terminal)")
    parser.add_argument("--data-dir", default=None, help="local data mirror (default: $CGEC_DATA_DIR)")


Subcommands = "argparse._SubParsersAction[argparse.ArgumentParser]"


def build_parser() -> argparse.ArgumentParser:
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


def _command(commands: Subcommands, name: str, summary: str, description: str) -> argparse.ArgumentParser:
    return commands.add_parser(name, help=summary, description=description)


def add_score_command(commands: Subcommands) -> None:
    """`harness score`: inputs and outputs here, the scoring options in `_add_scoring_options`;
    the allowed values and defaults come from metrics.options and harness.scoring.options."""
    from harness.scoring.options import ALL_LEVELS, DEFAULT_MAX_CHARS
    from metrics.options import LEVELS, SEGMENTERS, WORD_SCORERS

    score = _command(commands, "score", "score hypotheses against references (char and word level)",
                     "Score a file of hypotheses: char level by ChERRANT, word level by MaxMatch (M2Scorer) or "
                     "ChERRANT on THULAC or jieba words. P/R/F are printed in percent (fractions in --json).")
    score.add_argument("--hyp", required=True, help="one hypothesis per line, a para file id<TAB>src<TAB>hyp, "
                       "a char-level M2 file (ChERRANT's hypothesis M2), or the name of stored outputs in "
                       "data/manifest.yaml (e.g. llm-goodgap)")
    score.add_argument("--ref", help="para file id<TAB>src<TAB>ref1..., a char-level M2 file, "
                       "or a dataset name of data/manifest.yaml (e.g. nacgec-dev)")
    score.add_argument("--level", default=ALL_LEVELS, choices=[*LEVELS, ALL_LEVELS],
                       help="char (ChERRANT), word, or both (default; adds the NLPCC 2023 score)")
    score.add_argument("--word-scorer", default=WORD_SCORERS[0], choices=WORD_SCORERS,
                       help=f"word-level method (default {WORD_SCORERS[0]}: the NLPCC 2023 Task 1 protocol)")
    score.add_argument("--segmenter", default=SEGMENTERS[0], choices=SEGMENTERS,
                       help=f"word segmenter (default {SEGMENTERS[0]} 0.2.2, joint seg+POS; jieba is unofficial)")
    score.add_argument("--by-type", action="store_true", help="also print per-type (M/R/S/W) scores (= --cat 1)")
    score.add_argument("--m2-out", metavar="DIR", help="write the M2 files (and segmented hypotheses) here")
    score.add_argument("--json", action="store_true", help="print one JSON object (fractions, not percentages)")
    score.add_argument("--clean", action="store_true",
                       help="clean raw chat outputs first, as `run` does (prefixes, echoes, explanations...); "
                            "without it the lines are scored as they are")
    add_common_options(score)
    score.add_argument("--no-cache", action="store_true", help="neither read nor write the reference M2 cache")
    score.add_argument("--max-chars", type=positive_int, default=DEFAULT_MAX_CHARS,
                       help=f"refuse sentences longer than this, naming the file and line (default "
                            f"{DEFAULT_MAX_CHARS}: a 2,000-character paragraph passes)")
    score.add_argument("--strict-sources", action="store_true",
                       help="refuse a para or M2 hypothesis file whose sources differ from the references' "
                            "(default: warn, and align each hypothesis with its own source, as ChERRANT does)")
    score.add_argument("--dask", metavar="SCHEDULER", default=None,
                       help="align on a Dask cluster, e.g. tcp://SCHEDULER-HOST:8786 (the `dask` extra)")
    _add_scoring_options(score)
    score.set_defaults(func=cmd_score)


def add_annotate_command(commands: Subcommands) -> None:
    """`harness annotate`: ChERRANT's parallel_to_m2.py (harness.annotate)."""
    from harness.annotate import DEFAULT_CHUNK as CHUNK
    from harness.scoring.options import DEFAULT_MAX_CHARS as MAX_CHARS
    from metrics.options import LEVELS, SEGMENTERS

    annotate = _command(commands, "annotate", "a para file of pairs to ChERRANT's M2 (streamed, resumable)",
                        "Write the M2 file ChERRANT's parallel_to_m2.py writes for a para file "
                        "id<TAB>source<TAB>target[<TAB>target...], byte for byte, in constant memory. Killed, "
                        "it continues from the last complete block of OUTPUT when run again.")
    annotate.add_argument("input", help="para file: id<TAB>source<TAB>target[<TAB>target...] a line")
    annotate.add_argument("-o", "--output", required=True, help="the M2 file to write (or to continue)")
    annotate.add_argument("--level", default=LEVELS[0], choices=LEVELS, help="char (default) or word (ChERRANT -g)")
    annotate.add_argument("--segmenter", default=SEGMENTERS[0], choices=SEGMENTERS,
                          help=f"word segmenter (default {SEGMENTERS[0]}, joint seg+POS)")
    annotate.add_argument("--no-t2s", action="store_true", help="keep traditional characters in targets "
                                                                "(ChERRANT's --no_simplified)")
    annotate.add_argument("--restart", action="store_true", help="overwrite OUTPUT instead of continuing it")
    annotate.add_argument("--chunk", type=positive_int, default=CHUNK, help=f"pairs a task (default {CHUNK})")
    annotate.add_argument("--max-chars", type=positive_int, default=MAX_CHARS,
                          help=f"refuse sentences longer than this (default {MAX_CHARS})")
    annotate.add_argument("--dask", metavar="SCHEDULER", default=None,
                          help="annotate on a Dask cluster, e.g. tcp://SCHEDULER-HOST:8786 (the `dask` extra)")
    add_common_options(annotate)
    annotate.set_defaults(func=cmd_annotate)


def _add_scoring_options(score: argparse.ArgumentParser) -> None:
    """ChERRANT's and M2Scorer's options, with their names in the original scripts."""
    from metrics.options import CATEGORY_TIERS, DEFAULT_BETA, DEFAULT_MAX_UNCHANGED, EVAL_MODES

    cherrant = score.add_argument_group("ChERRANT options (compare_m2_for_evaluation.py; defaults: the published "
                                        "protocol)")
    cherrant.add_argument("--eval", default=EVAL_MODES[0], choices=EVAL_MODES,
                          help="cs: correction by spans (default, -cs); cse: and types (-cse); ds: detection by "
                               "spans (-ds); dt: detection by tokens (-dt)")
    edits = cherrant.add_mutually_exclusive_group()
    edits.add_argument("--single", action="store_true", help="only edits of at most one source token (-single)")
    edits.add_argument("--multi", action="store_true", help="only edits of two or more source tokens (-multi)")
    cherrant.add_argument("--filter", metavar="TYPES", help="leave out these types, comma-separated, e.g. R,M:NOUN "
                                                            "(-filt)")
    cherrant.add_argument("--cat", type=int, choices=CATEGORY_TIERS,
                          help="per-type scores: 1 operation (M/R/S/W), 2 the rest (NOUN...), 3 full types (-cat)")
    cherrant.add_argument("--no-t2s", action="store_true",
                          help="do not convert references to simplified characters (unofficial)")
    both = score.add_argument_group("ChERRANT and M2Scorer options")
    both.add_argument("--beta", type=positive_float, default=DEFAULT_BETA,
                      help=f"beta of F-beta; it also decides the reference chosen per sentence (default "
                           f"{DEFAULT_BETA:g})")
    both.add_argument("--per-sentence", metavar="FILE",
                      help="a TSV of every sentence: chosen annotator, TP/FP/FN and both edit lists (-v)")
    m2scorer = score.add_argument_group("M2Scorer options (word level, --word-scorer maxmatch)")
    m2scorer.add_argument("--max-unchanged-words", type=non_negative_int, default=DEFAULT_MAX_UNCHANGED,
                          help=f"longest run of unchanged words inside one edit (default {DEFAULT_MAX_UNCHANGED})")
    m2scorer.add_argument("--gold-m2", metavar="FILE",
                          help="score against this word-level gold M2 (in place of --ref), as M2Scorer does; "
                               "hypotheses are segmented with --segmenter")


def add_run_command(commands: Subcommands) -> None:
    """`harness run`: a config on its dataset."""
    run = _command(commands, "run", "run a model config on its dataset, clean, score, write results",
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


def add_table_command(commands: Subcommands) -> None:
    """`harness table`: the results table."""
    table = _command(commands, "table", "the results table: reported figures beside reproduced runs",
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
    compare = _command(commands, "compare", "compare runs: bootstrap intervals, per-type breakdowns",
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
    show = _command(commands, "show", "one sentence of a run: outputs, edits and which matched",
                    "One sentence of a run for error analysis: source, references, raw output, prediction and "
                    "the char-level edits of each, marked as matched.")
    show.add_argument("run", help="a run folder (results/runs/<name>)")
    show.add_argument("--id", required=True, help="the sentence id")
    show.add_argument("--data-dir", default=None, help="local data mirror (default: $CGEC_DATA_DIR)")
    show.set_defaults(func=cmd_show)


def add_list_command(commands: Subcommands) -> None:
    """`harness list`: configs, datasets, stored outputs and scoring options."""
    listing = _command(commands, "list", "shipped configs, datasets, stored outputs and scoring options",
                       "What there is to run and score: the configs, the datasets and stored outputs of "
                       "data/manifest.yaml with their sizes and licences, and the scoring options with their "
                       "allowed values and defaults.")
    listing.add_argument("--configs", default="configs", help="configs folder (default configs)")
    listing.set_defaults(func=cmd_list)


def add_cite_command(commands: Subcommands) -> None:
    """`harness cite BENCH`: the BibTeX of a benchmark of data/benchmarks.yaml."""
    cite = _command(commands, "cite", "a benchmark's BibTeX (and its terms of use)",
                    "Print the BibTeX of a benchmark of data/benchmarks.yaml (`harness list` shows them), "
                    "preceded by its terms of use as a comment line.")
    cite.add_argument("benchmark", help="a benchmark name, e.g. mucgec-dev")
    cite.set_defaults(func=cmd_cite)


def add_record_upgrade_command(commands: Subcommands) -> None:
    """`harness record-upgrade RUN...`: a run record rewritten in today's schema, re-scored."""
    upgrade = _command(commands, "record-upgrade", "rewrite run records in today's schema, re-scored and checked",
                       "Rewrite run folders written by an earlier record schema (or by today's) in today's: the "
                       "outputs are kept, the hypotheses are scored again against the dataset found by its "
                       "sha256, and nothing is written unless every figure is equal. Run it again at will: a "
                       "record that would not change is left as it is.")
    upgrade.add_argument("runs", nargs="+", help="run folders (results/runs/<name>)")
    add_common_options(upgrade)
    upgrade.set_defaults(func=cmd_record_upgrade)


def add_report_command(commands: Subcommands) -> None:
    """`harness report RUN... --out report.html`: one self-contained HTML page of runs."""
    report = _command(commands, "report", "an HTML report of runs: outcomes, over-correction, a sentence browser",
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


def add_finetune_command(commands: Subcommands) -> None:
    """`harness finetune ACTION`: the OpenAI fine-tuning workflow."""
    finetune = _command(commands, "finetune", "prepare, validate, launch and follow OpenAI fine-tuning",
                        "The OpenAI fine-tuning workflow: chat JSONL rendered with a run config's prompt, checked "
                        "as OpenAI's guide does, uploaded, the job created, followed, and a run config written.")
    actions = finetune.add_subparsers(dest="action", required=True, metavar="ACTION")
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("--base-url", default=os.environ.get("OPENAI_BASE_URL"),
                            help="API base URL (default $OPENAI_BASE_URL, else OpenAI's)")
    connection.add_argument("--api-key-env", default="OPENAI_API_KEY",
                            help="the environment variable holding the key (default OPENAI_API_KEY)")
    connection.add_argument("--records", default="results/finetune",
                            help="where job records are kept (default results/finetune)")
    prep = actions.add_parser("prepare", help="chat JSONL rendered with a run config's prompt",
                              description="Render training pairs as chat JSONL with the prompt of a run config.")
    prep.add_argument("--train", required=True, help="instruction.json, a para file or chat JSONL (or a manifest path)")
    prep.add_argument("--validation", default=None, help="a validation set in the same forms")
    prep.add_argument("--config", required=True, help="the run config whose prompt to use (e.g. configs/gpt35.yaml)")
    prep.add_argument("--out", required=True, help="folder for train.jsonl (and validation.jsonl)")
    prep.add_argument("--drop-identity", action="store_true", help="drop pairs whose target equals the source")
    prep.add_argument("--drop-duplicates", action="store_true", help="drop repeated (source, target) pairs")
    prep.add_argument("--force", action="store_true", help="train even on sources that overlap the evaluation set")
    prep.add_argument("--data-dir", default=None, help="local data mirror (default: $CGEC_DATA_DIR)")
    check = actions.add_parser("validate", help="check a chat JSONL as OpenAI's guide does",
                               description="Check a chat JSONL file: each problem with its line; tokens and cost.")
    check.add_argument("file", help="the chat JSONL file")
    check.add_argument("--model", default="gpt-3.5-turbo", help="the model to fine-tune (limits and price)")
    check.add_argument("--epochs", type=positive_int, default=3, help="epochs, for the cost estimate (default 3)")
    start = actions.add_parser("launch", parents=[connection], help="upload, create the job, record it",
                               description="Upload the training (and validation) file and create the job.")
    start.add_argument("--train", required=True, help="the chat JSONL to train on")
    start.add_argument("--validation", default=None, help="a chat JSONL to validate on")
    start.add_argument("--model", default="gpt-3.5-turbo", help="the base model (default gpt-3.5-turbo)")
    start.add_argument("--epochs", type=positive_int, default=None, help="epochs (default: the API's choice)")
    start.add_argument("--suffix", default=None, help="a suffix for the model name (and the config's name)")
    start.add_argument("--seed", type=int, default=None, help="the job's seed")
    start.add_argument("--config", default=None, help="the run config the data was prepared with")
    start.add_argument("--poll", type=positive_float, default=1.0, help="seconds between file status checks")
    watch = actions.add_parser("follow", parents=[connection], help="status, events, losses until the job ends",
                               description="Follow a job; on success write a run config for its model (never "
                                           "over an existing file). Ctrl-C stops following, not the job.")
    watch.add_argument("job", help="the job id")
    watch.add_argument("--poll", type=positive_float, default=10.0, help="seconds between checks (default 10)")
    watch.add_argument("--configs", default="configs", help="where the run config of the new model goes")
    stop = actions.add_parser("cancel", parents=[connection], help="cancel a job", description="Cancel a job.")
    stop.add_argument("job", help="the job id")
    actions.add_parser("list", parents=[connection], help="recent jobs", description="The account's recent jobs.")
    finetune.set_defaults(func=cmd_finetune)


def add_serve_local_command(commands: Subcommands) -> None:
    """`harness serve-local`: a llama.cpp server for a local model."""
    local = _command(commands, "serve-local", "a llama.cpp OpenAI-compatible server with a small model",
                     "Start llama.cpp's OpenAI-compatible server on 127.0.0.1 (the `local` extra), publish what it "
                     "serves (GGUF sha256, template, version) for run records, and stop it on Ctrl-C.")
    local.add_argument("--model", default=None, help="a GGUF file (default: the packaged Gemma 3 270M)")
    local.add_argument("--chat-format", default=None,
                       help="llama-cpp-python chat format (chatml, llama-2, gemma, qwen...); default: the template "
                            "stored in the GGUF, or gemma for the packaged model")
    local.add_argument("--ctx", type=positive_int, default=2048, help="context size in tokens (default 2048)")
    local.add_argument("--port", type=int, default=8011, help="port on 127.0.0.1 (default 8011)")
    local.add_argument("--threads", type=positive_int, default=None, help="CPU threads (default: llama.cpp's)")
    local.add_argument("--log", default=None, help="the server's log file (default "
                                                   "$CGEC_CACHE_DIR/serve-local/server-<port>.log)")
    local.add_argument("--ready-timeout", type=positive_float, default=120.0,
                       help="seconds to wait for the server to answer (default 120)")
    local.set_defaults(func=cmd_serve_local)


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
    except BrokenPipeError:  # `... | head`: the reader has gone, nothing more to say
        sys.stderr.close()
        return 0

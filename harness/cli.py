"""Command line: `python -m harness <command>`. A thin layer: parse arguments, call, print."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from harness import __version__
from harness.data import DataSettings, resolve_input
from harness.errors import HarnessError
from harness.inputs import load_hypotheses, load_references
from harness.report import score_table
from harness.scoring import MaxMatchScore, score_levels


def cmd_score(args: argparse.Namespace) -> int:
    settings = DataSettings.from_env(data_dir=args.data_dir)
    references = load_references(resolve_input(args.ref, settings, "references"))
    hypotheses = load_hypotheses(resolve_input(args.hyp, settings, "outputs"), references)
    levels = ("char", "word") if args.level == "all" else (args.level,)
    score_set = score_levels(references, hypotheses, settings, levels, args.word_scorer, args.segmenter,
                             args.jobs, not args.no_cache)
    if args.m2_out is not None:
        write_m2_files(Path(args.m2_out), score_set.scores, args.segmenter)
    if args.json:
        print(json.dumps(score_set.as_json(), ensure_ascii=False, sort_keys=True))
    else:
        print(score_table(score_set, args.by_type))
    return 0


def write_m2_files(out: Path, scores: dict, segmenter: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for level, score in scores.items():
        name = level if level == "char" else f"word-{segmenter}"
        if isinstance(score, MaxMatchScore):
            (out / f"gold.{name}.maxmatch.m2").write_text(score.gold_m2, encoding="utf-8")
            (out / f"hyp.{segmenter}.txt").write_text("".join(h + "\n" for h in score.segmented_hypotheses),
                                                    encoding="utf-8")
        else:
            (out / f"ref.{name}.m2").write_text(score.reference_m2, encoding="utf-8")
            (out / f"hyp.{name}.m2").write_text(score.hypothesis_m2, encoding="utf-8")


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

    text = render(build_table(Path(args.runs), args.dataset), args.format, args.dataset)
    if args.out:
        from harness.results import atomic_write_text

        atomic_write_text(Path(args.out), text if text.endswith("\n") else text + "\n")
    print(text, end="" if text.endswith("\n") else "\n")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from harness.show import show

    print(show(Path(args.run), args.id, DataSettings.from_env(data_dir=args.data_dir)))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from harness.comparison import compare, load_error_types, load_run, plot, to_json, to_markdown
    from harness.config import DatasetSpec
    from harness.data import load_manifest, resolve
    from harness.datasets import load_dataset
    from harness.results import atomic_write_text, write_json

    settings = DataSettings.from_env(data_dir=args.data_dir)
    runs = [load_run(path) for path in args.runs]
    first = json.loads((Path(args.runs[0]) / "manifest.json").read_text(encoding="utf-8"))["dataset"]
    manifest = load_manifest()
    known = first["name"] in manifest.datasets
    dataset = load_dataset(DatasetSpec(name=first["name"]) if known else DatasetSpec(path=first["path"]), settings)
    by_id = {item.id: index for index, item in enumerate(dataset.items)}
    ids = [row.id for row in runs[0].rows]
    references = [dataset.references.targets[by_id[i]] for i in ids] if all(i in by_id for i in ids) else None
    error_types = None
    if known and "error_types" in manifest.datasets[first["name"]]:
        error_types = load_error_types(resolve(manifest.datasets[first["name"]]["error_types"], settings, manifest))
    comparison = compare(runs, bootstrap=args.bootstrap, seed=args.seed, references=references,
                         error_types=error_types, top=args.top)
    text = to_markdown(comparison)
    print(text)
    if args.out:
        out = Path(args.out)
        atomic_write_text(out / "comparison.md", text + "\n")
        write_json(out / "comparison.json", to_json(comparison))
        if args.plot:
            plot(comparison, out / "precision-recall.png")
            print(f"\nplot: {out / 'precision-recall.png'}")
    elif args.plot:
        raise HarnessError("--plot needs --out DIR (where to write the PNG)")
    return 0


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", type=int, default=None, help="processes for scoring (default: all cores)")
    parser.add_argument("--data-dir", default=None, help="local data mirror (default: $CGEC_DATA_DIR)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m harness",
                                     description="Evaluate Chinese grammatical error correction.")
    parser.add_argument("--version", action="version", version=f"cgec-harness {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    score = commands.add_parser("score", help="score hypotheses against references (char and word level)")
    score.add_argument("--hyp", required=True, help="one hypothesis per line, a para file id<TAB>src<TAB>hyp, "
                       "or the name of stored outputs in data/manifest.yaml (e.g. llm-goodgap)")
    score.add_argument("--ref", required=True, help="para file id<TAB>src<TAB>ref1..., an M2 file, "
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
    score.set_defaults(func=cmd_score)

    run = commands.add_parser("run", help="run a model config on its dataset, clean, score, write results")
    run.add_argument("--config", required=True, help="a run config (configs/*.yaml)")
    run.add_argument("--limit", type=int, default=None, help="first N sentences only")
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
    compare.add_argument("--bootstrap", type=int, default=1000, help="paired bootstrap resamples (default 1000)")
    compare.add_argument("--seed", type=int, default=0)
    compare.add_argument("--top", type=int, default=10, help="sentences where the runs disagree most")
    compare.add_argument("--out", default=None, help="write comparison.md, comparison.json (and the plot) here")
    compare.add_argument("--plot", action="store_true", help="a precision/recall PNG (needs matplotlib: the plot extra)")
    compare.add_argument("--data-dir", default=None, help="local data mirror (default: $CGEC_DATA_DIR)")
    compare.set_defaults(func=cmd_compare)

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
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

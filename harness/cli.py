"""Command line: `python -m harness <command>`. A thin layer: parse arguments, call, print."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from tabulate import tabulate

from harness import __version__
from harness.data import DataSettings, resolve_input
from harness.errors import HarnessError
from harness.inputs import load_hypotheses, load_references
from harness.scoring import LevelScore, score_char
from metrics.compare import prf


def _percent(x: float) -> str:
    return f"{100 * x:.2f}"


def score_table(scores: dict[str, LevelScore], by_type: bool) -> str:
    rows = []
    for level, score in scores.items():
        p, r, f = prf(score.counts)
        rows.append([level, "all", score.counts.tp, score.counts.fp, score.counts.fn,
                     _percent(p), _percent(r), _percent(f)])
        if by_type:
            for name, counts in score.by_type.items():
                tp, rp, tf = prf(counts)
                rows.append([level, name, counts.tp, counts.fp, counts.fn,
                             _percent(tp), _percent(rp), _percent(tf)])
    table = tabulate(rows, headers=["level", "type", "TP", "FP", "FN", "P", "R", "F0.5"],
                     tablefmt="github", disable_numparse=True)
    signatures = "\n".join(f"{level}: {score.signature}" for level, score in scores.items())
    return f"{table}\n\n{signatures}"


def cmd_score(args: argparse.Namespace) -> int:
    if args.level != "char":
        raise HarnessError(f"--level {args.level} is not available yet (only char)")
    settings = DataSettings.from_env(data_dir=args.data_dir)
    references = load_references(resolve_input(args.ref, settings, "references"))
    hypotheses = load_hypotheses(resolve_input(args.hyp, settings, "outputs"), references)
    scores = {"char": score_char(references, hypotheses, settings, jobs=args.jobs,
                                 use_cache=not args.no_cache)}
    if args.m2_out is not None:
        out = Path(args.m2_out)
        out.mkdir(parents=True, exist_ok=True)
        for level, score in scores.items():
            (out / f"ref.{level}.m2").write_text(score.reference_m2, encoding="utf-8")
            (out / f"hyp.{level}.m2").write_text(score.hypothesis_m2, encoding="utf-8")
    if args.json:
        payload = {level: score.as_json() for level, score in scores.items()}
        print(json.dumps(payload, ensure_ascii=False, sort_keys=True))
    else:
        print(score_table(scores, args.by_type))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m harness",
                                     description="Evaluate Chinese grammatical error correction.")
    parser.add_argument("--version", action="version", version=f"cgec-harness {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    score = commands.add_parser("score", help="score hypotheses against references (ChERRANT char level)")
    score.add_argument("--hyp", required=True, help="one hypothesis per line, a para file id<TAB>src<TAB>hyp, "
                       "or the name of stored outputs in data/manifest.yaml (e.g. llm-goodgap)")
    score.add_argument("--ref", required=True, help="para file id<TAB>src<TAB>ref1..., an M2 file, "
                       "or a dataset name of data/manifest.yaml (e.g. nacgec-dev)")
    score.add_argument("--level", default="char", choices=["char", "word", "all"])
    score.add_argument("--by-type", action="store_true", help="also print per-type (M/R/S/W) scores")
    score.add_argument("--m2-out", metavar="DIR", help="write ref.<level>.m2 and hyp.<level>.m2 here")
    score.add_argument("--json", action="store_true", help="print one JSON object")
    score.add_argument("--jobs", type=int, default=None, help="processes for edit extraction (default: all cores)")
    score.add_argument("--data-dir", default=None, help="local data mirror (default: $CGEC_DATA_DIR)")
    score.add_argument("--no-cache", action="store_true", help="neither read nor write the reference M2 cache")
    score.set_defaults(func=cmd_score)
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

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
from harness.scoring import LevelScore, MaxMatchScore, Recipe, score_char, score_cherrant, score_maxmatch
from metrics.compare import prf


def _percent(x: float) -> str:
    return f"{100 * x:.2f}"


def score_table(scores: dict[str, LevelScore | MaxMatchScore], by_type: bool) -> str:
    rows = []
    for level, score in scores.items():
        if isinstance(score, MaxMatchScore):
            p, r, f = score.precision, score.recall, score.f
        else:
            p, r, f = prf(score.counts)
        rows.append([level, "all", score.counts.tp, score.counts.fp, score.counts.fn,
                     _percent(p), _percent(r), _percent(f)])
        if by_type and isinstance(score, LevelScore):
            for name, counts in score.by_type.items():
                tp, rp, tf = prf(counts)
                rows.append([level, name, counts.tp, counts.fp, counts.fn,
                             _percent(tp), _percent(rp), _percent(tf)])
    table = tabulate(rows, headers=["level", "type", "TP", "FP", "FN", "P", "R", "F0.5"],
                     tablefmt="github", disable_numparse=True)
    signatures = "\n".join(f"{level}: {score.signature}" for level, score in scores.items())
    return f"{table}\n\n{signatures}"


def cmd_score(args: argparse.Namespace) -> int:
    settings = DataSettings.from_env(data_dir=args.data_dir)
    references = load_references(resolve_input(args.ref, settings, "references"))
    hypotheses = load_hypotheses(resolve_input(args.hyp, settings, "outputs"), references)
    use_cache = not args.no_cache
    scores: dict[str, LevelScore | MaxMatchScore] = {}
    if args.level in ("char", "all"):
        scores["char"] = score_char(references, hypotheses, settings, jobs=args.jobs, use_cache=use_cache)
    if args.level in ("word", "all"):
        if args.word_scorer == "maxmatch":
            scores["word"] = score_maxmatch(references, hypotheses, settings, args.segmenter, args.jobs, use_cache)
        else:
            scores["word"] = score_cherrant(references, hypotheses, settings, Recipe("word", args.segmenter),
                                            args.jobs, use_cache)
    if args.m2_out is not None:
        write_m2_files(Path(args.m2_out), scores, args.segmenter)
    official = args.word_scorer == "maxmatch" and args.segmenter == "thulac"
    nlpcc = None
    if official and {"char", "word"} <= scores.keys():
        nlpcc = (prf(scores["char"].counts)[2] + scores["word"].f) / 2  # type: ignore[union-attr]
    if args.json:
        payload: dict = {level: score_json(score, args.word_scorer, args.segmenter) for level, score in scores.items()}
        if nlpcc is not None:
            payload["nlpcc2023"] = round(nlpcc, 4)
        print(json.dumps(payload, ensure_ascii=False, sort_keys=True))
    else:
        print(score_table(scores, args.by_type))
        if nlpcc is not None:
            print(f"NLPCC 2023 Task 1 score (mean of word and char F0.5): {_percent(nlpcc)}")
    return 0


def score_json(score: LevelScore | MaxMatchScore, word_scorer: str, segmenter: str) -> dict:
    if isinstance(score, MaxMatchScore):
        return score.as_json()
    payload = score.as_json()
    if score.signature.startswith("level:word"):
        payload.update(scorer=word_scorer, segmenter=segmenter)
    return payload


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

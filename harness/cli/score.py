"""`harness score` and `harness annotate`: the scorer alone, without a backend or a record.
The scorer is imported when a command runs, never when the parser is built."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from harness.cli.common import (Subcommands, add_command, add_common_options, executor_for, non_negative_int,
                                positive_float, positive_int, write_output)
from harness.core.errors import HarnessError
from harness.data.manifest import DataSettings, resolve_input

if TYPE_CHECKING:
    from harness.data.inputs import Hypotheses, References
    from harness.scoring.corpus import ScoreSet
    from harness.scoring.options import ScoringOptions


def add_score_command(commands: Subcommands) -> None:
    """`harness score`: inputs and outputs here, the scoring options in `_add_scoring_options`;
    the allowed values and defaults come from metrics.options and harness.scoring.options."""
    from harness.scoring.options import ALL_LEVELS, DEFAULT_MAX_CHARS
    from metrics.options import LEVELS, SEGMENTERS, WORD_SCORERS

    score = add_command(commands, "score", "score hypotheses against references (char and word level)",
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


def add_annotate_command(commands: Subcommands) -> None:
    """`harness annotate`: ChERRANT's parallel_to_m2.py (harness.annotate)."""
    from harness.annotate import DEFAULT_CHUNK as CHUNK
    from harness.scoring.options import DEFAULT_MAX_CHARS as MAX_CHARS
    from metrics.options import LEVELS, SEGMENTERS

    annotate = add_command(commands, "annotate", "a para file of pairs to ChERRANT's M2 (streamed, resumable)",
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


def cmd_score(args: argparse.Namespace) -> int:
    """Inputs read and checked here, at the edge; the scorer (harness.scoring) does the rest."""
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
    """The files asked for (--m2-out, --per-sentence), then the scores: a table, or JSON with --json."""
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

"""`harness run --config X --benchmarks A,B,...`: one config over benchmarks of data/benchmarks.yaml,
one run record per benchmark in `<out>/<config name>@<benchmark>/` (`.limit-N` for a partial
run, as a plain run's folder), each made by the execution core of a plain run
(`harness.run.execute.execute_target`): responses cached before anything is counted, resumable,
the folder's lock, whole-folder writes, the model's identity, the fingerprint. Every benchmark's
folder is locked, and every backend built (stored outputs read and checked), before the first
request. A benchmark's items go out with its task family's prompt (`RunConfig.prompt_for`) and
its outputs are scored by its official protocol (`harness.benchmarks.score_benchmark`)."""

from __future__ import annotations

import hashlib
import sys
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from tabulate import tabulate
from tqdm import tqdm

from harness.backends import registry
from harness.benchmarks import Benchmark, BenchmarkScore, load_benchmark, score_benchmark, submission_text
from harness.config.schema import ModelSpec, PromptSpec, RunConfig
from harness.core.errors import HarnessError
from harness.data.manifest import DataSettings
from harness.record import store as record
from harness.record.models import BenchmarkResult, Metrics, SentenceLine, SubmissionFile
from harness.reports.text import score_table
from harness.run.execute import RunOptions, Scored, Target, check_limit, dry_run, execute_target, items_context
from harness.scoring.corpus import ScoreSet
from metrics.score import Score, SentenceScore

SEPARATOR = "@"  # <config name>@<benchmark>: a config's name has no '@' (harness.config.schema)


@dataclass(frozen=True)
class Planned:
    """One benchmark of a suite run: its data, its record's folder, its prompt, and the config's
    `model:` section as this benchmark's backend reads it (stored outputs: its own file)."""

    benchmark: Benchmark
    run_dir: Path
    prompt: PromptSpec
    model: ModelSpec


# The protocol step that scores word-segmented outputs against a segmented gold as given (M2Scorer on gold.01).
SEGMENTED_GOLD = "m2scorer-gold"


def suite_folder(config: RunConfig, benchmark: Benchmark, limit: int | None) -> str:
    """`<config name>@<benchmark>`, with `.limit-N` for a partial run (harness.record.store.folder_name)."""
    return record.folder_name(f"{config.name}{SEPARATOR}{benchmark.name}", limit, len(benchmark.items))


def model_for(config: RunConfig, name: str, count: int) -> ModelSpec:
    """The `model:` section for benchmark `name`: stored outputs may be given per benchmark
    (`predictions: {benchmark: file}`); one file cannot serve several benchmarks."""
    predictions = config.model.predictions
    if isinstance(predictions, dict):
        if name not in predictions:
            raise HarnessError(f"model.predictions: no file for benchmark {name} (the mapping names "
                               f"{', '.join(sorted(predictions)) or 'none'})", config.path)
        return config.model.model_copy(update={"predictions": predictions[name]})
    if predictions is not None and count > 1:
        raise HarnessError(f"model.predictions: one file for {count} benchmarks; give a mapping benchmark -> file",
                           config.path)
    return config.model


def plan(config: RunConfig, settings: DataSettings, options: RunOptions, names: Sequence[str]) -> list[Planned]:
    """Every benchmark loaded (files resolved and checked) before anything is asked."""
    planned = []
    for name in names:
        benchmark = load_benchmark(name, settings, progress=options.progress)
        if not benchmark.items:
            raise HarnessError(f"benchmark {name} has no items to run")
        if config.model.segmented and SEGMENTED_GOLD not in benchmark.spec.protocol.scorers:
            raise HarnessError(f"model.segmented: {name} has no segmented gold to score segmented outputs against "
                               f"(nlpcc18-test has); run the segmented outputs on their own", config.path)
        planned.append(Planned(benchmark, options.out_root / suite_folder(config, benchmark, options.limit),
                               config.prompt_for(benchmark.spec.task), model_for(config, name, len(names))))
    return planned


def execute_suite(config: RunConfig, settings: DataSettings, options: RunOptions, names: Sequence[str]) -> int:
    """Run a config on each benchmark of `names`; the exit code is 1 when any item failed."""
    check_limit(options)
    planned = plan(config, settings, options, names)
    missing = [part.run_dir for part in planned if not (part.run_dir / record.MANIFEST).is_file()]
    if options.retry_failed and missing:
        raise HarnessError("--retry-failed: no previous record of this benchmark's run", missing[0])
    if options.dry_run:
        for index, part in enumerate(planned, 1):
            print(f"== [{index}/{len(planned)}] {part.benchmark.name} -> {part.run_dir}")
            print(dry_run(config, part.benchmark.name, list(part.benchmark.items)[: options.limit],
                          registry.backend_class(part.model.backend), part.prompt))
        return 0
    # As a plain run does: the backends are built (servers asked what they serve, stored files read)
    # before any lock is taken or any paid request goes out.
    backends = [registry.create(part.model, items_context(config, settings, part.benchmark.items, part.run_dir))
                for part in planned]
    codes = []
    with ExitStack() as held:
        for part in planned:
            held.enter_context(record.hold(part.run_dir))
        bar = held.enter_context(suite_bar(planned, options))
        for index, (part, backend) in enumerate(zip(planned, backends), 1):
            bench = part.benchmark
            bar.set_description(f"[{index}/{len(planned)}] {bench.name}")
            bar.write(f"== [{index}/{len(planned)}] {bench.name} ({bench.spec.task}, protocol "
                      f"{bench.spec.protocol.name}): {min(len(bench.items), options.limit or len(bench.items))} of "
                      f"{len(bench.items)} items -> {part.run_dir}", file=sys.stdout)
            codes.append(execute_target(config, settings, replace(options, bar=bar),
                                        benchmark_target(part, settings, options), part.run_dir, backend))
    print(f"\n{len(planned)} benchmark record{'s' if len(planned) != 1 else ''} under {options.out_root}; "
          f"`python -m harness table --suite --runs {options.out_root}` tabulates them")
    return max(codes)


def suite_bar(planned: Sequence[Planned], options: RunOptions) -> tqdm:
    """One progress display for the whole suite: every benchmark's items on one bar (its total is
    unknown for `--retry-failed`, which asks only for the items that failed)."""
    total = None if options.retry_failed else sum(min(len(p.benchmark.items), options.limit or len(p.benchmark.items))
                                                  for p in planned)
    return tqdm(total=total, disable=None if options.progress else True, unit="item", dynamic_ncols=True,
                desc="suite")


def benchmark_target(part: Planned, settings: DataSettings, options: RunOptions) -> Target:
    """A benchmark as the execution core's target: named by the sha256 of all its data."""
    benchmark = part.benchmark

    def score(ids: Sequence[str], hypotheses: Sequence[str], failed: int) -> Scored:
        return benchmark_scored(benchmark, ids, hypotheses, failed, settings, options, part.model.segmented)

    path = " + ".join(str(f.path) for f in benchmark.files)
    return Target(benchmark.name, path, benchmark.sha256, benchmark.items, part.prompt, score)


def _head(benchmark: Benchmark, ids: Sequence[str]) -> Benchmark:
    """The benchmark cut to the items run, which are always its first ones (`--limit`)."""
    expected = [item.id for item in benchmark.items[: len(ids)]]
    if list(ids) != expected:
        raise HarnessError(f"the items run are not the first {len(ids)} of {benchmark.name}: its record cannot be "
                           "scored by its protocol; run it again without --retry-failed")
    return benchmark.head(len(ids))


def benchmark_scored(benchmark: Benchmark, ids: Sequence[str], hypotheses: Sequence[str], failed: int,
                     settings: DataSettings, options: RunOptions, segmented: bool = False) -> Scored:
    """The record's metrics and sentence lines of a benchmark run: the protocol's figures (and the
    one scorer's char/word levels, per sentence), or for an inputs-only split its submission file."""
    part = _head(benchmark, ids)
    complete = not failed and len(ids) == len(benchmark.items)
    if not part.has_references:
        return inputs_only(part, hypotheses, failed, complete)
    print(f"scoring {len(hypotheses)} predictions ({benchmark.name}: protocol {benchmark.spec.protocol.name})",
          file=sys.stderr, flush=True)
    score = score_benchmark(part, list(hypotheses), settings, presegmented=segmented, jobs=options.jobs,
                            progress=options.progress)
    levels = {level: spread(value, score.scored, len(ids)) for level, value in score.level_scores.items()}
    score_set = ScoreSet(levels)
    data = {**{level: value.as_json() for level, value in levels.items()}, "items": len(ids), "failed": failed,
            "complete": complete, "benchmark": result_of(part, score).model_dump(mode="json")}
    if "nlpcc2023" in score.metrics:
        data["nlpcc2023"] = round(score.metrics["nlpcc2023"], 4)
    entries = {level: value.sentences_json() for level, value in levels.items()}
    sentences = [SentenceLine.model_validate({"id": item_id, **{level: rows[k] for level, rows in entries.items()}})
                 for k, item_id in enumerate(ids)]
    return Scored(score_set, Metrics.model_validate(data), sentences, text=score_text(score, score_set))


def spread(score: Score, scored: Sequence[int], count: int) -> Score:
    """A level's score over every item run: the sentences the protocol leaves out (FCGEC's correct
    ones) get no counts and no reference (`unscored`, as ChERRANT's skipped sentences)."""
    if tuple(scored) == tuple(range(count)) or not score.per_sentence:
        return score
    sentences = [SentenceScore(None, 0, 0, 0)] * count
    for sentence, index in zip(score.per_sentence, scored):
        sentences[index] = sentence
    return replace(score, per_sentence=tuple(sentences))


def result_of(benchmark: Benchmark, score: BenchmarkScore) -> BenchmarkResult:
    spec = benchmark.spec
    return BenchmarkResult(name=benchmark.name, task=spec.task, protocol=score.protocol, references=True,
                           headline=score.headline, headline_value=score.headline_value, official=score.official,
                           figures=dict(sorted(score.metrics.items())), signature=score.signature,
                           scorer_signatures=dict(sorted(score.scorer_signatures.items())), notes=score.notes)


def inputs_only(benchmark: Benchmark, hypotheses: Sequence[str], failed: int, complete: bool) -> Scored:
    """An inputs-only split (MuCGEC test): no figures, "no references", and the organisers'
    submission file when every item was run and answered."""
    spec = benchmark.spec
    notes, files, submission = ["no references here: the organisers score this split"], {}, None
    if not complete:
        notes.append("no submission file: " + (f"{failed} items failed" if failed else
                                              f"a partial run ({len(hypotheses)} of the split's items)"))
    else:
        try:
            name, text = submission_text(benchmark, list(hypotheses))
        except HarnessError as error:
            notes.append(f"no submission file: {error.message}")
        else:
            files = {name: text}
            submission = SubmissionFile(file=name, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest())
    result = BenchmarkResult(name=benchmark.name, task=spec.task, protocol=spec.protocol.name, references=False,
                             headline=spec.protocol.headline, notes=tuple(notes), submission=submission)
    metrics = Metrics(items=len(hypotheses), failed=failed, complete=complete, benchmark=result)
    ids = [item.id for item in benchmark.items]
    text = "\n".join([f"{benchmark.name}: {notes[0]}", *notes[1:]] +
                     ([f"submission file: {submission.file} ({len(hypotheses)} lines)"] if submission else []))
    return Scored(ScoreSet({}), metrics, [SentenceLine(id=item_id) for item_id in ids], files, text)


CSC_PARTS = tuple(f"{level}.{kind}" for level in ("sentence", "char") for kind in ("detection", "correction"))
CSC_FIGURES = ("right", "predicted", "gold", "p", "r", "f1")


def score_text(score: BenchmarkScore, score_set: ScoreSet) -> str:
    """What a benchmark run prints: the level table (or CSC's detection/correction table), then
    the protocol's other figures, its headline and its notes."""
    shown = {f"{level}.{key}" for level in score_set.scores for key in ("tp", "fp", "fn", "p", "r", "f05")}
    parts = [score_table(score_set)] if score_set.scores else []
    if f"{CSC_PARTS[0]}.f1" in score.metrics:
        shown |= {f"{part}.{key}" for part in CSC_PARTS for key in CSC_FIGURES}
        csc = [[part, *(_figure(f"{part}.{key}", score.metrics[f"{part}.{key}"]) for key in CSC_FIGURES)]
               for part in CSC_PARTS]
        parts.append(tabulate(csc, headers=["CSC", "right", "predicted", "gold", "P %", "R %", "F1 %"],
                              tablefmt="github", disable_numparse=True))
    rows = [[key, _figure(key, value)] for key, value in sorted(score.metrics.items()) if key not in shown]
    if rows:
        parts.append(tabulate(rows, headers=["figure", "value (% for rates)"], tablefmt="github",
                              disable_numparse=True))
    value = score.headline_value
    parts.append(f"{score.benchmark}: {score.headline} = {'-' if value is None else f'{100 * value:.2f}'} "
                 f"({'official' if score.official else 'unofficial'}); {score.signature}")
    parts += [f"note: {note}" for note in score.notes]
    return "\n".join(parts)


def _figure(key: str, value: float | int) -> str:
    counted = isinstance(value, int) or key.endswith((".tp", ".fp", ".fn", ".tn", ".right", ".predicted", ".gold",
                                                      ".matched", ".total")) or key == "length_mismatch"
    return str(value) if counted else f"{100 * value:.2f}"

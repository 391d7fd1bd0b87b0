"""`harness run`: config -> dataset -> backend -> runner -> cleaned predictions -> scores -> the
run record in results/runs/<name>/ (the models of harness.record.models, written by
harness.record.store)."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

from harness import __version__

from harness.backends import registry
from harness.backends.base import Backend, BackendContext
from harness.cache.responses import ResponseCache
from harness.cleaning import Cleaned, CleaningSpec, clean, summarise
from harness.config.schema import PromptSpec, RunConfig
from harness.core.errors import HarnessError
from harness.core.response import Usage
from harness.data.datasets import Dataset, Item, load_dataset
from harness.data.manifest import DataSettings
from harness.record import store as record
from harness.record.models import (
    BackendInfo, CleaningSummary, CostEstimate, DatasetRef, GenerationStats, Metrics, ModelChange, ModelIdentity,
    PredictionLine, RecordedConfig, RequestCounts, RunInfo, RunRecord, SentenceLine, TokenTotals,
)
from harness.reports.text import score_table
from harness.run.limits import Limits
from harness.run.pricing import estimate_cost
from harness.run.prompt import render
from harness.run.runner import ItemResult, RetryPolicy, RunStats, estimate_tokens, run_items, summarise_usage
from harness.scoring.corpus import ScoreSet, score_levels
from harness.scoring.options import ScoringOptions
from metrics.score import package_version

REPO = Path(__file__).resolve().parents[2]
VERSIONED_PACKAGES = ("openai", "pypinyin", "opencc", "thulac", "jieba", "numpy", "pandas")


@dataclass(frozen=True)
class RunOptions:
    out_root: Path = Path("results/runs")
    limit: int | None = None
    fresh: bool = False
    retry_failed: bool = False
    dry_run: bool = False
    progress: bool = True
    jobs: int | None = None
    # A progress bar shared by several runs (`run --benchmarks`: one display for the suite);
    # None: each run draws its own.
    bar: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Answers:
    """What the runner gave: each item's result, the request counts, when it started and how
    long it took."""

    results: list[ItemResult]
    stats: RunStats
    started: datetime
    wall: float


@dataclass(frozen=True)
class Cleaning:
    """The record's prediction lines (response and cleaning outcome) and the cleaning summary."""

    lines: list[PredictionLine]
    summary: CleaningSummary


@dataclass(frozen=True)
class Scored:
    """The scorer's result and the record's metrics and sentence lines made from it; `files`:
    more files for the record's folder (a benchmark's submission file); `text`: what the run
    prints (None: the score table of `score_set`)."""

    score_set: ScoreSet
    metrics: Metrics
    sentences: list[SentenceLine]
    files: dict[str, str] = field(default_factory=dict)
    text: str | None = None


@dataclass(frozen=True)
class Target:
    """What one record is made from: the data (named as the record's `dataset` names it), the
    items a model is asked, the prompt they go out with, and `score`, which turns the cleaned
    hypotheses of the items run (ids, hypotheses, how many failed) into the record's scores. A
    plain run's target is its config's dataset; `run --benchmarks` makes one per benchmark
    (harness.run.suite)."""

    name: str
    path: str
    sha256: str
    items: tuple[Item, ...]
    prompt: PromptSpec
    score: Callable[[Sequence[str], Sequence[str], int], Scored]


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if out.returncode != 0:
        return "unknown"
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def dry_run(config: RunConfig, name: str, items: list[Item], backend: type[Backend],
            prompt: PromptSpec | None = None) -> str:
    """The first request as it would be sent (no key), and the estimated cost of all of them;
    a backend that sends nothing says so itself."""
    described = backend.describe_dry_run(config.model, len(items))
    if described is not None:
        return described
    prompt = prompt or config.prompt
    max_tokens = config.model.params.get("max_tokens")
    first = {"base_url": config.model.base_url or "https://api.openai.com/v1", "model": config.model.model,
             "messages": render(prompt, items[0].source), **config.model.params}
    if config.model.extra_body:
        first["extra_body"] = config.model.extra_body
    prompt_tokens = sum(estimate_tokens(render(prompt, item.source), 0) for item in items)
    completion_tokens = sum(len(item.source) + 8 for item in items)  # a correction is about as long as its source
    cost = estimate_cost(config.model.model, prompt_tokens, completion_tokens, batch=backend.batch_pricing)
    cost_text = f"${cost:.4f}" if cost is not None else "unknown (model not in data/prices.yaml)"
    budget = f" (replies capped at max_tokens={max_tokens})" if max_tokens else ""
    return (f"first request of {len(items)} ({name}):\n{json.dumps(first, ensure_ascii=False, indent=2)}\n\n"
            f"estimated tokens: {prompt_tokens} prompt + {completion_tokens} completion{budget}; "
            f"estimated cost: {cost_text}")


def execute(config: RunConfig, settings: DataSettings, options: RunOptions) -> int:
    """Run a config end to end. Returns the exit code (1 when some items failed)."""
    if isinstance(config.model.predictions, dict):
        raise HarnessError("model.predictions: a mapping of benchmark -> file is for `run --benchmarks`; a run of "
                           "the config's dataset takes one file", config.path)
    if config.model.segmented:
        raise HarnessError("model.segmented: segmented outputs are scored against a segmented gold, which only "
                           "`run --benchmarks nlpcc18-test` has; a run of the config's dataset segments itself",
                           config.path)
    dataset = load_dataset(config.dataset, settings, config.path)
    check_limit(options)
    if not dataset.items:
        raise HarnessError("the dataset has no items to run", dataset.path)
    run_dir = options.out_root / record.folder_name(config.name, options.limit, len(dataset.items))
    if options.dry_run:
        items = list(dataset.items)[: options.limit]
        print(dry_run(config, dataset.name, items, registry.backend_class(config.model.backend)))
        return 0
    # Before the lock, so that a bad config or an unreachable server leaves no trace; the
    # backend asks the server what it serves, but no paid request goes out before the lock.
    backend = registry.create(config.model, backend_context(config, settings, dataset, run_dir))
    with record.hold(run_dir):
        return execute_target(config, settings, options, dataset_target(config, settings, dataset, options), run_dir,
                              backend)


def check_limit(options: RunOptions) -> None:
    if options.limit is not None and options.limit < 1:
        raise HarnessError(f"--limit: expected a number of sentences >= 1, got {options.limit}")


def dataset_target(config: RunConfig, settings: DataSettings, dataset: Dataset, options: RunOptions) -> Target:
    """A plain run's target: the config's dataset, its prompt, scored as its `scoring:` says."""
    def score(ids: Sequence[str], hypotheses: Sequence[str], failed: int) -> Scored:
        return score_hypotheses(config, settings, dataset, ids, hypotheses, options.jobs, options.progress, failed)

    return Target(dataset.name, str(dataset.path), dataset.sha256, dataset.items, config.prompt, score)


def backend_context(config: RunConfig, settings: DataSettings, dataset: Dataset, run_dir: Path) -> BackendContext:
    return items_context(config, settings, dataset.items, run_dir)


def items_context(config: RunConfig, settings: DataSettings, items: Sequence[Item], run_dir: Path) -> BackendContext:
    return BackendContext(settings, tuple(item.id for item in items), batch_state_path(run_dir), config.path)


def execute_target(config: RunConfig, settings: DataSettings, options: RunOptions, target: Target, run_dir: Path,
                   backend: Backend) -> int:
    """The execution core, under the folder's lock: plan, ask (cache first), clean, score, write
    the record, print. Returns the exit code (1 when some items failed)."""
    previous, items = _plan(config, options, target.items, run_dir)
    if items is None:
        return 0
    answers = ask(config, settings, backend, items, options, target.prompt)
    cleaning = clean_results(config, answers.results, target.prompt)
    hypotheses = [line.hypothesis for line in cleaning.lines]
    scored = target.score([line.id for line in cleaning.lines], hypotheses,
                          sum(1 for line in cleaning.lines if line.error))
    info = run_info(config, target, run_dir, backend, answers, cleaning, previous)
    changed = record.write_record(run_dir, info, scored.metrics, scored.sentences, hypotheses, cleaning.lines,
                                  previous.fingerprint if previous is not None else None, scored.files)
    _print_scores(cleaning.lines, scored)
    _print_run(run_dir, info, answers.stats)
    return _print_outcome(run_dir, cleaning.lines, changed, previous)


def _plan(config: RunConfig, options: RunOptions, all_items: Sequence[Item],
          run_dir: Path) -> tuple[RunRecord | None, list[Item] | None]:
    """The record this run replaces, and the items to run (None: nothing to retry)."""
    items = list(all_items)
    if not options.retry_failed:
        return _previous_record(run_dir), items[: options.limit]
    if not (run_dir / record.MANIFEST).is_file():
        raise HarnessError("--retry-failed: no previous record of this run", run_dir)
    previous = record.read_record(run_dir)  # here an unreadable record is an error, naming its file
    if not any(p.error for p in previous.require_predictions()):
        print(f"nothing to retry: the last run of {config.name} has no failed items")
        return previous, None
    wanted = {row.id for row in previous.rows}
    return previous, [item for item in items if item.id in wanted][: options.limit]


def batch_state_path(run_dir: Path) -> Path:
    """Beside the run folder (which is replaced whole): the batches this run has paid for."""
    return run_dir.parent / f".{run_dir.name}.batch.json"


def _previous_record(run_dir: Path) -> RunRecord | None:
    """The record a run replaces; one that cannot be read is replaced all the same (the lock is
    ours, and the new record will be whole)."""
    if not (run_dir / record.MANIFEST).is_file():
        return None
    try:
        return record.read_record(run_dir)
    except HarnessError as error:
        print(f"note: replacing an unreadable record: {error}", file=sys.stderr)
        return None


# --------------------------------------------------------------------------------------------
# The steps of a run: ask, clean, score, describe


def ask(config: RunConfig, settings: DataSettings, backend: Backend, items: Sequence[Item],
        options: RunOptions, prompt: PromptSpec | None = None) -> Answers:
    """Every item's response, through the cache when the backend's responses are cached
    (`--fresh`: asked again, and cached again); `prompt`: the config's own unless given."""
    cache = ResponseCache(settings.cache_dir / "responses.sqlite") if backend.cacheable else None
    started = datetime.now(timezone.utc).replace(microsecond=0)
    clock = time.perf_counter()
    try:
        cache_for_run = _WriteOnlyCache(cache) if options.fresh and cache is not None else cache
        results, stats = asyncio.run(_run(config, backend, cache_for_run, list(items), options,
                                          prompt or config.prompt))
    finally:
        if cache is not None:
            cache.close()
    return Answers(results, stats, started, time.perf_counter() - clock)


class _WriteOnlyCache:
    """--fresh: ask again, but still record the new responses."""

    def __init__(self, cache: ResponseCache) -> None:
        self._cache = cache

    def get(self, key: str):
        return None

    def put(self, key, response) -> None:
        self._cache.put(key, response)


async def _run(config: RunConfig, backend: Backend, cache, items: list[Item], options: RunOptions,
               prompt: PromptSpec):
    try:
        policy = RetryPolicy(config.model.retries, config.model.retry_after_cap, config.model.backoff_budget)
        if backend.queues:  # the Batch API queues and limits requests itself
            concurrency, limits = max(1, len(items)), Limits(None, None)
        else:
            concurrency = config.limits.concurrency
            limits = Limits(config.limits.requests_per_minute, config.limits.tokens_per_minute)
        return await run_items(items, lambda item: render(prompt, item.source), backend, cache,
                               concurrency, limits, policy, config.model.params.get("max_tokens"), options.progress,
                               bar=options.bar)
    finally:
        await backend.close()


def clean_results(config: RunConfig, results: Sequence[ItemResult], prompt: PromptSpec | None = None) -> Cleaning:
    """Each result as its record line: the response (latency to 0.1 ms) and what cleaning made
    of it; a result without a response keeps its error and is scored as its source. `prompt`:
    what was sent (the config's own unless given), so that an echo of it is recognised."""
    rules: CleaningSpec = config.cleaning
    prompt_texts = _prompt_texts(prompt or config.prompt)
    lines, cleaned_all = [], []
    for result in results:
        response = result.response
        cleaned: Cleaned | None = None
        if response is not None:
            cleaned = (as_given(response.text) if config.model.segmented
                       else clean(response.text, result.source, rules, prompt_texts))
            cleaned_all.append(cleaned)
            response = response.model_copy(update={"latency": round(response.latency, 4)})
        lines.append(PredictionLine(id=result.id, source=result.source, response=response, error=result.error,
                                    cached=result.cached, attempts=result.attempts,
                                    prediction=cleaned.prediction if cleaned is not None else None,
                                    cleaning=cleaned.flags if cleaned is not None else ()))
    counts = summarise(cleaned_all)
    summary = CleaningSummary(total=counts.pop("total"), changed=counts.pop("changed"), flags=counts)
    return Cleaning(lines, summary)


def as_given(text: str) -> Cleaned:
    """A segmented output (`model.segmented`) as its system wrote it: only the line end and outer
    whitespace go; the spaces between its words are the segmentation M2Scorer scores."""
    prediction = " ".join(text.split())
    return Cleaned(prediction, ("whitespace",) if prediction != text else ())


def _prompt_texts(prompt: PromptSpec) -> list[str]:
    """What was sent besides the source, so that a reply repeating it (the instruction, or a
    few-shot example, which small models echo) is recognised as an echo."""
    texts = [prompt.user.replace("{source}", "")]
    if prompt.system:
        texts.append(prompt.system)
    for example_source, example_target in prompt.few_shot:
        texts += [example_source, example_target]
    return texts


def scoring_options(config: RunConfig) -> ScoringOptions:
    """The run config's `scoring:` section as the scorer's options."""
    return ScoringOptions.from_mapping(config.scoring.model_dump())


def score_hypotheses(config: RunConfig, settings: DataSettings, dataset: Dataset, ids: Sequence[str],
                     hypotheses: Sequence[str], jobs: int | None = None, progress: bool = False,
                     failed: int | None = None) -> Scored:
    """Score the hypotheses of the items `ids` against the dataset's references, as the config
    says; `failed`: how many items had no response (scored as their source)."""
    positions = {item.id: index for index, item in enumerate(dataset.items)}
    chosen = [positions[item_id] for item_id in ids]
    sources = [dataset.references.sources[i] for i in chosen]
    references = [dataset.references.targets[i] for i in chosen]
    options = scoring_options(config)
    print(f"scoring {len(hypotheses)} predictions ({', '.join(options.levels)})", file=sys.stderr, flush=True)
    score_set = score_levels(sources, list(hypotheses), references, settings, options, jobs=jobs, progress=progress)
    return scored_record(score_set, ids, len(dataset.items), failed)


def scored_record(score_set: ScoreSet, ids: Sequence[str], dataset_size: int, failed: int | None) -> Scored:
    """The scorer's output as the record's metrics and sentence lines."""
    failed = failed or 0
    metrics = Metrics.model_validate({**score_set.as_json(), "items": len(ids), "failed": failed,
                                      "complete": not failed and len(ids) == dataset_size})
    sentences = [SentenceLine.model_validate({"id": item_id, **row})
                 for item_id, row in zip(ids, score_set.per_sentence())]
    return Scored(score_set, metrics, sentences)


def run_info(config: RunConfig, target: Target, run_dir: Path, backend: Backend, answers: Answers,
             cleaning: Cleaning, previous: RunRecord | None) -> RunInfo:
    """What the run knows about itself, for its manifest."""
    results, stats = answers.results, answers.stats
    total, billed = summarise_usage(results)
    responses = [r.response for r in results if r.response is not None]
    model = ModelIdentity.model_validate({
        **backend.identity(), "response_models": sorted({r.model for r in responses if r.model}),
        "system_fingerprints": sorted({r.system_fingerprint for r in responses if r.system_fingerprint})})
    changed = None
    if previous is not None and previous.manifest.model != model:
        changed = ModelChange(previous=previous.manifest.model, previous_fingerprint=previous.fingerprint)
    return RunInfo(
        run=run_dir.name, config=RecordedConfig.model_validate(config.as_dict()), config_sha256=config.sha256,
        config_path=config.path,
        dataset=DatasetRef(name=target.name, path=target.path, sha256=target.sha256,
                           sentences=len(target.items), run_items=len(results)),
        backend=BackendInfo.model_validate(backend.describe()), model=model, started=answers.started,
        finished=datetime.now(timezone.utc).replace(microsecond=0), wall_seconds=round(answers.wall, 3),
        requests=RequestCounts(sent=stats.sent, cached=stats.cached, failed=stats.failed, retries=stats.retries),
        tokens=TokenTotals(all=total, billed_this_run=billed),
        generation=generation_stats(results, answers.wall, previous) if backend.generates else None,
        estimated_cost_usd=_cost(config.model.model, total, billed, backend.batch_pricing)
        if backend.generates else None,
        cleaning=cleaning.summary, versions=versions(), git_commit=git_commit(), model_changed=changed)


def versions() -> dict[str, str]:
    import platform

    return {"cgec-harness": __version__, "python": platform.python_version(),
            **{name: package_version(name) for name in VERSIONED_PACKAGES}}


def _cost(model: str | None, total: Usage, billed: Usage, batch: bool) -> CostEstimate:
    return CostEstimate(all=estimate_cost(model, total.prompt_tokens, total.completion_tokens, batch=batch),
                        this_run=estimate_cost(model, billed.prompt_tokens, billed.completion_tokens, batch=batch))


def generation_stats(results: list[ItemResult], wall: float, previous: RunRecord | None) -> GenerationStats:
    """Model speed, honestly: tokens generated over the wall time of the generation phase (summed
    request latencies grow with concurrency as requests queue), and latency percentiles. A run
    answered from the cache reports the speed of the run that asked (kept in the record before)."""
    answered = [r for r in results if r.response is not None]
    sent = [r for r in answered if not r.cached]
    latencies = sorted(r.response.latency for r in answered if r.response.latency > 0)
    earlier = previous.manifest.generation if previous is not None else None
    if sent:
        tokens, seconds = _completion_tokens(sent), wall
    else:
        tokens = _completion_tokens(answered)
        seconds = earlier.wall_seconds_when_generated if earlier is not None else None
    return GenerationStats(requests=len(answered), completion_tokens=_completion_tokens(answered),
                           wall_seconds_when_generated=round(seconds, 3) if seconds else None,
                           completion_tokens_per_second=round(tokens / seconds, 2) if seconds and tokens else None,
                           latency_p50_seconds=_percentile(latencies, 0.50),
                           latency_p95_seconds=_percentile(latencies, 0.95))


def _completion_tokens(results: Sequence[ItemResult]) -> int:
    return sum(r.response.usage.completion_tokens for r in results if r.response and r.response.usage)


def _percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of sorted values."""
    if not values:
        return None
    return round(values[min(len(values) - 1, max(0, int(-(-share * len(values) // 1)) - 1))], 3)


# --------------------------------------------------------------------------------------------
# What a run prints


def _print_scores(lines: Sequence[PredictionLine], scored: Scored) -> None:
    if all(line.error for line in lines):  # nothing was answered: a table would score the sources
        reasons = Counter(re.sub(r" \(after \d+ attempts.*\)$", "", line.error or "") for line in lines)
        print(f"every item failed ({len(lines)}):")
        for reason, count in reasons.most_common():
            print(f"  {count:>5}  {reason}")
    else:
        print(scored.text if scored.text is not None else score_table(scored.score_set))


def _print_run(run_dir: Path, info: RunInfo, stats: RunStats) -> None:
    cleaning, generation, model = info.cleaning, info.generation, info.model
    fired = ", ".join(f"{k} {v}" for k, v in sorted(cleaning.flags.items()) if v) or "no rule fired"
    print(f"\n{info.dataset.run_items} items: {stats.sent} sent, {stats.cached} cached, {stats.failed} failed, "
          f"{stats.retries} retries; cleaning changed {cleaning.changed} ({fired})")
    if generation is not None and generation.completion_tokens_per_second:
        print(f"generation: {generation.completion_tokens} tokens, {generation.completion_tokens_per_second} "
              f"tokens/s over {generation.wall_seconds_when_generated} s; latency p50 "
              f"{generation.latency_p50_seconds} s, p95 {generation.latency_p95_seconds} s")
    if info.model_changed is not None:
        before = info.model_changed.previous.text() if info.model_changed.previous is not None else "?"
        print(f"warning: the model that answered differs from the previous record of {run_dir} "
              f"({before} -> {model.text()})")
    if len(model.response_models) > 1:
        print(f"warning: responses came from {len(model.response_models)} different models: "
              f"{', '.join(model.response_models)}")


def _print_outcome(run_dir: Path, lines: Sequence[PredictionLine], changed: bool, previous: RunRecord | None) -> int:
    if changed or previous is None:
        print(f"results: {run_dir}")
    else:
        print(f"results: {run_dir} (unchanged: it already holds this record, {previous.fingerprint[:12]})")
    failed = [line.id for line in lines if line.error]
    if failed:
        print(f"failed ids ({len(failed)}): {', '.join(failed)}; re-ask them with --retry-failed")
        return 1
    return 0

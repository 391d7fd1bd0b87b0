"""`harness run`: config -> dataset -> backend -> runner -> cleaned predictions -> scores -> the
run record in results/runs/<name>/ (written by harness.record.store)."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness import __version__

from harness.record import store as record
from harness.backends import Backend, make_backend
from harness.cache.responses import ResponseCache
from harness.cleaning.rules import Cleaned, CleaningRules, clean, summarise
from harness.config.schema import RunConfig
from harness.data.manifest import DataSettings
from harness.data.datasets import Dataset, Item, load_dataset
from harness.core.errors import HarnessError
from harness.run.limits import Limits
from harness.run.pricing import estimate_cost
from harness.run.prompt import render
from harness.reports.text import score_table
from harness.run.runner import ItemResult, RetryPolicy, estimate_tokens, run_items, summarise_usage
from harness.scoring.corpus import score_levels
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


def cleaning_rules(config: RunConfig) -> CleaningRules:
    raw = dict(config.cleaning or {})
    enabled = raw.pop("enabled", True)
    if not isinstance(enabled, bool):
        raise HarnessError("cleaning.enabled: expected true or false", config.path)
    if not enabled:
        return CleaningRules.disabled()
    return CleaningRules.from_mapping(raw, config.path or "config") if raw else CleaningRules()


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if out.returncode != 0:
        return "unknown"
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def dry_run(config: RunConfig, dataset: Dataset, items: list[Item]) -> str:
    """The first request as it would be sent (no key), and the estimated cost of all of them."""
    if config.model.backend == "stored":
        return f"stored predictions: {config.model.predictions} ({len(items)} items); nothing would be sent"
    max_tokens = config.model.params.get("max_tokens")
    first = {"base_url": config.model.base_url or "https://api.openai.com/v1", "model": config.model.model,
             "messages": render(config.prompt, items[0].source), **config.model.params}
    if config.model.extra_body:
        first["extra_body"] = config.model.extra_body
    prompt_tokens = sum(estimate_tokens(render(config.prompt, item.source), 0) for item in items)
    completion_tokens = sum(len(item.source) + 8 for item in items)  # a correction is about as long as its source
    cost = estimate_cost(config.model.model, prompt_tokens, completion_tokens,
                         batch=config.model.backend == "openai-batch")
    cost_text = f"${cost:.4f}" if cost is not None else "unknown (model not in data/prices.yaml)"
    budget = f" (replies capped at max_tokens={max_tokens})" if max_tokens else ""
    return (f"first request of {len(items)} ({dataset.name}):\n{json.dumps(first, ensure_ascii=False, indent=2)}\n\n"
            f"estimated tokens: {prompt_tokens} prompt + {completion_tokens} completion{budget}; "
            f"estimated cost: {cost_text}")


def execute(config: RunConfig, settings: DataSettings, options: RunOptions) -> int:
    """Run a config end to end. Returns the exit code (1 when some items failed)."""
    dataset = load_dataset(config.dataset, settings, config.path)
    rules = cleaning_rules(config)
    if options.limit is not None and options.limit < 1:
        raise HarnessError(f"--limit: expected a number of sentences >= 1, got {options.limit}")
    if not dataset.items:
        raise HarnessError("the dataset has no items to run", dataset.path)
    run_dir = options.out_root / record.folder_name(config.name, options.limit, len(dataset.items))
    if options.dry_run:
        items = list(dataset.items)[: options.limit]
        print(dry_run(config, dataset, items))
        return 0
    # Before the lock, so that a bad config or an unreachable server leaves no trace; the
    # backend asks the server what it serves, but no paid request goes out before the lock.
    backend = make_backend(config, settings, [item.id for item in dataset.items], batch_state_path(run_dir))
    with record.hold(run_dir):
        return _execute(config, settings, options, dataset, rules, run_dir, backend)


def _execute(config: RunConfig, settings: DataSettings, options: RunOptions, dataset: Dataset, rules: CleaningRules,
             run_dir: Path, backend: Backend) -> int:
    items = list(dataset.items)
    if not options.retry_failed:
        previous = _previous_record(run_dir)
    else:
        if not (run_dir / record.MANIFEST).is_file():
            raise HarnessError("--retry-failed: no previous record of this run", run_dir)
        previous = record.read_record(run_dir)  # here an unreadable record is an error, naming its file
        failed_before = [p.id for p in previous.require_predictions() if p.error]
        if not failed_before:
            print(f"nothing to retry: the last run of {config.name} has no failed items")
            return 0
        wanted = {p.id for p in previous.rows}
        items = [item for item in items if item.id in wanted]
    items = items[: options.limit]

    served = backend.identity()
    cache = ResponseCache(settings.cache_dir / "responses.sqlite") if backend.cacheable else None
    started = datetime.now(timezone.utc)
    clock = time.perf_counter()
    try:
        if options.fresh and cache is not None:
            cache_for_run = _WriteOnlyCache(cache)
        else:
            cache_for_run = cache
        results, stats = asyncio.run(_run(config, backend, cache_for_run, items, options))
    finally:
        if cache is not None:
            cache.close()
    wall = time.perf_counter() - clock

    prompt_texts = _prompt_texts(config)
    cleaned: list[Cleaned | None] = []
    for result in results:
        cleaned.append(clean(result.raw, result.source, rules, prompt_texts) if result.raw is not None else None)
    predictions = [c.prediction if c is not None else r.source for c, r in zip(cleaned, results)]
    records = [_record(r, c) for r, c in zip(results, cleaned)]

    positions = {item.id: index for index, item in enumerate(dataset.items)}
    chosen = [positions[item.id] for item in items]
    sources = [dataset.references.sources[i] for i in chosen]
    references = [dataset.references.targets[i] for i in chosen]
    print(f"scoring {len(predictions)} predictions ({', '.join(config.scoring.levels)})", file=sys.stderr, flush=True)
    score_set = score_levels(sources, predictions, references, settings, config.scoring.levels,
                             config.scoring.word_scorer, config.scoring.segmenter, options.jobs,
                             progress=options.progress)
    failed = [r.id for r in results if r.error]
    metrics = {**score_set.as_json(), "items": len(results), "failed": len(failed),
               "complete": not failed and len(items) == len(dataset.items)}

    usage = summarise_usage(results)
    model_id = config.model.model
    batch = config.model.backend == "openai-batch"
    model = {**served, "response_models": sorted({r.model for r in results if r.model}),
             "system_fingerprints": sorted({r.system_fingerprint for r in results if r.system_fingerprint})}
    manifest = {
        "run": run_dir.name,  # the config's name, with .limit-N for a partial run
        "config": config.as_dict(),
        "config_sha256": config.sha256,
        "config_path": config.path,
        "dataset": {"name": dataset.name, "path": str(dataset.path), "sha256": dataset.sha256,
                    "sentences": len(dataset.items), "run_items": len(items)},
        "backend": backend.describe(),
        "model": model,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_seconds": round(wall, 3),
        "requests": {"sent": stats.sent, "cached": stats.cached, "failed": stats.failed, "retries": stats.retries},
        "tokens": usage,
        "generation": generation_stats(results, wall, previous) if config.model.backend != "stored" else None,
        "estimated_cost_usd": {
            "all": estimate_cost(model_id, usage["all"]["prompt_tokens"], usage["all"]["completion_tokens"],
                                 batch=batch),
            "this_run": estimate_cost(model_id, usage["billed_this_run"]["prompt_tokens"],
                                      usage["billed_this_run"]["completion_tokens"], batch=batch),
        } if config.model.backend != "stored" else None,
        "cleaning": summarise(c for c in cleaned if c is not None),
        "versions": {"cgec-harness": __version__, "python": _python_version(),
                     **{name: package_version(name) for name in VERSIONED_PACKAGES}},
        "git_commit": git_commit(),
    }
    if previous is not None and previous.manifest.get("model") != model:
        manifest["model_changed"] = {"previous": previous.manifest.get("model"),
                                     "previous_fingerprint": previous.fingerprint}
    sentences = [{"id": r.id, **row} for r, row in zip(results, score_set.per_sentence())]
    changed = record.write_record(run_dir, manifest, metrics, sentences, predictions,
                                  records, previous.fingerprint if previous is not None else None)

    if len(failed) == len(results):  # nothing was answered: a table would score the sources
        reasons = Counter(re.sub(r" \(after \d+ attempts.*\)$", "", r.error or "") for r in results)
        print(f"every item failed ({len(results)}):")
        for reason, count in reasons.most_common():
            print(f"  {count:>5}  {reason}")
    else:
        print(score_table(score_set))
    cleaning_summary = manifest["cleaning"]
    fired = {k: v for k, v in cleaning_summary.items() if k not in ("total", "changed") and v}
    print(f"\n{len(results)} items: {stats.sent} sent, {stats.cached} cached, {stats.failed} failed, "
          f"{stats.retries} retries; cleaning changed {cleaning_summary.get('changed', 0)} ({_format_counts(fired)})")
    generation = manifest["generation"]
    if generation and generation["completion_tokens_per_second"]:
        print(f"generation: {generation['completion_tokens']} tokens, {generation['completion_tokens_per_second']} "
              f"tokens/s over {generation['wall_seconds_when_generated']} s; latency p50 "
              f"{generation['latency_p50_seconds']} s, p95 {generation['latency_p95_seconds']} s")
    if "model_changed" in manifest:
        print(f"warning: the model that answered differs from the previous record of {run_dir} "
              f"({_identity_text(manifest['model_changed']['previous'])} -> {_identity_text(model)})")
    if len(model["response_models"]) > 1:
        print(f"warning: responses came from {len(model['response_models'])} different models: "
              f"{', '.join(model['response_models'])}")
    if changed:
        print(f"results: {run_dir}")
    else:
        print(f"results: {run_dir} (unchanged: it already holds this record, {previous.fingerprint[:12]})")
    if failed:
        print(f"failed ids ({len(failed)}): {', '.join(failed)}; re-ask them with --retry-failed")
        return 1
    return 0


def batch_state_path(run_dir: Path) -> Path:
    """Beside the run folder (which is replaced whole): the batches this run has paid for."""
    return run_dir.parent / f".{run_dir.name}.batch.json"


def _previous_record(run_dir: Path) -> record.RunRecord | None:
    """The record a run replaces; one that cannot be read is replaced all the same (the lock is
    ours, and the new record will be whole)."""
    if not (run_dir / record.MANIFEST).is_file():
        return None
    try:
        return record.read_record(run_dir)
    except HarnessError as error:
        print(f"note: replacing an unreadable record: {error}", file=sys.stderr)
        return None


def _identity_text(model: dict | None) -> str:
    model = model or {}
    served = model.get("served") or {}
    parts = [served.get("id") or model.get("requested") or "?"]
    parts += model.get("response_models") or []
    parts += model.get("system_fingerprints") or []
    return " / ".join(str(p) for p in dict.fromkeys(parts))


class _WriteOnlyCache:
    """--fresh: ask again, but still record the new responses."""

    def __init__(self, cache: ResponseCache) -> None:
        self._cache = cache

    def get(self, key: str):
        return None

    def put(self, key, response) -> None:
        self._cache.put(key, response)


async def _run(config: RunConfig, backend, cache, items: list[Item], options: RunOptions):
    try:
        policy = RetryPolicy(config.model.retries, config.model.retry_after_cap, config.model.backoff_budget)
        if backend.queues:  # the Batch API queues and limits requests itself
            concurrency, limits = max(1, len(items)), Limits(None, None)
        else:
            concurrency = config.limits.concurrency
            limits = Limits(config.limits.requests_per_minute, config.limits.tokens_per_minute)
        return await run_items(items, lambda item: render(config.prompt, item.source), backend, cache,
                               concurrency, limits, policy, config.model.params.get("max_tokens"), options.progress)
    finally:
        await backend.aclose()


def generation_stats(results: list[ItemResult], wall: float, previous: record.RunRecord | None) -> dict[str, Any]:
    """Model speed, honestly: tokens generated over the wall time of the generation phase (summed
    request latencies grow with concurrency as requests queue), and latency percentiles. A run
    answered from the cache reports the speed of the run that asked (kept in the record before)."""
    answered = [r for r in results if r.raw is not None]
    sent = [r for r in answered if not r.cached]
    latencies = sorted(r.latency for r in answered if r.latency > 0)
    earlier = (previous.manifest.get("generation") or {}) if previous is not None else {}
    if sent:
        tokens, seconds = sum(r.usage.get("completion_tokens", 0) for r in sent), wall
    else:
        tokens = sum(r.usage.get("completion_tokens", 0) for r in answered)
        seconds = earlier.get("wall_seconds_when_generated")
    return {"requests": len(answered), "completion_tokens": sum(r.usage.get("completion_tokens", 0) for r in answered),
            "wall_seconds_when_generated": round(seconds, 3) if seconds else None,
            "completion_tokens_per_second": round(tokens / seconds, 2) if seconds and tokens else None,
            "latency_p50_seconds": _percentile(latencies, 0.50), "latency_p95_seconds": _percentile(latencies, 0.95)}


def _percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of sorted values."""
    if not values:
        return None
    return round(values[min(len(values) - 1, max(0, int(-(-share * len(values) // 1)) - 1))], 3)


def _prompt_texts(config: RunConfig) -> list[str]:
    """What was sent besides the source, so that a reply repeating it (the instruction, or a
    few-shot example, which small models echo) is recognised as an echo."""
    texts = [config.prompt.user.replace("{source}", "")]
    if config.prompt.system:
        texts.append(config.prompt.system)
    for example_source, example_target in config.prompt.few_shot:
        texts += [example_source, example_target]
    return texts


def _record(result: ItemResult, cleaned: Cleaned | None) -> dict[str, Any]:
    return {"id": result.id, "source": result.source, "raw": result.raw,
            "prediction": cleaned.prediction if cleaned is not None else None,
            "cleaning": list(cleaned.flags) if cleaned is not None else [],
            "error": result.error, "usage": result.usage, "latency": round(result.latency, 4),
            "cached": result.cached, "finish_reason": result.finish_reason, "attempts": result.attempts,
            "model": result.model}


def _format_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no rule fired"


def _python_version() -> str:
    import platform

    return platform.python_version()

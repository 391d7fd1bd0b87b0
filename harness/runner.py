"""Send every item to the backend with bounded concurrency, client-side limits, bounded retries
and the response cache; one failed item never stops the run.

Every successful response is committed to the cache before it is counted, so a crashed run
resumes by asking only for what is missing.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from tqdm import tqdm

from harness.backends.base import Backend, BackendError, Completion
from harness.cache import CachedResponse, ResponseCache, request_key
from harness.datasets import Item
from harness.limits import Limits

BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0


@dataclass
class ItemResult:
    id: str
    source: str
    raw: str | None = None
    error: str | None = None
    finish_reason: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    system_fingerprint: str | None = None
    latency: float = 0.0
    cached: bool = False
    attempts: int = 0
    model: str | None = None  # the model the response says answered


@dataclass
class RunStats:
    sent: int = 0
    cached: int = 0
    failed: int = 0
    retries: int = 0


def estimate_tokens(messages: Sequence[dict[str, str]], max_tokens: int | None) -> int:
    """Rough: a token per CJK character, a token per 4 other characters, plus the reply budget."""
    chars = "".join(m["content"] for m in messages)
    cjk = sum(1 for ch in chars if "\u4e00" <= ch <= "\u9fff")
    return cjk + (len(chars) - cjk) // 4 + 4 * len(messages) + (256 if max_tokens is None else max_tokens)


def backoff(attempt: int, rng: random.Random, retry_after: float | None) -> float:
    """Exponential backoff with full jitter; a server's Retry-After wins when it is longer."""
    delay = rng.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** attempt))
    if retry_after is not None:
        delay = max(retry_after, min(delay, retry_after * 2))
    return delay


async def run_items(items: Sequence[Item], messages: Callable[[Item], list[dict[str, str]]], backend: Backend,
                    cache: ResponseCache | None, concurrency: int, limits: Limits, retries: int,
                    max_tokens: int | None = None, progress: bool = True, seed: int = 0) -> tuple[list[ItemResult], RunStats]:
    stats = RunStats()
    results: list[ItemResult] = [ItemResult(item.id, item.source) for item in items]
    semaphore = asyncio.Semaphore(concurrency)
    identity = backend.identity() if backend.cacheable else {}
    bar = tqdm(total=len(items), disable=not progress, unit="item", dynamic_ncols=True, desc="run")

    def count(result: ItemResult) -> None:
        bar.update(1)
        bar.set_postfix(cached=stats.cached, errors=stats.failed, refresh=False)

    async def one(index: int, item: Item) -> None:
        result = results[index]
        item_messages = messages(item) if backend.chat else []
        key = None
        if cache is not None and backend.cacheable:
            key = request_key(identity, item_messages)
            hit = cache.get(key)
            if hit is not None:
                result.raw, result.finish_reason, result.usage = hit.text, hit.finish_reason, hit.usage
                result.system_fingerprint, result.latency, result.cached = hit.system_fingerprint, hit.latency, True
                result.model = hit.model
                stats.cached += 1
                count(result)
                return
        rng = random.Random(f"{seed}:{item.id}")
        async with semaphore:
            for attempt in range(retries + 1):
                result.attempts = attempt + 1
                if backend.chat:
                    await limits.wait(estimate_tokens(item_messages, max_tokens))
                try:
                    completion: Completion = await backend.generate(item.id, item_messages)
                except BackendError as error:
                    if error.retryable and attempt < retries:
                        stats.retries += 1
                        await asyncio.sleep(backoff(attempt, rng, error.retry_after))
                        continue
                    result.error = error.reason if attempt == 0 else f"{error.reason} (after {attempt + 1} attempts)"
                    stats.failed += 1
                    count(result)
                    return
                result.raw, result.finish_reason, result.usage = completion.text, completion.finish_reason, completion.usage
                result.system_fingerprint, result.latency = completion.system_fingerprint, completion.latency
                result.model = completion.model
                if key is not None and cache is not None:
                    cache.put(key, CachedResponse(completion.text, completion.finish_reason, completion.usage,
                                                  completion.system_fingerprint, completion.latency, time.time(),
                                                  completion.model))
                if backend.chat:
                    stats.sent += 1
                count(result)
                return

    try:
        await asyncio.gather(*(one(index, item) for index, item in enumerate(items)))
    finally:
        bar.close()
    return results, stats


def summarise_usage(results: Sequence[ItemResult]) -> dict[str, Any]:
    totals = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    fresh = dict(totals)
    for result in results:
        for key in totals:
            totals[key] += result.usage.get(key, 0)
            if not result.cached:
                fresh[key] += result.usage.get(key, 0)
    return {"all": totals, "billed_this_run": fresh}

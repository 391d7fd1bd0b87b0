"""Send every item to the backend with bounded concurrency, client-side limits, bounded retries
and the response cache; one failed item never stops the run.

Every successful response is committed to the cache before it is counted, so a crashed run
resumes by asking only for what is missing.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from tqdm import tqdm

from harness.backends.base import Backend, BackendError, Completion
from harness.cache.responses import CachedResponse, ResponseCache, request_key
from harness.data.datasets import Item
from harness.core.errors import HarnessError
from harness.run.limits import Limits

BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0
LOUD_WAIT_S = 5.0  # waits at least this long are announced, so a run is never silently stuck


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


@dataclass(frozen=True)
class RetryPolicy:
    """The one retry policy of a run (the SDK's own retries are off). A server's Retry-After is
    obeyed up to `retry_after_cap` seconds; an item gives up once it has waited
    `backoff_budget` seconds in all; connection errors (a local server restarting) keep being
    retried for `connection_wait` seconds even beyond `retries`."""

    retries: int = 6
    retry_after_cap: float = 60.0
    backoff_budget: float = 600.0
    connection_wait: float = 30.0

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None) -> float:
        """Exponential backoff with full jitter; a server's (capped) Retry-After wins when longer."""
        delay = rng.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** attempt))
        if retry_after is not None:
            retry_after = min(retry_after, self.retry_after_cap)
            delay = max(retry_after, min(delay, retry_after * 2))
        return delay

    def may_retry(self, error: BackendError, attempt: int, waited: float, delay: float) -> bool:
        if not error.retryable or waited + delay > self.backoff_budget:
            return False
        return attempt < self.retries or (error.connection and waited + delay <= self.connection_wait)


class Stop:
    """Why a run stops sending: an authentication error, or Ctrl-C (replies in flight are
    still awaited and cached, so nothing that was paid for is lost; Ctrl-C again quits now)."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.interrupted = False

    def __bool__(self) -> bool:
        return self.reason is not None or self.interrupted


async def run_items(items: Sequence[Item], messages: Callable[[Item], list[dict[str, str]]], backend: Backend,
                    cache: ResponseCache | None, concurrency: int, limits: Limits, policy: RetryPolicy,
                    max_tokens: int | None = None, progress: bool = True,
                    seed: int = 0) -> tuple[list[ItemResult], RunStats]:
    """Every item's result, in order. Raises HarnessError after an authentication error (no
    request is sent after it) and KeyboardInterrupt after Ctrl-C, once what was in flight is
    cached."""
    stats = RunStats()
    results: list[ItemResult] = [ItemResult(item.id, item.source) for item in items]
    semaphore = asyncio.Semaphore(concurrency)
    identity = backend.identity() if backend.cacheable else {}
    bar = tqdm(total=len(items), disable=None if progress else True, unit="item", dynamic_ncols=True, desc="run")
    stop = Stop()

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
        waited = 0.0
        async with semaphore:
            attempt = 0
            while True:
                if stop:
                    result.error = f"not sent: {stop.reason or 'the run was interrupted'}"
                    return
                result.attempts = attempt + 1
                if backend.chat:
                    await limits.wait(estimate_tokens(item_messages, max_tokens))
                try:
                    completion: Completion = await backend.generate(item.id, item_messages)
                except BackendError as error:
                    if error.fatal:
                        stop.reason = stop.reason or error.reason
                    delay = policy.delay(attempt, rng, error.retry_after)
                    if not error.fatal and policy.may_retry(error, attempt, waited, delay):
                        stats.retries += 1
                        capped = (error.retry_after or 0) > policy.retry_after_cap
                        if delay >= LOUD_WAIT_S or capped:
                            asked = (f" (the server asked {error.retry_after:g} s; retry_after_cap is "
                                     f"{policy.retry_after_cap:g} s)" if capped else "")
                            tqdm.write(f"item {item.id}: {error.reason}: waiting {delay:.1f} s{asked}")
                        await asyncio.sleep(delay)
                        waited += delay
                        attempt += 1
                        continue
                    tries = f" (after {attempt + 1} attempts, {waited:.0f} s of waiting)" if attempt else ""
                    result.error = error.reason + tries
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

    main = asyncio.current_task()

    def interrupt() -> None:
        if (stop.interrupted or backend.queues) and main is not None:
            main.cancel()  # the second Ctrl-C (or any, for recorded batches that a rerun resumes): quit now
            return
        stop.interrupted = True
        tqdm.write("stopping: waiting for the replies in flight (Ctrl-C again to quit now)")

    loop = asyncio.get_running_loop()
    handled = _add_signal_handler(loop, interrupt)
    try:
        await asyncio.gather(*(one(index, item) for index, item in enumerate(items)))
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
    finally:
        if handled:
            loop.remove_signal_handler(signal.SIGINT)
        bar.close()
    if stop.reason is not None:
        unsent = sum(1 for r in results if r.error and r.error.startswith("not sent:"))
        raise HarnessError(f"{stop.reason}; the run stopped there: {unsent} items were not sent")
    if stop.interrupted:
        raise KeyboardInterrupt
    return results, stats


def _add_signal_handler(loop: asyncio.AbstractEventLoop, handler: Callable[[], None]) -> bool:
    try:
        loop.add_signal_handler(signal.SIGINT, handler)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
        return False
    return True


def summarise_usage(results: Sequence[ItemResult]) -> dict[str, Any]:
    totals = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    fresh = dict(totals)
    for result in results:
        for key in totals:
            totals[key] += result.usage.get(key, 0)
            if not result.cached:
                fresh[key] += result.usage.get(key, 0)
    return {"all": totals, "billed_this_run": fresh}

"""Send every item to the backend with bounded concurrency, client-side limits, bounded retries
and the response cache; one failed item never stops the run.

Every successful response is committed to the cache before it is counted, so a crashed run
resumes by asking only for what is missing.
"""

from __future__ import annotations

import asyncio
import random
import signal
from dataclasses import dataclass
from typing import Callable, Sequence

from tqdm import tqdm

from harness.backends.base import Backend, BackendError
from harness.cache.responses import ResponseCache, request_key
from harness.core.response import Response, Usage
from harness.data.datasets import Item
from harness.core.errors import HarnessError
from harness.run.limits import Limits

BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0
LOUD_WAIT_S = 5.0  # waits at least this long are announced, so a run is never silently stuck


@dataclass(frozen=True)
class ItemResult:
    """One item's outcome: the model's response (None when there is none: `error` says why),
    whether the cache gave it, and how many requests this run made for it."""

    id: str
    source: str
    response: Response | None = None
    error: str | None = None
    cached: bool = False
    attempts: int = 0


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
                    seed: int = 0, bar: tqdm | None = None) -> tuple[list[ItemResult], RunStats]:
    """Every item's result, in order. Raises HarnessError after an authentication error (no
    request is sent after it) and KeyboardInterrupt after Ctrl-C, once what was in flight is
    cached. `bar`: a progress bar shared with other runs (its owner closes it), else our own."""
    own = bar is None
    if bar is None:
        bar = tqdm(total=len(items), disable=None if progress else True, unit="item", dynamic_ncols=True, desc="run")
    run = _Run(backend, cache, messages, asyncio.Semaphore(concurrency), limits, policy, max_tokens, seed, bar)
    try:
        results = await _until_ctrl_c(run, [run.item(item) for item in items])
    finally:
        if own:
            bar.close()
    if run.stop.reason is not None:
        unsent = sum(1 for r in results if r.error and r.error.startswith("not sent:"))
        raise HarnessError(f"{run.stop.reason}; the run stopped there: {unsent} items were not sent")
    if run.stop.interrupted:
        raise KeyboardInterrupt
    return results, run.stats


async def _until_ctrl_c(run: "_Run", jobs: list) -> list[ItemResult]:
    """The jobs' results; the first Ctrl-C stops sending (replies in flight are awaited), the
    second quits at once (or the first, for a backend whose recorded batches a rerun resumes)."""
    main = asyncio.current_task()

    def interrupt() -> None:
        if (run.stop.interrupted or run.backend.queues) and main is not None:
            main.cancel()
            return
        run.stop.interrupted = True
        tqdm.write("stopping: waiting for the replies in flight (Ctrl-C again to quit now)")

    loop = asyncio.get_running_loop()
    handled = _add_signal_handler(loop, interrupt)
    try:
        return list(await asyncio.gather(*jobs))
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
    finally:
        if handled:
            loop.remove_signal_handler(signal.SIGINT)


class _Run:
    """One `run_items` call: each item from the cache, or asked with retries under the
    semaphore and limits, its response cached the moment it arrives."""

    def __init__(self, backend: Backend, cache: ResponseCache | None, messages: Callable[[Item], list[dict[str, str]]],
                 semaphore: asyncio.Semaphore, limits: Limits, policy: RetryPolicy, max_tokens: int | None, seed: int,
                 bar: tqdm) -> None:
        self.backend, self.cache, self.messages, self.semaphore = backend, cache, messages, semaphore
        self.limits, self.policy, self.max_tokens, self.seed, self.bar = limits, policy, max_tokens, seed, bar
        self.identity = backend.identity() if backend.cacheable else {}
        self.stats = RunStats()
        self.stop = Stop()

    def _counted(self, result: ItemResult) -> ItemResult:
        self.bar.update(1)
        self.bar.set_postfix(cached=self.stats.cached, errors=self.stats.failed, refresh=False)
        return result

    async def item(self, item: Item) -> ItemResult:
        messages = self.messages(item) if self.backend.chat else []
        key = None
        if self.cache is not None and self.backend.cacheable:
            key = request_key(self.identity, messages)
            hit = self.cache.get(key)
            if hit is not None:
                self.stats.cached += 1
                return self._counted(ItemResult(item.id, item.source, hit, cached=True))
        async with self.semaphore:
            return await self._ask(item, messages, key)

    async def _ask(self, item: Item, messages: list[dict[str, str]], key: str | None) -> ItemResult:
        rng = random.Random(f"{self.seed}:{item.id}")
        waited, attempt = 0.0, 0
        while True:
            if self.stop:
                why = self.stop.reason or "the run was interrupted"
                return ItemResult(item.id, item.source, error=f"not sent: {why}", attempts=attempt)
            if self.backend.chat:
                await self.limits.wait(estimate_tokens(messages, self.max_tokens))
            try:
                response = await self.backend.answer(item.id, messages)
            except BackendError as error:
                delay = self._retry_delay(item, error, attempt, waited, rng)
                if delay is None:
                    tries = f" (after {attempt + 1} attempts, {waited:.0f} s of waiting)" if attempt else ""
                    self.stats.failed += 1
                    return self._counted(ItemResult(item.id, item.source, error=error.reason + tries,
                                                    attempts=attempt + 1))
                await asyncio.sleep(delay)
                waited, attempt = waited + delay, attempt + 1
                continue
            if key is not None and self.cache is not None:
                self.cache.put(key, response)
            if self.backend.chat:
                self.stats.sent += 1
            return self._counted(ItemResult(item.id, item.source, response, attempts=attempt + 1))

    def _retry_delay(self, item: Item, error: BackendError, attempt: int, waited: float,
                     rng: random.Random) -> float | None:
        """How long to wait before asking again, or None: the item fails (a fatal error also
        stops the run)."""
        if error.fatal:
            self.stop.reason = self.stop.reason or error.reason
            return None
        delay = self.policy.delay(attempt, rng, error.retry_after)
        if not self.policy.may_retry(error, attempt, waited, delay):
            return None
        self.stats.retries += 1
        capped = (error.retry_after or 0) > self.policy.retry_after_cap
        if delay >= LOUD_WAIT_S or capped:
            asked = (f" (the server asked {error.retry_after:g} s; retry_after_cap is "
                     f"{self.policy.retry_after_cap:g} s)" if capped else "")
            tqdm.write(f"item {item.id}: {error.reason}: waiting {delay:.1f} s{asked}")
        return delay


def _add_signal_handler(loop: asyncio.AbstractEventLoop, handler: Callable[[], None]) -> bool:
    try:
        loop.add_signal_handler(signal.SIGINT, handler)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
        return False
    return True


def summarise_usage(results: Sequence[ItemResult]) -> tuple[Usage, Usage]:
    """Tokens of every response, and of those this run asked for (not from the cache)."""
    total = billed = Usage()
    for result in results:
        if result.response is not None and result.response.usage is not None:
            total = total + result.response.usage
            if not result.cached:
                billed = billed + result.response.usage
    return total, billed

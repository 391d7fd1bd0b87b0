"""Runner throughput against the local OpenAI-compatible test server (a separate process).

Targets (issue 4, 2-core machine): 1,000 requests at concurrency 50 with 200 ms server latency
in at most 1.3 x the ideal 4 s; harness overhead per request under 2 ms at zero latency; a fully
cached re-run of 500 items under 3 s. The SDK's own client cost is included in every figure.
Usage: python bench/run_throughput.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.backends.openai_chat import OpenAIChatBackend  # noqa: E402
from harness.cache.responses import ResponseCache  # noqa: E402
from harness.config.schema import ModelSpec  # noqa: E402
from harness.data.datasets import Item  # noqa: E402
from harness.run.limits import Limits  # noqa: E402
from harness.run.runner import RetryPolicy, run_items  # noqa: E402
from tests.servers.server_process import ServerProcess  # noqa: E402


def items(n: int) -> list[Item]:
    return [Item(str(i), f"第{i}个句子的内容在这里。") for i in range(n)]


def messages(item: Item) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"请改正：\n{item.source}"}]


async def timed_run(base_url: str, cache: ResponseCache, batch: list[Item], concurrency: int) -> tuple[float, int]:
    backend = OpenAIChatBackend(ModelSpec(backend="openai", model="test-model", base_url=base_url,
                                          api_key_env=None, timeout=30, retries=3))
    start = time.perf_counter()
    try:
        results, stats = await run_items(batch, messages, backend, cache, concurrency, Limits(None, None),
                                         RetryPolicy(retries=3),
                                         progress=False)
    finally:
        await backend.close()
    assert all(r.error is None for r in results), [r.error for r in results if r.error][:3]
    return time.perf_counter() - start, stats.sent


async def bare_sdk(base_url: str, batch: list[Item], concurrency: int) -> float:
    """The same requests through the SDK alone (no runner, cache or limits): the baseline."""
    import openai

    client = openai.AsyncOpenAI(base_url=base_url, api_key="not-needed", max_retries=0)
    semaphore = asyncio.Semaphore(concurrency)

    async def one(item: Item) -> None:
        async with semaphore:
            await client.post("/chat/completions", body={"model": "test-model", "messages": messages(item)},
                              cast_to=object)

    start = time.perf_counter()
    await asyncio.gather(*(one(item) for item in batch))
    await client.close()
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with ServerProcess("--latency-ms", "200") as server:
            cache = ResponseCache(Path(tmp) / "latency.sqlite")
            seconds, sent = asyncio.run(timed_run(server.base_url, cache, items(1000), 50))
            ideal = 1000 / 50 * 0.2
            print(f"1,000 requests, concurrency 50, 200 ms latency: {seconds:.2f} s (ideal {ideal:.1f} s; "
                  f"target <= {1.3 * ideal:.1f} s, ratio {seconds / ideal:.2f}); sent {sent}")
            cache.close()
        with ServerProcess() as server:
            cache = ResponseCache(Path(tmp) / "zero.sqlite")
            baseline = asyncio.run(bare_sdk(server.base_url, [Item(f"b{i}", f"基线{i}") for i in range(1000)], 50))
            seconds, sent = asyncio.run(timed_run(server.base_url, cache, items(1000), 50))
            overhead = (seconds - baseline) / 1000 * 1000
            print(f"1,000 requests at zero latency: {seconds:.2f} s through the runner, {baseline:.2f} s through the "
                  f"bare SDK; harness overhead {overhead:.2f} ms per request (target < 2 ms, ratio {overhead / 2:.2f})")
            cached_batch = items(500)
            seconds, sent = asyncio.run(timed_run(server.base_url, cache, cached_batch, 50))
            print(f"fully cached re-run of 500 items: {seconds:.3f} s (target < 3 s, ratio {seconds / 3:.2f}); "
                  f"sent {sent}")
            cache.close()


if __name__ == "__main__":
    main()

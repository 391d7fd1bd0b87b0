"""The local OpenAI-compatible test server (tests/servers/openai_server.py), seen through the real
`openai` SDK: normal answers, each injected fault as the SDK surfaces it, the request log, and a
throughput sanity check. The server runs in its own process (tests/servers/server_process.py)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import urllib.request
from pathlib import Path

import openai
import pytest

from tests.servers.server_process import ServerProcess

API_KEY = "sk-test-not-a-real-key"
PROMPT = "请改正下面句子中的语法错误，只输出改正后的句子。\n句子：\n  我们要努力提高学习的效率和方法。  \n"
SOURCE = "我们要努力提高学习的效率和方法。"


def client(srv: ServerProcess, timeout: float = 5.0, max_retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.base_url, api_key=API_KEY, max_retries=max_retries, timeout=timeout)


def ask(c: openai.OpenAI, content: str = PROMPT, model: str = "test-model"):
    return c.chat.completions.create(model=model, messages=[{"role": "user", "content": content}])


def canonical_sha256(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                          .encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- normal answers


def test_completion_replies_last_line_with_usage_and_fingerprint(tmp_path: Path) -> None:
    with ServerProcess() as srv, client(srv) as c:
        messages = [{"role": "system", "content": "你是语法纠错助手。"}, {"role": "user", "content": PROMPT}]
        r = c.chat.completions.create(model="test-model", messages=messages)
        assert r.object == "chat.completion"
        assert r.model == "test-model"
        assert r.system_fingerprint == "fp_test"
        assert r.id.startswith("chatcmpl-")
        assert len(r.choices) == 1
        choice = r.choices[0]
        assert (choice.index, choice.finish_reason, choice.message.role) == (0, "stop", "assistant")
        assert choice.message.content == SOURCE
        prompt_chars = len("你是语法纠错助手。") + len(PROMPT)
        assert r.usage.prompt_tokens == prompt_chars
        assert r.usage.completion_tokens == len(SOURCE)
        assert r.usage.total_tokens == prompt_chars + len(SOURCE)


def test_model_name_variants_and_model_list() -> None:
    with ServerProcess() as srv, client(srv) as c:
        assert ask(c, model="test-model-prefix").choices[0].message.content == "修改后的句子：" + SOURCE
        assert ask(c, model="test-model-echo-prompt").choices[0].message.content == PROMPT
        # Only the last user message counts.
        r = c.chat.completions.create(model="test-model", messages=[
            {"role": "user", "content": "第一句。"}, {"role": "assistant", "content": "好。"},
            {"role": "user", "content": "前文\n第二句。"}])
        assert r.choices[0].message.content == "第二句。"
        ids = [m.id for m in c.models.list()]
        assert "test-model" in ids and len(ids) >= 2


def test_unknown_route_and_bad_n_are_openai_errors() -> None:
    with ServerProcess() as srv, client(srv) as c:
        with pytest.raises(openai.NotFoundError):
            c.files.list()                       # not served (yet): a 404 in OpenAI's error format
        with pytest.raises(openai.BadRequestError, match="n=1"):
            c.chat.completions.create(model="test-model", messages=[{"role": "user", "content": "x"}], n=2)


# --------------------------------------------------------------------------- faults, as the SDK surfaces them


def test_429_is_rate_limit_error_with_retry_after_headers() -> None:
    with ServerProcess("--fail-first", "1", "--faults", "429", "--retry-after-ms", "50") as srv, client(srv) as c:
        with pytest.raises(openai.RateLimitError) as info:
            ask(c)
        e = info.value
        assert e.status_code == 429
        assert e.response.headers["retry-after-ms"] == "50"
        assert e.response.headers["retry-after"] == "0.05"
        assert e.code == "rate_limit_exceeded"
        assert ask(c).choices[0].message.content == SOURCE      # attempt 2 of the same body


def test_500_is_internal_server_error() -> None:
    with ServerProcess("--fail-first", "1", "--faults", "500") as srv, client(srv) as c:
        with pytest.raises(openai.InternalServerError) as info:
            ask(c)
        assert info.value.status_code == 500
        assert info.value.type == "server_error"
        assert ask(c).choices[0].message.content == SOURCE


def test_timeout_is_api_timeout_error() -> None:
    with ServerProcess("--fail-first", "1", "--faults", "timeout", "--hang-s", "2") as srv, \
            client(srv, timeout=0.5) as c:
        start = time.perf_counter()
        with pytest.raises(openai.APITimeoutError):
            ask(c)
        assert time.perf_counter() - start < 1.5
        assert ask(c).choices[0].message.content == SOURCE


def test_malformed_json_is_a_bare_json_decode_error_not_retried(tmp_path: Path) -> None:
    # The SDK does not wrap an unparsable 200 body: json.JSONDecodeError (a ValueError) escapes,
    # it is not an openai.OpenAIError, and the SDK's own retries do not retry it.
    log = tmp_path / "requests.jsonl"
    with ServerProcess("--fail-first", "1", "--faults", "malformed", log=log) as srv, \
            client(srv, max_retries=2) as c:
        with pytest.raises(json.JSONDecodeError) as info:
            ask(c)
        assert not isinstance(info.value, openai.OpenAIError)
        assert [(r["attempt"], r["outcome"], r["status"]) for r in srv.requests()] == [(1, "malformed", 200)]
        assert ask(c).choices[0].message.content == SOURCE


def test_empty_is_a_normal_completion_with_empty_content() -> None:
    with ServerProcess("--fail-first", "1", "--faults", "empty") as srv, client(srv) as c:
        r = ask(c)
        assert r.choices[0].message.content == ""
        assert r.choices[0].finish_reason == "stop"
        assert r.usage.completion_tokens == 0
        assert ask(c).choices[0].message.content == SOURCE


def test_disconnect_is_api_connection_error() -> None:
    with ServerProcess("--fail-first", "1", "--faults", "disconnect") as srv, client(srv) as c:
        with pytest.raises(openai.APIConnectionError) as info:
            ask(c)
        assert not isinstance(info.value, openai.APITimeoutError)
        assert ask(c).choices[0].message.content == SOURCE


def test_fail_first_cycles_kinds_per_body_and_sdk_retries_recover(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    with ServerProcess("--fail-first", "2", "--faults", "429,500", "--retry-after-ms", "10", log=log) as srv:
        with client(srv) as c:
            with pytest.raises(openai.RateLimitError):
                ask(c, "甲")
            with pytest.raises(openai.RateLimitError):
                ask(c, "乙")                       # another body: its own attempt 1
            with pytest.raises(openai.InternalServerError):
                ask(c, "甲")
            assert ask(c, "甲").choices[0].message.content == "甲"
        with client(srv, max_retries=2) as c:    # the SDK's retries get through both faults
            assert ask(c, "丙").choices[0].message.content == "丙"
        got = [(r["body"]["messages"][0]["content"], r["attempt"], r["outcome"])
               for r in sorted(srv.requests(), key=lambda r: r["seq"])]
        assert got == [("甲", 1, "429"), ("乙", 1, "429"), ("甲", 2, "500"), ("甲", 3, "ok"),
                       ("丙", 1, "429"), ("丙", 2, "500"), ("丙", 3, "ok")]


def test_fault_rate_is_seeded_per_body_and_capped(tmp_path: Path) -> None:
    def outcomes(log: Path) -> list[tuple[str, int, str]]:
        with ServerProcess("--fault-rate", "0.6", "--seed", "7", "--faults", "429,500",
                           "--max-faults-per-body", "2", "--retry-after-ms", "1", log=log) as srv, client(srv) as c:
            for i in range(20):
                for _ in range(4):               # at most 2 faults per body, so the 3rd try succeeds
                    try:
                        assert ask(c, f"句子{i}").choices[0].message.content == f"句子{i}"
                        break
                    except (openai.RateLimitError, openai.InternalServerError):
                        pass
                else:
                    pytest.fail(f"body {i} never succeeded")
            return [(r["body"]["messages"][0]["content"], r["attempt"], r["outcome"]) for r in srv.requests()]

    first = outcomes(tmp_path / "a.jsonl")
    assert first == outcomes(tmp_path / "b.jsonl")          # same seed, same faults
    faults = [o for o in first if o[2] != "ok"]
    assert 5 <= len(faults) <= 40 and {o[2] for o in faults} == {"429", "500"}
    per_body: dict[str, int] = {}
    for content, _, outcome in faults:
        per_body[content] = per_body.get(content, 0) + 1
    assert max(per_body.values()) <= 2


# --------------------------------------------------------------------------- the request log


def test_log_records_bodies_attempts_outcomes_and_never_the_key(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    with ServerProcess("--fail-first", "1", "--faults", "500", log=log) as srv, client(srv) as c:
        with pytest.raises(openai.InternalServerError):
            ask(c)
        ask(c)
        c.models.list()
        records = srv.requests()
    assert [r["seq"] for r in records] == [1, 2, 3]
    first, second, models = records
    for r in (first, second):
        assert (r["method"], r["path"]) == ("POST", "/v1/chat/completions")
        assert r["body"]["model"] == "test-model"
        assert r["body"]["messages"] == [{"role": "user", "content": PROMPT}]
        assert r["body_sha256"] == canonical_sha256(r["body"])
        assert isinstance(r["t"], float) and abs(r["t"] - time.time()) < 60
    assert first["body_sha256"] == second["body_sha256"]
    assert [(r["attempt"], r["outcome"], r["status"]) for r in (first, second)] == [(1, "500", 500), (2, "ok", 200)]
    assert (models["method"], models["path"], models["body"], models["outcome"]) == ("GET", "/v1/models", None, "ok")
    assert {r["auth_sha256"] for r in records} == {hashlib.sha256(f"Bearer {API_KEY}".encode()).hexdigest()}
    text = log.read_text(encoding="utf-8")
    assert API_KEY not in text and "Bearer" not in text


# --------------------------------------------------------------------------- process handling and throughput


def test_admin_shutdown_stops_the_process() -> None:
    with ServerProcess() as srv:
        req = urllib.request.Request(srv.url("/v1/_admin/shutdown"), data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert json.load(resp) == {"ok": True}
        assert srv.proc.wait(timeout=5) == 0


def test_bad_arguments_raise_a_clear_error_with_stderr() -> None:
    with pytest.raises(RuntimeError, match="unknown fault kind"):
        ServerProcess("--faults", "429,teapot")


def test_throughput_200_requests_at_concurrency_50(tmp_path: Path) -> None:
    n, concurrency = 200, 50
    log = tmp_path / "requests.jsonl"

    async def run(srv: ServerProcess) -> float:
        sem = asyncio.Semaphore(concurrency)
        async with openai.AsyncOpenAI(base_url=srv.base_url, api_key=API_KEY, max_retries=0, timeout=10) as ac:
            async def one(i: int) -> None:
                async with sem:
                    r = await ac.chat.completions.create(
                        model="test-model", messages=[{"role": "user", "content": f"改正：\n句子{i}。"}])
                    assert r.choices[0].message.content == f"句子{i}。"

            start = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(n)))
            return time.perf_counter() - start

    with ServerProcess("--latency-ms", "200", log=log) as srv:
        elapsed = asyncio.run(run(srv))
        records = srv.requests()
    # Ideal: 200 / 50 * 0.2 s = 0.8 s; sequential would be 40 s. Most of the rest is the SDK's own CPU time.
    assert elapsed < 3.0, f"{n} requests at concurrency {concurrency} took {elapsed:.2f} s"
    assert len(records) == n and all(r["outcome"] == "ok" for r in records)

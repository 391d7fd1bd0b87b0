"""`harness run` with the openai-batch backend against the local server (real SDK): batches
split at the request limit, unordered output joined on custom_id, the shared cache, failed and
expired batches, and resuming."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import REPO, run_cli
from tests.servers.server_process import ServerProcess

pytestmark = pytest.mark.slow  # end-to-end runs through the CLI: `make test-all`

KEY = "sk-test.batch.0123456789abcdef"  # dots: not mistaken for a real key by scanners
N = 20


@pytest.fixture()
def dataset(dev20) -> Path:
    return dev20  # N sentences


def config(tmp_path: Path, dataset: Path, base_url: str, backend: str = "openai-batch", name: str = "b",
           extra: str = "") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"""
name: {name}
dataset: {{path: {dataset}}}
model:
  backend: {backend}
  model: test-model-prefix
  base_url: {base_url}
  params: {{temperature: 0}}
  poll_interval: 0.05
  max_batch_requests: 8
{extra}
prompt: {{user: "请改正：\\n{{source}}"}}
scoring: {{levels: [char]}}
""", encoding="utf-8")
    return path


def run(path: Path, out: Path, env: dict, *extra: str):
    return run_cli(["run", "--config", str(path), "--out", str(out), "--no-progress", *extra], env)


def records(out: Path, name: str = "b") -> list[dict]:
    return [json.loads(line) for line in (out / name / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]


def calls(server: ServerProcess, method: str, suffix: str) -> int:
    return sum(r["method"] == method and r["path"].endswith(suffix) for r in server.requests())


def test_batch_run_joins_unordered_output_and_feeds_the_chat_cache(tmp_path, dataset, cli_env):
    env = dict(cli_env, OPENAI_API_KEY=KEY)
    out = tmp_path / "runs"
    with ServerProcess("--platform", "--batch-step-s", "0.05", log=tmp_path / "log.jsonl") as server:
        result = run(config(tmp_path, dataset, server.base_url), out, env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert calls(server, "POST", "/batches") == 3  # 20 requests, at most 8 a batch
        recs = records(out)
        assert [r["id"] for r in recs] == [str(i) for i in range(1, N + 1)]
        assert all(r["response"]["text"] == "修改后的句子：" + r["source"] and r["prediction"] == r["source"] for r in recs)
        manifest = json.loads((out / "b" / "manifest.json").read_text())
        assert manifest["backend"]["backend"] == "openai-batch" and manifest["requests"]["sent"] == N
        # The same requests through the chat backend are answered from the cache.
        chat = run(config(tmp_path, dataset, server.base_url, backend="openai", name="chat"), out, env)
        assert chat.returncode == 0, chat.stderr
        assert calls(server, "POST", "/chat/completions") == 0
        assert all(r["cached"] for r in records(out, "chat"))
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "log.jsonl" and KEY.encode() in p.read_bytes()]


def test_a_failed_batch_fails_its_items_with_the_reason_and_keeps_the_record(tmp_path, dataset, cli_env):
    env = dict(cli_env, OPENAI_API_KEY=KEY)
    out = tmp_path / "runs"
    with ServerProcess("--platform", "--batch-step-s", "0.05") as server:
        result = run(config(tmp_path, dataset, server.base_url, extra="  batch_metadata: {test_outcome: failed}"),
                     out, env)
    assert result.returncode == 1
    assert all(r["error"] and "failed" in r["error"] for r in records(out))
    state = json.loads((out / ".b.batch.json").read_text())
    assert {b["status"] for b in state["batches"]} == {"failed"}


def answered_per_item(server: ServerProcess) -> dict[str, int]:
    """How many times the server executed (and so billed) each request, over all its batches."""
    import openai

    client = openai.OpenAI(api_key=KEY, base_url=server.base_url, max_retries=0)
    counts: dict[str, int] = {}
    for batch in client.batches.list(limit=100).data:
        if batch.output_file_id:
            for line in client.files.content(batch.output_file_id).text.splitlines():
                item = json.loads(line)["custom_id"]
                counts[item] = counts.get(item, 0) + 1
    return counts


def test_an_expired_batch_keeps_what_was_done_and_a_rerun_asks_only_for_the_rest(tmp_path, dataset, cli_env):
    env = dict(cli_env, OPENAI_API_KEY=KEY)
    out = tmp_path / "runs"
    with ServerProcess("--platform", "--batch-step-s", "0.05", log=tmp_path / "log.jsonl") as server:
        expired = run(config(tmp_path, dataset, server.base_url,
                             extra="  retries: 0\n  batch_metadata: {test_outcome: expired}"), out, env)
        assert expired.returncode == 1
        done = [r for r in records(out) if r["error"] is None]
        failed = [r for r in records(out) if r["error"]]
        assert done and failed and all("expired" in r["error"] for r in failed)
        rerun = run(config(tmp_path, dataset, server.base_url), out, env)
        assert rerun.returncode == 0, rerun.stdout
        batch_inputs = [r for r in server.requests() if r["method"] == "POST" and r["path"].endswith("/batches")]
        paid = answered_per_item(server)
    # Only the failed items went into the second run's batches, and every item was paid once.
    assert sum(r["cached"] for r in records(out)) == len(done)
    assert len(batch_inputs) == 3 + -(-len(failed) // 8)
    assert paid == {str(i): 1 for i in range(1, N + 1)}


def test_expired_items_are_asked_again_in_a_new_batch_within_the_run(tmp_path, dataset, cli_env):
    """The runner's retry policy applies to batches too: an expired request is retried (in a new
    batch), never the ones its batch answered."""
    env = dict(cli_env, OPENAI_API_KEY=KEY)
    with ServerProcess("--platform", "--batch-step-s", "0.05") as server:
        path = config(tmp_path, dataset, server.base_url, extra="  retries: 2\n  batch_metadata: {test_outcome: expired}")
        result = run(path, tmp_path / "runs", env)
        paid = answered_per_item(server)
    assert result.returncode == 1  # every batch of this server expires half its requests
    assert set(paid.values()) == {1}
    errors = [r for r in records(tmp_path / "runs") if r["error"]]
    assert errors and all("after 3 attempts" in r["error"] for r in errors)
    assert len(paid) + len(errors) == N


def test_a_failed_download_is_tried_again_not_paid_again(tmp_path, dataset, cli_env):
    env = dict(cli_env, OPENAI_API_KEY=KEY)
    with ServerProcess("--platform", "--batch-step-s", "0.05", "--fail-downloads", "2",
                       log=tmp_path / "log.jsonl") as server:
        result = run(config(tmp_path, dataset, server.base_url), tmp_path / "runs", env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert calls(server, "POST", "/batches") == 3
        paid = answered_per_item(server)
    assert paid == {str(i): 1 for i in range(1, N + 1)}


def test_a_failed_batch_creation_pays_nothing_twice(tmp_path, dataset, cli_env):
    """The second of three batches cannot be created: its requests go into another batch; the
    first batch's items are not asked again and that batch is collected."""
    env = dict(cli_env, OPENAI_API_KEY=KEY)
    with ServerProcess("--platform", "--batch-step-s", "0.05", "--fail-batch-create", "2",
                       log=tmp_path / "log.jsonl") as server:
        result = run(config(tmp_path, dataset, server.base_url), tmp_path / "runs", env)
        assert result.returncode == 0, result.stdout + result.stderr
        # 3 batches, one of which failed, and its retry; how requests group into batches depends on
        # when they reach the queue, so under load there can be more (what is paid is checked below).
        assert calls(server, "POST", "/batches") >= 4
        paid = answered_per_item(server)
    assert paid == {str(i): 1 for i in range(1, N + 1)}
    assert all(r["error"] is None for r in records(tmp_path / "runs"))


def test_a_rerun_after_the_batches_completed_collects_them_and_pays_nothing(tmp_path, dataset, cli_env):
    """The cache is gone (another machine, or a wiped cache) but the batch state is there."""
    env = dict(cli_env, OPENAI_API_KEY=KEY)
    out = tmp_path / "runs"
    with ServerProcess("--platform", "--batch-step-s", "0.05", log=tmp_path / "log.jsonl") as server:
        assert run(config(tmp_path, dataset, server.base_url), out, env).returncode == 0
        fresh = dict(env, CGEC_CACHE_DIR=str(tmp_path / "another-cache"))
        again = run(config(tmp_path, dataset, server.base_url), out, fresh, "--fresh")
        assert again.returncode == 0, again.stdout + again.stderr
        assert calls(server, "POST", "/batches") == 3
        paid = answered_per_item(server)
    assert paid == {str(i): 1 for i in range(1, N + 1)}


def test_an_interrupted_batch_run_resumes_polling_the_same_batches(tmp_path, dataset, cli_env):
    env = dict(cli_env, OPENAI_API_KEY=KEY)
    out = tmp_path / "runs"
    with ServerProcess("--platform", "--batch-step-s", "1.0", log=tmp_path / "log.jsonl") as server:
        path = config(tmp_path, dataset, server.base_url)
        process = subprocess.Popen([sys.executable, "-m", "harness", "run", "--config", str(path), "--out", str(out),
                                    "--no-progress"], env=env, cwd=REPO,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        state = out / ".b.batch.json"
        deadline = time.time() + 30
        while time.time() < deadline and not (state.is_file() and len(json.loads(state.read_text())["batches"]) == 3):
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        created = calls(server, "POST", "/batches")
        result = run(path, out, env)
        assert result.returncode == 0, result.stdout
        assert calls(server, "POST", "/batches") == created == 3
    assert all(r["error"] is None for r in records(out))

"""`python -m harness run` end to end against the local OpenAI-compatible server (a separate
process, used through the real SDK), with scripted faults, kills and bad configs."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import REPO, TEST_SECRET, records, run, run_cli, write_config
from tests.servers.server_process import ServerProcess

pytestmark = pytest.mark.slow  # end-to-end runs through the CLI: `make test-all`

SECRET = TEST_SECRET
N_ITEMS = 20


@pytest.fixture()
def dataset(dev20) -> Path:
    return dev20  # N_ITEMS sentences




def successes_per_body(requests: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for request in requests:
        if request["path"].endswith("/chat/completions"):
            counts.setdefault(request["body_sha256"], 0)
            counts[request["body_sha256"]] += request["outcome"] == "ok"
    return counts


def test_run_writes_predictions_metrics_and_manifest(tmp_path, dataset, env):
    out = tmp_path / "runs"
    with ServerProcess(log=tmp_path / "requests.jsonl") as server:
        result = run(write_config(tmp_path, dataset, server.base_url), out, env)
    assert result.returncode == 0, result.stderr
    recs = records(out)
    assert [r["id"] for r in recs] == [str(i) for i in range(1, N_ITEMS + 1)]
    # The test model answers 修改后的句子：<last line of the prompt>, i.e. the source.
    assert all(r["response"]["text"].startswith("修改后的句子：") and r["prediction"] == r["source"] for r in recs)
    assert all("prefix" in r["cleaning"] and r["error"] is None and not r["cached"] for r in recs)
    metrics = json.loads((out / "srv" / "metrics.json").read_text())
    assert (metrics["char"]["tp"], metrics["char"]["fp"]) == (0, 0) and metrics["complete"] is True
    manifest = json.loads((out / "srv" / "manifest.json").read_text())
    assert manifest["model"]["system_fingerprints"] == ["fp_test"]
    assert manifest["requests"] == {"sent": N_ITEMS, "cached": 0, "failed": 0, "retries": 0}
    assert manifest["tokens"]["all"]["total_tokens"] > 0 and len(manifest["config_sha256"]) == 64
    assert manifest["dataset"]["sha256"] and manifest["versions"]["openai"]
    assert "| char" in result.stdout


def test_a_second_run_is_answered_from_the_cache(tmp_path, dataset, env):
    out = tmp_path / "runs"
    log = tmp_path / "requests.jsonl"
    with ServerProcess(log=log) as server:
        config = write_config(tmp_path, dataset, server.base_url)
        assert run(config, out, env).returncode == 0
        first = records(out)
        second_result = run(config, out, env)
        assert second_result.returncode == 0
        assert len(server.chat_requests()) == N_ITEMS
    # Same config, same served model, same answers: the folder already holds this record.
    assert f"{N_ITEMS} items: 0 sent, {N_ITEMS} cached" in second_result.stdout
    assert "unchanged: it already holds this record" in second_result.stdout
    assert records(out) == first


def test_rate_limits_and_server_errors_are_retried_until_every_item_completes(tmp_path, dataset, env):
    out = tmp_path / "runs"
    with ServerProcess("--fault-rate", "0.3", "--faults", "429,500", "--seed", "7", "--retry-after-ms", "20",
                       log=tmp_path / "requests.jsonl") as server:
        result = run(write_config(tmp_path, dataset, server.base_url, retries=8), out, env)
        requests = server.requests()
    assert result.returncode == 0, result.stdout + result.stderr
    assert any(r["outcome"] in ("429", "500") for r in requests), "the server injected no fault"
    assert set(successes_per_body(requests).values()) == {1}  # no body answered successfully twice
    assert all(r["error"] is None for r in records(out))


def test_kill_9_then_rerun_sends_only_what_is_missing_and_matches_an_uninterrupted_run(tmp_path, dataset, env):
    out = tmp_path / "runs"
    log = tmp_path / "requests.jsonl"
    cache = Path(env["CGEC_CACHE_DIR"]) / "responses.sqlite"
    with ServerProcess("--latency-ms", "150", log=log) as server:
        config = write_config(tmp_path, dataset, server.base_url, concurrency=2)
        process = subprocess.Popen([sys.executable, "-m", "harness", "run", "--config", str(config), "--out",
                                    str(out), "--no-progress"], env=env, cwd=REPO,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            if cache.is_file() and _rows(cache) >= 6:
                break
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        committed = _rows(cache)
        assert 6 <= committed < N_ITEMS
        before = len(server.chat_requests())
        result = run(config, out, env)
        assert result.returncode == 0, result.stderr
        resent = len(server.chat_requests()) - before
    assert resent == N_ITEMS - committed
    assert sum(r["cached"] for r in records(out)) == committed
    # An uninterrupted run with a fresh cache gives the same predictions.
    fresh_env = dict(env, CGEC_CACHE_DIR=str(tmp_path / "fresh-cache"))
    with ServerProcess() as server:
        assert run(write_config(tmp_path, dataset, server.base_url, name="clean"), out, fresh_env).returncode == 0
    assert [r["prediction"] for r in records(out, "clean")] == [r["prediction"] for r in records(out)]


def _rows(path: Path) -> int:
    try:
        with sqlite3.connect(path) as db:
            return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize("fault, reason", [("malformed", "malformed response"), ("empty", "empty content"),
                                           ("timeout", "timed out")])
def test_malformed_empty_and_timed_out_answers_fail_the_item_not_the_run(fault, reason, tmp_path, dataset, env):
    out = tmp_path / "runs"
    with ServerProcess("--fail-first", "5", "--faults", fault, "--hang-s", "1.5", "--max-faults-per-body", "5",
                       log=tmp_path / "requests.jsonl") as server:
        result = run(write_config(tmp_path, dataset, server.base_url, retries=1, timeout=0.4), out, env)
    assert result.returncode == 1
    recs = records(out)
    assert all(r["error"] and reason in r["error"] for r in recs)
    assert "failed ids (20)" in result.stdout and "--retry-failed" in result.stdout
    assert "every item failed (20):\n     20  " in result.stdout and "| char" not in result.stdout  # no table
    metrics = json.loads((out / "srv" / "metrics.json").read_text())
    assert metrics["failed"] == N_ITEMS and metrics["complete"] is False
    assert "Traceback" not in result.stderr


def test_retry_failed_asks_only_for_the_failed_items(tmp_path, dataset, env):
    out = tmp_path / "runs"
    # Item bodies differ only by source; fail the first attempt of every body with "empty"
    # (not retried) so that the whole first run fails ...
    with ServerProcess("--fail-first", "1", "--faults", "empty", log=tmp_path / "a.jsonl") as server:
        config = write_config(tmp_path, dataset, server.base_url, retries=0)
        assert run(config, out, env, "--limit", "5").returncode == 1
        # ... then a normal run of all 20 asks the 5 failed items again (they succeed) and 15 new ones.
        assert run(config, out, env).returncode == 1  # the 15 new items fail their first attempt
        assert len(server.chat_requests()) == 5 + 20
    with ServerProcess("--fail-first", "1", "--faults", "empty", log=tmp_path / "b.jsonl") as server:
        config = write_config(tmp_path, dataset, server.base_url, retries=0, name="srv")
        first = run(config, out, env, "--fresh")
        failed = [r["id"] for r in records(out) if r["error"]]
        assert first.returncode == 1 and len(failed) == N_ITEMS
        retried = run(config, out, env, "--retry-failed")
        assert retried.returncode == 0, retried.stdout
        assert len(server.chat_requests()) == N_ITEMS * 2
    assert all(r["error"] is None for r in records(out))


def test_no_request_contains_a_reference_sentence(tmp_path, dataset, env):
    references = set()
    for line in dataset.read_text(encoding="utf-8").splitlines():
        _, source, *targets = line.split("\t")
        references.update(t for t in targets if t != source)
    with ServerProcess(log=tmp_path / "requests.jsonl") as server:
        assert run(write_config(tmp_path, dataset, server.base_url), tmp_path / "runs", env).returncode == 0
        bodies = [json.dumps(r["body"], ensure_ascii=False) for r in server.chat_requests()]
    assert len(bodies) == N_ITEMS and references
    assert not [ref for ref in references for body in bodies if ref in body]


def test_the_api_key_is_written_nowhere(tmp_path, dataset, env):
    out = tmp_path / "runs"
    with ServerProcess("--fail-first", "1", "--faults", "500", log=tmp_path / "requests.jsonl") as server:
        config = write_config(tmp_path, dataset, server.base_url, retries=0)
        results = [run(config, out, env), run(config, out, env, "--retry-failed"), run(config, out, env, "--dry-run")]
    for result in results:
        assert SECRET not in result.stdout + result.stderr
    written = [p for root in (out, Path(env["CGEC_CACHE_DIR"])) for p in root.rglob("*") if p.is_file()]
    assert written
    assert not [p for p in written if SECRET.encode() in p.read_bytes()]


def test_dry_run_prints_the_first_request_and_sends_nothing(tmp_path, dataset, env):
    with ServerProcess(log=tmp_path / "requests.jsonl") as server:
        result = run(write_config(tmp_path, dataset, server.base_url), tmp_path / "runs", env, "--dry-run")
        assert server.requests() == []
    assert result.returncode == 0
    assert '"role": "system"' in result.stdout and "estimated cost" in result.stdout


def bad_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text, words", [
    ("name: x\ndataset: nacgec-dev\nmodel: {backend: stored, predictions: llm-goodgap}\ncolour: red\n", "colour: unknown key"),
    ("name: x\ndataset: nacgec-dev\nmodel: {backend: openai, model: m, api_key_env: CGEC_UNSET_KEY_VAR}\n",
     "CGEC_UNSET_KEY_VAR is not set"),
    ("name: x\ndataset: no-such-set\nmodel: {backend: stored, predictions: llm-goodgap}\n", "unknown dataset 'no-such-set'"),
    ("name: x\ndataset: nacgec-dev\nmodel: {backend: stored, predictions: /nonexistent/preds.txt}\n", "model.predictions"),
    ("name: x\ndataset: nacgec-dev\nmodel: {backend: openai, model: m, params: {temprature: 0}}\n", "model.params.temprature"),
])
def test_bad_configs_fail_before_any_request_with_one_message(text, words, tmp_path, env):
    result = run(bad_config(tmp_path, text), tmp_path / "runs", env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().split("\n")
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert not (tmp_path / "runs").exists()


def test_stored_predictions_with_the_wrong_line_count_are_refused(tmp_path, env):
    predictions = tmp_path / "preds.txt"
    predictions.write_text("一\n二\n", encoding="utf-8")
    text = f"name: x\ndataset: nacgec-dev\nmodel: {{backend: stored, predictions: {predictions}}}\n"
    result = run(bad_config(tmp_path, text), tmp_path / "runs", env)
    assert result.returncode == 2
    assert f"{predictions}:3" in result.stderr and "2 prediction lines but the dataset has 500" in result.stderr


def test_stored_llm_run_scores_like_the_cleaned_file(tmp_path, env):
    out = tmp_path / "runs"
    result = run(REPO / "configs" / "llm-stored.yaml", out, env)
    assert result.returncode == 0, result.stderr
    cleaned = tmp_path / "cleaned.txt"
    cleaned.write_text("".join(r["prediction"] + "\n" for r in records(out, "llm-stored")), encoding="utf-8")
    scored = run_cli(["score", "--hyp", str(cleaned), "--ref", "nacgec-dev", "--json"], env)
    metrics = json.loads((out / "llm-stored" / "metrics.json").read_text())
    expected = json.loads(scored.stdout)
    for level in ("char", "word"):
        assert {k: metrics[level][k] for k in ("tp", "fp", "fn", "precision", "recall", "f0.5")} == \
               {k: expected[level][k] for k in ("tp", "fp", "fn", "precision", "recall", "f0.5")}
    assert metrics["nlpcc2023"] == expected["nlpcc2023"]


def test_tokens_per_second_is_the_same_at_any_concurrency(tmp_path, dev20, env):
    """A single-slot server (one request generates at a time, 1.5 ms a token): the speed of the
    model is the same however many requests wait; tokens over summed latency would halve."""
    speeds = {}
    for concurrency in (1, 2, 4):
        with ServerProcess("--token-ms", "1.5") as server:
            config = write_config(tmp_path, dev20, server.base_url, name=f"c{concurrency}", concurrency=concurrency)
            result = run(config, tmp_path / "runs", env)
            assert result.returncode == 0, result.stderr
        generation = json.loads((tmp_path / "runs" / f"c{concurrency}" / "manifest.json").read_text())["generation"]
        speeds[concurrency] = generation["completion_tokens_per_second"]
        assert generation["latency_p50_seconds"] <= generation["latency_p95_seconds"]
        assert "tokens/s over" in result.stdout and "latency p50" in result.stdout
    assert max(speeds.values()) <= 1.15 * min(speeds.values()), speeds

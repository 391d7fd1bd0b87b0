"""Hostile inputs and faults through the CLI: each ends in the right result or in a one-line
error naming the file (and line or key), exit code 2, no traceback, nothing half-written."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import REPO, TEST_SECRET, one_line_error, records, run, run_cli, write_config
from tests.servers.server_process import ServerProcess

SECRET = TEST_SECRET
N_ITEMS = 20




def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


# --------------------------------------------------------------------------------------------
# Keys, stops, waits


def test_a_401_that_echoes_the_key_stops_the_run_and_the_key_reaches_no_file(tmp_path, dev20, env):
    out, cache = tmp_path / "runs", Path(env["CGEC_CACHE_DIR"])
    with ServerProcess("--fail-first", "9", "--faults", "401", log=tmp_path / "requests.jsonl") as server:
        result = run(write_config(tmp_path, dev20, server.base_url, concurrency=1), out, env)
        answered = server.chat_requests()
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert "HTTP 401" in result.stderr and "[REDACTED]" in result.stderr and "CGEC_TEST_KEY was refused" in result.stderr
    assert f"{N_ITEMS - 1} items were not sent" in result.stderr
    assert len(answered) == 1  # nothing was sent after the 401
    assert not [p for p in files_under(out, cache) if SECRET.encode() in p.read_bytes()]
    assert not (out / "srv").exists()


@pytest.mark.slow
def test_a_retry_after_of_an_hour_is_capped_and_said(tmp_path, dev20, env):
    with ServerProcess("--fail-first", "1", "--faults", "429", "--retry-after-ms", "3600000") as server:
        config = write_config(tmp_path, dev20, server.base_url, extra="")
        text = config.read_text(encoding="utf-8").replace("  retries: 6\n", "  retries: 6\n  retry_after_cap: 0.2\n")
        config.write_text(text, encoding="utf-8")
        started = time.monotonic()
        result = run(config, tmp_path / "runs", env)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 60
    assert "the server asked 3600 s; retry_after_cap is 0.2 s" in result.stdout


@pytest.mark.slow
def test_a_restarting_local_server_is_waited_for(tmp_path, dev20, env):
    """Connection errors are retried for tens of seconds (not the quick retries of other
    errors), so items in flight while a local server restarts are not lost. Between the two
    servers the port accepts connections and drops them, more often than `retries` allows."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with ServerProcess("--port", str(port), "--latency-ms", "200", log=tmp_path / "requests.jsonl") as server:
        config = write_config(tmp_path, dev20, server.base_url, retries=1, concurrency=1)
        process = subprocess.Popen([sys.executable, "-m", "harness", "run", "--config", str(config), "--out",
                                    str(tmp_path / "runs"), "--no-progress"], env=env, cwd=REPO,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while len(server.chat_requests()) < 2 and time.monotonic() < deadline:  # the run is asking
            time.sleep(0.05)
        assert len(server.chat_requests()) >= 2, server.stderr()
    with socket.socket() as dropper:
        dropper.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        dropper.bind(("127.0.0.1", port))
        dropper.listen()
        dropper.settimeout(60)
        for _ in range(4):  # four failed connections: beyond retries=1
            connection, _ = dropper.accept()
            connection.close()
    with ServerProcess("--port", str(port)):
        stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stdout + stderr
    assert all(r["error"] is None for r in records(tmp_path / "runs"))


@pytest.mark.slow
def test_replies_with_unicode_line_separators_are_read_back(tmp_path, dev20, env):
    out = tmp_path / "runs"
    with ServerProcess() as server:
        config = write_config(tmp_path, dev20, server.base_url, model="test-model-separators")
        assert run(config, out, env).returncode == 0
        again = run(config, out, env, "--retry-failed")
    assert again.returncode == 0 and "nothing to retry" in again.stdout
    text = (out / "srv" / "predictions.jsonl").read_text(encoding="utf-8")
    assert len(text.splitlines()) == N_ITEMS  # str.splitlines splits on U+2028 too: none is raw
    assert all("\u2028" in r["response"]["text"] for r in records(out))
    shown = run_cli(["show", str(out / "srv"), "--id", "1"], env)
    assert shown.returncode == 0, shown.stderr


@pytest.mark.slow
def test_ctrl_c_keeps_the_replies_in_flight(tmp_path, dev20, env):
    out, cache = tmp_path / "runs", Path(env["CGEC_CACHE_DIR"]) / "responses.sqlite"
    with ServerProcess("--latency-ms", "1500", log=tmp_path / "requests.jsonl") as server:
        config = write_config(tmp_path, dev20, server.base_url, concurrency=4)
        process = subprocess.Popen([sys.executable, "-m", "harness", "run", "--config", str(config), "--out",
                                    str(out), "--no-progress"], env=env, cwd=REPO,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while len(server.chat_requests()) < 4:
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)  # four requests in flight
        stdout, _ = process.communicate(timeout=60)
        assert process.returncode == 130
        assert "waiting for the replies in flight" in stdout
        asked = len(server.chat_requests())
        with sqlite3.connect(cache) as db:
            assert db.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == asked == 4
        assert run(config, out, env).returncode == 0
        assert len(server.chat_requests()) == N_ITEMS  # the rerun paid only for the rest


# --------------------------------------------------------------------------------------------
# Bad configs and arguments


def bad_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    return path


BASE = "name: x\ndataset: nacgec-dev\nmodel:\n  backend: openai\n  model: m\n  base_url: http://127.0.0.1:9/v1\n"


@pytest.mark.parametrize("extra, words", [
    ("  retries: 2.7\n", "model.retries: Input should be a valid integer"),
    ("  params: {temperature: hot}\n", "model.params.temperature: expected a number"),
    ("  params: {max_tokens: -5}\n", "model.params.max_tokens: Input should be greater than or equal to 1"),
    ('  params: {max_tokens: "64"}\n', "model.params.max_tokens: Input should be a valid integer, got '64'"),
    ("  batch_metadata: [a, b]\n", "model.batch_metadata: Input should be a valid dictionary"),
])
@pytest.mark.slow
def test_wrong_types_and_ranges_name_the_key_and_line(extra, words, tmp_path, env):
    path = bad_config(tmp_path, BASE + extra)
    for command in (["run", "--config", str(path), "--out", str(tmp_path / "runs")],
                    ["run", "--config", str(path), "--dry-run"]):
        one_line_error(run_cli(command, env), words, starts=f"error: {path}:7: ")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("text, words", [
    ('name: "a\\n"\ndataset: nacgec-dev\nmodel: {backend: stored, predictions: llm-goodgap}\n', "name: use letters"),
    ("name: x\ndataset: nacgec-dev\nmodel: {backend: openai, model: m, api_key_env: null}\n",
     "api_key_env: null (no key) is for local servers"),
])
def test_values_that_were_silently_accepted_are_refused(text, words, tmp_path, env):
    one_line_error(run_cli(["run", "--config", str(bad_config(tmp_path, text))], env), words, starts="error: ")


def test_a_config_that_is_a_folder_or_not_utf8_is_refused(tmp_path, env):
    one_line_error(run_cli(["run", "--config", str(tmp_path)], env), starts=f"error: {tmp_path}: is a folder")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: café\n".encode("latin-1"))
    one_line_error(run_cli(["run", "--config", str(latin)], env), starts=f"error: {latin}: not UTF-8")


@pytest.mark.parametrize("args", [["run", "--config", "configs/llm-stored.yaml", "--limit", "-3"],
                                  ["score", "--hyp", "llm-goodgap", "--ref", "nacgec-dev", "--jobs", "0"],
                                  ["score", "--hyp", "llm-goodgap", "--ref", "nacgec-dev", "--jobs", "-1"],
                                  ["finetune", "validate", "x.jsonl", "--epochs", "-3"]])
def test_non_positive_counts_are_refused(args, env):
    result = run_cli(args, env)
    assert result.returncode == 2 and "expected a whole number >= 1" in result.stderr


def test_finetune_validate_names_bad_weights_and_empty_answers(tmp_path, env):
    lines = [{"messages": [{"role": "user", "content": f"句{i}"}, {"role": "assistant", "content": f"句{i}。"}]}
             for i in range(12)]
    lines[3]["messages"][1]["weight"] = 7
    lines[5]["messages"][1]["content"] = "  "
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    result = run_cli(["finetune", "validate", str(path)], env)
    assert result.returncode == 2
    assert f"{path}:4: message 1: weight must be 0 or 1, got 7" in result.stdout
    assert f"{path}:6: message 1: empty assistant message" in result.stdout


# --------------------------------------------------------------------------------------------
# Bad files and folders


def test_m2_edits_with_an_empty_type_or_a_bad_span_are_refused(tmp_path, env):
    hyp = tmp_path / "hyp.txt"
    hyp.write_text("我去学校了。\n", encoding="utf-8")
    for edit, words in (("A 0 1||||||-NONE-|||REQUIRED|||-NONE-|||0", "empty type"),
                        ("A 3 1|||R|||-NONE-|||REQUIRED|||-NONE-|||0", "reversed or negative"),
                        ("A 5 9|||R|||-NONE-|||REQUIRED|||-NONE-|||0", "beyond the 6 source tokens")):
        ref = tmp_path / "ref.m2"
        ref.write_text(f"S 我 去 了 学 校 。\n{edit}\n\n", encoding="utf-8")
        one_line_error(run_cli(["score", "--level", "char", "--hyp", str(hyp), "--ref", str(ref)], env),
                       words, starts=f"error: {ref}:2: ")


@pytest.mark.slow
def test_outputs_that_cannot_be_written_are_refused(tmp_path, env):
    a_file = tmp_path / "a-file"
    a_file.write_text("x", encoding="utf-8")
    score = ["score", "--level", "char", "--hyp", "llm-goodgap", "--ref", "nacgec-dev"]
    one_line_error(run_cli(score + ["--m2-out", str(a_file)], env), starts=f"error: {a_file}: --m2-out")
    one_line_error(run_cli(["run", "--config", "configs/llm-stored.yaml", "--out", str(a_file)], env),
                   starts=f"error: {a_file}: cannot create the results folder")
    one_line_error(run_cli(["compare", "results/runs/llm-stored", "results/runs/local-gemma", "--out", str(a_file)],
                           env),
                   starts=f"error: {a_file}: --out: not a folder")
    one_line_error(run_cli(["table", "--out", str(tmp_path)], env), starts=f"error: {tmp_path}: is a folder")
    one_line_error(run_cli(score, dict(env, CGEC_CACHE_DIR=str(a_file))), starts=f"error: {a_file}: the cache")


def test_a_metrics_file_holding_a_list_is_refused(tmp_path, env):
    out = tmp_path / "runs"
    config = bad_config(tmp_path, "name: x\ndataset: nacgec-dev\nmodel: {backend: stored, predictions: llm-goodgap}\n"
                                  "scoring: {levels: [char]}\n")
    assert run(config, out, env, "--limit", "5").returncode == 0
    (out / "x.limit-5" / "metrics.json").write_text("[1, 2]\n", encoding="utf-8")
    one_line_error(run_cli(["table", "--runs", str(out)], env),
                   starts=f"error: {out / 'x.limit-5' / 'metrics.json'}: ")


@pytest.mark.slow
def test_retry_failed_over_a_corrupt_predictions_file_names_it(tmp_path, env):
    out = tmp_path / "runs"
    config = bad_config(tmp_path, "name: x\ndataset: nacgec-dev\nmodel: {backend: stored, predictions: llm-goodgap}\n"
                                  "scoring: {levels: [char]}\n")
    assert run(config, out, env).returncode == 0
    predictions = out / "x" / "predictions.jsonl"
    predictions.write_text(predictions.read_text(encoding="utf-8")[:-40] + "\n", encoding="utf-8")
    one_line_error(run(config, out, env, "--retry-failed"), starts=f"error: {predictions}:500: invalid JSON")


@pytest.mark.slow
def test_tables_of_unknown_datasets_or_runs_folders_are_refused(env, tmp_path):
    one_line_error(run_cli(["table", "--dataset", "foo"], env), starts="error: --dataset foo: no reported figures")
    one_line_error(run_cli(["table", "--runs", str(tmp_path / "typo")], env),
                   starts=f"error: {tmp_path / 'typo'}: no such runs folder")
    leaderboard = run_cli(["table", "--dataset", "nacgec-test", "--format", "json"], env)
    assert leaderboard.returncode == 0, leaderboard.stderr
    rows = json.loads(leaderboard.stdout)["rows"]
    assert rows[0]["Model"] == "HW_TSC_nlpcc2023_cgec" and rows[0]["Word F0.5"] == 49.42


def test_sentences_over_max_chars_are_refused_by_file_and_line(tmp_path, env):
    ref = tmp_path / "ref.para"
    ref.write_text("1\t我去了学校。\t我去学校了。\n2\t他很高兴。\t他很高兴。\n", encoding="utf-8")
    hyp = tmp_path / "hyp.txt"
    hyp.write_text("我去学校了。\n" + "很" * 4001 + "\n", encoding="utf-8")
    one_line_error(run_cli(["score", "--level", "char", "--hyp", str(hyp), "--ref", str(ref)], env),
                   "this hypothesis has 4001 characters, over --max-chars 4000", starts=f"error: {hyp}:2: ")
    one_line_error(run_cli(["score", "--level", "char", "--hyp", str(hyp), "--ref", str(ref), "--max-chars", "5"],
                           env),
                   "this source has 6 characters, over --max-chars 5", starts=f"error: {ref}:1: ")

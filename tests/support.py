"""Helpers the tests share (not fixtures: those are in conftest.py): where the repository and
the workplace's data are, running the command line in-process or as a process, a run config for
the local test server, and the one-line error check."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_DATA = SHARED / "data"
GOLDEN = SHARED / "golden" / "nacgec-dev"
# What the test server accepts as a key; dots keep secret scanners from taking it for a real one.
TEST_SECRET = "sk-test.SECRET.9f8e7d6c5b4a3210fedcba98"


def run_cli(args: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`python -m harness ARGS` in this process, through `harness.cli.main(argv)`: the environment
    is `env` and the working folder `cwd` while it runs; output and exit code are returned as a
    subprocess would give them (an uncaught exception becomes a traceback on stderr, exit 1)."""
    from harness.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd or REPO)
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exit_:  # argparse: --help, a bad option
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
            except Exception:  # noqa: BLE001 - shown as the process would show it
                traceback.print_exc()
                code = 1
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return subprocess.CompletedProcess(["harness", *map(str, args)], code, stdout.getvalue(), stderr.getvalue())


def run_cli_process(args: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`python -m harness ARGS` as a separate process: for what only a process shows (its import
    cost, signals, a second concurrent run, the installed entry point)."""
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)], env=env, cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=300)


def write_config(tmp_path: Path, dataset: Path, base_url: str, name: str = "srv", model: str = "test-model-prefix",
                 retries: int = 6, timeout: float = 10, concurrency: int = 8, extra: str = "") -> Path:
    """A run config for the local test server (key from CGEC_TEST_KEY), char level only."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"""
name: {name}
dataset: {{path: {dataset}}}
model:
  backend: openai
  model: {model}
  base_url: {base_url}
  api_key_env: CGEC_TEST_KEY
  params: {{temperature: 0, max_tokens: 128}}
  timeout: {timeout}
  retries: {retries}
prompt:
  system: 你是一个汉语语法纠错器。
  user: "请改正下面的句子：\\n{{source}}"
limits: {{concurrency: {concurrency}}}
scoring: {{levels: [char]}}
{extra}
""", encoding="utf-8")
    return path


def run(config: Path, out: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    return run_cli(["run", "--config", str(config), "--out", str(out), "--no-progress", *extra], env)


def records(out: Path, name: str = "srv") -> list[dict]:
    return [json.loads(line) for line in (out / name / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]


def one_line_error(result: subprocess.CompletedProcess, *words: str, starts: str = "") -> str:
    """A refusal as users must see it: exit code 2, one line on stderr starting with `starts`
    and holding every one of `words`, no traceback. Returns the line."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().split("\n")
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(starts) and all(word in lines[0] for word in words), lines[0]
    return lines[0]

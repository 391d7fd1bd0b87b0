"""Shared fixtures: where the data mirror and golden files are, and a clean environment for CLI runs."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_DATA = SHARED / "data"
GOLDEN = SHARED / "golden" / "nacgec-dev"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "MANIFEST.md").is_file():
        pytest.skip(f"data mirror not found at {SHARED_DATA} (a clone outside the workplace)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def golden() -> Path:
    if not (GOLDEN / "scores.json").is_file():
        pytest.skip(f"golden files not found at {GOLDEN} (a clone outside the workplace)")
    return GOLDEN


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """A cache outside ../shared (read-only in CI) and outside the user's home."""
    return tmp_path_factory.mktemp("cgec-cache")


@pytest.fixture()
def cli_env(shared_data: Path, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CGEC_")}
    env["CGEC_DATA_DIR"] = str(shared_data)
    env["CGEC_CACHE_DIR"] = str(tmp_path / "cache")
    env["PYTHONPATH"] = str(REPO)
    return env


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
    import json

    return [json.loads(line) for line in (out / name / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def dev_settings(shared_data: Path, cache_dir: Path):
    from harness.data.manifest import DataSettings

    return DataSettings(data_dir=shared_data, cache_dir=cache_dir)


@pytest.fixture(scope="module")
def dev_references(shared_data: Path):
    from harness.data.inputs import load_references

    return load_references(shared_data / "nacgec" / "nacgec.dev.ref.para")


@pytest.fixture(scope="module")
def golden_scores(golden: Path) -> dict:
    import json

    return json.loads((golden / "scores.json").read_text())


@pytest.fixture()
def dev20(shared_data: Path, tmp_path: Path) -> Path:
    """The first 20 NaCGEC dev sentences as a para file of their own."""
    lines = (shared_data / "nacgec" / "nacgec.dev.ref.para").read_text(encoding="utf-8").split("\n")[:20]
    path = tmp_path / "dev20.para"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def real_lexicon():
    """Tongyici Cilin and the confusion sets from the data mirror."""
    from metrics.zh.lexicon import Lexicon

    resources = SHARED_DATA / "resources"
    if not (resources / "cilin.txt").is_file():
        pytest.skip(f"lexical resources not found at {resources} (data mirror absent)")
    return Lexicon.from_texts((resources / "cilin.txt").read_text(encoding="gbk"),
                              (resources / "confusion_dict.txt").read_text(encoding="utf-8"))

"""Shared fixtures: where the data mirror and golden files are, a clean environment for CLI runs,
and the scorer's resources. Helper functions are in support.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from support import (  # noqa: F401 - re-exported for older imports
    GOLDEN, REPO, SHARED, SHARED_DATA, TEST_SECRET, one_line_error, records, run, run_cli, run_cli_process,
    write_config,
)


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


@pytest.fixture()
def env(cli_env: dict[str, str]) -> dict[str, str]:
    """The CLI environment with the test server's key (support.TEST_SECRET) in CGEC_TEST_KEY."""
    return dict(cli_env, CGEC_TEST_KEY=TEST_SECRET)


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

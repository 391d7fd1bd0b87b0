"""The backend registry: the shipped backends are registered by name, no other module tests a
backend's name, and a backend registered from here (docs/backends.md's recipe) runs a config end
to end through the command line."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, ClassVar

import pytest

from harness.backends import registry
from harness.backends.base import BackendContext, BaseBackend, Response, Usage
from harness.config.schema import ModelSpec, parse_config
from harness.core.errors import HarnessError
from record_factory import lines
from support import REPO, run_cli


class ReverseBackend(BaseBackend):
    """Answers each request with the source reversed (the last user message, after the prompt's
    `{source}` slot): a model that always edits, and says how many tokens it used."""

    name: ClassVar[str] = "reverse-test"
    cacheable = False

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec

    @classmethod
    def check_spec(cls, spec: ModelSpec) -> None:
        if spec.model is None:
            raise ValueError("the reverse-test backend needs model")

    @classmethod
    def create(cls, spec: ModelSpec, context: BackendContext) -> "ReverseBackend":
        return cls(spec)

    def identity(self) -> dict[str, Any]:
        return {"backend": self.name, "requested": self.spec.model}

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.spec.model}

    async def answer(self, item_id: str, messages: list[dict[str, str]]) -> Response:
        source = messages[-1]["content"]
        return Response(text=source[::-1], finish_reason="stop", model=self.spec.model,
                        usage=Usage(prompt_tokens=len(source), completion_tokens=len(source),
                                    total_tokens=2 * len(source)))


@pytest.fixture()
def reverse_backend():
    registry.register(ReverseBackend.name, ReverseBackend)
    yield ReverseBackend
    registry.unregister(ReverseBackend.name)


def test_the_shipped_backends_are_registered_by_their_names():
    assert registry.names()[:3] == ("openai", "openai-batch", "stored")
    for name in ("openai", "openai-batch", "stored"):
        assert registry.backend_class(name).name == name


def test_an_unknown_backend_is_refused_naming_the_registered_ones():
    with pytest.raises(HarnessError, match=r"^c.yaml: model.backend: unknown backend 'hf' \(registered: openai, "
                                           r"openai-batch, stored\)"):
        parse_config({"name": "x", "dataset": "d", "model": {"backend": "hf"}}, "c.yaml")


def test_what_a_backend_needs_is_checked_by_the_backend_with_the_config():
    with pytest.raises(HarnessError, match=r"^c.yaml: model: a stored backend needs predictions"):
        parse_config({"name": "x", "dataset": "d", "model": {"backend": "stored"}}, "c.yaml")
    with pytest.raises(HarnessError, match=r"^c.yaml: model: the openai-batch backend needs model"):
        parse_config({"name": "x", "dataset": "d", "model": {"backend": "openai-batch"}}, "c.yaml")


def _names_tested(path: Path, names: set[str]) -> list[str]:
    """`x == "stored"`, `x != "openai"`, `x in ("openai", ...)` in a module: a backend's name tested."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                values = side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side]
                found += [f"{path.relative_to(REPO)}:{node.lineno}" for value in values
                          if isinstance(value, ast.Constant) and value.value in names]
    return found


def test_no_module_outside_the_registry_tests_a_backend_name():
    names = set(registry.names())
    modules = [p for p in sorted((REPO / "harness").rglob("*.py")) if p.name != "registry.py"]
    assert [hit for path in modules for hit in _names_tested(path, names)] == []


def test_a_backend_registered_from_a_test_runs_a_config_end_to_end(reverse_backend, tmp_path, cli_env, dev20):
    config = tmp_path / "reverse.yaml"
    config.write_text(f"name: reverse\ndataset: {{path: {dev20}}}\nmodel: {{backend: reverse-test, model: rev-1}}\n"
                      "scoring: {levels: [char]}\n", encoding="utf-8")
    result = run_cli(["run", "--config", str(config), "--out", str(tmp_path / "runs"), "--no-progress"], cli_env)
    assert result.returncode == 0, result.stderr
    assert "20 items: 20 sent, 0 cached, 0 failed" in result.stdout
    predictions = lines(tmp_path / "runs", "reverse")
    assert all(p.raw == p.source[::-1] and p.response.model == "rev-1" for p in predictions)
    table = run_cli(["table", "--runs", str(tmp_path / "runs"), "--dataset", "nacgec-dev"], cli_env)
    assert table.returncode == 0 and "reverse" in table.stdout  # over another file: listed as not shown
    dry = run_cli(["run", "--config", str(config), "--dry-run"], cli_env)
    assert dry.returncode == 0 and '"model": "rev-1"' in dry.stdout

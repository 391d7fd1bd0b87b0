"""The shape of the code, checked: the import direction of docs/architecture.md (import-linter
contracts in pyproject.toml), short functions, and one package docstring per job."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 60
# A function may be longer only when its first statement after the docstring is a comment
# line starting with this marker saying why (an alignment kernel's inner loop).
LONG_MARKER = "# long function:"


def _functions(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _excused(lines: list[str], node: ast.AST) -> bool:
    body = lines[node.lineno - 1: node.end_lineno]
    return any(line.strip().startswith(LONG_MARKER) for line in body[:12])


def test_import_contracts_hold() -> None:
    lint = shutil.which("lint-imports")
    if lint is None:
        pytest.fail("import-linter is not installed: pip install -e '.[test]'")
    done = subprocess.run([lint, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_contracts_catch_a_forbidden_import(tmp_path: Path) -> None:
    """A copy of the tree where metrics imports harness is refused (the check can fail)."""
    lint = shutil.which("lint-imports")
    if lint is None:
        pytest.fail("import-linter is not installed: pip install -e '.[test]'")
    shutil.copytree(ROOT / "harness", tmp_path / "harness", symlinks=True)
    shutil.copytree(ROOT / "metrics", tmp_path / "metrics")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    bad = tmp_path / "metrics" / "edit.py"
    bad.write_text(bad.read_text(encoding="utf-8") + "\nimport harness.core.errors  # noqa\n", encoding="utf-8")
    done = subprocess.run([lint, "--config", "pyproject.toml"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert done.returncode != 0
    assert "metrics is a pure library" in done.stdout and "BROKEN" in done.stdout


@pytest.mark.parametrize("package", ["harness", "metrics"])
def test_no_function_is_longer_than_sixty_lines(package: str) -> None:
    too_long = []
    for path in sorted((ROOT / package).rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in _functions(path):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES and not _excused(lines, node):
                too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    assert not too_long, "functions over 60 lines:\n" + "\n".join(too_long)


def test_every_harness_package_says_what_it_holds() -> None:
    for init in sorted((ROOT / "harness").glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc.split()) >= 8, f"{init.relative_to(ROOT)}: no docstring saying what it holds"


def test_cleaning_modules_stay_small() -> None:
    for path in sorted((ROOT / "harness" / "cleaning").glob("*.py")):
        count = len(path.read_text(encoding="utf-8").splitlines())
        assert count <= 400, f"{path.relative_to(ROOT)} has {count} lines"

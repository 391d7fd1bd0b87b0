"""`harness table` and `harness show`, as a user runs them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from harness.data.datasets import manifest_sha256
from record_factory import run_info, write
from support import REPO, run_cli

FIGURE_COLUMNS = ("word_p", "word_r", "word_f05", "char_p", "char_r", "char_f05")
# The published figures, as data/reported/ has them (never repeated here).
with (REPO / "data" / "reported" / "nacgec-dev.csv").open(encoding="utf-8") as reported:
    PUBLISHED = [row[column] for row in csv.DictReader(reported) for column in FIGURE_COLUMNS]


def test_table_prints_the_published_figures_and_the_committed_runs(cli_env):
    result = run_cli(["table"], cli_env)
    assert result.returncode == 0, result.stderr
    for figure in PUBLISHED:
        assert f" {figure} " in result.stdout
    assert "this harness (llm-stored)" in result.stdout and result.stdout.count("not run") == 3


def test_committed_table_is_what_the_command_regenerates(cli_env):
    result = run_cli(["table"], cli_env)
    assert (REPO / "results" / "table.md").read_text(encoding="utf-8") == result.stdout


def fake_run(root: Path, name: str, label: str, word: tuple[float, float, float], char: tuple[float, float, float],
             scorer: str = "maxmatch", sha256: str | None = None) -> None:
    """A record over NaCGEC dev (by its manifest sha256) with the given figures and no sentences."""
    signatures = {"word": f"level:word|method:{scorer}|tok:thulac-0.2.2-pos", "char": "level:char|method:cherrant"}
    info = run_info(name, {"name": "nacgec-dev", "path": "x", "sha256": sha256 or manifest_sha256("nacgec-dev")},
                    report={"label": label, "params": "7B", "train_data": "1061"})
    word_fields = {"scorer": scorer, "segmenter": "thulac"}
    metrics = {level: {"tp": 0, "fp": 0, "fn": 0, "precision": p, "recall": r, "f0.5": f,
                       "signature": signatures[level], **(word_fields if level == "word" else {})}
               for level, (p, r, f) in (("word", word), ("char", char))}
    write(root / name, info, metrics, [], [])


def test_a_reproduced_row_sits_beside_its_reported_row_with_the_difference(tmp_path, cli_env):
    fake_run(tmp_path, "ggpt", "GrammarGPT", (0.4, 0.2, 0.3333), (0.5, 0.2, 0.3846))
    result = run_cli(["table", "--runs", str(tmp_path), "--format", "json"], cli_env)
    rows = json.loads(result.stdout)["rows"]
    grammargpt = [r for r in rows if r["Model"] == "GrammarGPT"]
    assert [r["Row"] for r in grammargpt] == ["reported", "reproduced (ggpt)", "difference (ggpt)"]
    assert grammargpt[1]["Word F0.5"] == 33.33 and grammargpt[1]["Char P"] == 50.0
    assert grammargpt[2]["Word F0.5"] == round(33.33 - 32.56, 2)
    assert grammargpt[2]["Char P"] == round(50.0 - 46.67, 2)


def test_incomparable_word_figures_are_flagged_and_get_no_difference(tmp_path, cli_env):
    fake_run(tmp_path, "ggpt", "GrammarGPT", (0.4, 0.2, 0.3333), (0.5, 0.2, 0.3846), scorer="cherrant")
    rows = json.loads(run_cli(["table", "--runs", str(tmp_path), "--format", "json"], cli_env).stdout)["rows"]
    reproduced, difference = [r for r in rows if r["Model"] == "GrammarGPT"][1:]
    assert "not comparable" in reproduced["Note"]
    assert difference["Word F0.5"] is None and difference["Char F0.5"] is not None


def test_table_formats(tmp_path, cli_env):
    out = tmp_path / "table.tex"
    latex = run_cli(["table", "--format", "latex", "--out", str(out)], cli_env)
    assert "\\toprule" in latex.stdout and out.read_text(encoding="utf-8") == latex.stdout
    csv = run_cli(["table", "--format", "csv"], cli_env)
    assert csv.stdout.splitlines()[0].startswith("Model,# Param.,Data,Row,Word P")


@pytest.mark.slow
def test_show_prints_outputs_edits_and_matches(tmp_path, cli_env):
    out = tmp_path / "runs"
    config = tmp_path / "c.yaml"
    config.write_text("name: c\ndataset: nacgec-dev\nmodel: {backend: stored, predictions: llm-goodgap}\n"
                      "scoring: {levels: [char]}\n", encoding="utf-8")
    assert run_cli(["run", "--config", str(config), "--out", str(out), "--no-progress"], cli_env).returncode == 0
    result = run_cli(["show", str(out / "c"), "--id", "5"], cli_env)
    assert result.returncode == 0, result.stderr
    assert "source      老同志不但关心我" in result.stdout
    assert "· W   [0,5) 老同志不但 → 不但老同志" in result.stdout  # the reference's order edit, missed
    assert "TP 0  FP 0  FN 1" in result.stdout
    assert "outcome     char: missed (an erroneous source left unchanged; TP 0 FP 0 FN 1)" in result.stdout
    missing = run_cli(["show", str(out / "c"), "--id", "9999"], cli_env)
    assert missing.returncode == 2 and "no sentence with id 9999" in missing.stderr


@pytest.mark.slow
def test_compare_two_runs_writes_markdown_json_and_refuses_mixed_datasets(tmp_path, cli_env, shared_data):
    out = tmp_path / "runs"
    sources = [line.split("\t")[1] for line in
               (shared_data / "nacgec" / "nacgec.dev.ref.para").read_text(encoding="utf-8").splitlines()]
    (tmp_path / "sources.txt").write_text("\n".join(sources) + "\n", encoding="utf-8")
    for name, predictions in (("llm", "llm-goodgap"), ("copy", str(tmp_path / "sources.txt"))):
        config = tmp_path / f"{name}.yaml"
        config.write_text(f"name: {name}\ndataset: nacgec-dev\nmodel: {{backend: stored, predictions: {predictions}}}\n"
                          "scoring: {levels: [char]}\n", encoding="utf-8")
        assert run_cli(["run", "--config", str(config), "--out", str(out), "--no-progress"], cli_env).returncode == 0
    result = run_cli(["compare", str(out / "llm"), str(out / "copy"), "--out", str(tmp_path / "cmp"),
                      "--bootstrap", "200"], cli_env)
    assert result.returncode == 0, result.stderr
    assert "## char level by NaCGEC error type" in result.stdout
    data = json.loads((tmp_path / "cmp" / "comparison.json").read_text(encoding="utf-8"))
    assert data  # the library's own tests check the figures
    # A run over another dataset is refused with one clear message.
    other = tmp_path / "other.para"
    other.write_text("".join(f"{i}\t{s}\t{s}\n" for i, s in enumerate(sources[:10], 1)), encoding="utf-8")
    config = tmp_path / "small.yaml"
    config.write_text(f"name: small\ndataset: {{path: {other}}}\nmodel: {{backend: stored, predictions: {other}}}\n"
                      "scoring: {levels: [char]}\n", encoding="utf-8")
    assert run_cli(["run", "--config", str(config), "--out", str(out), "--no-progress"], cli_env).returncode == 0
    refused = run_cli(["compare", str(out / "llm"), str(out / "small")], cli_env)
    assert refused.returncode == 2 and len(refused.stderr.strip().split("\n")) == 1
    assert "Traceback" not in refused.stderr

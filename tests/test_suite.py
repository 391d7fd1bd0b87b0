"""`run --benchmarks` and `table --suite`, the fast parts: the prompt of each task family, the
folder names, stored outputs given per benchmark, the benchmark block of a record, a benchmark's
head (`--limit`), and the suite table built from small records written by the record's own
writer (matched by data sha256 and protocol, reported rows beside reproduced ones, "no
references", "unofficial segmentation", a run over other data noted, md/csv/latex).
End-to-end runs are in test_suite_runs.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from harness.benchmarks import load_registry
from harness.benchmarks.benchmark import pinned_sha256
from harness.benchmarks.gold import Gold
from harness.benchmarks.registry import benchmark_names
from harness.config.schema import CSC_PROMPT, GEC_PROMPT, parse_config
from harness.core.errors import HarnessError
from harness.record.models import BenchmarkResult, Metrics
from harness.reports.suite import build_suite, render_suite
from harness.run.suite import model_for
from record_factory import prediction, run_info, write
from support import one_line_error, run_cli

MUCGEC_DEV_HEADLINE = 0.3622


def config(**extra):
    raw = {"name": "cfg", "dataset": "nacgec-dev", "model": {"backend": "stored", "predictions": "llm-goodgap"}}
    return parse_config({**raw, **extra}, "cfg.yaml")


# ---------------------------------------------------------------- config: prompts per task family

def test_each_family_has_its_default_prompt_and_a_config_may_override_it() -> None:
    plain = config()
    assert plain.prompt_for("gec") == GEC_PROMPT and plain.prompt_for("csc") == CSC_PROMPT
    assert "错别字" in CSC_PROMPT.system and "等长" in CSC_PROMPT.system
    own = config(prompt={"system": "S", "user": "U {source}"})
    assert own.prompt_for("gec").system == "S"  # the config's own prompt serves its GEC benchmarks
    assert own.prompt_for("csc") == CSC_PROMPT
    both = config(prompts={"gec": {"user": "G {source}"}, "csc": {"user": "C {source}"}})
    assert both.prompt_for("gec").user == "G {source}" and both.prompt_for("csc").user == "C {source}"


def test_prompts_are_checked_like_the_rest_of_the_config() -> None:
    with pytest.raises(HarnessError, match=r"prompts\.csc\.usr: unknown key"):
        config(prompts={"csc": {"usr": "x"}})
    with pytest.raises(HarnessError, match=r"prompts\.spelling: unknown key \(allowed: gec, csc\)"):
        config(prompts={"spelling": {"user": "{source}"}})
    with pytest.raises(HarnessError, match=r"prompts\.gec\.user: .*\{source\}"):
        config(prompts={"gec": {"user": "no slot"}})


def test_a_config_without_prompts_keeps_its_hash() -> None:
    assert "prompts" not in config().as_dict()
    assert config(prompts={"csc": {"user": "{source}"}}).as_dict()["prompts"] == {
        "csc": {"system": None, "user": "{source}", "few_shot": []}}


# ---------------------------------------------------------------- names, folders, stored outputs

def test_benchmark_names_are_checked_against_the_registry() -> None:
    assert benchmark_names("mucgec-dev, sighan15-test") == ("mucgec-dev", "sighan15-test")
    with pytest.raises(HarnessError, match="unknown benchmark 'nope'"):
        benchmark_names("mucgec-dev,nope")
    with pytest.raises(HarnessError, match="named twice"):
        benchmark_names("mucgec-dev,mucgec-dev")
    with pytest.raises(HarnessError, match="separated by commas"):
        benchmark_names("mucgec-dev,")


def test_stored_outputs_are_given_per_benchmark() -> None:
    mapped = config(model={"backend": "stored", "predictions": {"mucgec-dev": "a.txt", "sighan15-test": "b.txt"}})
    assert model_for(mapped, "sighan15-test", 2).predictions == "b.txt"
    with pytest.raises(HarnessError, match="no file for benchmark fcgec-valid"):
        model_for(mapped, "fcgec-valid", 2)
    with pytest.raises(HarnessError, match="one file for 2 benchmarks"):
        model_for(config(), "mucgec-dev", 2)
    assert model_for(config(), "nacgec-dev", 1).predictions == "llm-goodgap"


def test_a_plain_run_refuses_a_mapping_of_stored_outputs(tmp_path, cli_env) -> None:
    path = tmp_path / "map.yaml"
    path.write_text("name: map\ndataset: nacgec-dev\n"
                    "model: {backend: stored, predictions: {nacgec-dev: llm-goodgap}}\n", encoding="utf-8")
    result = run_cli(["run", "--config", path, "--out", tmp_path / "runs", "--no-progress"], cli_env)
    one_line_error(result, "model.predictions", "run --benchmarks", starts="error: ")
    assert not (tmp_path / "runs").exists()


def test_run_refuses_an_unknown_benchmark_before_anything_is_written(tmp_path, cli_env) -> None:
    result = run_cli(["run", "--config", "configs/llm-stored.yaml", "--benchmarks", "mucgec-dev,nacgec-tset",
                      "--out", tmp_path / "runs", "--no-progress"], cli_env)
    one_line_error(result, "unknown benchmark 'nacgec-tset'", "known:", starts="error: ")
    assert not (tmp_path / "runs").exists()


# ---------------------------------------------------------------- record block, head, spread

def test_a_benchmark_block_without_references_holds_no_figures() -> None:
    base = {"name": "mucgec-test", "task": "gec", "protocol": "mucgec-char", "headline": "char.f05"}
    BenchmarkResult(**base, references=False)
    with pytest.raises(ValidationError, match="no references"):
        BenchmarkResult(**base, references=False, figures={"char.f05": 0.5})
    # A benchmark record may have no char/word level (CSC, inputs only); a plain one may not.
    Metrics(items=1, failed=0, complete=True, benchmark=BenchmarkResult(**base, references=False))
    with pytest.raises(ValidationError, match="no score level"):
        Metrics(items=1, failed=0, complete=True)


def test_the_head_of_a_gold_keeps_the_first_items_of_every_part() -> None:
    gold = Gold(references=(("a",), ("b",), ("c",)), erroneous=(True, False, True))
    head = gold.head(2)
    assert head.references == (("a",), ("b",)) and head.erroneous == (True, False) and head.targets is None


# ---------------------------------------------------------------- the suite table

def _level(tp: int, fp: int, fn: int, f: float) -> dict:
    return {"tp": tp, "fp": fp, "fn": fn, "precision": f, "recall": f, "f0.5": f, "signature": "level:char"}


def _record(out: Path, folder: str, config_name: str, bench: str, sha256: str, metrics: dict, items: int = 2,
            sentences: int | None = None, label: str | None = None) -> None:
    ids = [str(i) for i in range(1, items + 1)]
    info = run_info(folder, {"name": bench, "sha256": sha256, "sentences": sentences or items, "run_items": items},
                    report={"label": label} if label else None)
    info = info.model_copy(update={"config": info.config.model_copy(update={"name": config_name})})
    rows = [{"id": i, **({"char": {"tp": 0, "fp": 0, "fn": 0, "ref": 0}} if "char" in metrics else {})} for i in ids]
    if "char" in metrics:
        rows[0]["char"] = {k: metrics["char"][k] for k in ("tp", "fp", "fn")} | {"ref": 0}
    write(out / folder, info, metrics, rows, [prediction(i, "句子", "句子") for i in ids])


def _block(bench: str, protocol: str, headline: str, value: float | None, official: bool = True, **extra) -> dict:
    """metrics.json's benchmark block; `value` None: an inputs-only split (no references, no figures)."""
    scored = value is not None
    return {"benchmark": {"name": bench, "task": "gec", "protocol": protocol, "references": scored,
                          "headline": headline, "headline_value": value, "official": official if scored else None,
                          "figures": {headline: value} if scored else {}, **extra}}


@pytest.fixture(scope="module")
def suite_runs(tmp_path_factory) -> Path:
    """A runs folder: a config on four benchmarks (one partial, one unofficial, one inputs only), a
    plain NaCGEC dev run, and two records that must not be placed (other data, other protocol)."""
    out = tmp_path_factory.mktemp("suite") / "runs"
    registry = load_registry()
    sha = {name: pinned_sha256(spec) for name, spec in registry.benchmarks.items()}
    label = "MuCGEC example prediction (example_pred_dev.txt)"
    _record(out, "ex@mucgec-dev", "ex", "mucgec-dev", sha["mucgec-dev"],
            {"char": _level(1, 0, 1, MUCGEC_DEV_HEADLINE), **_block("mucgec-dev", "mucgec-char", "char.f05",
                                                                    MUCGEC_DEV_HEADLINE)}, label=label)
    _record(out, "ex@nlpcc18-test.limit-2", "ex", "nlpcc18-test", sha["nlpcc18-test"],
            _block("nlpcc18-test", "nlpcc18", "word.f05", 0.125, official=False,
                   notes=["unofficial segmentation: outputs segmented with thulac, gold.01 with PKUNLP"]),
            sentences=2000, label=label)
    _record(out, "ex@mucgec-test", "ex", "mucgec-test", sha["mucgec-test"],
            _block("mucgec-test", "mucgec-char", "char.f05", None,
                   notes=["no references here: the organisers score this split"]), label=label)
    _record(out, "ex@sighan15-test", "ex", "sighan15-test", sha["sighan15-test"],
            {"benchmark": {**_block("sighan15-test", "csc-cscdns", "sentence.correction.f1", 0.5)["benchmark"],
                           "task": "csc"}}, label=label)
    _record(out, "llm", "llm", "nacgec-dev", sha["nacgec-dev"], {"char": _level(1, 0, 1, 0.05), "nlpcc2023": 0.0756})
    _record(out, "other@fcgec-valid", "other", "fcgec-valid", "c" * 64,
            _block("fcgec-valid", "fcgec", "char.f05", 0.9))
    _record(out, "proto@fcgec-valid", "proto", "fcgec-valid", sha["fcgec-valid"],
            _block("fcgec-valid", "fcgec-upstream", "char.f05", 0.9))
    return out


def test_the_suite_places_each_run_by_data_sha256_and_protocol(suite_runs: Path) -> None:
    table = build_suite(suite_runs)
    frame = table.frame.set_index("Row")
    assert list(table.frame.columns) == ["Model", "Row", *load_registry().benchmarks]
    assert table.frame.iloc[0]["mucgec-dev"] == "char.f05" and table.frame.iloc[0]["nacgec-dev"] == "nlpcc2023"
    reproduced = frame.loc["reproduced (ex)"]
    assert reproduced["mucgec-dev"] == "36.22" and reproduced["mucgec-test"] == "no references"
    assert reproduced["sighan15-test"] == "50.00"
    assert frame.loc["this harness (llm)"]["nacgec-dev"] == "7.56"  # a plain NaCGEC run: the NLPCC 2023 protocol
    # Reported and reproduced side by side: the published example prediction, then the run labelled with it.
    rows = list(table.frame["Row"])
    assert rows[rows.index("reproduced (ex)") - 1] == "reported"
    assert table.frame.iloc[rows.index("reproduced (ex)") - 1]["mucgec-dev"] == "36.22"
    assert "this harness (other)" not in rows and "this harness (proto)" not in rows
    notes = " ".join(table.notes)
    assert "other@fcgec-valid" in notes and "not the same data" in notes and "cccccccccccc" in notes
    assert "proto@fcgec-valid" in notes and "protocol fcgec-upstream" in notes
    # A plain NaCGEC dev run left out of a table without NaCGEC dev is said to be so, not to hold no benchmark.
    narrow = " ".join(build_suite(suite_runs, ["mucgec-dev"]).notes)
    assert "llm (" in narrow and "none of this table's benchmarks" in narrow


def test_the_suite_footnotes_partial_unofficial_and_other_protocols(suite_runs: Path) -> None:
    table = build_suite(suite_runs)
    cell = table.frame.set_index("Row").loc["reproduced (ex)"]["nlpcc18-test"]
    assert cell.startswith("12.50 [")
    marked = [table.footnotes[int(mark.strip("[]")) - 1] for mark in cell.split()[1:]]
    assert any("unofficial segmentation" in text for text in marked)
    assert any("partial run (2 of 2000 sentences)" in text for text in marked)
    texts = " ".join(table.footnotes)
    assert "published under protocol sighan15-realise-sentence, not csc-cscdns" in texts
    assert "published on the split 'test (MuCGEC-B)'" in texts
    assert "mean of the published word and char F0.5" in texts  # NaCGEC dev's seed table
    assert any(line.startswith("nlpcc18-test: protocol nlpcc18, headline word.f05") for line in table.protocols)


def test_the_suite_renders_markdown_csv_and_latex(suite_runs: Path, cli_env) -> None:
    md = run_cli(["table", "--suite", "--runs", suite_runs], cli_env)
    assert md.returncode == 0, md.stderr
    assert "| reproduced (ex)" in md.stdout and "no references" in md.stdout and "Protocols:" in md.stdout
    assert "Not shown:" in md.stdout and "SynGEC" in md.stdout
    csv = run_cli(["table", "--suite", "--runs", suite_runs, "--format", "csv", "--benchmarks",
                   "mucgec-dev,nlpcc18-test"], cli_env)
    assert csv.returncode == 0, csv.stderr
    header = csv.stdout.splitlines()[0]
    assert header == "Model,Row,mucgec-dev,nlpcc18-test,Notes"
    assert "unofficial segmentation" in csv.stdout  # footnotes spelled out in the row's Notes
    assert "protocol mucgec-char" in csv.stderr
    latex = run_cli(["table", "--suite", "--runs", suite_runs, "--format", "latex"], cli_env)
    assert latex.returncode == 0, latex.stderr
    assert "\\toprule" in latex.stdout and "\\begin{flushleft}" in latex.stdout
    assert "nlpcc18-test: protocol nlpcc18" in latex.stdout.replace("\\_", "_")
    assert render_suite(build_suite(suite_runs), "md") == md.stdout


def test_table_suite_options_are_checked(suite_runs: Path, cli_env) -> None:
    one_line_error(run_cli(["table", "--suite", "--runs", suite_runs, "--format", "json"], cli_env),
                   "--format json", starts="error: ")
    one_line_error(run_cli(["table", "--suite", "--runs", suite_runs, "--dataset", "nacgec-dev"], cli_env),
                   "--dataset", starts="error: ")
    one_line_error(run_cli(["table", "--runs", suite_runs, "--benchmarks", "mucgec-dev"], cli_env),
                   "--suite", starts="error: ")

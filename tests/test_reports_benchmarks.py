"""`show`, `compare` and `report` on `run --benchmarks` records: their sentences and references come
from the benchmark (harness.reports.references), as its protocol scored them, never misread as a
para file; 没有错误 reads as the source, a CSC record is compared by its protocol's figures; a
benchmark whose data changed, and `record-upgrade` of a benchmark record, are one-line refusals.
The end-to-end part runs two stored-output suites (references as outputs, and a mix) first."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from harness.benchmarks import load_benchmark
from harness.benchmarks.references import first_references
from harness.core.errors import HarnessError
from harness.data.manifest import DataSettings
from harness.record import read_record
from harness.reports.references import NO_CORRECTION, run_sentences
from metrics.edit import NO_ERROR_TEXT, NOT_ANNOTATABLE_TEXT, Annotation, Block, Edit
from metrics.m2 import annotation_target, applied
from support import REPO, one_line_error, run_cli

SUITE = ("mucgec-dev", "nlpcc18-test", "fcgec-valid", "sighan15-test")
LIMIT = 30  # MuCGEC dev's item 20 (index 19) has the reference 没有错误
NO_ERROR_ID = "20"


# --- the pure helper: an annotation's corrected sentence -------------------------------------------------

SOURCE = tuple("他很高兴的说")
SWAP = Edit(4, 5, "S", ("地",), 0)
INSERT = Edit(1, 1, "M", ("们",), 0)


def test_an_alignment_applied_to_the_source_gives_its_corrected_tokens():
    assert "".join(applied(SOURCE, (SWAP, INSERT))) == "他们很高兴地说"
    assert applied(SOURCE, (Edit(-1, -1, "noop", (), 0),)) == SOURCE


def test_an_annotation_target_is_its_t_line_else_its_edits_applied():
    with_t = Annotation(0, tuple("他很高兴地说"), ((SWAP,),))
    errant = Annotation(1, (), ((SWAP, INSERT),))  # an ERRANT-style block: no T line
    block = Block(SOURCE, (with_t, errant, Annotation(2, (), marker=NO_ERROR_TEXT),
                           Annotation(3, (), marker=NOT_ANNOTATABLE_TEXT)))
    targets = [annotation_target(block, a) for a in block.annotations]
    assert targets == [tuple("他很高兴地说"), tuple("他们很高兴地说"), SOURCE, None]


# --- end to end on suite records ---------------------------------------------------------------------------


def _outputs(name: str, kind: str, settings: DataSettings) -> list[str]:
    """refs: each item's first reference; mixed: the source, the reference and a perturbed source in turn."""
    benchmark = load_benchmark(name, settings, progress=False)
    outputs = []
    for index, (item, reference) in enumerate(zip(benchmark.items, first_references(benchmark))):
        perturbed = ("的" + item.source[1:]) if benchmark.spec.task == "csc" else item.source[:1] + item.source
        outputs.append(reference if kind == "refs" else (item.source, reference, perturbed)[index % 3])
    return outputs


@pytest.fixture(scope="module")
def suite(shared_data: Path, tmp_path_factory) -> dict:
    """Two stored-output suite runs (`refs`, `mixed`) over SUITE, --limit LIMIT; the CLI environment."""
    root = tmp_path_factory.mktemp("bench-reports")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CGEC_")}
    env.update(CGEC_DATA_DIR=str(shared_data), CGEC_CACHE_DIR=str(root / "cache"), PYTHONPATH=str(REPO))
    settings = DataSettings(data_dir=shared_data, cache_dir=root / "cache")
    for kind in ("refs", "mixed"):
        mapping = []
        for name in SUITE:
            benchmark = load_benchmark(name, settings, progress=False)
            path = root / f"{kind}.{name}.jsonl"
            path.write_text("".join(json.dumps({"id": item.id, "prediction": output}, ensure_ascii=False) + "\n"
                                    for item, output in zip(benchmark.items, _outputs(name, kind, settings))),
                            encoding="utf-8")
            mapping.append(f"    {name}: {path}")
        config = root / f"{kind}.yaml"
        config.write_text(f"name: {kind}\ndataset: nacgec-dev\nmodel:\n  backend: stored\n  predictions:\n"
                          + "\n".join(mapping) + "\ncleaning: {enabled: false}\n", encoding="utf-8")
        result = run_cli(["run", "--config", config, "--benchmarks", ",".join(SUITE), "--limit", LIMIT,
                          "--out", root / "runs", "--no-progress"], env)
        assert result.returncode == 0, result.stdout + result.stderr
    return {"runs": root / "runs", "env": env, "settings": settings, "root": root}


def _run(suite: dict, kind: str, name: str) -> Path:
    return suite["runs"] / f"{kind}@{name}.limit-{LIMIT}"


@pytest.mark.slow
def test_show_gives_a_no_error_reference_as_the_source_with_no_edits(suite):
    result = run_cli(["show", _run(suite, "refs", "mucgec-dev"), "--id", NO_ERROR_ID], suite["env"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    source = next(line for line in lines if line.startswith("source ")).split(None, 1)[1]
    assert f"reference 1  {source} (没有错误: the sentence is correct)" in lines
    assert NO_ERROR_TEXT not in result.stdout.replace("(没有错误: the sentence is correct)", "")
    assert "outcome     char: kept-correct" in result.stdout
    hypothesis_edits = lines.index("hypothesis edits (char level; ✓ = in the chosen reference):")
    assert lines[hypothesis_edits + 1] == "  (none)" and "  (none: the reference is the source)" in lines


@pytest.mark.slow
@pytest.mark.parametrize("name, expected", [
    ("nlpcc18-test", "outcome     word:"),  # references from the char M2 gold, word level recorded too
    ("fcgec-valid", "scored as   "),  # punctuation removed as the protocol scores it
    ("sighan15-test", "outcome     csc (csc-cscdns, sentence level): "),
])
def test_show_reads_every_benchmark_as_its_protocol_scored_it(suite, name, expected):
    record = read_record(_run(suite, "mixed", name))
    for row in record.rows[:3]:
        result = run_cli(["show", record.path, "--id", row.id], suite["env"])
        assert result.returncode == 0, result.stderr
        assert "reference 1  " in result.stdout and "hypothesis edits" in result.stdout
    assert any(expected in run_cli(["show", record.path, "--id", row.id], suite["env"]).stdout
               for row in record.rows[:3])


@pytest.mark.slow
def test_an_fcgec_sentence_the_protocol_leaves_out_is_shown_unscored(suite):
    record = read_record(_run(suite, "mixed", "fcgec-valid"))
    left_out = next(row for row in record.rows if row.char.ref is None)
    result = run_cli(["show", record.path, "--id", left_out.id], suite["env"])
    assert result.returncode == 0, result.stderr
    assert "outcome     char: unscored" in result.stdout and "the protocol leaves this sentence out" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("name", SUITE)
def test_compare_two_benchmark_runs(suite, name, tmp_path):
    a, b = _run(suite, "refs", name), _run(suite, "mixed", name)
    result = run_cli(["compare", a, b, "--bootstrap", "50", "--out", tmp_path], suite["env"])
    assert result.returncode == 0, result.stderr
    assert f"## Benchmark figures ({name}, protocol " in result.stdout
    data = json.loads((tmp_path / "comparison.json").read_text(encoding="utf-8"))
    headline = read_record(b).metrics.benchmark
    assert data["benchmark"]["figures"][b.name][headline.headline] == round(headline.headline_value, 4)
    if name == "sighan15-test":
        assert "no char or word level" in result.stdout and "| is a reference" in result.stdout
        assert data["levels"] == {} and data["disagreements"]["sentences"]
        return
    assert "no error-type breakdown: " in result.stdout
    for label, path in ((a.name, a), (b.name, b)):  # FP per 100 chars as metrics.json counts them
        recorded = read_record(path).metrics.char.over_correction.fp_per_100_chars
        assert data["outcomes"]["char"]["runs"][label]["fp_per_100_chars"] == pytest.approx(recorded, abs=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("name, note", [
    ("mucgec-dev", "protocol mucgec-char: char.f05 = "),
    ("nlpcc18-test", "references read from its char-level M2"),
    ("fcgec-valid", "its punctuation marks removed"),
    ("sighan15-test", "this report&#39;s ChERRANT view"),
])
def test_report_of_benchmark_runs(suite, name, note, tmp_path):
    out = tmp_path / "report.html"
    result = run_cli(["report", _run(suite, "refs", name), _run(suite, "mixed", name), "--bootstrap", "50",
                      "--out", out], suite["env"])
    assert result.returncode == 0, result.stderr
    page = out.read_text(encoding="utf-8")
    assert note in page and f"2 run(s), {LIMIT} sentences" in result.stdout
    if name == "mucgec-dev":  # 没有错误 is shown as the source, never as a correction
        assert NO_ERROR_TEXT not in page.split('<script type="application/json"')[1]


@pytest.mark.slow
def test_run_sentences_of_a_benchmark_record(suite):
    record = read_record(_run(suite, "refs", "mucgec-dev"))
    sentences = run_sentences(record, suite["settings"])
    index = sentences.positions([NO_ERROR_ID])[0]
    assert sentences.references[index] == (NO_ERROR_TEXT,)  # the scorer reads it as ChERRANT does
    assert sentences.shown[index] == (sentences.sources[index],)
    assert NO_CORRECTION in [shown for refs in sentences.shown for shown in refs]  # 无法标注 (item 98)
    changed = replace(record, manifest=record.manifest.model_copy(
        update={"dataset": record.dataset.model_copy(update={"sha256": "0" * 64})}))
    with pytest.raises(HarnessError) as error:
        run_sentences(changed, suite["settings"])
    assert "the data of benchmark mucgec-dev changed since this run scored it" in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.slow
def test_record_upgrade_refuses_a_benchmark_record(suite):
    result = run_cli(["record-upgrade", _run(suite, "refs", "sighan15-test")], suite["env"])
    one_line_error(result, "benchmark sighan15-test", "record-upgrade re-scores plain runs only", starts="error: ")

"""`harness record-upgrade`: a schema-2 record rewritten in schema 3, its outputs kept and its
hypotheses re-scored equal (else nothing is written), as often as wanted; and every committed
record re-scores to its committed figures.

The schema-2 fixtures in tests/fixtures/record-schema-2/ were written by the schema-2 writer
(commit 52e91c0): `llm-stored.limit-20` is `configs/llm-stored.yaml --limit 20` (stored outputs),
`chat` a 20-sentence run of the test server (`write_config`, `test-model-prefix`)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.core.errors import HarnessError
from harness.data.manifest import DataSettings
from harness.record.models import HYPOTHESES, MANIFEST, METRICS, PREDICTIONS
from harness.record.store import read_record
from harness.record.upgrade import _fingerprint_2, read_source
from harness.run.upgrade import rescore, upgrade
from metrics.outcomes import classify_all, outcome_counts, over_correction_share
from support import REPO, run_cli

FIXTURES = Path(__file__).parent / "fixtures" / "record-schema-2"


@pytest.fixture()
def settings(shared_data, cache_dir) -> DataSettings:
    return DataSettings(data_dir=shared_data, cache_dir=cache_dir)


def schema_2(tmp_path: Path, name: str, shared_data: Path) -> Path:
    """A copy of a fixture; the chat run's dataset (a file of its own) put back where it says."""
    folder = tmp_path / "runs" / name
    shutil.copytree(FIXTURES / name, folder)
    if name == "chat":
        dataset = tmp_path / "dev20.para"
        lines = (shared_data / "nacgec" / "nacgec.dev.ref.para").read_text(encoding="utf-8").split("\n")[:20]
        dataset.write_text("\n".join(lines) + "\n", encoding="utf-8")
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        manifest["dataset"]["path"] = str(dataset)  # not part of a schema-2 fingerprint
        (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def old_lines(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / PREDICTIONS).read_text(encoding="utf-8").splitlines()]


def test_a_schema_2_record_is_rewritten_with_its_outputs_kept_and_its_figures_equal(tmp_path, settings, shared_data):
    folder = schema_2(tmp_path, "chat", shared_data)
    before, old_metrics = old_lines(folder), json.loads((folder / METRICS).read_text(encoding="utf-8"))
    old_manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    done = upgrade(folder, settings)
    assert done.changed and done.from_schema == 2
    record = read_record(folder)
    assert [(p.id, p.raw, p.prediction, p.error, p.cleaning) for p in record.predictions] == \
        [(o["id"], o["raw"], o["prediction"], o["error"], tuple(o["cleaning"])) for o in before]
    first = record.predictions[0].response
    assert (first.finish_reason, first.model, first.usage.model_dump(), first.latency) == \
        ("stop", before[0]["model"], before[0]["usage"], before[0]["latency"])
    assert (record.metrics.char.tp, record.metrics.char.fp, record.metrics.char.fn, record.metrics.char.f05) == \
        tuple(old_metrics["char"][k] for k in ("tp", "fp", "fn", "f0.5"))
    assert record.manifest.outputs_sha256 == old_manifest["outputs_sha256"]
    assert record.manifest.upgraded_from.fingerprint == old_manifest["fingerprint"]
    assert record.manifest.started.isoformat() == old_manifest["started"]  # the run's history is kept
    assert record.manifest.cleaning.flags["prefix"] == old_manifest["cleaning"]["prefix"] == 20


def test_upgrading_again_leaves_the_record_as_it_is(tmp_path, settings, shared_data):
    folder = schema_2(tmp_path, "chat", shared_data)
    first = upgrade(folder, settings)
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    again = upgrade(folder, settings)
    assert not again.changed and again.fingerprint == first.fingerprint
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == files


def test_a_stored_run_without_its_outputs_has_them_read_back_and_checked(tmp_path, settings, shared_data):
    """As committed: the predictions of stored systems are not in git."""
    folder = schema_2(tmp_path, "llm-stored.limit-20", shared_data)
    kept = old_lines(folder)
    (folder / PREDICTIONS).unlink()
    (folder / HYPOTHESES).unlink()
    assert upgrade(folder, settings).changed
    assert [p.raw for p in read_record(folder).predictions] == [o["raw"] for o in kept]


def test_outputs_read_back_that_differ_from_the_record_stop_the_upgrade(tmp_path, settings, shared_data):
    folder = schema_2(tmp_path, "llm-stored.limit-20", shared_data)
    (folder / PREDICTIONS).unlink()
    (folder / HYPOTHESES).unlink()
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    manifest["outputs_sha256"] = "0" * 64  # the record names other outputs than the stored file gives
    manifest["fingerprint"] = _fingerprint_2(manifest)
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(HarnessError, match="cannot be upgraded without cleaning again"):
        upgrade(folder, settings)
    assert json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["schema"] == 2


def test_a_record_whose_figures_do_not_rescore_equal_is_not_rewritten(tmp_path, settings, shared_data):
    folder = schema_2(tmp_path, "chat", shared_data)
    metrics = json.loads((folder / METRICS).read_text(encoding="utf-8"))
    metrics["char"]["fn"] += 1
    text = json.dumps(metrics, ensure_ascii=False, sort_keys=True, indent=2) + "\n"
    (folder / METRICS).write_text(text, encoding="utf-8")
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    manifest["files"][METRICS] = __import__("hashlib").sha256(text.encode()).hexdigest()
    manifest["fingerprint"] = _fingerprint_2(manifest)
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(HarnessError) as error:
        upgrade(folder, settings)
    assert "re-scored, the record's figures differ, so it is not rewritten: char.fn:" in str(error.value)
    assert read_source(folder).schema == 2


def test_the_command_upgrades_and_says_so(tmp_path, cli_env, shared_data):
    folder = schema_2(tmp_path, "chat", shared_data)
    result = run_cli(["record-upgrade", str(folder), "--quiet"], cli_env)
    assert result.returncode == 0, result.stderr
    assert f"{folder}: schema 2 -> re-scored, figures equal; rewritten" in result.stdout
    assert run_cli(["compare", str(folder), str(folder), "--bootstrap", "10"], cli_env).returncode == 0


def committed_records() -> list[Path]:
    tracked = subprocess.run(["git", "ls-files", "results/runs"], cwd=REPO, capture_output=True, text=True).stdout
    return sorted({(REPO / path).parent for path in tracked.split() if path.endswith(f"/{MANIFEST}")})


@pytest.mark.slow
@pytest.mark.parametrize("folder", committed_records(), ids=lambda p: p.name)
def test_every_committed_record_rescores_to_its_figures(folder, tmp_path, settings):
    """From its hypotheses.txt, else its predictions, else (a stored system's, not committed)
    the outputs read back from the mirror and checked against the record; against the dataset
    found by its sha256."""
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    rescored = rescore(copy, settings)
    assert rescored.differences() == []
    assert len(rescored.hypotheses) == rescored.source.info.dataset.run_items
    committed, again = rescored.source.metrics, rescored.scored.metrics
    for level, scores in committed.levels().items():
        assert scores.outcomes is not None and scores.outcomes.total == len(rescored.source.rows)
        assert scores.outcomes == again.levels()[level].outcomes
        assert scores.over_correction == again.levels()[level].over_correction


@pytest.mark.parametrize("folder", committed_records(), ids=lambda p: p.name)
def test_every_committed_record_stores_outcomes_adding_up_to_its_sentences(folder):
    """metrics.json's outcome counts, per level, are those of its sentences.jsonl."""
    record = read_record(folder)
    for level, scores in record.metrics.levels().items():
        counts = outcome_counts(classify_all(row.level(level) for row in record.rows))
        assert scores.outcomes is not None, f"{folder.name}: no {level} outcomes (run record-upgrade)"
        assert scores.outcomes.by_name() == counts
        assert scores.outcomes.total == len(record.rows) == record.metrics.items
        share = over_correction_share(counts)
        assert scores.over_correction.over_correction_share == (None if share is None else round(share, 4))

"""The run record's models: the JSON Schema in docs/ is theirs, what the writer writes the reader
reads back, and a file that does not fit its model is one error naming the file, line and key."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.core.errors import HarnessError
from harness.core.response import Response, Usage
from harness.record.models import (
    MANIFEST, PREDICTIONS, SCHEMA, SCHEMA_FILE, LevelCounts, PredictionLine, json_schema_text,
)
from harness.record.store import read_record
from record_factory import prediction, run_info, write

FIXTURES = Path(__file__).parent / "fixtures" / "record-schema-2"
CHAR = {"tp": 1, "fp": 0, "fn": 1, "precision": 1.0, "recall": 0.5, "f0.5": 0.8333, "signature": "level:char"}


def small_record(folder: Path) -> Path:
    lines = [PredictionLine(id="1", source="他跑的很快。",
                            response=Response(text="修改后：他跑得很快。", finish_reason="stop", latency=0.25,
                                              usage=Usage(prompt_tokens=9, completion_tokens=7, total_tokens=16),
                                              model="m", system_fingerprint="fp"),
                            attempts=1, prediction="他跑得很快。", cleaning=("prefix",)),
             prediction("2", "我去了学校。", None, error="HTTP 500: boom")]
    sentences = [{"id": "1", "char": {"tp": 1, "fp": 0, "fn": 0, "ref": 0, "types": {"S": [1, 0, 0]}}},
                 {"id": "2", "char": {"tp": 0, "fp": 0, "fn": 1, "ref": 0, "types": {"W": [0, 0, 1]}}}]
    info = run_info("small", {"sentences": 2, "run_items": 2}, report={"label": "Small"})
    return write(folder, info, {"char": CHAR, "failed": 1, "complete": False}, sentences, lines)


def test_the_committed_json_schema_is_the_one_the_models_generate():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == json_schema_text(), \
        "docs/record.schema.json is stale: run `python -m harness.record.models`"


def test_a_record_written_is_read_back_field_for_field(tmp_path):
    record = read_record(small_record(tmp_path / "small"))
    assert record.manifest.schema_ == SCHEMA and record.name == "small" and record.report.label == "Small"
    first, second = record.predictions
    assert first.raw == "修改后：他跑得很快。" and first.response.usage.total_tokens == 16 and first.cleaning == ("prefix",)
    assert second.response is None and second.hypothesis == "我去了学校。" and second.error == "HTTP 500: boom"
    assert record.hypotheses == ("他跑得很快。", "我去了学校。")
    assert record.rows[1].char.edit_types() == {"W": record.rows[1].char.counts}
    assert record.metrics.char.f05 == 0.8333 and record.failed == 1 and not record.complete


def test_a_prediction_line_that_does_not_fit_is_one_error_naming_file_line_and_key(tmp_path):
    folder = small_record(tmp_path / "small")
    path = folder / PREDICTIONS
    text = path.read_text(encoding="utf-8").split("\n")
    text[1] = text[1].replace('"id": "2"', '"id": 2')
    path.write_text("\n".join(text), encoding="utf-8")
    with pytest.raises(HarnessError) as error:
        read_record(folder)
    assert str(error.value) == f"{path}:2: id: Input should be a valid string"


def test_an_unknown_manifest_key_is_named(tmp_path):
    folder = small_record(tmp_path / "small")
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    (folder / MANIFEST).write_text(json.dumps({**manifest, "colour": "red"}), encoding="utf-8")
    with pytest.raises(HarnessError, match=r"manifest.json: colour: unknown key$"):
        read_record(folder)


def test_per_type_counts_that_do_not_add_up_are_refused():
    with pytest.raises(ValueError, match="per-type counts do not add up"):
        LevelCounts(tp=1, fp=0, fn=0, types={"S": (0, 1, 0)})


def test_a_prediction_without_a_response_has_no_prediction():
    with pytest.raises(ValueError, match="present exactly when there is a response"):
        PredictionLine(id="1", source="甲", prediction="乙")


def test_a_schema_2_record_is_refused_in_one_line_naming_the_upgrade(tmp_path):
    folder = tmp_path / "old"
    shutil.copytree(FIXTURES / "llm-stored.limit-20", folder)
    with pytest.raises(HarnessError) as error:
        read_record(folder)
    assert str(error.value) == (f"{folder / MANIFEST}: written by an older cgec-harness (run record schema 2; this "
                                f"version reads schema 3): run its config again to rewrite it, or "
                                f"`python -m harness record-upgrade {folder}`")

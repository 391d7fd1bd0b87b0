"""Reading a record of an earlier schema into today's models, for `harness record-upgrade`
(harness.run.upgrade re-scores it and writes it back).

Schema 2 had the files of schema 3 with untyped contents: a flat prediction line (`raw`,
`usage`, `latency`... beside the cleaning), a flat cleaning summary, and a fingerprint over the
same fields. Its manifest, file hashes and outputs digest are checked as its own reader did
before anything is converted; the conversion is a mapping of keys, and today's models validate
the result (one HarnessError naming the file, line and key on anything that does not fit).
A schema-3 record is read by the ordinary reader, so an upgrade can be run again on its output.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from harness.core.errors import HarnessError
from harness.record.models import (
    HYPOTHESES, MANIFEST, METRICS, PREDICTIONS, SCHEMA, SENTENCES, GenerationStats, Metrics, PredictionLine, RunInfo,
    SentenceLine,
)
from harness.record.store import (
    UPGRADABLE_SCHEMAS, outputs_digest, read_record, read_text, schema_of, validation_message,
)


@dataclass(frozen=True)
class Source:
    """A record as an upgrade reads it: its parts in today's models, and what it was."""

    path: Path
    schema: int
    fingerprint: str
    info: RunInfo
    metrics: Metrics
    rows: tuple[SentenceLine, ...]
    predictions: tuple[PredictionLine, ...] | None  # None: predictions.jsonl is not on disk
    hypotheses: tuple[str, ...] | None  # None: hypotheses.txt is not on disk
    outputs_sha256: str


def read_source(path: str | Path) -> Source:
    """A record of schema 2 or of today's schema, checked, in today's models."""
    path = Path(path)
    if not path.is_dir():
        raise HarnessError("not a run folder (expected results/runs/<name>/)", path)
    schema = schema_of(path)
    if schema == SCHEMA:
        record = read_record(path)
        info = RunInfo(**{name: getattr(record.manifest, name) for name in RunInfo.model_fields})
        return Source(path, schema, record.fingerprint, info, record.metrics, record.rows, record.predictions,
                      record.hypotheses, record.manifest.outputs_sha256)
    if schema in UPGRADABLE_SCHEMAS:
        return _read_schema_2(path)
    raise HarnessError(f"run record schema {schema}: record-upgrade reads schemas "
                       f"{', '.join(map(str, UPGRADABLE_SCHEMAS))} and {SCHEMA}; run its config again",
                       path / MANIFEST)


def refuse_benchmark_record(source: Source) -> None:
    """A `run --benchmarks` record is not upgraded: it is re-scored by its benchmark's protocol,
    not by its config's scoring, which is all an upgrade knows; running its config again rewrites it."""
    block = source.metrics.benchmark
    if block is not None:
        raise HarnessError(f"a record of benchmark {block.name} (protocol {block.protocol}): record-upgrade "
                           "re-scores plain runs only; run its config again with --benchmarks "
                           f"{block.name}", source.path / METRICS)


def _read_schema_2(path: Path) -> Source:
    manifest = _json(read_text(path / MANIFEST, True), path / MANIFEST)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise HarnessError("expected a JSON object with the sha256 of each file", path / MANIFEST)
    if _fingerprint_2(manifest) != manifest.get("fingerprint"):
        raise HarnessError("fingerprint does not match the manifest's contents (edited by hand?)", path / MANIFEST)
    texts = {name: read_text(path / name, name != HYPOTHESES) for name in (METRICS, SENTENCES, HYPOTHESES)}
    for name, text in texts.items():
        if text is not None and _sha(text) != manifest["files"].get(name):
            raise HarnessError(f"does not belong to this run's record (its sha256 differs from the one in "
                               f"{MANIFEST}): the folder mixes two runs", path / name)
    metrics = _model(Metrics, _json(texts[METRICS], path / METRICS), path / METRICS)
    rows = tuple(_model(SentenceLine, {**data, "id": str(data.get("id"))}, path / SENTENCES, number)
                 for number, data in _jsonl(texts[SENTENCES], path / SENTENCES))
    predictions_text = read_text(path / PREDICTIONS, False)
    predictions = None
    if predictions_text is not None:
        predictions = tuple(_model(PredictionLine, _prediction_2(data), path / PREDICTIONS, number)
                            for number, data in _jsonl(predictions_text, path / PREDICTIONS))
        if outputs_digest(predictions) != manifest.get("outputs_sha256"):
            raise HarnessError(f"does not belong to this run's record (its outputs differ from the ones {MANIFEST} "
                               "names)", path / PREDICTIONS)
    hypotheses = tuple(texts[HYPOTHESES].split("\n")[:-1]) if texts[HYPOTHESES] is not None else None
    info = _model(RunInfo, _run_info_2(manifest), path / MANIFEST)
    return Source(path, 2, manifest["fingerprint"], info, metrics, rows, predictions, hypotheses,
                  manifest["outputs_sha256"])


def _run_info_2(manifest: dict[str, Any]) -> dict[str, Any]:
    """Schema 2's manifest keys as RunInfo's: the cleaning counts gain their own `flags`."""
    info = {key: value for key, value in manifest.items()
            if key not in ("schema", "outputs_sha256", "files", "fingerprint")}
    counts = dict(info.get("cleaning") or {})
    info["cleaning"] = {"total": counts.pop("total", 0), "changed": counts.pop("changed", 0), "flags": counts}
    generation = info.get("generation")
    if isinstance(generation, dict):
        # Early schema-2 writers recorded a block for stored outputs too (no request: no
        # generation, as today's writer says with null) and summed latencies (meaningless
        # under concurrency; today's writer records percentiles).
        known = {key: value for key, value in generation.items() if key in GenerationStats.model_fields}
        info["generation"] = known if generation.get("requests") else None
    return info


def _prediction_2(data: Any) -> Any:
    """A schema-2 prediction line (raw, usage, latency... flat) with its response as one object."""
    if not isinstance(data, dict):
        return data
    response = None
    if data.get("raw") is not None:
        response = {"text": data["raw"], "finish_reason": data.get("finish_reason"),
                    "usage": data.get("usage") or None, "latency": data.get("latency") or 0.0,
                    "model": data.get("model")}
    return {"id": str(data.get("id")), "source": data.get("source"), "response": response,
            "error": data.get("error"), "cached": data.get("cached", False), "attempts": data.get("attempts", 0),
            "prediction": data.get("prediction"), "cleaning": data.get("cleaning") or []}


def _fingerprint_2(manifest: dict[str, Any]) -> str:
    core = {key: manifest.get(key) for key in ("schema", "config_sha256", "model", "outputs_sha256", "files")}
    dataset = manifest.get("dataset") if isinstance(manifest.get("dataset"), dict) else {}
    core["dataset"] = {key: dataset.get(key) for key in ("sha256", "sentences", "run_items")}
    return _sha(json.dumps(core, ensure_ascii=False, sort_keys=True, separators=(",", ":")))


def _model(model: type[BaseModel], data: Any, path: Path, line: int | None = None) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise HarnessError(validation_message(error), path, line) from None


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _json(text: str | None, path: Path, line: int | None = None) -> Any:
    try:
        return json.loads(text or "")
    except json.JSONDecodeError as error:
        raise HarnessError(f"invalid JSON: {error.msg}", path, line or error.lineno) from None


def _jsonl(text: str | None, path: Path):
    for number, line in enumerate((text or "").split("\n"), 1):
        if line.strip():
            data = _json(line, path, number)
            if not isinstance(data, dict):
                raise HarnessError("expected a JSON object", path, number)
            yield number, data

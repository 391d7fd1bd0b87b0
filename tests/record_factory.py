"""Small run records written by the record's own writer, for the tests of readers (table,
compare, show, the reader itself), and the typed prediction lines of a run folder."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from harness.core.response import Response
from harness.record.models import Metrics, PredictionLine, RunInfo, SentenceLine
from harness.record.store import read_record, write_record

WHEN = datetime(2026, 1, 1, tzinfo=timezone.utc)


def run_info(run: str, dataset: dict[str, Any] | None = None, report: dict[str, Any] | None = None,
             **fields: Any) -> RunInfo:
    """A run's info with placeholders wherever the test does not care."""
    dataset = {"name": "d", "path": "d", "sha256": "a" * 64, "sentences": 0, "run_items": 0, **(dataset or {})}
    return RunInfo.model_validate({
        "run": run, "config": {"name": run, "report": report or {}}, "config_sha256": "b" * 64,
        "dataset": dataset, "backend": {"backend": "stored"}, "model": {"backend": "stored"},
        "started": WHEN, "finished": WHEN, "wall_seconds": 0.0,
        "requests": {"sent": 0, "cached": 0, "failed": 0, "retries": 0},
        "tokens": {"all": {}, "billed_this_run": {}}, "cleaning": {"total": 0, "changed": 0, "flags": {}},
        "versions": {}, "git_commit": "test", **fields})


def prediction(item_id: str, source: str, raw: str | None, prediction: str | None = None,
               error: str | None = None) -> PredictionLine:
    """A line whose prediction is the raw reply unless given (None without a reply)."""
    response = Response(text=raw) if raw is not None else None
    if prediction is None and raw is not None:
        prediction = raw
    return PredictionLine(id=item_id, source=source, response=response, error=error, prediction=prediction)


def write(folder: Path, info: RunInfo, metrics: dict[str, Any], sentences: Sequence[dict[str, Any]],
          predictions: Sequence[PredictionLine], hypotheses: Sequence[str] | None = None) -> Path:
    """Write a record (metrics and sentence lines as the scorer's JSON) and return its folder."""
    write_record(folder, info, Metrics.model_validate({"items": len(sentences), "failed": 0, "complete": True,
                                                       **metrics}),
                 [SentenceLine.model_validate(s) for s in sentences],
                 list(hypotheses) if hypotheses is not None else [p.hypothesis for p in predictions],
                 list(predictions), previous=None)
    return folder


def lines(out: Path, name: str = "srv") -> tuple[PredictionLine, ...]:
    """The prediction lines of the run folder `out/name`, read (and checked) by the record's reader."""
    return read_record(out / name).require_predictions()

"""A run folder as the report's plain inputs: the one place the HTML report reads a run record.

It reads what `harness.record.store.read_record` returns and the references of the dataset the
run scored (found by its sha256, as `show` finds them). The record is being rewritten into
typed models; `_get` and `_level` read either shape (a manifest dict or a typed manifest; rows
with `counts`/`refs`/`types` or with a `LevelCounts` per level), so that switching this module
to the typed record is a matter of deleting the dict branches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.core.errors import HarnessError
from harness.data.datasets import load_run_dataset
from harness.data.manifest import DataSettings
from harness.record.store import read_record
from harness.reports.html.build import LEVELS, LevelScores, RunInputs, build_report
from harness.reports.html.model import ReportView
from metrics.score import SentenceScore

CHAR = "char"


def _get(value: Any, *path: str) -> Any:
    """value.a.b... or value["a"]["b"]...; None when a step is missing."""
    for key in path:
        if value is None:
            return None
        value = value.get(key) if isinstance(value, dict) else getattr(value, key, None)
    return value


def _level(row: Any, level: str) -> SentenceScore:
    """A sentences.jsonl row at one level as metrics' SentenceScore (counts, reference, types)."""
    if hasattr(row, "level"):  # typed record: a LevelCounts per level
        counts = row.level(level)
        types = {name: tuple(values) for name, values in (counts.types or {}).items()}
        return SentenceScore(counts.ref, counts.tp, counts.fp, counts.fn, types)
    counts = row.counts[level]
    types = {name: (c.tp, c.fp, c.fn) for name, c in row.types.get(level, {}).items()}
    return SentenceScore(row.refs.get(level), counts.tp, counts.fp, counts.fn, types)


def _model_name(manifest: Any) -> str | None:
    """The model that answered: the id the server gave and the models the responses named, else
    the name asked for, else (stored outputs) the backend and the outputs' sha256."""
    served = _get(manifest, "model", "served", "id")
    answered = _get(manifest, "model", "response_models") or ()
    requested = _get(manifest, "model", "requested")
    names = [name for name in (served, *answered) if name] or ([requested] if requested else [])
    if names:
        return " / ".join(dict.fromkeys(names))
    stored = _get(manifest, "model", "predictions_sha256")  # the stored backend: outputs, not a model
    backend = _get(manifest, "model", "backend")
    return f"{backend} outputs (sha256 {stored[:12]})" if backend and stored else backend


def _cost(manifest: Any) -> float | None:
    estimate = _get(manifest, "estimated_cost_usd")
    value = _get(estimate, "all")
    return float(value) if isinstance(value, (int, float)) else None


def _notes(run: Any) -> tuple[str, ...]:
    notes = []
    if run.failed:
        notes.append(f"{run.failed} items failed: they are scored as their source (no edit)")
    if run.partial:
        notes.append(f"a partial run: {run.dataset.run_items} of the dataset's {run.dataset.sentences} sentences")
    return tuple(notes)


def run_inputs(path: str | Path, settings: DataSettings) -> RunInputs:
    """The report's inputs for one run folder; its char counts are checked against a rescoring
    by the builder, its word counts (when scored) are used as recorded."""
    run = read_record(path)
    run.require_predictions()  # raises, naming the folder, when predictions.jsonl is not there
    predictions = run.predictions
    dataset = load_run_dataset(run.dataset, settings)
    position = {item.id: index for index, item in enumerate(dataset.items)}
    missing = [p.id for p in predictions if p.id not in position]
    if missing:
        raise HarnessError(f"sentence id {missing[0]} is not in the dataset {dataset.name}", Path(path))
    targets = dataset.references.targets or ()
    hypotheses = run.hypotheses or tuple(p.prediction if p.prediction is not None else p.source for p in predictions)
    manifest = run.manifest
    scores = {level: LevelScores(signature, tuple(_level(row, level) for row in run.rows))
              for level, signature in run.signatures.items()}
    return RunInputs(
        name=run.name, sources=tuple(dataset.references.sources[position[p.id]] for p in predictions),
        hypotheses=tuple(hypotheses), references=tuple(tuple(targets[position[p.id]]) for p in predictions),
        ids=tuple(p.id for p in predictions), raw_outputs=tuple(p.raw for p in predictions),
        flags=tuple(tuple(p.cleaning) for p in predictions), errors=tuple(p.error for p in predictions),
        model=_model_name(manifest), dataset=run.dataset.name, dataset_sha256=run.dataset.sha256,
        date=str(_get(manifest, "finished") or _get(manifest, "started") or "") or None, cost_usd=_cost(manifest),
        scores=scores, notes=_notes(run), path=str(path))


def report_from_runs(paths: list[str], settings: DataSettings, bootstrap: int = 1000, seed: int = 0,
                     jobs: int | None = None) -> ReportView:
    """The view model of run folders over one dataset, at the levels every run scored."""
    runs = [run_inputs(path, settings) for path in paths]
    levels = tuple(level for level in LEVELS if level == CHAR or all(level in run.scores for run in runs))
    return build_report(runs, settings, levels, bootstrap=bootstrap, seed=seed, jobs=jobs)

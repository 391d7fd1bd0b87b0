"""A run folder as the report's plain inputs: the one place the HTML report reads a run record.

It reads the typed record (`harness.record.read_record`: manifest, metrics, sentence and
prediction lines as pydantic models) and the sentences the run was scored against
(`harness.reports.references`, as `show` and `compare` find them: the dataset by its sha256, or
the benchmark, checked by its sha256, as its protocol prepared them).
"""

from __future__ import annotations

from pathlib import Path

from harness.core.errors import HarnessError
from harness.data.manifest import DataSettings
from harness.record import RunRecord, read_record
from harness.record.models import LevelCounts, Manifest
from harness.reports.html.build import LEVELS, LevelScores, RunInputs, build_report
from harness.reports.html.model import ReportView
from harness.reports.references import run_sentences
from metrics.score import DEFAULT_BETA, SentenceScore

CHAR = "char"


def _sentence_score(counts: LevelCounts) -> SentenceScore:
    """A sentences.jsonl row at one level as metrics' SentenceScore (counts, reference, types)."""
    types = {name: tuple(values) for name, values in (counts.types or {}).items()}
    return SentenceScore(counts.ref, counts.tp, counts.fp, counts.fn, types)


def _level_scores(run: RunRecord) -> dict[str, LevelScores]:
    """Each level the run scored: its signature and per-sentence scores, with the recipe's beta."""
    return {level: LevelScores(metrics.signature, tuple(_sentence_score(row.level(level)) for row in run.rows),
                               metrics.beta if metrics.beta is not None else DEFAULT_BETA)
            for level, metrics in run.metrics.levels().items()}


def _model_name(manifest: Manifest) -> str | None:
    """The model that answered: the id the server gave and the models the responses named, else
    the name asked for, else (stored outputs) the backend and the outputs' sha256."""
    model = manifest.model
    served = model.served.id if model.served is not None else None
    names = [name for name in (served, *model.response_models) if name] or ([model.requested] if model.requested
                                                                            else [])
    if names:
        return " / ".join(dict.fromkeys(names))
    stored = (model.model_extra or {}).get("predictions_sha256")  # the stored backend: outputs, not a model
    return f"{model.backend} outputs (sha256 {stored[:12]})" if isinstance(stored, str) else model.backend


def _cost(manifest: Manifest) -> float | None:
    estimate = manifest.estimated_cost_usd
    return estimate.all if estimate is not None else None


def _notes(run: RunRecord) -> tuple[str, ...]:
    notes = []
    if run.failed:
        notes.append(f"{run.failed} items failed: they are scored as their source (no edit)")
    if run.partial:
        notes.append(f"a partial run: {run.dataset.run_items} of the dataset's {run.dataset.sentences} sentences")
    return tuple(notes)


def run_inputs(path: str | Path, settings: DataSettings) -> RunInputs:
    """The report's inputs for one run folder; its char counts are checked against a rescoring
    by the builder, its word counts (when scored) are used as recorded. A benchmark run's
    sentences are its benchmark's, as its protocol scored them (harness.reports.references)."""
    run = read_record(path)
    run.require_predictions()  # raises, naming the folder, when predictions.jsonl is not there
    predictions = run.predictions
    sentences = run_sentences(run, settings)
    if not sentences.has_references:
        raise HarnessError(f"{sentences.dataset} has no references here (its organisers score it): nothing to "
                           "report", Path(path))
    positions = sentences.positions([p.id for p in predictions], Path(path))
    hypotheses = sentences.hypotheses(positions, run.hypotheses or tuple(p.hypothesis for p in predictions))
    shown = tuple(sentences.shown[i] for i in positions)
    blocks = tuple(sentences.blocks[i] for i in positions) if sentences.blocks is not None else None
    manifest = run.manifest
    return RunInputs(
        name=run.name, sources=tuple(sentences.sources[i] for i in positions), hypotheses=hypotheses,
        references=tuple(sentences.references[i] for i in positions) if sentences.references is not None else shown,
        shown_references=shown, reference_blocks=blocks,
        source_chars=tuple(sentences.source_chars(i) for i in positions),
        ids=tuple(p.id for p in predictions), raw_outputs=tuple(p.raw for p in predictions),
        flags=tuple(tuple(p.cleaning) for p in predictions), errors=tuple(p.error for p in predictions),
        model=_model_name(manifest), dataset=run.dataset.name, dataset_sha256=run.dataset.sha256,
        date=manifest.finished.isoformat().replace("+00:00", "Z"), cost_usd=_cost(manifest),
        scores=_level_scores(run), notes=_notes(run) + _benchmark_notes(run) + sentences.notes, path=str(path))


def _benchmark_notes(run: RunRecord) -> tuple[str, ...]:
    """A benchmark run's protocol and headline, and what the report shows beside them."""
    block = run.metrics.benchmark
    if block is None:
        return ()
    value = "–" if block.headline_value is None else f"{100 * block.headline_value:.2f}"
    notes = [f"benchmark {block.name}, protocol {block.protocol}: {block.headline} = {value} "
             f"({'official' if block.official else 'unofficial'})" + "".join(f"; {note}" for note in block.notes)]
    if not run.metrics.levels():
        notes.append(f"{block.name} is scored by its protocol's own figures ({block.task}), not by ChERRANT: the "
                     "char-level scores, outcomes and marks below are this report's ChERRANT view of the outputs "
                     "against the references, not the protocol's")
    return tuple(notes)


def report_from_runs(paths: list[str], settings: DataSettings, bootstrap: int = 1000, seed: int = 0,
                     jobs: int | None = None) -> ReportView:
    """The view model of run folders over one dataset, at the levels every run scored."""
    runs = [run_inputs(path, settings) for path in paths]
    levels = tuple(level for level in LEVELS if level == CHAR or all(level in run.scores for run in runs))
    return build_report(runs, settings, levels, bootstrap=bootstrap, seed=seed, jobs=jobs)

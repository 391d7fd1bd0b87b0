"""`harness record-upgrade RUN`: rewrite a run record in today's schema, re-scored and checked.

The record's outputs are kept as they are: nothing is asked or cleaned again. Its hypotheses
(hypotheses.txt, else the predictions) are scored again against the very dataset it scored
(found by sha256), and the upgrade stops, writing nothing, when any figure or per-sentence
count differs from the record's. A record whose outputs are not in its folder (a stored
system's, not committed) has them read back from the backend that reads them, cleaned as the
run did, and used only if they are exactly the outputs the record names (its outputs_sha256).

The rewritten record keeps the run's history (times, versions, git commit, the model that
answered) and notes what it was rewritten from. Upgrading a record of today's schema rewrites it
only if re-scoring changes its files (a new signature format, say): run it as often as needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from harness.backends import registry
from harness.config.schema import RunConfig, parse_config
from harness.core.errors import HarnessError
from harness.data.datasets import Dataset, load_run_dataset
from harness.data.manifest import DataSettings
from harness.record.models import (
    LEVELS, MANIFEST, PREDICTIONS, SCHEMA, Metrics, PredictionLine, RecordedConfig, SentenceLine, UpgradedFrom,
)
from harness.record.store import hold, outputs_digest, read_record, write_record
from harness.record.upgrade import Source, read_source, refuse_benchmark_record
from harness.run.execute import RunOptions, Scored, ask, backend_context, clean_results, score_hypotheses


@dataclass(frozen=True)
class Rescored:
    """A record read for upgrading, and its hypotheses scored again."""

    source: Source
    config: RunConfig
    predictions: tuple[PredictionLine, ...]
    hypotheses: tuple[str, ...]
    scored: Scored

    def differences(self) -> list[str]:
        """Where the new scores differ from the record's (empty: the record re-scores equal)."""
        return metric_differences(self.source.metrics, self.scored.metrics) + \
            sentence_differences(self.source.rows, self.scored.sentences)


@dataclass(frozen=True)
class Upgraded:
    path: Path
    from_schema: int
    changed: bool
    fingerprint: str


def rescore(path: str | Path, settings: DataSettings, jobs: int | None = None, progress: bool = False) -> Rescored:
    """Read a record (schema 2 or today's) and score its hypotheses again, as its config says."""
    source = read_source(path)
    refuse_benchmark_record(source)
    config = recorded_config(source)
    dataset = load_run_dataset(source.info.dataset, settings)
    predictions = source.predictions if source.predictions is not None else restore(source, config, settings, dataset)
    hypotheses = tuple(p.hypothesis for p in predictions)
    if source.hypotheses is not None and source.hypotheses != hypotheses:
        raise HarnessError("hypotheses.txt is not what predictions.jsonl says was scored: the record cannot be "
                           "upgraded as it is; run its config again", source.path)
    scored = score_hypotheses(config, settings, dataset, [row.id for row in source.rows], hypotheses, jobs, progress,
                              failed=sum(1 for p in predictions if p.error))
    return Rescored(source, config, predictions, hypotheses, scored)


def upgrade(path: str | Path, settings: DataSettings, jobs: int | None = None, progress: bool = False) -> Upgraded:
    """Rewrite the record at `path` in today's schema, if it re-scores equal (HarnessError
    listing the differences otherwise, and nothing is written)."""
    path = Path(path)
    with hold(path, command=f"python -m harness record-upgrade {path}"):
        rescored = rescore(path, settings, jobs, progress)
        differences = rescored.differences()
        if differences:
            shown = "; ".join(differences[:5]) + (f" (and {len(differences) - 5} more)" if len(differences) > 5 else "")
            raise HarnessError(f"re-scored, the record's figures differ, so it is not rewritten: {shown}", path)
        source = rescored.source
        info = source.info.model_copy(update={
            "config": RecordedConfig.model_validate(rescored.config.as_dict()),
            "config_sha256": rescored.config.sha256,
            "upgraded_from": source.info.upgraded_from or UpgradedFrom(from_schema=source.schema,
                                                                       fingerprint=source.fingerprint)})
        previous = source.fingerprint if source.schema == SCHEMA else None
        changed = write_record(path, info, rescored.scored.metrics, rescored.scored.sentences, rescored.hypotheses,
                               rescored.predictions, previous)
    return Upgraded(path, source.schema, changed, read_record(path).fingerprint)


def recorded_config(source: Source) -> RunConfig:
    """The record's config, read by today's schema (so that its hash is what a run of the same
    config computes now); one that no longer reads cannot be upgraded."""
    where = source.info.config_path or str(source.path / MANIFEST)
    data = source.info.config.model_dump(mode="json")
    prompt = data.get("prompt")
    if isinstance(prompt, dict) and isinstance(prompt.get("few_shot"), list):
        # RunConfig.as_dict() writes few-shot examples as [source, target] pairs; a config
        # file (and so the schema) writes them as {source, target}.
        prompt["few_shot"] = [{"source": pair[0], "target": pair[1]} if isinstance(pair, list) and len(pair) == 2
                              else pair for pair in prompt["few_shot"]]
    try:
        return parse_config(data, where, strict_env=False)
    except HarnessError as error:
        raise HarnessError(f"the record's config no longer reads ({error.message}): run its config again",
                           source.path / MANIFEST) from None


def restore(source: Source, config: RunConfig, settings: DataSettings,
            dataset: Dataset) -> tuple[PredictionLine, ...]:
    """The outputs of a record whose predictions.jsonl is not on disk, read back from the
    backend that reads them (stored outputs) and cleaned as the run did: only if they are the
    very outputs the record names."""
    backend_class = registry.backend_class(config.model.backend)
    if backend_class.generates:
        raise HarnessError(f"{PREDICTIONS} is not in the folder, and its outputs were generated by a model "
                           f"({config.model.backend}): put the file back, or run the config again", source.path)
    wanted = {row.id for row in source.rows}
    items = [item for item in dataset.items if item.id in wanted]
    backend = registry.create(config.model, backend_context(config, settings, dataset, source.path))
    answers = ask(config, settings, backend, items, RunOptions(progress=False))
    lines = tuple(clean_results(config, answers.results).lines)
    if outputs_digest(lines) != source.outputs_sha256:
        raise HarnessError(f"{PREDICTIONS} is not in the folder, and the outputs read back from "
                           f"{config.model.predictions} and cleaned today differ from the ones the record names "
                           "(outputs_sha256): the record cannot be upgraded without cleaning again; run its config "
                           "again", source.path)
    return lines


FIGURES = ("tp", "fp", "fn", "precision", "recall", "f0.5")  # a level's and each of its types'
TOTALS = ("nlpcc2023", "items", "failed", "complete")


def metric_differences(old: Metrics, new: Metrics) -> list[str]:
    """`key: old vs new` for every figure that differs. How a score was made (signature,
    settings) is not a figure: a new signature format is not a difference."""
    before, after = _figures(old), _figures(new)
    return [f"{key}: {before.get(key)} vs {after.get(key)}" for key in sorted(set(before) | set(after))
            if before.get(key) != after.get(key)]


def _figures(metrics: Metrics) -> dict[str, Any]:
    data = metrics.model_dump(mode="json", by_alias=True)
    flat = {key: data[key] for key in TOTALS}
    for level, scores in metrics.levels().items():
        level_data = data[level]
        flat.update({f"{level}.{key}": level_data[key] for key in FIGURES})
        for group in ("by_type", "by_type_fine"):
            for name, figures in (level_data.get(group) or {}).items():
                flat.update({f"{level}.{group}.{name}.{key}": figures[key] for key in FIGURES})
    return flat


def sentence_differences(old: Sequence[SentenceLine], new: Sequence[SentenceLine]) -> list[str]:
    """`sentences.jsonl line N (id X): level` for every sentence whose counts or chosen reference differ."""
    if len(old) != len(new):
        return [f"sentences: {len(old)} in the record, {len(new)} re-scored"]
    out = []
    for number, (a, b) in enumerate(zip(old, new), 1):
        for level in LEVELS:
            if a.id != b.id or getattr(a, level) != getattr(b, level):
                out.append(f"sentences.jsonl line {number} (id {a.id}): {level}")
    return out

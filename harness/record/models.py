"""The run record, typed: one pydantic model per file of `results/runs/<name>/` (schema 3), the
one definition the writer and every reader use.

- `Manifest` (manifest.json): what produced the record and the sha256 of its other files; its
  `fingerprint` names the record. `RunInfo` is the same without the seal the writer adds.
- `Metrics` (metrics.json): the scores of each level, with the scorer's signature.
- `SentenceLine` (a line of sentences.jsonl): per-sentence counts and the chosen reference.
- `PredictionLine` (a line of predictions.jsonl): the model's `Response` (harness.core.response)
  and what cleaning made of it.
- `RunRecord`: a folder, read and cross-checked (harness.record.store reads and writes it).

`python -m harness.record.models [PATH]` writes their JSON Schema (default docs/record.schema.json).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime, BaseModel, ConfigDict, Field, Strict, StringConstraints, model_serializer, model_validator,
)
from pydantic.json_schema import models_json_schema

from harness.core.errors import HarnessError
from harness.core.response import Response, Usage
from metrics.options import LEVELS
from metrics.score import Counts, type_totals

SCHEMA = 3
MANIFEST, METRICS, SENTENCES, HYPOTHESES, PREDICTIONS = (
    "manifest.json", "metrics.json", "sentences.jsonl", "hypotheses.txt", "predictions.jsonl")
SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "record.schema.json"

Text = Annotated[str, Strict()]
Count = Annotated[int, Strict(), Field(ge=0)]
Seconds = Annotated[float, Field(ge=0)]
Sha256 = Annotated[str, Strict(), StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class _Model(BaseModel):
    """Every field typed; an unknown key is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _Open(BaseModel):
    """What mirrors another schema (the run config, a backend's identity): the fields the
    record's readers use are typed, the rest is kept as written."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


# --------------------------------------------------------------------------------------------
# predictions.jsonl


class PredictionLine(_Model):
    """One dataset item: the model's response (None when there is none: `error` says why),
    and the sentence cleaning made of it with the flags of the rules that fired."""

    id: Text
    source: Text
    response: Response | None = None
    error: str | None = None
    cached: bool = False  # answered from the response cache
    attempts: Count = 0  # requests made for it by this run
    prediction: str | None = None  # the cleaned response; None when there is no response
    cleaning: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _prediction_of_a_response(self) -> "PredictionLine":
        if (self.prediction is None) != (self.response is None):
            raise ValueError("prediction: present exactly when there is a response")
        return self

    @property
    def raw(self) -> str | None:
        """The model's reply as it came."""
        return self.response.text if self.response is not None else None

    @property
    def hypothesis(self) -> str:
        """What was scored: the prediction, or the source (no edit) when the item failed."""
        return self.prediction if self.prediction is not None else self.source


# --------------------------------------------------------------------------------------------
# sentences.jsonl


class LevelCounts(_Model):
    """One sentence at one level: its counts against the reference chosen for it (`ref`, an
    annotator index; None for a skipped unannotatable sentence) and, for ChERRANT, its counts
    per edit type as [tp, fp, fn]."""

    tp: Count
    fp: Count
    fn: Count
    ref: Count | None = None
    types: dict[str, tuple[Count, Count, Count]] | None = None

    @model_validator(mode="after")
    def _types_add_up(self) -> "LevelCounts":
        if self.types is not None:
            sums = tuple(sum(values[k] for values in self.types.values()) for k in range(3))
            if sums != (self.tp, self.fp, self.fn):
                raise ValueError("per-type counts do not add up to tp/fp/fn")
        return self

    @property
    def counts(self) -> Counts:
        return Counts(self.tp, self.fp, self.fn)

    def edit_types(self) -> dict[str, Counts]:
        """Counts per operation (M, R, S, W; UNK stays UNK), ChERRANT's tier 1."""
        return type_totals([self.types or {}], tier=1)


class SentenceLine(_Model):
    """One line of sentences.jsonl: a sentence's counts at each level the run scored."""

    id: Text
    char: LevelCounts | None = None
    word: LevelCounts | None = None

    def level(self, name: str) -> LevelCounts:
        counts = getattr(self, name) if name in LEVELS else None
        if counts is None:
            raise KeyError(name)
        return counts


# --------------------------------------------------------------------------------------------
# metrics.json


class Figures(_Model):
    """Counts with precision, recall and F0.5 (rounded to 4 places, as the original scorers print)."""

    tp: Count
    fp: Count
    fn: Count
    precision: float
    recall: float
    f05: float = Field(alias="f0.5")

    @property
    def counts(self) -> Counts:
        return Counts(self.tp, self.fp, self.fn)


class OutcomeCounts(_Model):
    """How many sentences had each outcome (metrics.outcomes, docs/outcomes.md): they add up to
    the sentences scored."""

    kept_correct: Count = Field(alias="kept-correct")
    over_corrected: Count = Field(alias="over-corrected")
    fixed: Count
    partly_fixed: Count = Field(alias="partly-fixed")
    wrong_fix: Count = Field(alias="wrong-fix")
    missed: Count
    unscored: Count

    def by_name(self) -> dict[str, int]:
        """{outcome name: count}, in metrics.outcomes.OUTCOMES order."""
        return self.model_dump(by_alias=True)

    @property
    def total(self) -> int:
        return sum(self.by_name().values())


class OverCorrection(_Model):
    """A level's over-correction figures (docs/outcomes.md), rounded to 4 places."""

    over_correction_share: float | None  # over-corrected / error-free sentences; None: none is error-free
    fp_per_100_chars: float | None  # false-positive edits per 100 source characters
    fp_by_operation: dict[str, Count] | None = None  # M, R, S, W (ChERRANT; operations without FPs left out)


class LevelMetrics(Figures):
    """A level's corpus score: figures, the scorer's signature, ChERRANT's per-type figures,
    the sentence outcomes and over-correction figures, and the settings that differ from the
    published protocol (None: the default)."""

    signature: Text  # rendered for display (sacreBLEU-like)
    # The same as fields: metrics.signature.Signature.to_json(), read back by its from_json
    # (absent from records scored before signatures were stored as fields).
    signature_fields: dict[str, Any] | None = None
    by_type: dict[str, Figures] | None = None  # M, R, S, W (ChERRANT)
    by_type_fine: dict[str, Figures] | None = None  # full types (word-level ChERRANT)
    scorer: str | None = None  # word level: maxmatch or cherrant
    segmenter: str | None = None  # word level
    eval: str | None = None
    edits: str | None = None
    filt: tuple[str, ...] | None = None
    t2s: bool | None = None
    beta: float | None = None
    max_unchanged: int | None = None
    # None in records scored before outcomes were stored (`harness record-upgrade` adds them).
    outcomes: OutcomeCounts | None = None
    over_correction: OverCorrection | None = None

    @property
    def signature_data(self) -> str | dict[str, Any]:
        """The signature in its most complete stored form, for harness.scoring.signature."""
        return self.signature_fields if self.signature_fields is not None else self.signature


class SubmissionFile(_Model):
    """The organisers' submission file a complete run of an inputs-only split writes into its
    folder (MuCGEC test), named here so that metrics.json, and so the fingerprint, vouch for it."""

    file: Text
    sha256: Sha256


class BenchmarkResult(_Model):
    """What a `run --benchmarks` record adds: the benchmark (its data is the manifest's
    `dataset`, by sha256), the protocol it was scored by, its headline, whether the figures are
    official, and every figure of the protocol as harness.benchmarks.score_benchmark gives them
    (flat keys such as `char.f05`, `exact_match`, `sentence.correction.f1`, `length_mismatch`;
    rates as fractions, counts as integers). An inputs-only split has no references here: no
    figures, and its submission file instead."""

    name: Text
    task: Literal["gec", "csc"]
    protocol: Text
    references: bool
    headline: Text
    headline_value: float | None = None  # None: no references, or the run could not give it
    official: bool | None = None  # None: nothing scored
    figures: dict[str, float | int] = Field(default_factory=dict)
    signature: Text | None = None
    scorer_signatures: dict[str, str] = Field(default_factory=dict)
    notes: tuple[str, ...] = ()
    submission: SubmissionFile | None = None

    @model_validator(mode="after")
    def _figures_need_references(self) -> "BenchmarkResult":
        if not self.references and (self.figures or self.headline_value is not None or self.official is not None):
            raise ValueError("benchmark: no references, so no figures, headline value or official flag")
        return self


class Metrics(_Model):
    """metrics.json: the levels scored, the NLPCC 2023 score when both follow its protocol, and
    how many items the run had and how many of them failed (scored as their source); for a
    benchmark run, its protocol's figures (`benchmark`: CSC and inputs-only runs have no level)."""

    char: LevelMetrics | None = None
    word: LevelMetrics | None = None
    nlpcc2023: float | None = None
    items: Count
    failed: Count
    complete: bool  # nothing failed and every item of the dataset was run
    benchmark: BenchmarkResult | None = None

    @model_validator(mode="after")
    def _some_level(self) -> "Metrics":
        if self.char is None and self.word is None and self.benchmark is None:
            raise ValueError(f"no score level ({', '.join(LEVELS)}) in metrics")
        return self

    @model_serializer(mode="wrap")
    def _benchmark_when_present(self, handler: Any) -> dict[str, Any]:
        """`benchmark` only in a benchmark run's record: every other metrics.json, and so its
        sha256 and the record's fingerprint, stays as it was."""
        data = handler(self)
        if self.benchmark is None:
            data.pop("benchmark", None)
        return data

    @model_validator(mode="after")
    def _outcomes_add_up(self) -> "Metrics":
        for name, level in self.levels().items():
            if level.outcomes is not None and level.outcomes.total != self.items:
                raise ValueError(f"{name}.outcomes: they add up to {level.outcomes.total} sentences, not the "
                                 f"{self.items} items scored")
        return self

    def levels(self) -> dict[str, LevelMetrics]:
        """The levels scored, char first."""
        return {name: getattr(self, name) for name in LEVELS if getattr(self, name) is not None}


# --------------------------------------------------------------------------------------------
# manifest.json


class DatasetRef(_Model):
    """The dataset a run scored: found again by its sha256, whatever its name or path."""

    name: Text
    path: Text
    sha256: Sha256
    sentences: Count  # in the dataset
    run_items: Count  # scored by this run (fewer after --limit)


class ReportLabels(_Open):
    """How the run appears in `harness table` (the config's `report`)."""

    label: str | None = None
    params: str | None = None
    train_data: str | None = None


class RecordedConfig(_Open):
    """The run config as it was run (harness.config.schema.RunConfig, dumped): the fields
    reports read are typed here, the rest is kept as written."""

    name: Text
    report: ReportLabels = ReportLabels()


class ServedModel(_Open):
    """The server's /models entry of the model it serves (the fields that stay put)."""

    id: Text


class ModelIdentity(_Open):
    """The model that answered: the backend's identity (what it asked for, where, with which
    parameters, what the server says it serves; stored outputs: their sha256) and the models
    and system fingerprints the responses named."""

    backend: Text
    requested: str | None = None
    served: ServedModel | None = None
    response_models: tuple[str, ...] = ()
    system_fingerprints: tuple[str, ...] = ()

    def text(self) -> str:
        """`served id / response models / fingerprints`, for a one-line message."""
        parts = [self.served.id if self.served is not None else self.requested or "?",
                 *self.response_models, *self.system_fingerprints]
        return " / ".join(dict.fromkeys(parts))


class BackendInfo(_Open):
    """The backend as it describes itself (never a secret)."""

    backend: Text


class RequestCounts(_Model):
    sent: Count
    cached: Count
    failed: Count
    retries: Count


class TokenTotals(_Model):
    all: Usage  # every response of the record, cached ones included
    billed_this_run: Usage  # the responses this run asked for


class GenerationStats(_Model):
    """The model's speed: tokens generated over the wall time of the generation phase, and
    latency percentiles (a run answered from the cache keeps the speed of the run that asked)."""

    requests: Count
    completion_tokens: Count
    wall_seconds_when_generated: Seconds | None = None
    completion_tokens_per_second: Seconds | None = None
    latency_p50_seconds: Seconds | None = None
    latency_p95_seconds: Seconds | None = None


class CostEstimate(_Model):
    """US dollars by data/prices.yaml (None: the model has no price there)."""

    all: float | None = None
    this_run: float | None = None


class CleaningSummary(_Model):
    """How many predictions cleaning saw, changed, and each rule's flag fired on."""

    total: Count
    changed: Count
    flags: dict[str, Count]


class ModelChange(_Model):
    """A rerun answered by another model than the record it replaced."""

    previous: ModelIdentity | None
    previous_fingerprint: Sha256


class UpgradedFrom(_Model):
    """The record this one was rewritten from by `harness record-upgrade` (re-scored, equal)."""

    from_schema: Count
    fingerprint: Sha256


class FileHashes(_Model):
    """The sha256 of each file the manifest vouches for."""

    metrics: Sha256 = Field(alias=METRICS)
    sentences: Sha256 = Field(alias=SENTENCES)
    hypotheses: Sha256 = Field(alias=HYPOTHESES)


class RunInfo(_Model):
    """What a run knows about itself; the writer seals it into a `Manifest`."""

    run: Text  # the folder's name: the config's name, with .limit-N for a partial run
    config: RecordedConfig
    config_sha256: Sha256
    config_path: str | None = None
    dataset: DatasetRef
    backend: BackendInfo
    model: ModelIdentity
    started: AwareDatetime
    finished: AwareDatetime
    wall_seconds: Seconds
    requests: RequestCounts
    tokens: TokenTotals
    generation: GenerationStats | None = None  # None: no model generated during the run (stored outputs)
    estimated_cost_usd: CostEstimate | None = None  # None: nothing priced (stored outputs)
    cleaning: CleaningSummary
    versions: dict[str, str]
    git_commit: Text
    model_changed: ModelChange | None = None
    upgraded_from: UpgradedFrom | None = None


class Manifest(RunInfo):
    """manifest.json: the run, the digest of its outputs (id, raw, prediction, error of each
    item), the sha256 of the other files, and the fingerprint naming all of it."""

    schema_: Literal[3] = Field(SCHEMA, alias="schema")
    outputs_sha256: Sha256
    files: FileHashes
    fingerprint: Sha256


# --------------------------------------------------------------------------------------------
# A folder, read


@dataclass(frozen=True)
class RunRecord:
    """A run folder, read and cross-checked (harness.record.store.read_record)."""

    path: Path
    manifest: Manifest
    metrics: Metrics
    rows: tuple[SentenceLine, ...]
    predictions: tuple[PredictionLine, ...] | None  # None: predictions.jsonl is not on disk
    hypotheses: tuple[str, ...] | None  # None: hypotheses.txt is not on disk

    @property
    def name(self) -> str:
        return self.manifest.run

    @property
    def fingerprint(self) -> str:
        return self.manifest.fingerprint

    @property
    def dataset(self) -> DatasetRef:
        return self.manifest.dataset

    @property
    def signatures(self) -> dict[str, str]:
        return {level: scores.signature for level, scores in self.metrics.levels().items()}

    @property
    def levels(self) -> tuple[str, ...]:
        return tuple(self.metrics.levels())

    @property
    def failed(self) -> int:
        return self.metrics.failed

    @property
    def partial(self) -> bool:
        """Fewer sentences than the dataset has (a --limit run)."""
        return self.dataset.run_items < self.dataset.sentences

    @property
    def complete(self) -> bool:
        return not self.failed and not self.partial

    @property
    def report(self) -> ReportLabels:
        return self.manifest.config.report

    @property
    def config_path(self) -> str | None:
        return self.manifest.config_path

    def require_predictions(self) -> tuple[PredictionLine, ...]:
        if self.predictions is None:
            hint = f": `python -m harness run --config {self.config_path}`" if self.config_path else ""
            raise HarnessError(f"this run's {PREDICTIONS} is not in its folder (the outputs of stored systems are "
                               f"not committed); run its config again to restore it{hint}", self.path)
        return self.predictions


# --------------------------------------------------------------------------------------------
# JSON Schema


def json_schema() -> dict:
    """One JSON Schema for a run folder: a property per file (a JSONL file by its line)."""
    files = {MANIFEST: Manifest, METRICS: Metrics, f"{SENTENCES} (a line)": SentenceLine,
             f"{PREDICTIONS} (a line)": PredictionLine}
    refs, top = models_json_schema([(model, "validation") for model in files.values()],
                                   ref_template="#/$defs/{model}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"cgec-harness run record, schema {SCHEMA}",
        "description": "The files of results/runs/<name>/, one property per file (hypotheses.txt: the scored "
                       "sentences, one a line). Generated from harness/record/models.py by "
                       "`python -m harness.record.models`; do not edit.",
        "type": "object",
        "properties": {name: refs[(model, "validation")] for name, model in files.items()},
        "$defs": top["$defs"],
    }


def json_schema_text() -> str:
    return json.dumps(json_schema(), ensure_ascii=False, sort_keys=True, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0]) if argv else SCHEMA_FILE
    path.write_text(json_schema_text(), encoding="utf-8")
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

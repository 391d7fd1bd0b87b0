"""Stored outputs of a system (BART, GrammarGPT, an LLM run elsewhere): one line per sentence,
JSONL {id, prediction}, or a para file. Read and checked against the dataset up front."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.backends.base import BackendContext, BackendError, BaseBackend, Response
from harness.config.schema import ModelSpec
from harness.data.manifest import DataSettings, load_manifest, resolve, sha256_file
from harness.core.errors import HarnessError
from harness.core.textfile import read_lines


def _predictions_path(spec: str, settings: DataSettings, config_path: str | None) -> Path:
    path = Path(spec)
    if path.is_file():
        return path
    manifest = load_manifest()
    if spec in manifest.outputs:
        return resolve(manifest.outputs[spec]["file"], settings, manifest)
    if spec in manifest.files:
        return resolve(spec, settings, manifest)
    raise HarnessError(f"model.predictions: no such file, and not an output name of data/manifest.yaml: {spec}",
                       config_path)


def read_predictions(path: Path, fmt: str, item_ids: list[str]) -> dict[str, str]:
    lines = read_lines(path)
    if fmt == "auto":
        first = lines[0] if lines else ""
        fmt = "jsonl" if first.lstrip().startswith("{") else "para" if first.count("\t") >= 2 else "lines"
    if fmt == "lines":
        if len(lines) != len(item_ids):
            raise HarnessError(f"{len(lines)} prediction lines but the dataset has {len(item_ids)} sentences",
                               path, min(len(lines), len(item_ids)) + 1)
        return dict(zip(item_ids, lines))
    found: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if fmt == "jsonl":
            try:
                record = json.loads(line)
                item_id, prediction = str(record["id"]), record["prediction"]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise HarnessError('expected a JSON object {"id": ..., "prediction": ...}', path, number) from None
            if not isinstance(prediction, str):
                raise HarnessError("prediction is not a string", path, number)
        else:
            fields = line.split("\t")
            if len(fields) < 3:
                raise HarnessError("para line has no source column (expected id<TAB>source<TAB>prediction)",
                                   path, number)
            item_id, prediction = fields[0], fields[2]
        if item_id in found:
            raise HarnessError(f"id {item_id} appears twice", path, number)
        found[item_id] = prediction
    missing = [i for i in item_ids if i not in found]
    if missing or len(found) != len(item_ids):
        extra = sorted(set(found) - set(item_ids))
        raise HarnessError(f"predictions do not match the dataset: {len(missing)} ids missing "
                           f"(first: {missing[:5]}), {len(extra)} unknown (first: {extra[:5]})", path)
    return found


class StoredBackend(BaseBackend):
    name = "stored"
    cacheable = False  # read from a file: nothing to cache
    chat = False  # nothing is sent
    generates = False  # generated elsewhere: no speed, no cost

    @classmethod
    def check_spec(cls, spec: ModelSpec) -> None:
        if spec.predictions is None:
            raise ValueError("a stored backend needs predictions (a file, or an output name of the manifest)")
        if spec.model or spec.base_url or spec.params:
            raise ValueError("a stored backend takes predictions and format only")

    @classmethod
    def create(cls, spec: ModelSpec, context: BackendContext) -> "StoredBackend":
        return cls(spec, context.settings, list(context.item_ids), context.config_path)

    @classmethod
    def describe_dry_run(cls, spec: ModelSpec, items: int) -> str | None:
        return f"stored predictions: {spec.predictions} ({items} items); nothing would be sent"

    def __init__(self, spec: ModelSpec, settings: DataSettings, item_ids: list[str],
                 config_path: str | None = None) -> None:
        assert spec.predictions is not None
        self.path = _predictions_path(spec.predictions, settings, config_path)
        self.sha256 = sha256_file(self.path)
        self.predictions = read_predictions(self.path, spec.format, item_ids)

    def identity(self) -> dict[str, Any]:
        return {"backend": self.name, "predictions_sha256": self.sha256}

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "predictions": str(self.path), "sha256": self.sha256}

    async def answer(self, item_id: str, messages: list[dict[str, str]]) -> Response:
        try:
            return Response(text=self.predictions[item_id])
        except KeyError:
            raise BackendError(f"no stored prediction for id {item_id}", False) from None

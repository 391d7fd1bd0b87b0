"""The run record's writer and reader: the one module that writes and reads a run folder
(results/runs/<name>/), as the models of harness.record.models.

A record is the files of one run:

- `manifest.json`: what produced it (schema, config, dataset sha256, the model that answered,
  versions, times) and the sha256 of each file below; its `fingerprint` names the record.
- `metrics.json`: the scores, each level with its scorer signature.
- `sentences.jsonl`: per-sentence counts and the chosen reference, per level.
- `hypotheses.txt`: the scored sentences, one a line (optional on disk).
- `predictions.jsonl`: the model's responses, cleaning, errors (optional on disk).

The optional files are left out of git when they are other people's outputs (the stored-output
runs); a reader checks whatever is present against the manifest, so a folder can never pass
for one run while holding parts of two.

Writes change a folder as a whole or not at all: the new record is written beside it and
swapped in (an atomic exchange where the OS has one). A run holds a lock on its folder from
before its first request to its last write; the lock dies with its process.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.core.atomic import atomic_write_text
from harness.core.errors import HarnessError
from harness.record.models import (  # noqa: F401 - DatasetRef, RunRecord: what readers import from here
    HYPOTHESES, LEVELS, MANIFEST, METRICS, PREDICTIONS, SCHEMA, SENTENCES, DatasetRef, FileHashes, Manifest, Metrics,
    PredictionLine, RunInfo, RunRecord, SentenceLine,
)
from metrics.compare import Counts

HASHED_FILES = (METRICS, SENTENCES, HYPOTHESES)
UPGRADABLE_SCHEMAS = (2,)  # what `harness record-upgrade` rewrites (harness.run.upgrade)
Model = TypeVar("Model", bound=BaseModel)


# --------------------------------------------------------------------------------------------
# Writing


def folder_name(run: str, limit: int | None, dataset_size: int) -> str:
    """Partial runs get their own folder, so they never replace a complete record."""
    return run if limit is None or limit >= dataset_size else f"{run}.limit-{limit}"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _data(model: BaseModel) -> Any:
    return model.model_dump(mode="json", by_alias=True)


def _json_text(model: BaseModel) -> str:
    return json.dumps(_data(model), ensure_ascii=False, sort_keys=True, indent=2) + "\n"


def _jsonl_text(lines: Iterable[BaseModel]) -> str:
    # ensure_ascii keeps U+2028, U+0085 and friends escaped: a record is one line for any reader.
    return "".join(json.dumps(_data(line), sort_keys=True) + "\n" for line in lines)


def outputs_digest(predictions: Iterable[PredictionLine]) -> str:
    """What the model answered, item by item: names predictions.jsonl without its volatile
    fields (latency, cache flags), so a re-run answered from the cache has the same digest."""
    return _sha(_canonical([[p.id, p.raw, p.prediction, p.error] for p in predictions]))


def fingerprint(info: RunInfo, outputs_sha256: str, files: FileHashes) -> str:
    """The record's name: what was run, on what, by which model, with which results."""
    core = {"schema": SCHEMA, "config_sha256": info.config_sha256, "model": _data(info.model),
            "outputs_sha256": outputs_sha256, "files": _data(files),
            "dataset": info.dataset.model_dump(mode="json", include={"sha256", "sentences", "run_items"})}
    return _sha(_canonical(core))


def write_record(run_dir: Path, info: RunInfo, metrics: Metrics, sentences: Sequence[SentenceLine],
                 hypotheses: Sequence[str], predictions: Sequence[PredictionLine], previous: str | None,
                 extra: dict[str, str] | None = None) -> bool:
    """Seal `info` into the manifest (schema, file hashes, fingerprint) and write the record,
    unless `previous`, the fingerprint of the valid record the folder holds, is the same: then
    only the optional files that are missing are added, and False says the record is unchanged.
    `extra`: files written with the record, in the same swap (a benchmark's submission file,
    which metrics.json names by sha256). The caller holds the folder's lock (`hold`)."""
    if any("\n" in h or "\r" in h for h in hypotheses):
        raise HarnessError("a prediction spans several lines; hypotheses.txt needs one a line", run_dir)
    extra = extra or {}
    if set(extra) & {MANIFEST, *HASHED_FILES, PREDICTIONS}:
        raise HarnessError(f"an extra file may not replace a record file: {', '.join(sorted(extra))}", run_dir)
    texts = {METRICS: _json_text(metrics), SENTENCES: _jsonl_text(sentences),
             HYPOTHESES: "".join(h + "\n" for h in hypotheses), PREDICTIONS: _jsonl_text(predictions), **extra}
    outputs = outputs_digest(predictions)
    files = FileHashes.model_validate({name: _sha(texts[name]) for name in HASHED_FILES})
    manifest = Manifest(**dict(info), outputs_sha256=outputs, files=files,
                        fingerprint=fingerprint(info, outputs, files))
    texts[MANIFEST] = _json_text(manifest)

    if previous == manifest.fingerprint:
        for name in (HYPOTHESES, PREDICTIONS, *extra):
            if not (run_dir / name).is_file():
                atomic_write_text(run_dir / name, texts[name])
        return False

    staging = run_dir.parent / f".{run_dir.name}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        for name, text in texts.items():
            _write_file(staging / name, text)
        _fsync_dir(staging)
        _swap_in(staging, run_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return True


def _write_file(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _swap_in(staging: Path, run_dir: Path) -> None:
    """Put `staging` in place of `run_dir`. Ctrl-C and SIGTERM wait until the swap is done; a
    kill -9 between the two renames of the fallback is repaired by the next `hold`."""
    blocked = {signal.SIGINT, signal.SIGTERM}
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        if not run_dir.exists():
            os.rename(staging, run_dir)
        elif _exchange(staging, run_dir):
            pass  # staging now holds the old record; the caller removes it
        else:
            aside = _aside(run_dir)
            shutil.rmtree(aside, ignore_errors=True)
            os.rename(run_dir, aside)
            os.rename(staging, run_dir)
            shutil.rmtree(aside, ignore_errors=True)
        _fsync_dir(run_dir.parent)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)


def _aside(run_dir: Path) -> Path:
    return run_dir.parent / f".{run_dir.name}.previous"


def _repair(run_dir: Path) -> None:
    """Undo what an interrupted write leaves: a staging folder, or the previous record set
    aside by a swap that did not finish."""
    shutil.rmtree(run_dir.parent / f".{run_dir.name}.staging", ignore_errors=True)
    aside = _aside(run_dir)
    if aside.exists():
        if run_dir.exists():
            shutil.rmtree(aside, ignore_errors=True)
        else:
            os.rename(aside, run_dir)


@contextmanager
def hold(run_dir: Path, command: str | None = None) -> Iterator[None]:
    """Hold the folder's lock (`.<name>.lock` beside it) or fail at once naming its holder.
    flock locks are released by the kernel when their process dies, so a crashed run never
    blocks the next one."""
    root = run_dir.parent
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise HarnessError(f"cannot create the results folder: {error.strerror}", root) from None
    lock_path = root / f".{run_dir.name}.lock"
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 4096).decode("utf-8", "replace").strip() or "a run that is starting"
            os.close(fd)
            raise HarnessError(f"another run is writing this folder: {holder}", run_dir) from None
        try:  # the previous holder may have removed the file after we opened it: lock the new one
            if os.stat(lock_path).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    command = command or "python -m harness " + " ".join(sys.argv[1:])
    who = f"pid {os.getpid()} on {socket.gethostname()}, started {started}: {command}"
    os.ftruncate(fd, 0)
    os.write(fd, who.encode("utf-8"))
    try:
        _repair(run_dir)
        yield
    finally:
        lock_path.unlink(missing_ok=True)
        os.close(fd)


# --------------------------------------------------------------------------------------------
# Reading


def read_record(path: str | Path) -> RunRecord:
    """Read a run folder and check every file present against its manifest. Raises
    HarnessError naming the file (and line) when anything does not belong to the same run or
    does not fit its model."""
    path = Path(path)
    if not path.is_dir():
        raise HarnessError("not a run folder (expected results/runs/<name>/)", path)
    manifest = _read_manifest(path)
    texts: dict[str, str | None] = {}
    hashes = _data(manifest.files)  # by file name
    for name in HASHED_FILES:
        texts[name] = read_text(path / name, required=name != HYPOTHESES)
        if texts[name] is not None and _sha(texts[name]) != hashes[name]:
            raise HarnessError(f"does not belong to this run's record (its sha256 differs from the one in "
                               f"{MANIFEST}): the folder mixes two runs; run the config again", path / name)
    metrics = parse_json(Metrics, texts[METRICS] or "", path / METRICS)
    rows = _sentences(texts[SENTENCES] or "", metrics, manifest, path)
    hypotheses = tuple(texts[HYPOTHESES].split("\n")[:-1]) if texts[HYPOTHESES] is not None else None
    predictions = _predictions(path, manifest, rows)
    return RunRecord(path, manifest, metrics, rows, predictions, hypotheses)


def list_records(root: str | Path) -> list[RunRecord]:
    """Every run folder under `root`, sorted by name (hidden folders are a writer's own)."""
    root = Path(root)
    if not root.is_dir():
        raise HarnessError("no such runs folder", root)
    return [read_record(p) for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith(".")]


class _Schema(BaseModel):
    """Only the schema number, read before anything else of a manifest."""

    model_config = ConfigDict(extra="ignore")
    number: Any = Field(1, alias="schema")


def schema_of(path: Path) -> int:
    """The record schema of a folder's manifest (1 when it names none)."""
    where = path / MANIFEST
    number = parse_json(_Schema, read_text(where, required=True) or "", where).number
    if isinstance(number, bool) or not isinstance(number, int):
        raise HarnessError(f"schema: expected a whole number, got {number!r}", where)
    return number


def _read_manifest(path: Path) -> Manifest:
    where = path / MANIFEST
    schema = schema_of(path)
    if schema != SCHEMA:
        older = schema < SCHEMA
        action = "run its config again to rewrite it" if older else "upgrade cgec-harness"
        if schema in UPGRADABLE_SCHEMAS:
            action += f", or `python -m harness record-upgrade {path}`"
        raise HarnessError(f"written by {'an older' if older else 'a newer'} cgec-harness (run record schema "
                           f"{schema}; this version reads schema {SCHEMA}): {action}", where)
    manifest = parse_json(Manifest, read_text(where, required=True) or "", where)
    if fingerprint(manifest, manifest.outputs_sha256, manifest.files) != manifest.fingerprint:
        raise HarnessError("fingerprint does not match the manifest's contents (edited by hand?)", where)
    return manifest


def _sentences(text: str, metrics: Metrics, manifest: Manifest, path: Path) -> tuple[SentenceLine, ...]:
    where = path / SENTENCES
    rows = []
    for number, line in _lines(text):
        row = parse_json(SentenceLine, line, where, number)
        missing = [level for level in metrics.levels() if getattr(row, level) is None]
        if missing:
            raise HarnessError(f"no {missing[0]} counts ({METRICS} has that level)", where, number)
        rows.append(row)
    if len(rows) != manifest.dataset.run_items:
        raise HarnessError(f"{len(rows)} sentences but the manifest says {manifest.dataset.run_items} were run",
                           where)
    for level, scores in metrics.levels().items():
        summed = Counts.sum(row.level(level).counts for row in rows)
        total = scores.counts
        if summed != total:
            raise HarnessError(f"{level}: per-sentence counts sum to tp/fp/fn {summed.tp}/{summed.fp}/{summed.fn} "
                               f"but {METRICS} says {total.tp}/{total.fp}/{total.fn}", where)
    return tuple(rows)


def _predictions(path: Path, manifest: Manifest, rows: tuple[SentenceLine, ...]) -> tuple[PredictionLine, ...] | None:
    where = path / PREDICTIONS
    text = read_text(where, required=False)
    if text is None:
        return None
    predictions = tuple(parse_json(PredictionLine, line, where, number) for number, line in _lines(text))
    if [p.id for p in predictions] != [row.id for row in rows] \
            or outputs_digest(predictions) != manifest.outputs_sha256:
        raise HarnessError(f"does not belong to this run's record (its outputs differ from the ones "
                           f"{MANIFEST} names): run the config again", where)
    return predictions


def read_text(path: Path, required: bool) -> str | None:
    """A record file's text (None when an optional one is absent); a one-line error otherwise."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise HarnessError("missing: a run folder needs manifest.json, metrics.json and sentences.jsonl",
                               path) from None
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise HarnessError(f"cannot read: {error}", path) from None


def _lines(text: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.split("\n"), 1):
        if line.strip():
            yield number, line


def parse_json(model: type[Model], text: str, path: Path, line: int | None = None) -> Model:
    """`text` (a JSON document or one JSONL line) as `model`; anything else is one HarnessError
    naming the file, the line and the first key that does not fit."""
    try:
        return model.model_validate_json(text)
    except ValidationError as error:
        raise HarnessError(validation_message(error), path, line) from None


def validation_message(error: ValidationError) -> str:
    """A pydantic error as one line: `key.sub: what is wrong`."""
    first = error.errors()[0]
    if first["type"] == "json_invalid":
        return f"invalid JSON: {first.get('ctx', {}).get('error', first['msg'])}"
    where = ".".join(str(part) for part in first["loc"])
    if not where and first["type"] in ("model_type", "model_attributes_type", "dict_type"):
        return "expected a JSON object"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        message = "missing"
    elif first["type"] == "extra_forbidden":
        message = "unknown key"
    return f"{where}: {message}" if where else message

"""The run record: the one module that writes and reads a run folder (results/runs/<name>/).

A record is the files of one run:

- `manifest.json`: what produced it (schema, config, dataset sha256, the model that answered,
  versions, times) and the sha256 of each file below; its `fingerprint` names the record.
- `metrics.json`: the scores, each level with its scorer signature.
- `sentences.jsonl`: per-sentence counts and the chosen reference, per level.
- `hypotheses.txt`: the scored sentences, one a line (optional on disk).
- `predictions.jsonl`: raw outputs, cleaning, usage, errors (optional on disk).

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from harness.core.atomic import atomic_write_text
from harness.core.errors import HarnessError
from metrics.compare import Counts

SCHEMA = 2
LEVELS = ("char", "word")
MANIFEST, METRICS, SENTENCES, HYPOTHESES, PREDICTIONS = (
    "manifest.json", "metrics.json", "sentences.jsonl", "hypotheses.txt", "predictions.jsonl")
HASHED_FILES = (METRICS, SENTENCES, HYPOTHESES)


# --------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class SentenceScore:
    """One line of sentences.jsonl: counts per level, the chosen reference, and (ChERRANT
    levels only) counts per edit type, collapsed to M/R/S/W."""

    id: str
    counts: dict[str, Counts]
    refs: dict[str, int | None]
    types: dict[str, dict[str, Counts]]


@dataclass(frozen=True)
class Prediction:
    """One line of predictions.jsonl (the fields reports use)."""

    id: str
    source: str
    raw: str | None
    prediction: str | None
    cleaning: tuple[str, ...]
    error: str | None


@dataclass(frozen=True)
class DatasetRef:
    """The dataset a run scored, as its manifest records it."""

    name: str
    path: str
    sha256: str
    sentences: int  # in the dataset
    run_items: int  # scored by this run (fewer after --limit)


@dataclass(frozen=True)
class RunRecord:
    """A run folder, read and cross-checked."""

    path: Path
    manifest: dict[str, Any]
    metrics: dict[str, Any]
    rows: tuple[SentenceScore, ...]
    predictions: tuple[Prediction, ...] | None  # None: predictions.jsonl is not on disk
    hypotheses: tuple[str, ...] | None  # None: hypotheses.txt is not on disk

    @property
    def name(self) -> str:
        return self.manifest["run"]

    @property
    def fingerprint(self) -> str:
        return self.manifest["fingerprint"]

    @property
    def dataset(self) -> DatasetRef:
        d = self.manifest["dataset"]
        return DatasetRef(d["name"], d["path"], d["sha256"], d["sentences"], d["run_items"])

    @property
    def signatures(self) -> dict[str, str]:
        return {level: self.metrics[level]["signature"] for level in LEVELS if level in self.metrics}

    @property
    def levels(self) -> tuple[str, ...]:
        return tuple(self.signatures)

    @property
    def failed(self) -> int:
        return int(self.metrics.get("failed", 0))

    @property
    def partial(self) -> bool:
        """Fewer sentences than the dataset has (a --limit run)."""
        return self.dataset.run_items < self.dataset.sentences

    @property
    def complete(self) -> bool:
        return not self.failed and not self.partial

    @property
    def report(self) -> dict[str, Any]:
        return (self.manifest.get("config") or {}).get("report") or {}

    @property
    def config_path(self) -> str | None:
        return self.manifest.get("config_path")

    def require_predictions(self) -> tuple[Prediction, ...]:
        if self.predictions is None:
            hint = f": `python -m harness run --config {self.config_path}`" if self.config_path else ""
            raise HarnessError(f"this run's {PREDICTIONS} is not in its folder (the outputs of stored systems are "
                               f"not committed); run its config again to restore it{hint}", self.path)
        return self.predictions


# --------------------------------------------------------------------------------------------
# Writing


def folder_name(run: str, limit: int | None, dataset_size: int) -> str:
    """Partial runs get their own folder, so they never replace a complete record."""
    return run if limit is None or limit >= dataset_size else f"{run}.limit-{limit}"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _json_text(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2) + "\n"


def _jsonl_text(records: Iterable[dict]) -> str:
    # ensure_ascii keeps U+2028, U+0085 and friends escaped: a record is one line for any reader.
    return "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)


def outputs_digest(predictions: Iterable[dict]) -> str:
    """What the model answered, item by item: names predictions.jsonl without its volatile
    fields (latency, cache flags), so a re-run answered from the cache has the same digest."""
    return _sha(_canonical([[p["id"], p["raw"], p["prediction"], p["error"]] for p in predictions]))


def fingerprint(manifest: dict[str, Any]) -> str:
    """The record's name: what was run, on what, by which model, with which results."""
    core = {key: manifest.get(key) for key in ("schema", "config_sha256", "model", "outputs_sha256", "files")}
    core["dataset"] = {k: manifest["dataset"][k] for k in ("sha256", "sentences", "run_items")}
    return _sha(_canonical(core))


def write_record(run_dir: Path, manifest: dict[str, Any], metrics: dict[str, Any], sentences: list[dict],
                 hypotheses: list[str], predictions: list[dict], previous: str | None) -> bool:
    """Complete `manifest` (schema, file hashes, fingerprint) and write the record, unless
    `previous`, the fingerprint of the valid record the folder holds, is the same: then only
    the optional files that are missing are added, and False says the record is unchanged.
    The caller holds the folder's lock (`hold`)."""
    if any("\n" in h or "\r" in h for h in hypotheses):
        raise HarnessError("a prediction spans several lines; hypotheses.txt needs one a line", run_dir)
    texts = {METRICS: _json_text(metrics), SENTENCES: _jsonl_text(sentences),
             HYPOTHESES: "".join(h + "\n" for h in hypotheses), PREDICTIONS: _jsonl_text(predictions)}
    manifest = {**manifest, "schema": SCHEMA, "outputs_sha256": outputs_digest(predictions),
                "files": {name: _sha(texts[name]) for name in HASHED_FILES}}
    manifest["fingerprint"] = fingerprint(manifest)
    texts[MANIFEST] = _json_text(manifest)

    if previous == manifest["fingerprint"]:
        for name in (HYPOTHESES, PREDICTIONS):
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
    HarnessError naming the file when anything does not belong to the same run."""
    path = Path(path)
    if not path.is_dir():
        raise HarnessError("not a run folder (expected results/runs/<name>/)", path)
    manifest = _read_json(path / MANIFEST, required=True)
    if not isinstance(manifest, dict):
        raise HarnessError("expected a JSON object", path / MANIFEST)
    schema = manifest.get("schema", 1)
    if schema != SCHEMA:
        age = "an older" if isinstance(schema, int) and schema < SCHEMA else "a newer"
        action = "run its config again to rewrite it" if age == "an older" else "upgrade cgec-harness"
        raise HarnessError(f"written by {age} cgec-harness (run record schema {schema}; this version reads "
                           f"schema {SCHEMA}): {action}", path / MANIFEST)
    where = path / MANIFEST
    _field(manifest, "run", str, where)
    _field(manifest, "fingerprint", str, where)
    dataset = _field(manifest, "dataset", dict, where)
    for key, kind in (("name", str), ("path", str), ("sha256", str), ("sentences", int), ("run_items", int)):
        _field(dataset, key, kind, where, f"dataset.{key}")
    files = _field(manifest, "files", dict, where)
    if fingerprint(manifest) != manifest["fingerprint"]:
        raise HarnessError("fingerprint does not match the manifest's contents (edited by hand?)", where)

    texts: dict[str, str | None] = {}
    for name in HASHED_FILES:
        texts[name] = _read_text(path / name, required=name != HYPOTHESES)
        if texts[name] is not None and _sha(texts[name]) != files.get(name):
            raise HarnessError(f"does not belong to this run's record (its sha256 differs from the one in "
                               f"{MANIFEST}): the folder mixes two runs; run the config again", path / name)
    metrics = _json_value(texts[METRICS], path / METRICS)
    if not isinstance(metrics, dict):
        raise HarnessError("expected a JSON object", path / METRICS)
    levels = [level for level in LEVELS if isinstance(metrics.get(level), dict)]
    if not levels:
        raise HarnessError(f"no score level ({', '.join(LEVELS)}) in metrics", path / METRICS)
    for level in levels:
        _field(metrics[level], "signature", str, path / METRICS, f"{level}.signature")
    rows = tuple(_sentence_row(number, data, levels, path / SENTENCES)
                 for number, data in _jsonl(texts[SENTENCES], path / SENTENCES))
    if len(rows) != dataset["run_items"]:
        raise HarnessError(f"{len(rows)} sentences but the manifest says {dataset['run_items']} were run",
                           path / SENTENCES)
    _check_totals(rows, metrics, levels, path)

    hypotheses = None
    if texts[HYPOTHESES] is not None:
        hypotheses = tuple(texts[HYPOTHESES].split("\n")[:-1])
    predictions = None
    predictions_text = _read_text(path / PREDICTIONS, required=False)
    if predictions_text is not None:
        entries = list(_jsonl(predictions_text, path / PREDICTIONS))
        predictions = tuple(_prediction(number, data, path / PREDICTIONS) for number, data in entries)
        if [p.id for p in predictions] != [row.id for row in rows] \
                or outputs_digest(data for _, data in entries) != manifest.get("outputs_sha256"):
            raise HarnessError(f"does not belong to this run's record (its outputs differ from the ones "
                               f"{MANIFEST} names): run the config again", path / PREDICTIONS)
    return RunRecord(path, manifest, metrics, rows, predictions, hypotheses)


def list_records(root: str | Path) -> list[RunRecord]:
    """Every run folder under `root`, sorted by name (hidden folders are a writer's own)."""
    root = Path(root)
    if not root.is_dir():
        raise HarnessError("no such runs folder", root)
    return [read_record(p) for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith(".")]


def _read_text(path: Path, required: bool) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise HarnessError("missing: a run folder needs manifest.json, metrics.json and sentences.jsonl",
                               path) from None
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise HarnessError(f"cannot read: {error}", path) from None


def _read_json(path: Path, required: bool) -> Any:
    return _json_value(_read_text(path, required), path)


def _json_value(text: str | None, path: Path) -> Any:
    try:
        return json.loads(text or "")
    except json.JSONDecodeError as error:
        raise HarnessError(f"invalid JSON: {error.msg}", path, error.lineno) from None


def _jsonl(text: str | None, path: Path) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate((text or "").split("\n"), 1):
        if line.strip():
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as error:
                raise HarnessError(f"invalid JSON: {error.msg}", path, number) from None


def _field(data: Any, key: str, kind: type, path: Path, label: str | None = None, line: int | None = None) -> Any:
    if not isinstance(data, dict) or key not in data:
        raise HarnessError(f"missing {label or key}", path, line)
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise HarnessError(f"{label or key}: expected {kind.__name__}, got {type(value).__name__}", path, line)
    return value


def _id(data: dict, path: Path, line: int) -> str:
    value = data.get("id")
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise HarnessError("missing or invalid id", path, line)
    return str(value)


def _counts(block: Any, level: str, path: Path, line: int) -> Counts:
    total = Counts(*(_field(block, key, int, path, f"{level}.{key}", line) for key in ("tp", "fp", "fn")))
    if min(total.tp, total.fp, total.fn) < 0:
        raise HarnessError(f"{level}: negative count", path, line)
    return total


def _sentence_row(line: int, data: Any, levels: list[str], path: Path) -> SentenceScore:
    if not isinstance(data, dict):
        raise HarnessError("expected a JSON object", path, line)
    counts: dict[str, Counts] = {}
    refs: dict[str, int | None] = {}
    types: dict[str, dict[str, Counts]] = {}
    for level in levels:
        block = data.get(level)
        if not isinstance(block, dict):
            raise HarnessError(f"no {level} counts (metrics.json has that level)", path, line)
        counts[level] = _counts(block, level, path, line)
        refs[level] = block.get("ref")
        if "types" in block:
            types[level] = _types(block["types"], level, path, line)
            if sum_counts(types[level].values()) != counts[level]:
                raise HarnessError(f"{level}: per-type counts do not add up to tp/fp/fn", path, line)
    return SentenceScore(_id(data, path, line), counts, refs, types)


def _types(raw: Any, level: str, path: Path, line: int) -> dict[str, Counts]:
    if not isinstance(raw, dict):
        raise HarnessError(f"{level}.types: expected an object", path, line)
    out: dict[str, Counts] = {}
    for name, values in raw.items():
        if not (isinstance(values, list) and len(values) == 3 and all(isinstance(v, int) for v in values)):
            raise HarnessError(f"{level}.types.{name}: expected [tp, fp, fn]", path, line)
        # Tier 1 as in metrics.compare.type_counts: "R:NOUN" -> "R"; UNK stays UNK.
        key = name if name == "UNK" else name[:1]
        out[key] = out.get(key, Counts()) + Counts(*values)
    return out


def _check_totals(rows: tuple[SentenceScore, ...], metrics: dict, levels: list[str], path: Path) -> None:
    for level in levels:
        total = _counts(metrics[level], level, path / METRICS, None)
        summed = sum_counts(row.counts[level] for row in rows)
        if summed != total:
            raise HarnessError(f"{level}: per-sentence counts sum to tp/fp/fn {summed.tp}/{summed.fp}/{summed.fn} "
                               f"but metrics.json says {total.tp}/{total.fp}/{total.fn}", path / SENTENCES)


def _prediction(line: int, data: Any, path: Path) -> Prediction:
    if not isinstance(data, dict):
        raise HarnessError("expected a JSON object", path, line)
    for key in ("raw", "prediction", "error"):
        if key not in data:
            raise HarnessError(f"missing {key}", path, line)
    return Prediction(id=_id(data, path, line), source=_field(data, "source", str, path, line=line),
                      raw=data["raw"], prediction=data["prediction"],
                      cleaning=tuple(str(flag) for flag in data.get("cleaning") or []), error=data["error"])


def sum_counts(items: Iterable[Counts]) -> Counts:
    total = Counts()
    for item in items:
        total = total + item
    return total

"""Datasets for runs: the items a model sees (id and source only) and, kept apart, the
references the scorer needs. Backends receive `Item`s, so a gold answer cannot reach a prompt."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.config.schema import DatasetSpec
from harness.data.manifest import DataSettings, load_manifest, resolve, sha256_file
from harness.core.errors import HarnessError
from harness.data.inputs import References, load_references
from harness.record.store import DatasetRef
from harness.core.textfile import read_lines


@dataclass(frozen=True)
class Item:
    id: str
    source: str


@dataclass(frozen=True)
class Dataset:
    name: str
    path: Path
    sha256: str
    items: tuple[Item, ...]
    references: References


def load_dataset(spec: DatasetSpec, settings: DataSettings, config_path: str | None = None) -> Dataset:
    if spec.name is not None:
        manifest = load_manifest()
        if spec.name not in manifest.datasets:
            known = ", ".join(sorted(manifest.datasets))
            raise HarnessError(f"dataset: unknown dataset {spec.name!r} (known: {known})", config_path)
        path = resolve(manifest.datasets[spec.name]["references"], settings, manifest)
        name = spec.name
    else:
        assert spec.path is not None
        path = Path(spec.path)
        if not path.is_file():
            raise HarnessError(f"dataset.path: no such file {path}", config_path)
        name = path.stem
    references = load_references(path)
    if references.targets is None:
        raise HarnessError("dataset: a run needs a para file (id<TAB>source<TAB>references), not M2", path)
    ids = [line.split("\t", 1)[0] for line in read_lines(path) if line.strip()]
    items = tuple(Item(item_id, source) for item_id, source in zip(ids, references.sources))
    if len(set(ids)) != len(ids):
        raise HarnessError("dataset: ids are not unique", path)
    return Dataset(name, path, sha256_file(path), items, references)


def manifest_sha256(name: str) -> str | None:
    """The sha256 a dataset of data/manifest.yaml has (its reference file's), or None."""
    manifest = load_manifest()
    spec = manifest.datasets.get(name)
    return manifest.files[spec["references"]].sha256 if spec and "references" in spec else None


def load_run_dataset(recorded: DatasetRef, settings: DataSettings) -> Dataset:
    """The very dataset a run scored, found by its sha256: the manifest dataset of that name
    when it has that hash, else the file at the recorded path when it still has it. A file
    that changed since is refused, never silently paired with the run's outputs."""
    if manifest_sha256(recorded.name) == recorded.sha256:
        return load_dataset(DatasetSpec(name=recorded.name), settings)
    path = Path(recorded.path)
    if not path.is_file():
        raise HarnessError(f"the dataset this run scored (sha256 {recorded.sha256[:12]}) is no longer at this path",
                           path)
    actual = sha256_file(path)
    if actual != recorded.sha256:
        raise HarnessError(f"this file changed since the run scored it (sha256 {actual[:12]} now, "
                           f"{recorded.sha256[:12]} in the run's record): it is not the run's dataset", path)
    return load_dataset(DatasetSpec(path=str(path)), settings)

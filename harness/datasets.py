"""Datasets for runs: the items a model sees (id and source only) and, kept apart, the
references the scorer needs. Backends receive `Item`s, so a gold answer cannot reach a prompt."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.config import DatasetSpec
from harness.data import DataSettings, load_manifest, resolve, sha256_file
from harness.errors import HarnessError
from harness.inputs import References, load_references
from harness.textfile import read_lines


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


def load_run_dataset(recorded: dict, settings: DataSettings) -> Dataset:
    """The dataset a run's manifest records: by manifest name when it is one, else by path."""
    if recorded.get("name") in load_manifest().datasets:
        return load_dataset(DatasetSpec(name=recorded["name"]), settings)
    return load_dataset(DatasetSpec(path=recorded["path"]), settings)

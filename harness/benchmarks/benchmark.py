"""A benchmark ready to run and score: its files resolved (mirror, cache or a verified download),
read by its loader, named by the sha256 of everything it reads."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Sequence

from harness.benchmarks.gold import BenchmarkFile, Gold
from harness.benchmarks.loaders import LOADERS
from harness.benchmarks.notices import download_notice
from harness.benchmarks.registry import BenchmarkSpec, Registry, load_registry
from harness.core.errors import HarnessError
from harness.data.datasets import Item
from harness.data.manifest import DataSettings, Manifest, load_manifest, resolve


@dataclass(frozen=True)
class Benchmark:
    name: str
    spec: BenchmarkSpec
    files: tuple[BenchmarkFile, ...]
    items: tuple[Item, ...]
    gold: Gold | None
    stats: dict[str, int] = field(default_factory=dict)
    limit: int | None = None  # set on a head (`run --limit`): only the first `limit` items are here

    @property
    def sha256(self) -> str:
        """One name for all the data scored: the sha256 of the files' `role:sha256` lines (a single
        file's own sha256 when the benchmark has one file), what reported rows are matched by."""
        return data_sha256({f.role: f.sha256 for f in self.files})

    @property
    def has_references(self) -> bool:
        return self.gold is not None

    def head(self, count: int) -> "Benchmark":
        """The first `count` items and their gold (a `run --limit`), still named by the sha256 of
        the whole data: the run's record says how many of its sentences were run."""
        if count >= len(self.items):
            return self
        gold = self.gold.head(count) if self.gold is not None else None
        return replace(self, items=self.items[:count], gold=gold, limit=count)


def data_sha256(pins: dict[str, str]) -> str:
    """The benchmark's data sha256 from its files' pinned sha256 by role (`Benchmark.sha256`)."""
    if len(pins) == 1:
        return next(iter(pins.values()))
    lines = "".join(f"{role}:{sha}\n" for role, sha in sorted(pins.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def pinned_sha256(spec: BenchmarkSpec, manifest: Manifest | None = None) -> str:
    """The data sha256 a benchmark of the registry has, from the manifest's pins alone (no file
    is read or downloaded): what `table --suite` matches run records by."""
    files = (manifest or load_manifest()).files
    return data_sha256({role: files[relpath].sha256 for role, relpath in spec.files.items()})


def load_benchmark(name: str, settings: DataSettings | None = None, registry: Registry | None = None,
                   progress: bool = True) -> Benchmark:
    """Resolve and read benchmark `name`; the first download of a file prints its terms."""
    settings = settings or DataSettings.from_env()
    spec = (registry or load_registry()).get(name)
    manifest = load_manifest()
    notice = download_notice(name, spec)
    files = []
    for role, relpath in sorted(spec.files.items()):
        path = resolve(relpath, settings, manifest, progress, on_download=notice)
        files.append(BenchmarkFile(role, relpath, path, manifest.files[relpath].sha256))
    loaded = LOADERS[spec.loader][1]({f.role: f.path for f in files})
    return Benchmark(name, spec, tuple(files), loaded.items, loaded.gold, loaded.stats)


def submission_text(benchmark: Benchmark, predictions: Sequence[str]) -> tuple[str, str]:
    """The organisers' submission file of an inputs-only split: (file name, text)."""
    if benchmark.spec.submission is None:
        raise HarnessError(f"{benchmark.name} has no submission format (it is scored here)")
    if len(predictions) != len(benchmark.items):
        raise HarnessError(f"{len(predictions)} predictions for the {len(benchmark.items)} items of {benchmark.name}")
    bad = next((i for i, p in enumerate(predictions) if "\t" in p or "\n" in p), None)
    if bad is not None:
        raise HarnessError(f"prediction {bad + 1} holds a tab or a line break: it cannot go in the submission file")
    text = "".join(f"{item.id}\t{item.source}\t{p}\n" for item, p in zip(benchmark.items, predictions))
    return benchmark.spec.submission.file_name, text

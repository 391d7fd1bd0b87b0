"""A benchmark ready to run and score: its files resolved (mirror, cache or a verified download),
read by its loader, named by the sha256 of everything it reads."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Sequence

from harness.benchmarks.gold import BenchmarkFile, Gold
from harness.benchmarks.loaders import LOADERS
from harness.benchmarks.notices import download_notice
from harness.benchmarks.registry import BenchmarkSpec, Registry, load_registry
from harness.core.errors import HarnessError
from harness.data.datasets import Item
from harness.data.manifest import DataSettings, load_manifest, resolve


@dataclass(frozen=True)
class Benchmark:
    name: str
    spec: BenchmarkSpec
    files: tuple[BenchmarkFile, ...]
    items: tuple[Item, ...]
    gold: Gold | None
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        """One name for all the data scored: the sha256 of the files' `role:sha256` lines (a single
        file's own sha256 when the benchmark has one file), what reported rows are matched by."""
        if len(self.files) == 1:
            return self.files[0].sha256
        lines = "".join(f"{f.role}:{f.sha256}\n" for f in sorted(self.files, key=lambda f: f.role))
        return hashlib.sha256(lines.encode()).hexdigest()

    @property
    def has_references(self) -> bool:
        return self.gold is not None


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

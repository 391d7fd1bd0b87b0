"""What a user is told about a benchmark's terms: its terms of use and citation the first time one
of its files is downloaded, and its BibTeX on request (`harness cite BENCH`)."""

from __future__ import annotations

import sys
from typing import Callable

from harness.benchmarks.registry import BenchmarkSpec
from harness.data.manifest import FileEntry, announce_download


def download_notice(name: str, spec: BenchmarkSpec) -> Callable[[FileEntry], None]:
    """An `on_download` callback for `resolve`: each downloaded file's own terms, then, once per
    benchmark, the benchmark's terms of use and its BibTeX."""
    told = False

    def notice(entry: FileEntry) -> None:
        nonlocal told
        announce_download(entry)
        if not told:
            told = True
            print(f"{name}: terms of use: {spec.terms}\nPlease cite (harness cite {name}):\n{spec.citation}",
                  file=sys.stderr)

    return notice

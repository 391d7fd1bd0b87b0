"""The benchmark suite: a registry of standard Chinese correction test sets (data/benchmarks.yaml),
a loader per file format giving items (id and source only) apart from the gold, and each
benchmark's official protocol as a function from outputs to plain-data figures.

May import `harness.core`, `harness.data`, `harness.scoring` and `metrics`; never the runner,
backends, cache, cleaning or reports (those build on it)."""

from __future__ import annotations

from harness.benchmarks.benchmark import Benchmark, load_benchmark, submission_text
from harness.benchmarks.protocols import BenchmarkScore, score_benchmark
from harness.benchmarks.registry import BenchmarkSpec, Registry, load_registry

__all__ = ["Benchmark", "BenchmarkScore", "BenchmarkSpec", "Registry", "load_benchmark", "load_registry",
           "score_benchmark", "submission_text"]

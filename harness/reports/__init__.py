"""What people read: score tables, the results table beside published figures, the benchmark
suite table (models x benchmarks), paired comparisons and one sentence shown in full.

Reads runs only through `harness.record`; never imports backends or the runner."""

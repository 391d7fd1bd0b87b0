"""What people read: score tables, the results table beside published figures, the benchmark
suite table (models x benchmarks), paired comparisons and one sentence shown in full.

Reads runs only through `harness.record`, and the sentences a run was scored against only through
`references` (a plain run's dataset, or a benchmark run's benchmark as its protocol scored it);
never imports backends or the runner."""

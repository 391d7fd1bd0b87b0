"""Data: the manifest of corpora (mirror, cache, verified download), datasets as items and
references, and the strict readers of reference and hypothesis files.

May import `harness.core`, `harness.config`, `harness.record` (what a dataset reference looks like
in a record) and `metrics` (M2 parsing)."""

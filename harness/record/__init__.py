"""The run record: the one module that writes and reads `results/runs/<name>/`.

May import `harness.core` and `metrics` (count types); readers elsewhere use it, never the files."""

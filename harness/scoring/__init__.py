"""The scorer as the harness uses it: the scoring options (`options`: one frozen object the CLI,
the API and a run config build alike), resources from the data manifest, disk caches for
reference M2s and segmentations, worker processes (`corpus`), and signature comparison
(`signature`).

May import `harness.core`, `harness.data` and `metrics`; never the runner, backends or reports."""

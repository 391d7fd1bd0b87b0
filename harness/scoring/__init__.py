"""The scorer as the harness uses it: resources from the data manifest, disk caches for
reference M2s and segmentations, worker processes, and signature comparison.

May import `harness.core`, `harness.data` and `metrics`; never the runner, backends or reports."""

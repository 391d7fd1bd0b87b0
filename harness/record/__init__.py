"""The run record (`results/runs/<name>/`, schema 3): `models` types every file of it (manifest,
metrics, a sentence line, a prediction line, and `RunRecord`, a folder read), `store` is the one
writer and reader (whole-folder swap, lock, fingerprint), `upgrade` reads a record of an earlier
schema into today's models (`harness record-upgrade` re-scores and rewrites it). Readers
elsewhere (reports, the run, the API) use these, never the files:

    from harness.record import read_record
    run = read_record("results/runs/llm-stored")
    run.metrics.word.f05, run.rows[0].char.counts, run.manifest.model.served

May import `harness.core` and `metrics` (count types); nothing that runs or scores."""

from harness.record.models import RunRecord
from harness.record.store import list_records, read_record

__all__ = ["RunRecord", "list_records", "read_record"]

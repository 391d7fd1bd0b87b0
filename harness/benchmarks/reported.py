"""Published figures of a benchmark (`data/reported/<file>.csv`, format `rows`): one metric value
per line, with the model, the split and protocol it was measured on, and where it is printed.
Values are percentages (or counts) exactly as printed; never edited to match a reproduction."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from harness.benchmarks.registry import BenchmarkSpec, DEFAULT_REGISTRY_PATH
from harness.core.errors import HarnessError
from harness.core.textfile import read_text

COLUMNS = ("model", "split", "protocol", "metric", "value", "source", "note")
_METRIC = re.compile(r"^[a-z_]+(\.[a-z0-9_]+)*$")


@dataclass(frozen=True)
class ReportedRow:
    model: str
    split: str
    protocol: str
    metric: str
    value: float
    source: str
    note: str
    line: int


def _row(fields: dict[str, str], number: int, where: str) -> ReportedRow:
    for key in ("model", "split", "protocol", "metric", "source"):
        if not (fields.get(key) or "").strip():
            raise HarnessError(f"column {key} is empty", where, number)
    if not _METRIC.match(fields["metric"]):
        raise HarnessError(f"metric {fields['metric']!r} is not a dotted lower-case key (char.f05)", where, number)
    try:
        value = float(fields["value"])
    except ValueError:
        raise HarnessError(f"value {fields['value']!r} is not a number", where, number) from None
    return ReportedRow(fields["model"], fields["split"], fields["protocol"], fields["metric"], value,
                       fields["source"], fields.get("note") or "", number)


def reported_rows(spec: BenchmarkSpec) -> tuple[ReportedRow, ...]:
    """The published rows of a benchmark whose reported file has the `rows` format."""
    if spec.reported is None:
        return ()
    if spec.reported.format != "rows":
        raise HarnessError(f"{spec.reported.file} is a seed table (read by the results table), not rows")
    path = DEFAULT_REGISTRY_PATH.parent / spec.reported.file
    reader = csv.DictReader(io.StringIO(read_text(path)))
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise HarnessError(f"expected the columns {','.join(COLUMNS)}", path, 1)
    rows = tuple(_row(fields, number, str(path)) for number, fields in enumerate(reader, 2))
    if not rows:
        raise HarnessError("no rows", path)
    return rows

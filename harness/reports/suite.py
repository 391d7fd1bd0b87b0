"""`harness table --suite`: models x benchmarks, each cell the headline figure of the benchmark's
official protocol (data/benchmarks.yaml), published rows (data/reported/) beside the rows of the
runs on disk.

A run record is placed under a benchmark only when the sha256 of the data it scored is the
benchmark's (from the data manifest's pins) and it was scored by the benchmark's protocol, never
by a name alone: a `run --benchmarks` record names its protocol; a plain run of a dataset counts
only for the NLPCC 2023 protocol (NaCGEC), whose score a record holds only when both levels follow
it. Every run left out is listed with the reason. A published row measured under another protocol
or on another split is shown with a footnote saying so; it is never put beside a run as its
reproduction unless the run's `report.label` names its model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import pandas as pd
from tabulate import tabulate

from harness.benchmarks.benchmark import pinned_sha256
from harness.benchmarks.registry import BenchmarkSpec, load_registry
from harness.benchmarks.reported import reported_rows
from harness.core.errors import HarnessError
from harness.data.manifest import load_manifest
from harness.record.models import RunRecord
from harness.record.store import list_records
from harness.reports.table import DEFAULT_PROTOCOL, load_reported

NO_REFERENCES = "no references"
FIRST_COLUMNS = ["Model", "Row"]


@dataclass(frozen=True)
class Column:
    """A benchmark of the table: its registry entry and the sha256 its data is pinned to."""

    name: str
    spec: BenchmarkSpec
    sha256: str

    @property
    def protocol(self) -> str:
        return self.spec.protocol.name


@dataclass
class Footnotes:
    """Numbered footnotes, each text once: `mark` gives a cell its `[n]`."""

    texts: list[str] = field(default_factory=list)

    def mark(self, text: str) -> str:
        if text not in self.texts:
            self.texts.append(text)
        return f"[{self.texts.index(text) + 1}]"


@dataclass(frozen=True)
class SuiteTable:
    frame: pd.DataFrame  # Model, Row, a column per benchmark (cells are text)
    footnotes: tuple[str, ...]  # the text of [1], [2], ...
    protocols: tuple[str, ...]  # a line per benchmark: its protocol and headline
    notes: tuple[str, ...]  # runs not shown, and why


def _columns(benchmarks: Sequence[str] | None) -> list[Column]:
    registry, manifest = load_registry(), load_manifest()
    names = list(benchmarks) if benchmarks else list(registry.benchmarks)
    return [Column(name, registry.get(name), pinned_sha256(registry.get(name), manifest)) for name in names]


def _percent(value: float) -> str:
    return f"{100 * value:.2f}"


def _printed(value: float) -> str:
    """A published value as printed: two decimals, or more where the source gives more."""
    return f"{value:.2f}" if round(value, 2) == value else f"{value:g}"


# --------------------------------------------------------------------------------------------
# Published rows


def _seed_rows(column: Column, notes: Footnotes) -> list[tuple[str, str]]:
    """NaCGEC's seed tables (data/reported/nacgec-*.csv): the NLPCC 2023 score where the source
    prints it (the leaderboard's `score`), else the mean of its word and char F0.5, said so."""
    frame = load_reported(column.name)
    out = []
    for _, row in frame.iterrows():
        protocol = (row.get("word_scorer") or DEFAULT_PROTOCOL[0], row.get("segmenter") or DEFAULT_PROTOCOL[1])
        if row.get("score"):
            text = _printed(float(row["score"]))
        else:
            mean = (float(row["word_f05"]) + float(row["char_f05"])) / 2
            text = f"{_printed(round(mean, 3))} " + notes.mark(
                "the mean of the published word and char F0.5 (the source prints no NLPCC 2023 score)")
        if protocol != DEFAULT_PROTOCOL:
            text += " " + notes.mark(f"word level by {protocol[0]}+{protocol[1]}, not the NLPCC 2023 protocol")
        out.append((str(row["model"]), text))
    return out


def _published(column: Column, notes: Footnotes) -> list[tuple[str, str]]:
    """(model, cell) for each published row of the benchmark's headline metric, with a footnote
    where it was measured under another protocol or on another split."""
    reported = column.spec.reported
    if reported is None:
        return []
    if reported.format == "seed-table":
        return _seed_rows(column, notes)
    out = []
    for row in reported_rows(column.spec):
        if row.metric != column.spec.protocol.headline:
            continue
        text = _printed(row.value)
        if row.protocol != column.protocol:
            text += " " + notes.mark(f"{column.name}: published under protocol {row.protocol}, not {column.protocol}: "
                                     "not comparable with this harness's figures")
        if row.split != column.spec.split:
            text += " " + notes.mark(f"{column.name}: published on the split '{row.split}', not the "
                                     f"{column.spec.split} data scored here")
        out.append((row.model, text))
    return out


# --------------------------------------------------------------------------------------------
# Runs


def _match(run: RunRecord, columns: dict[str, Column]) -> tuple[Column | None, str | None]:
    """The benchmark a run belongs to, or why it belongs to none (by data sha256 and protocol)."""
    block = run.metrics.benchmark
    where = f"{run.name} ({run.path})"
    if block is not None:
        column = columns.get(block.name)
        if column is None:
            return None, f"{where}: benchmark {block.name} is not a column of this table"
        if run.dataset.sha256 != column.sha256:
            return None, (f"{where}: it scored {block.name} data with sha256 {run.dataset.sha256[:12]}, but the "
                          f"registry's {block.name} is {column.sha256[:12]}: not the same data")
        if block.protocol != column.protocol:
            return None, f"{where}: scored by protocol {block.protocol}, not {column.name}'s {column.protocol}"
        return column, None
    found = next((c for c in columns.values() if c.sha256 == run.dataset.sha256), None)
    if found is None:
        return None, (f"{where}: it scored {run.dataset.path} (sha256 {run.dataset.sha256[:12]}), the data of "
                      "none of this table's benchmarks")
    if found.protocol != "nlpcc2023" or run.metrics.nlpcc2023 is None:
        return None, f"{where}: it scored {found.name}'s data, but not by its protocol {found.protocol}"
    return found, None


def _rank(run: RunRecord) -> tuple:
    """Which record of a config on a benchmark is shown: complete first, then benchmark records,
    then the most sentences."""
    return (run.complete, run.metrics.benchmark is not None, run.dataset.run_items, run.name)


def _chosen(runs: list[RunRecord], columns: dict[str, Column], skipped: list[str]) -> dict[tuple[str, str], RunRecord]:
    """(config name, benchmark) -> the record shown; the others are listed as not shown."""
    chosen: dict[tuple[str, str], RunRecord] = {}
    for run in runs:
        column, reason = _match(run, columns)
        if column is None:
            skipped.append(reason or run.name)
            continue
        key = (run.manifest.config.name, column.name)
        if key in chosen:
            kept, dropped = sorted([chosen[key], run], key=_rank, reverse=True)
            skipped.append(f"{dropped.name} ({dropped.path}): {kept.name} is shown for {key[0]} on {key[1]}")
            chosen[key] = kept
        else:
            chosen[key] = run
    return chosen


def _run_cell(run: RunRecord, notes: Footnotes) -> str:
    """A run's headline in %, with footnotes for what makes it not a published-style figure."""
    block = run.metrics.benchmark
    marks = []
    if block is not None and not block.references:
        marks += [notes.mark(f"{run.name}: {note}") for note in block.notes[1:]]
        return " ".join([NO_REFERENCES, *marks])
    value = block.headline_value if block is not None else run.metrics.nlpcc2023
    if block is not None and block.official is False:
        unofficial = [note for note in block.notes if note.startswith("unofficial")] or ["unofficial figures"]
        marks += [notes.mark(f"{block.name}: {note}; not comparable with published figures") for note in unofficial]
    if run.partial:
        marks.append(notes.mark(f"{run.name}: a partial run ({run.dataset.run_items} of {run.dataset.sentences} "
                                "sentences): not comparable with published figures"))
    if run.failed:
        marks.append(notes.mark(f"{run.name}: {run.failed} of {run.dataset.run_items} items failed (scored as "
                                "their source)"))
    return " ".join([_percent(value) if value is not None else "-", *marks])


# --------------------------------------------------------------------------------------------
# The table


def _rows(columns: list[Column], chosen: dict[tuple[str, str], RunRecord], notes: Footnotes) -> list[dict[str, str]]:
    blank = {column.name: "" for column in columns}
    rows = [{"Model": "(headline metric)", "Row": "", **{c.name: c.spec.protocol.headline for c in columns}}]
    published: dict[str, dict[str, str]] = {}
    for column in columns:
        for model, cell in _published(column, notes):
            published.setdefault(model, {})[column.name] = cell
    configs: dict[str, dict[str, RunRecord]] = {}
    for (config, bench), run in sorted(chosen.items()):
        configs.setdefault(config, {})[bench] = run
    placed: set[str] = set()
    for model, cells in published.items():
        rows.append({"Model": model, "Row": "reported", **blank, **cells})
        for config, runs in configs.items():
            if _label(runs) == model:
                placed.add(config)
                rows.append(_run_row(model, f"reproduced ({config})", runs, blank, notes))
    for config, runs in configs.items():
        if config not in placed:
            rows.append(_run_row(_label(runs) or config, f"this harness ({config})", runs, blank, notes))
    return rows


def _label(runs: dict[str, RunRecord]) -> str | None:
    """The config's `report.label` (the same config names every record of its row)."""
    return next((run.report.label for run in runs.values() if run.report.label), None)


def _run_row(model: str, kind: str, runs: dict[str, RunRecord], blank: dict[str, str],
             notes: Footnotes) -> dict[str, str]:
    return {"Model": model, "Row": kind, **blank, **{bench: _run_cell(run, notes) for bench, run in runs.items()}}


def build_suite(runs_dir: Path, benchmarks: Sequence[str] | None = None) -> SuiteTable:
    """The suite table of the records under `runs_dir` (every benchmark, or those named)."""
    columns = _columns(benchmarks)
    by_name = {column.name: column for column in columns}
    skipped: list[str] = []
    chosen = _chosen(list_records(runs_dir), by_name, skipped)
    notes = Footnotes()
    frame = pd.DataFrame(_rows(columns, chosen, notes), columns=FIRST_COLUMNS + list(by_name))
    protocols = tuple(f"{c.name}: protocol {c.protocol}, headline {c.spec.protocol.headline} (in %); "
                      f"{c.spec.protocol.description}" for c in columns)
    return SuiteTable(frame, tuple(notes.texts), protocols, tuple(skipped))


# --------------------------------------------------------------------------------------------
# Rendering


def _latex_escape(text: str) -> str:
    special = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
               "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
    return "".join(special.get(char, char) for char in text)


def _notes_column(frame: pd.DataFrame, footnotes: Sequence[str]) -> list[str]:
    """Per row, its footnotes spelled out (CSV has no place below the table)."""
    out = []
    for row in frame.itertuples(index=False):
        text = " ".join(str(cell) for cell in row)
        out.append("; ".join(f"[{n}] {note}" for n, note in enumerate(footnotes, 1) if f"[{n}]" in text))
    return out


def render_suite(table: SuiteTable, fmt: str) -> str:
    """Markdown (default), LaTeX (booktabs, footnotes below) or CSV (footnotes in a Notes column)."""
    frame = table.frame
    cells = frame.values.tolist()
    headers = list(frame.columns)
    if fmt == "csv":
        return frame.assign(Notes=_notes_column(frame, table.footnotes)).to_csv(index=False)
    footnotes = [f"[{n}] {text}" for n, text in enumerate(table.footnotes, 1)]
    if fmt == "latex":
        body = tabulate(cells, headers=headers, tablefmt="latex_booktabs", disable_numparse=True)
        lines = [*footnotes, *table.protocols]
        return body + "\n\\begin{flushleft}\\footnotesize\n" + "\\\\\n".join(_latex_escape(line) for line in lines) \
            + "\n\\end{flushleft}\n"
    if fmt != "md":
        raise HarnessError(f"--suite: --format {fmt} is not available (md, latex or csv)")
    header = ("# Benchmark suite\n\nEach cell is the headline figure (in %) of the benchmark's official protocol "
              "(data/benchmarks.yaml). Published rows are in data/reported/<benchmark>.csv, with their sources; "
              "runs are matched to a benchmark by the sha256 of the data they scored and by protocol. Regenerate "
              "with `python -m harness table --suite`.\n\n")
    parts = [header + tabulate(cells, headers=headers, tablefmt="github", disable_numparse=True) + "\n"]
    if footnotes:
        parts.append("\n" + "\n".join(f"- {line}" for line in footnotes) + "\n")
    parts.append("\nProtocols:\n\n" + "\n".join(f"- {line}" for line in table.protocols) + "\n")
    if table.notes:
        parts.append("\nNot shown:\n\n" + "\n".join(f"- {note}" for note in table.notes) + "\n")
    return "".join(parts)

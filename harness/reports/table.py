"""`harness table`: the results table in the seed's layout, reported figures beside the rows
reproduced by the runs on disk, their difference, and "not run" where no run exists.

A run belongs to the table's dataset when the sha256 of what it scored is the manifest's for
that dataset: a run over any other file is never shown, whatever its names say. A run sits
beside a reported row when its `report.label` is that row's model; only a complete run over
the whole dataset gets a difference row, and only on levels scored by the reported protocol.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tabulate import tabulate

from harness.core.errors import HarnessError
from harness.core.resources import packaged
from harness.data.datasets import manifest_sha256
from harness.data.manifest import load_manifest
from harness.record.models import LevelMetrics, RunRecord
from harness.record.store import list_records
from harness.scoring.signature import follows

REPORTED_DIR = packaged("reported")
COLUMNS = ["Model", "# Param.", "Data", "Row", "Word P", "Word R", "Word F0.5", "Char P", "Char R", "Char F0.5", "Note"]
FIGURES = ["Word P", "Word R", "Word F0.5", "Char P", "Char R", "Char F0.5"]
DEFAULT_PROTOCOL = ("maxmatch", "thulac")  # word level of the reported tables unless a row says otherwise


@dataclass(frozen=True)
class Table:
    dataset: str
    frame: pd.DataFrame
    notes: tuple[str, ...]  # runs left out, and why


def _percent(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 2)


def figures(run: RunRecord) -> dict[str, float | None]:
    levels = run.metrics.levels()
    out: dict[str, float | None] = {}
    for level in ("Word", "Char"):
        scores: LevelMetrics | None = levels.get(level.lower())
        values = (scores.precision, scores.recall, scores.f05) if scores is not None else (None, None, None)
        out.update({f"{level} {name}": _percent(value) for name, value in zip(("P", "R", "F0.5"), values)})
    return out


def comparable_levels(run: RunRecord, word_protocol: tuple[str, str]) -> set[str]:
    """Levels whose signature follows the reported protocol (ChERRANT at char level)."""
    levels = set()
    scores = run.metrics.levels()
    if "word" in scores and follows(scores["word"].signature_data, "word", *word_protocol):
        levels.add("Word")
    if "char" in scores and follows(scores["char"].signature_data, "char", "cherrant"):
        levels.add("Char")
    return levels


def run_note(run: RunRecord, word_protocol: tuple[str, str]) -> str:
    notes = []
    word = run.metrics.word
    if word is not None and "Word" not in comparable_levels(run, word_protocol):
        notes.append(f"word level by {word.scorer}+{word.segmenter}: not comparable")
    if run.partial:
        notes.append(f"partial run ({run.dataset.run_items} of {run.dataset.sentences} sentences)")
    if run.failed:
        notes.append(f"incomplete run ({run.failed} failed of {run.dataset.run_items})")
    return "; ".join(notes)


# Leaderboards name their columns after the methods: the word level is MaxMatch, char ChERRANT.
COLUMN_ALIASES = {"team": "model", "maxmatch_p": "word_p", "maxmatch_r": "word_r", "maxmatch_f05": "word_f05",
                  "cherrant_p": "char_p", "cherrant_r": "char_r", "cherrant_f05": "char_f05"}


def load_reported(dataset: str, reported_dir: Path = REPORTED_DIR) -> pd.DataFrame:
    path = reported_dir / f"{dataset}.csv"
    if not path.is_file():
        return pd.DataFrame(columns=["model", "params", "train_data"])
    frame = pd.read_csv(path, dtype=str, keep_default_na=False).rename(columns=COLUMN_ALIASES)
    for column in ("params", "train_data"):
        if column not in frame:
            frame[column] = ""
    return frame


def build_table(runs_dir: Path, dataset: str, reported_dir: Path = REPORTED_DIR) -> Table:
    reported = load_reported(dataset, reported_dir)
    expected = manifest_sha256(dataset)
    if expected is None and reported.empty:
        known = sorted({p.stem for p in reported_dir.glob("*.csv")} | set(load_manifest().datasets))
        raise HarnessError(f"--dataset {dataset}: no reported figures and not a dataset of the manifest "
                           f"(known: {', '.join(known)})")
    runs: list[RunRecord] = []
    notes: list[str] = []
    for run in list_records(runs_dir):
        if expected is not None and run.dataset.sha256 == expected:
            runs.append(run)
        else:
            notes.append(f"{run.name} ({run.path}) is not shown: it scored {run.dataset.path} "
                         f"(sha256 {run.dataset.sha256[:12]}), not {dataset}")
    rows: list[dict[str, Any]] = []
    placed: set[Path] = set()
    for _, paper in reported.iterrows():
        protocol = (paper.get("word_scorer") or DEFAULT_PROTOCOL[0], paper.get("segmenter") or DEFAULT_PROTOCOL[1])
        published = {key: float(paper[column]) for key, column in zip(FIGURES, (
            "word_p", "word_r", "word_f05", "char_p", "char_r", "char_f05"))}
        base = {"Model": paper["model"], "# Param.": paper["params"], "Data": paper["train_data"]}
        rows.append({**base, "Row": "reported", **published, "Note": paper["source"]})
        matches = [run for run in runs if run.report.label == paper["model"]]
        if not matches:
            rows.append({**base, "Row": "not run", **{k: None for k in FIGURES}, "Note": ""})
        for run in matches:
            placed.add(run.path)
            ours = figures(run)
            if not run.complete:
                rows.append({**base, "Row": f"not a reproduction ({run.name})", **ours,
                             "Note": run_note(run, protocol)})
                continue
            rows.append({**base, "Row": f"reproduced ({run.name})", **ours, "Note": run_note(run, protocol)})
            levels = comparable_levels(run, protocol)
            difference = {key: round(ours[key] - published[key], 2)
                          if ours[key] is not None and key.split()[0] in levels else None for key in FIGURES}
            rows.append({**base, "Row": f"difference ({run.name})", **difference, "Note": ""})
    for run in runs:
        if run.path not in placed:
            rows.append({"Model": run.report.label or run.name, "# Param.": run.report.params or "",
                         "Data": run.report.train_data or "", "Row": f"this harness ({run.name})",
                         **figures(run), "Note": run_note(run, DEFAULT_PROTOCOL)})
    return Table(dataset, pd.DataFrame(rows, columns=COLUMNS), tuple(notes))


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def render(table: Table, fmt: str) -> str:
    frame = table.frame
    if fmt == "json":
        records = [{k: (None if _cell(v) == "" and k in FIGURES else v) for k, v in row.items()}
                   for row in frame.to_dict(orient="records")]
        return json.dumps({"dataset": table.dataset, "rows": records, "notes": list(table.notes)},
                          ensure_ascii=False, sort_keys=True, indent=2)
    cells = [[_cell(v) for v in row] for row in frame.itertuples(index=False)]
    if fmt == "csv":
        return frame.map(_cell).to_csv(index=False)
    if fmt == "latex":
        return tabulate(cells, headers=COLUMNS, tablefmt="latex_booktabs", disable_numparse=True)
    header = (f"# Results on {table.dataset}\n\nWord level: THULAC + MaxMatch (NLPCC 2023 Task 1); char level: "
              "ChERRANT. P/R/F0.5 in %. Runs are matched to the dataset by the sha256 of what they scored. "
              "Regenerate with `python -m harness table`.\n\n")
    footer = "".join(f"\n- {note}" for note in table.notes)
    return header + tabulate(cells, headers=COLUMNS, tablefmt="github", disable_numparse=True) + "\n" + \
        (f"\nNot shown:{footer}\n" if footer else "")

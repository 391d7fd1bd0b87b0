"""`harness table`: the results table in the seed's layout, reported figures beside the rows
reproduced by the runs on disk, their difference, and "not run" where no run exists."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tabulate import tabulate

from harness.errors import HarnessError

REPORTED_DIR = Path(__file__).resolve().parent.parent / "data" / "reported"
COLUMNS = ["Model", "# Param.", "Data", "Row", "Word P", "Word R", "Word F0.5", "Char P", "Char R", "Char F0.5", "Note"]
FIGURES = ["Word P", "Word R", "Word F0.5", "Char P", "Char R", "Char F0.5"]
OFFICIAL_WORD = ("maxmatch", "thulac")  # the protocol the reported word columns use


@dataclass(frozen=True)
class RunSummary:
    name: str
    label: str
    params: str | None
    train_data: str | None
    figures: dict[str, float | None]  # percentages
    note: str


def _percent(metrics: dict, level: str, key: str) -> float | None:
    value = metrics.get(level, {}).get(key)
    return None if value is None else round(100 * value, 2)


def load_runs(runs_dir: Path, dataset: str) -> list[RunSummary]:
    runs = []
    for manifest_path in sorted(runs_dir.glob("*/manifest.json")):
        run_dir = manifest_path.parent
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise HarnessError(f"unreadable run: {error}", run_dir) from None
        if manifest.get("dataset", {}).get("name") != dataset:
            continue
        report = manifest.get("config", {}).get("report") or {}
        notes = []
        word = metrics.get("word")
        if word is not None and (word.get("scorer"), word.get("segmenter")) != OFFICIAL_WORD:
            notes.append(f"word level by {word.get('scorer')}+{word.get('segmenter')}: not comparable")
        if not metrics.get("complete", True):
            notes.append(f"incomplete run ({metrics.get('failed', 0)} failed of {metrics.get('items')})")
        figures = {"Word P": _percent(metrics, "word", "precision"), "Word R": _percent(metrics, "word", "recall"),
                   "Word F0.5": _percent(metrics, "word", "f0.5"), "Char P": _percent(metrics, "char", "precision"),
                   "Char R": _percent(metrics, "char", "recall"), "Char F0.5": _percent(metrics, "char", "f0.5")}
        runs.append(RunSummary(manifest.get("run", run_dir.name), report.get("label") or manifest.get("run", run_dir.name),
                               report.get("params"), report.get("train_data"), figures, "; ".join(notes)))
    return runs


def load_reported(dataset: str, reported_dir: Path = REPORTED_DIR) -> pd.DataFrame:
    path = reported_dir / f"{dataset}.csv"
    if not path.is_file():
        return pd.DataFrame(columns=["model", "params", "train_data"])
    return pd.read_csv(path, dtype={"params": str, "train_data": str}, keep_default_na=False)


def build_table(runs_dir: Path, dataset: str, reported_dir: Path = REPORTED_DIR) -> pd.DataFrame:
    reported = load_reported(dataset, reported_dir)
    runs = load_runs(runs_dir, dataset)
    by_label = {run.label: run for run in runs}
    rows: list[dict[str, Any]] = []
    used: set[str] = set()
    for _, paper in reported.iterrows():
        published = {"Word P": paper["word_p"], "Word R": paper["word_r"], "Word F0.5": paper["word_f05"],
                     "Char P": paper["char_p"], "Char R": paper["char_r"], "Char F0.5": paper["char_f05"]}
        base = {"Model": paper["model"], "# Param.": paper["params"], "Data": paper["train_data"]}
        rows.append({**base, "Row": "reported", **published, "Note": paper["source"]})
        run = by_label.get(paper["model"])
        if run is None:
            rows.append({**base, "Row": "not run", **{k: None for k in FIGURES}, "Note": ""})
            continue
        used.add(run.label)
        rows.append({**base, "Row": f"reproduced ({run.name})", **run.figures, "Note": run.note})
        comparable_word = "word level" not in run.note
        difference = {}
        for key in FIGURES:
            ours, theirs = run.figures[key], published[key]
            if ours is None or (key.startswith("Word") and not comparable_word):
                difference[key] = None
            else:
                difference[key] = round(ours - float(theirs), 2)
        rows.append({**base, "Row": "difference", **difference, "Note": ""})
    for run in runs:
        if run.label not in used:
            rows.append({"Model": run.label, "# Param.": run.params or "", "Data": run.train_data or "",
                         "Row": f"this harness ({run.name})", **run.figures, "Note": run.note})
    return pd.DataFrame(rows, columns=COLUMNS)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def render(table: pd.DataFrame, fmt: str, dataset: str) -> str:
    if fmt == "json":
        records = [{k: (None if _cell(v) == "" and k in FIGURES else v) for k, v in row.items()}
                   for row in table.to_dict(orient="records")]
        return json.dumps({"dataset": dataset, "rows": records}, ensure_ascii=False, sort_keys=True, indent=2)
    cells = [[_cell(v) for v in row] for row in table.itertuples(index=False)]
    if fmt == "csv":
        return table.map(_cell).to_csv(index=False)
    if fmt == "latex":
        return tabulate(cells, headers=COLUMNS, tablefmt="latex_booktabs", disable_numparse=True)
    header = (f"# Results on {dataset}\n\nWord level: THULAC + MaxMatch (NLPCC 2023 Task 1); char level: ChERRANT. "
              "P/R/F0.5 in %. Regenerate with `python -m harness table`.\n\n")
    return header + tabulate(cells, headers=COLUMNS, tablefmt="github", disable_numparse=True) + "\n"

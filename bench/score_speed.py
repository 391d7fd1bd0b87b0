"""Scoring speed against ChERRANT, row by row as issue 13 measured it (2-core machine).

Every row runs `python -m harness score ... --json` as a fresh process, so its time includes the
import, and peak memory is that process tree's. "cold" means an empty cache directory (nothing
segmented or aligned before); "warm" reruns the same command on the cache the cold run filled.
Each row prints seconds, sentences a second, peak memory, and the ratio of ChERRANT's time to
ours (how many times faster), with the issue's target beside it.

Rows:
- NaCGEC dev, 500 sentences, the golden `mix` hypotheses, char: ChERRANT 34.3 s; target 25x.
- NaCGEC test, 5,869 sentences, char, references plus a hypothesis set taking the first reference
  on even lines and the source on odd ones (TP 3402, FP 0, FN 3381): ChERRANT 464 s; targets
  100x with the default jobs and 50x with --jobs 1; warm under 5 s.
- NaCGEC dev word level, THULAC + MaxMatch, the mirror's raw LLM outputs: ChERRANT's word mode
  with THULAC about 300 s; targets cold under 12 s, warm under 2 s.
Long single pairs (4,000 / 8,000 / 20,000 characters) are in bench/long_pairs.py.
Usage: CGEC_DATA_DIR=../shared/data python bench/score_speed.py [--rows dev,test,test-jobs1,word]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from memory import PeakMemory  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO.parent / "shared" / "golden" / "nacgec-dev"


@dataclass(frozen=True)
class Row:
    name: str
    args: list[str]
    sentences: int
    cherrant_s: float | None  # ChERRANT's time for the same work (issue 13), None if not measured
    target: str


def even_reference_odd_source(path: Path, out: Path) -> Path:
    """The issue's NaCGEC test hypothesis set."""
    lines = []
    for index, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        fields = line.split("\t")
        lines.append(fields[2] if index % 2 == 0 else fields[1])
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def rows(work: Path) -> list[Row]:
    data = Path(os.environ.get("CGEC_DATA_DIR", REPO.parent / "shared" / "data"))
    test_hyp = even_reference_odd_source(data / "nacgec" / "nacgec.test.ref.para", work / "test.hyp")
    return [
        Row("dev", ["--hyp", str(GOLDEN / "hyp.mix.txt"), "--ref", "nacgec-dev", "--level", "char"], 500, 34.3,
            ">= 25x (1.4 s)"),
        Row("test", ["--hyp", str(test_hyp), "--ref", "nacgec-test", "--level", "char"], 5869, 464.0,
            ">= 100x (4.6 s); warm < 5 s"),
        Row("test-jobs1", ["--hyp", str(test_hyp), "--ref", "nacgec-test", "--level", "char", "--jobs", "1"], 5869,
            464.0, ">= 50x (9.3 s)"),
        Row("word", ["--hyp", "llm-goodgap", "--ref", "nacgec-dev", "--level", "word"], 500, 300.0,
            "cold < 12 s, warm < 2 s"),
    ]


def timed(row: Row, cache: Path, label: str) -> None:
    env = dict(os.environ, CGEC_CACHE_DIR=str(cache))
    command = [sys.executable, "-m", "harness", "score", *row.args, "--json", "--quiet"]
    start = time.perf_counter()
    with PeakMemory() as memory:
        result = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{row.name}: {result.stderr.strip()}")
    scores = json.loads(result.stdout)
    level = "char" if "char" in scores else "word"
    counts = "/".join(str(scores[level][k]) for k in ("tp", "fp", "fn"))
    ratio = f"{row.cherrant_s / seconds:6.1f}x ChERRANT" if row.cherrant_s else ""
    print(f"  {row.name:<11} {label:<5} {seconds:7.2f} s  {row.sentences / seconds:8.1f} sent/s  "
          f"{memory.peak_mib:6.0f} MiB  {ratio:<18} TP/FP/FN {counts:<15} target {row.target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", default="dev,test,test-jobs1,word", help="which rows, comma-separated")
    args = parser.parse_args()
    wanted = args.rows.split(",")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        print(f"{os.cpu_count()} cores; each run a fresh process, import included")
        for row in rows(work):
            if row.name not in wanted:
                continue
            cache = work / f"cache-{row.name}"  # cold: nothing segmented or aligned yet
            timed(row, cache, "cold")
            timed(row, cache, "warm")  # the same command on the cache the cold run filled


if __name__ == "__main__":
    main()

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
  with THULAC about 300 s; targets cold under 12 s, warm under 2 s. `word-python` (not run by
  default) is the same row with the pure-Python kernels: THULAC's numpy decoder.
- MuCGEC dev, 1,137 sentences (2.2 references each), the published example prediction, char
  (issue 24): ChERRANT 120.2 s; target 100x (1.2 s). `mucgec-python` is the same row with the
  pure-Python kernel (CGEC_PURE_PYTHON=1), the fallback.
- import: the harness's import time on the char path (the MuCGEC row's `python -X importtime`,
  its top-level imports summed: everything the run imports, lazily or not); target under 0.3 s.
Every process reads its modules from a bytecode cache of the bench's own (PYTHONPYCACHEPREFIX,
filled by an untimed run of the row's command), as an installed package does, even where
PYTHONDONTWRITEBYTECODE is set.
Long single pairs (4,000 / 8,000 / 20,000 characters) are in bench/long_pairs.py.
Usage: CGEC_DATA_DIR=../shared/data python bench/score_speed.py
       [--rows dev,test,test-jobs1,word,word-python,mucgec,mucgec-python,import]
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
    env: tuple[tuple[str, str], ...] = ()  # set for this row's processes


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
        Row("word-python", ["--hyp", "llm-goodgap", "--ref", "nacgec-dev", "--level", "word"], 500, 300.0,
            "the fallback: same counts", (("CGEC_PURE_PYTHON", "1"),)),
        Row("mucgec", mucgec_args(data), 1137, 120.2, ">= 100x (1.2 s)"),
        Row("mucgec-python", mucgec_args(data), 1137, 120.2, "the fallback: same counts",
            (("CGEC_PURE_PYTHON", "1"),)),
    ]


def mucgec_args(data: Path) -> list[str]:
    """MuCGEC dev with its published prediction (para files: id, source, prediction)."""
    return ["--hyp", str(data / "mucgec" / "example_pred_dev.txt"), "--ref", str(data / "mucgec" / "MuCGEC_dev.txt"),
            "--level", "char"]


def import_time(data: Path, cache: Path, base_env: dict[str, str]) -> None:
    """The top-level imports of a char-level scoring process, summed (`-X importtime`): the
    least of three runs (after the MuCGEC rows, or a first run, filled the bytecode cache)."""
    env = dict(base_env, CGEC_CACHE_DIR=str(cache))
    totals = [_imports(data, env) for _ in range(3)]
    total, modules = min(totals)
    heavy = [m for m in ("pypinyin", "thulac", "jieba", "pandas", "openai", "matplotlib") if m in modules]
    print(f"  {'import':<13} {total / 1e6:7.3f} s  (char path: {len(modules)} top-level imports; "
          f"heavy ones: {', '.join(heavy) or 'none'})  target < 0.3 s")


def _imports(data: Path, env: dict[str, str]) -> tuple[int, list[str]]:
    command = [sys.executable, "-X", "importtime", "-m", "harness", "score", *mucgec_args(data), "--json", "--quiet"]
    result = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"import: {result.stderr.strip()[-500:]}")
    total, modules = 0, []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|")
        if cumulative.strip().isdigit() and name.startswith(" ") and not name.startswith("  "):
            total += int(cumulative)
            modules.append(name.strip())
    return total, modules


def bytecode_env(work: Path) -> dict[str, str]:
    """The environment of every timed process: a bytecode cache of the bench's own, so that
    imports read `.pyc` files as in an installed package, even where PYTHONDONTWRITEBYTECODE
    is set (then every process would compile every module again)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    return env


def timed(row: Row, cache: Path, label: str, base_env: dict[str, str]) -> None:
    env = dict(base_env, CGEC_CACHE_DIR=str(cache), **dict(row.env))
    command = [sys.executable, "-m", "harness", "score", *row.args, "--json", "--quiet"]
    if label == "cold":  # untimed, on a cache of its own: fills the bytecode cache
        subprocess.run(command, env=dict(env, CGEC_CACHE_DIR=str(cache) + "-bytecode"), cwd=REPO,
                       capture_output=True)
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
    print(f"  {row.name:<13} {label:<5} {seconds:7.2f} s  {row.sentences / seconds:8.1f} sent/s  "
          f"{memory.peak_mib:6.0f} MiB  {ratio:<18} TP/FP/FN {counts:<15} target {row.target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", default="dev,test,test-jobs1,word,mucgec,mucgec-python,import",
                        help="which rows, comma-separated")
    args = parser.parse_args()
    wanted = args.rows.split(",")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        from metrics.kernel import name as kernel_name, thulac_name

        print(f"{os.cpu_count()} cores; each run a fresh process, import included; alignment kernel: "
              f"{kernel_name()}, THULAC decoder: {thulac_name()} (rows with CGEC_PURE_PYTHON=1: python)")
        env = bytecode_env(work)
        for row in rows(work):
            if row.name not in wanted:
                continue
            cache = work / f"cache-{row.name}"  # cold: nothing segmented or aligned yet
            timed(row, cache, "cold", env)
            timed(row, cache, "warm", env)  # the same command on the cache the cold run filled
        if "import" in wanted:
            data = Path(os.environ.get("CGEC_DATA_DIR", REPO.parent / "shared" / "data"))
            import_time(data, work / "cache-import", env)


if __name__ == "__main__":
    main()

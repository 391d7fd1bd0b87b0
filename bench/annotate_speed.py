"""`harness annotate` throughput (issue 24): pairs a second and peak memory for 10k, 100k and
(with --million) 1M pairs, each a fresh `python -m harness annotate` process tree (import and
worker start included) on 2 cores. Target: over 5,000 pairs a second, memory flat.

The pairs are made by perturbing the GrammarGPT training pairs ($CGEC_DATA_DIR/grammargpt/
instruction.json, 1,061 pairs): each line takes a pair, keeps its correction as the target and
applies 1 to 3 random edits (delete, insert, swap neighbours, replace: characters of the same
sentence or common function words) to its erroneous sentence, as the source; seeded, so every
run annotates the same file. They are written to a temporary folder (never to the repository)
and deleted afterwards. Peak memory is the largest PSS summed over the process tree (bench/memory.py).
Processes read their modules from a bytecode cache of the bench's own, filled by an untimed
run of 1,000 pairs (see bench/score_speed.py).

Usage: CGEC_DATA_DIR=../shared/data python bench/annotate_speed.py [--million] [--jobs 2] [--level char]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from memory import PeakMemory  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FUNCTION_WORDS = "的了是在和也就都不有个这那我你他她们着过得地把被"


def training_pairs(data: Path) -> list[tuple[str, str]]:
    rows = json.loads((data / "grammargpt" / "instruction.json").read_text(encoding="utf-8"))
    pairs = [("".join(row["input"].split()), "".join(row["output"].split())) for row in rows]
    return [(source, target) for source, target in pairs if source and target]


def perturbed(rng: random.Random, text: str) -> str:
    """1 to 3 random edits of `text` (never empty)."""
    chars = list(text)
    for _ in range(rng.randint(1, 3)):
        op = rng.random()
        at = rng.randrange(len(chars))
        if op < 0.3 and len(chars) > 1:
            del chars[at]
        elif op < 0.55:
            chars.insert(at, rng.choice(FUNCTION_WORDS + text))
        elif op < 0.8 and at + 1 < len(chars):
            chars[at], chars[at + 1] = chars[at + 1], chars[at]
        else:
            chars[at] = rng.choice(FUNCTION_WORDS + text)
    return "".join(chars)


def write_pairs(path: Path, count: int, pairs: list[tuple[str, str]]) -> None:
    rng = random.Random(count)
    with path.open("w", encoding="utf-8") as out:
        for index in range(count):
            source, target = pairs[rng.randrange(len(pairs))]
            out.write(f"{index + 1}\t{perturbed(rng, source)}\t{target}\n")


def bytecode_env(work: Path) -> dict[str, str]:
    """A bytecode cache of the bench's own (see bench/score_speed.py), filled by a first run."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    return env


def timed(pairs_file: Path, count: int, jobs: int, level: str, work: Path, env: dict[str, str]) -> None:
    output = work / f"out-{count}.m2"
    command = [sys.executable, "-m", "harness", "annotate", str(pairs_file), "-o", str(output), "--jobs", str(jobs),
               "--level", level, "--quiet", "--restart"]
    start = time.perf_counter()
    with PeakMemory() as memory:
        result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{count}: {result.stderr.strip()[-500:]}")
    blocks = output.read_bytes().count(b"\n\n")
    assert blocks == count, (blocks, count)
    print(f"  {count:>9,} pairs  {seconds:8.1f} s  {count / seconds:8,.0f} pairs/s  peak {memory.peak_mib:6.0f} MiB  "
          f"output {output.stat().st_size / 2**20:7.1f} MiB")
    output.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--million", action="store_true", help="also the 1,000,000-pair row (minutes)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--level", default="char", choices=["char", "word"])
    parser.add_argument("--sizes", default=None, help="comma-separated pair counts (default 10000,100000)")
    args = parser.parse_args()
    data = Path(os.environ.get("CGEC_DATA_DIR", REPO.parent / "shared" / "data"))
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [10_000, 100_000]
    if args.million:
        sizes.append(1_000_000)
    from metrics.kernel import name as kernel_name

    pairs = training_pairs(data)
    print(f"{os.cpu_count()} cores, --jobs {args.jobs}, level {args.level}, kernel {kernel_name()}; "
          f"pairs perturbed from {len(pairs)} GrammarGPT training pairs; target > 5,000 pairs/s, memory flat")
    with tempfile.TemporaryDirectory(prefix="annotate-bench-") as folder:
        work = Path(folder)
        env = bytecode_env(work)
        warm_up = work / "warm-up.para"  # untimed: fills the bytecode cache
        write_pairs(warm_up, 1000, pairs)
        subprocess.run([sys.executable, "-m", "harness", "annotate", str(warm_up), "-o", str(work / "warm-up.m2"),
                        "--jobs", str(args.jobs), "--level", args.level, "--quiet", "--chunk", "100"], cwd=REPO,
                       env=env, capture_output=True, check=True)
        for count in sizes:
            pairs_file = work / f"pairs-{count}.para"
            write_pairs(pairs_file, count, pairs)
            timed(pairs_file, count, args.jobs, args.level, work, env)
            pairs_file.unlink()


if __name__ == "__main__":
    main()

"""Scoring speed.

char: NaCGEC test (5,869 sentences), cold then with the reference M2 cache warm; hypothesis
sets: the first references, and a seeded perturbation of them. Targets (2-core machine): cold
under 60 s, warm under 15 s, peak memory under 1 GB.
word: NaCGEC dev, the 500 raw LLM outputs of the mirror (prompt echoes included), THULAC +
MaxMatch (the NLPCC 2023 protocol), cold (empty segmentation and M2 caches) then warm.
Target: cold under 30 s.
long: single long pairs (bench/long_pairs.py): seconds and peak memory per length, each in a
fresh process.
Usage: CGEC_DATA_DIR=../shared/data python bench/score_speed.py [--level char|word|all] [--jobs N] [--limit N]
       [--long [LENGTH ...]]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from memory import PeakMemory  # noqa: E402

from harness.data import DataSettings, resolve  # noqa: E402
from harness.inputs import References, load_references  # noqa: E402
from harness.scoring import score_corpus  # noqa: E402

FILLERS = "的了是在"
CONFUSED = {"的": "地", "地": "得", "得": "的", "在": "再", "再": "在", "做": "作", "作": "做", "，": "。"}


def perturb(sentence: str, rng: random.Random) -> str:
    """One to three random character operations: delete, insert a particle, swap, substitute."""
    chars = list(sentence)
    for _ in range(rng.randint(1, 3)):
        if len(chars) < 3:
            break
        at = rng.randrange(len(chars) - 1)
        op = rng.choice(["delete", "insert", "swap", "substitute"])
        if op == "delete":
            del chars[at]
        elif op == "insert":
            chars.insert(at, rng.choice(FILLERS))
        elif op == "swap":
            chars[at], chars[at + 1] = chars[at + 1], chars[at]
        else:
            chars[at] = CONFUSED.get(chars[at], rng.choice(FILLERS))
    return "".join(chars)


def timed(label: str, references: References, hypotheses: list[str], settings: DataSettings, jobs: int) -> float:
    start = time.perf_counter()
    score = score_corpus(references.sources, hypotheses, references.targets, "char", settings=settings, jobs=jobs)
    seconds = time.perf_counter() - start
    print(f"  {label:<24} {seconds:7.2f} s  {len(hypotheses) / seconds:8.1f} sent/s   "
          f"TP/FP/FN {score.tp}/{score.fp}/{score.fn}  F0.5 {score.f05:.4f}")
    return seconds


def word_level(jobs: int) -> None:
    with tempfile.TemporaryDirectory() as cache:
        settings = DataSettings.from_env(cache_dir=cache)
        references = load_references(resolve("nacgec/nacgec.dev.ref.para", settings))
        from harness.textfile import read_lines

        hypotheses = read_lines(resolve("outputs/llm-goodgap.nacgec-dev.txt", settings))
        print(f"NaCGEC dev: {len(references)} sentences, raw LLM outputs; THULAC + MaxMatch; jobs={jobs}")
        with PeakMemory() as memory:
            for label in ("cold (empty caches)", "warm (segmentations and M2 cached)"):
                start = time.perf_counter()
                score = score_corpus(references.sources, hypotheses, references.targets, "word", "maxmatch",
                                     "thulac", settings=settings, jobs=jobs)
                seconds = time.perf_counter() - start
                print(f"  {label:<36} {seconds:7.2f} s  {len(hypotheses) / seconds:8.1f} sent/s   "
                      f"P/R/F0.5 {score.precision:.4f}/{score.recall:.4f}/{score.f:.4f}"
                      + (f"  (target < 30 s, ratio {seconds / 30:.2f})" if label.startswith("cold") else ""))
        print(f"peak memory {memory.peak_mib:.0f} MiB (process and workers)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--level", choices=["char", "word", "all"], default="all")
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--limit", type=int, default=None, help="first N sentences only (char)")
    parser.add_argument("--long", type=int, nargs="*", metavar="LENGTH",
                        help="only single long pairs of these lengths (default 4000 8000 20000)")
    args = parser.parse_args()
    if args.long is not None:
        from long_pairs import report

        report(args.long or [4000, 8000, 20000])
        return
    jobs = args.jobs or 2
    if args.level in ("word", "all"):
        word_level(jobs)
    if args.level in ("char", "all"):
        char_level(jobs, args.limit)


def char_level(jobs: int, limit: int | None) -> None:

    with tempfile.TemporaryDirectory() as cache:
        settings = DataSettings.from_env(cache_dir=cache)
        references = load_references(resolve("nacgec/nacgec.test.ref.para", settings))
        if limit:
            references = References(references.path, references.sources[:limit], references.targets[:limit])
        first_refs = [targets[0] for targets in references.targets]
        rng = random.Random(20231123)
        perturbed = [perturb(t, rng) for t in first_refs]
        n = len(references)
        n_refs = sum(len(t) for t in references.targets)
        print(f"NaCGEC test: {n} sentences, {n_refs} references; jobs={jobs}")

        with PeakMemory() as memory:
            print("cold (empty reference cache; the first set extracts and caches the references):")
            cold = timed("references as hypotheses", references, first_refs, settings, jobs)
            cold += timed("perturbed", references, perturbed, settings, jobs)
            print("warm (reference M2 from the cache):")
            warm = timed("references as hypotheses", references, first_refs, settings, jobs)
            warm += timed("perturbed", references, perturbed, settings, jobs)

    print(f"cold total {cold:.2f} s ({2 * n / cold:.1f} sent/s; target < 60 s, ratio {cold / 60:.2f})")
    print(f"warm total {warm:.2f} s ({2 * n / warm:.1f} sent/s; target < 15 s, ratio {warm / 15:.2f})")
    print(f"peak memory {memory.peak_mib:.0f} MiB (process and workers; target < 1024 MiB, "
          f"ratio {memory.peak_mib / 1024:.2f})")


if __name__ == "__main__":
    main()

"""MaxMatch (M2Scorer) word-level scoring speed on the golden NaCGEC dev sets (500 sentences).

For each set (llm, mix, refs): wall and CPU seconds for the whole set, the corpus counts, and
the slowest sentences with their sizes (source/hypothesis tokens, lattice vertices and arcs).
The original M2Scorer needs about 28 minutes for `llm` (six prompt-leakage lines dominate);
the target here is well under 30 s per set on a 2-core machine.

Usage: python3 bench/maxmatch_speed.py [--golden DIR] [--top N] [--long]
  --long  also times single synthetic sentences whose hypothesis shares nothing with the
          source (the quadratic worst case of the edit lattice).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metrics.maxmatch import (  # noqa: E402
    GoldEdit,
    GoldSentence,
    _Lattice,
    choose_annotators,
    evaluate_sentence,
    parse_gold_m2,
)

GOLDEN = Path(__file__).resolve().parents[2] / "shared" / "golden" / "nacgec-dev"
SETS = ["llm", "mix", "refs"]


def lattice_size(source: tuple[str, ...], hypothesis: str) -> tuple[int, int]:
    lattice = _Lattice(source, hypothesis.split(), 2)
    return lattice.n_v, sum(len(col) for col in lattice.sources)


def bench_set(name: str, gold: list[GoldSentence], golden: Path, top: int) -> None:
    lines = (golden / f"hyp.{name}.thulac.txt").read_text(encoding="utf-8").split("\n")[: len(gold)]
    wall, cpu = time.perf_counter(), time.process_time()
    per_sentence, seconds = [], []
    for hypothesis, sentence in zip(lines, gold):
        started = time.perf_counter()
        per_sentence.append(evaluate_sentence(hypothesis, sentence))
        seconds.append(time.perf_counter() - started)
    result = choose_annotators(per_sentence)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{name:5s} {wall:6.2f} s wall  {cpu:6.2f} s cpu   C/E/G {result.correct}/{result.proposed}/{result.gold}"
          f"  P/R/F0.5 {result.precision:.4f}/{result.recall:.4f}/{result.f:.4f}")
    slowest = sorted(range(len(seconds)), key=seconds.__getitem__, reverse=True)[:top]
    for i in slowest:
        vertices, arcs = lattice_size(gold[i].source, lines[i])
        print(f"      line {i + 1:3d}: {seconds[i]:6.3f} s  source {len(gold[i].source):3d} tokens,"
              f" hypothesis {len(lines[i].split()):3d} tokens, {vertices} vertices, {arcs} arcs")


def bench_long() -> None:
    rng = random.Random(0)
    for n, m in [(40, 60), (40, 100), (45, 150)]:
        source = tuple(f"s{rng.randrange(1000)}" for _ in range(n))
        hypothesis = " ".join(f"h{rng.randrange(1000)}" for _ in range(m))
        gold = GoldSentence(source, ((GoldEdit(3, 4, source[3], ("h1",)),), ()))
        started = time.perf_counter()
        evaluate_sentence(hypothesis, gold)
        vertices, arcs = lattice_size(source, hypothesis)
        print(f"  unrelated {n:3d} x {m:3d} tokens: {time.perf_counter() - started:6.2f} s"
              f" ({vertices} vertices, {arcs} arcs, 2 annotators)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--golden", type=Path, default=GOLDEN)
    parser.add_argument("--top", type=int, default=6, help="slowest sentences to list per set")
    parser.add_argument("--long", action="store_true", help="also time synthetic unrelated hypotheses")
    args = parser.parse_args()
    if not (args.golden / "gold.word-thulac.maxmatch.m2").is_file():
        sys.exit(f"golden files not found at {args.golden}")
    gold = parse_gold_m2((args.golden / "gold.word-thulac.maxmatch.m2").read_text(encoding="utf-8"))
    total = time.perf_counter()
    for name in SETS:
        bench_set(name, gold, args.golden, args.top)
    print(f"all sets: {time.perf_counter() - total:.2f} s (including the size diagnostics)")
    if args.long:
        bench_long()


if __name__ == "__main__":
    main()

"""Edit extraction of single long pairs: time and peak memory per length.

A source of L characters (NaCGEC test sources joined, in file order) against a target with
scattered edits (about one per 40 characters: deletions, inserted particles, swaps, confusable
substitutions; seeded). Each length runs in a fresh process, so that its peak RSS is its own;
`base` is the process before the pair (interpreter, numpy, pypinyin, lexicon). `align` times
the cost table alone (stored: the band's slots, 10 bytes each), `block` the whole extraction
(table, cheapest paths, merging, typing).
Targets: 4,000 characters under 5 s and 300 MB, 8,000 under 20 s and 1 GB; 20,000 must finish.
Usage: CGEC_DATA_DIR=../shared/data python bench/long_pairs.py [--lengths 4000 8000 20000]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FILLERS = "的了是在"
CONFUSED = {"的": "地", "地": "得", "得": "的", "在": "再", "再": "在", "做": "作", "作": "做", "，": "。"}
TARGETS = {4000: (5.0, 300.0), 8000: (20.0, 1024.0)}  # seconds, MiB


def long_source(length: int) -> str:
    """The first `length` characters of the NaCGEC test sources joined in file order."""
    from harness.data.manifest import DataSettings, resolve
    from harness.data.inputs import load_references

    references = load_references(resolve("nacgec/nacgec.test.ref.para", DataSettings.from_env()))
    text = ""
    while len(text) < length:
        text += "".join(references.sources)
    return text[:length]


def scattered_edits(source: str, rng: random.Random, every: int = 40) -> str:
    """About one edit per `every` characters, at random positions."""
    chars = list(source)
    for _ in range(len(source) // every):
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


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(length: int) -> dict:
    """Align one pair of `length` characters in this process and report figures."""
    from harness.data.manifest import DataSettings
    from harness.scoring.corpus import LexiconTexts
    from metrics.alignment import align
    from metrics.extract import Extractor

    source = long_source(length)
    target = scattered_edits(source, random.Random(length))
    extractor = Extractor(LexiconTexts.load(DataSettings.from_env(), char_meta=False).lexicon())
    src, tgt = extractor.tokens(source), extractor.tokens(extractor.normalise_target(target))
    base = peak_rss_mib()
    start = time.perf_counter()
    table = align(src, tgt, extractor.annotator.cost, extractor.annotator.cost.unique_matrix)
    align_seconds = time.perf_counter() - start
    slots = table.block.size
    del table
    start = time.perf_counter()
    block = extractor.block(source, [target])
    seconds = time.perf_counter() - start
    annotation = block.annotations[0]
    return {"length": length, "target_length": len(tgt), "slots": slots, "align_s": align_seconds,
            "block_s": seconds, "alignments": len(annotation.alignments),
            "edits": len(annotation.alignments[0]) if annotation.alignments else 0,
            "base_mib": base, "peak_mib": peak_rss_mib()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[4000, 8000, 20000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return
    report(args.lengths)


def report(lengths: list[int]) -> None:
    """Run each length in a fresh process and print its figures."""
    print("long pairs (one pair each, fresh process; align = the table alone, block = the whole extraction)")
    for length in lengths:
        done = subprocess.run([sys.executable, __file__, "--one", str(length)], capture_output=True, text=True)
        if done.returncode:
            print(f"  {length:>6} chars: failed\n{done.stderr}")
            continue
        row = json.loads(done.stdout)
        seconds, mib = TARGETS.get(length, (None, None))
        target = f"  (target < {seconds:.0f} s, < {mib:.0f} MiB)" if seconds else ""
        print(f"  {length:>6} chars (target {row['target_length']}; table {length * row['target_length']:,} cells, "
              f"{row['slots']:,} stored): "
              f"align {row['align_s']:6.2f} s, block {row['block_s']:6.2f} s, "
              f"peak {row['peak_mib']:6.0f} MiB (base {row['base_mib']:.0f}); "
              f"{row['alignments']} alignment(s), {row['edits']} edits{target}")


if __name__ == "__main__":
    main()

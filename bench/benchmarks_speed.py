"""Scoring every benchmark of the suite cold, from stored outputs, on 2 cores (issue 22: all of it
under 30 s).

"Cold": one process, an empty cache directory (nothing aligned or segmented before). Outputs:
the stored ones where the mirror has some (NaCGEC dev: the raw LLM outputs; MuCGEC dev: the
published example prediction), else a fixed perturbation of the references (the first reference
on two sentences in three, the source on the third; CSC: one character changed on every seventh
sentence), so that every protocol has TPs, FPs and FNs to count. nlpcc18-test is scored as an
official run (pre-segmented outputs: the gold corrections, perturbed the same way). mucgec-test
has no references (nothing to score). Prints seconds and the headline figure per benchmark.

`--fcgec-fix` prints instead the effect of the FCGEC conversion fix (docs/benchmarks.md): two
outputs scored against the references before and after the fix.

Usage: CGEC_DATA_DIR=../shared/data python bench/benchmarks_speed.py [--only a,b] [--jobs 2] [--fcgec-fix]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time

from harness.benchmarks import Benchmark, load_benchmark, load_registry, score_benchmark
from harness.benchmarks.loaders.fcgec import load_fcgec
from harness.benchmarks.references import first_references, word_gold_targets
from harness.core.textfile import read_lines
from harness.data.manifest import DataSettings, load_manifest, resolve


def perturbed(benchmark: Benchmark, outputs: list[str]) -> list[str]:
    """References on two sentences in three, the source on the third; CSC keeps lengths and
    changes one character on every seventh sentence."""
    out = [item.source if index % 3 == 2 else output for index, (item, output) in enumerate(zip(benchmark.items, outputs))]
    if benchmark.spec.task == "csc":
        out = [text[:-1] + ("的" if text[-1:] != "的" else "地") if index % 7 == 3 and text else text
               for index, text in enumerate(out)]
    return out


def stored_outputs(name: str, benchmark: Benchmark, data: DataSettings) -> tuple[list[str], str, bool]:
    """(outputs, where they come from, pre-segmented)."""
    manifest = load_manifest()
    if name == "nacgec-dev":
        return read_lines(resolve("outputs/llm-goodgap.nacgec-dev.txt", data, manifest)), "stored LLM outputs", False
    if name == "mucgec-dev":
        lines = read_lines(resolve("mucgec/example_pred_dev.txt", data, manifest))
        return [line.split("\t")[2] for line in lines], "published example prediction", False
    if name == "nlpcc18-test":
        return perturbed(benchmark, word_gold_targets(benchmark)), "perturbed gold, pre-segmented", True
    return perturbed(benchmark, first_references(benchmark)), "perturbed references", False


def speed(names: list[str], jobs: int, data_dir: str | None) -> None:
    from metrics.kernel import name as kernel_name, thulac_name

    total = 0.0
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; alignment kernel: {kernel_name()}, "
          f"THULAC decoder: {thulac_name()}")
    with tempfile.TemporaryDirectory(prefix="cgec-bench-") as cache:
        data = DataSettings.from_env(data_dir=data_dir, cache_dir=cache)
        print(f"{'benchmark':<14} {'items':>6} {'seconds':>8}  headline                       outputs")
        for name in names:
            start = time.perf_counter()
            benchmark = load_benchmark(name, data, progress=False)
            if benchmark.gold is None:
                print(f"{name:<14} {len(benchmark.items):>6} {'-':>8}  no references (scored by its organisers)")
                continue
            outputs, origin, segmented = stored_outputs(name, benchmark, data)
            score = score_benchmark(benchmark, outputs, data, presegmented=segmented, jobs=jobs)
            seconds = time.perf_counter() - start
            total += seconds
            value = f"{score.headline} {100 * score.headline_value:.2f}"
            print(f"{name:<14} {len(benchmark.items):>6} {seconds:>8.1f}  {value:<30} {origin}")
    print(f"{'total':<14} {'':>6} {total:>8.1f}  (target: under 30 s on 2 cores)")


def fcgec_fix(jobs: int, data_dir: str | None) -> None:
    data = DataSettings.from_env(data_dir=data_dir)
    fixed = load_benchmark("fcgec-valid", data, progress=False)
    paths = {f.role: f.path for f in fixed.files}
    before = dataclasses.replace(fixed, gold=load_fcgec(paths, upstream=True).gold)
    outputs = {"first reference, fixed conversion": first_references(fixed),
               "first reference, upstream conversion": first_references(before)}
    print(f"{'output':<38} {'references':<10} {'EM':>7} {'TP':>5} {'FP':>4} {'FN':>4} {'P':>7} {'R':>7} {'F0.5':>7}")
    for label, output in outputs.items():
        for gold_label, benchmark in (("upstream", before), ("fixed", fixed)):
            m = score_benchmark(benchmark, output, data, jobs=jobs).metrics
            print(f"{label:<38} {gold_label:<10} {100 * m['exact_match']:>7.2f} {m['char.tp']:>5} {m['char.fp']:>4} "
                  f"{m['char.fn']:>4} {100 * m['char.p']:>7.2f} {100 * m['char.r']:>7.2f} {100 * m['char.f05']:>7.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=None, help="comma-separated benchmark names (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--data-dir", default=None, help="local data mirror (default: $CGEC_DATA_DIR)")
    parser.add_argument("--fcgec-fix", action="store_true", help="print the effect of the FCGEC conversion fix")
    args = parser.parse_args()
    if args.fcgec_fix:
        fcgec_fix(args.jobs, args.data_dir)
        return 0
    names = args.only.split(",") if args.only else list(load_registry().benchmarks)
    speed(names, args.jobs, args.data_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())

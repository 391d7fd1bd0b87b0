"""Human-readable tables of scores."""

from __future__ import annotations

from tabulate import tabulate

from harness.scoring.corpus import ScoreSet
from metrics.compare import prf


def percent(x: float) -> str:
    return f"{100 * x:.2f}"


def score_table(score_set: ScoreSet, tier: int | None = None) -> str:
    """P/R/F in percent; with `tier` (ChERRANT's -cat 1/2/3), a row per edit type too."""
    rows = []
    for level, score in score_set.scores.items():
        rows.append([level, "all", score.tp, score.fp, score.fn, percent(score.precision), percent(score.recall),
                     percent(score.f)])
        if tier is not None:
            for name, counts in score.type_counts(tier).items():
                p, r, f = prf(counts, score.recipe.beta)
                rows.append([level, name, counts.tp, counts.fp, counts.fn, percent(p), percent(r), percent(f)])
    betas = {score.recipe.beta for score in score_set.scores.values()}
    f_name = f"F{betas.pop():g}" if len(betas) == 1 else "F"
    table = tabulate(rows, headers=["level", "type", "TP", "FP", "FN", "P %", "R %", f"{f_name} %"],
                     tablefmt="github", disable_numparse=True)
    lines = [table, ""]
    lines += [f"{level}: {score.signature}" for level, score in score_set.scores.items()]
    if score_set.nlpcc2023 is not None:
        lines.append(f"NLPCC 2023 Task 1 score (mean of word and char F0.5): {percent(score_set.nlpcc2023)}")
    return "\n".join(lines)

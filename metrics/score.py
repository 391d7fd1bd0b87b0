"""The score family, defined once and used by the scorers, the run record and the reports.

- `Counts`: TP/FP/FN, with `prf` (P/R/F-beta as ChERRANT defines them) and `Counts.sum`.
- `collapse_type` / `type_totals`: ChERRANT's category tiers (`R:NOUN` -> `R` at tier 1).
- `SentenceScore`: one sentence at one level: the reference chosen, its counts, per-type
  counts, both edit lists; `as_json`/`from_json` give one level of a `sentences.jsonl` line.
- `Score`: a corpus score, the same type for every method (ChERRANT at char or word level,
  MaxMatch), with its recipe and signature (`metrics.signature`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping

from metrics.options import DEFAULT_BETA, DEFAULT_MAX_UNCHANGED, EDIT_SELECTIONS, EVAL_MODES
from metrics.outcomes import classify_all, corpus_figures, outcome_counts
from metrics.signature import EXTRACTION_REVISION, Recipe, Signature, package_version

__all__ = ["Counts", "DEFAULT_BETA", "EXTRACTION_REVISION", "Recipe", "Score", "SentenceScore", "Signature",
           "collapse_type", "counts_json", "package_version", "prf", "type_totals"]


@dataclass(frozen=True)
class Counts:
    """True positives, false positives, false negatives. Iterable as (tp, fp, fn)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def __iter__(self) -> Iterator[int]:
        return iter((self.tp, self.fp, self.fn))

    @classmethod
    def sum(cls, items: Iterable["Counts"]) -> "Counts":
        """The total of any number of counts (zero for none)."""
        total = cls()
        for item in items:
            total = total + item
        return total


def prf(counts: Counts, beta: float = DEFAULT_BETA) -> tuple[float, float, float]:
    """Precision, recall and F-beta as ChERRANT defines them (1.0 when there is nothing to miss)."""
    tp, fp, fn = counts.tp, counts.fp, counts.fn
    p = float(tp) / (tp + fp) if fp else 1.0
    r = float(tp) / (tp + fn) if fn else 1.0
    f = float((1 + beta**2) * p * r) / ((beta**2 * p) + r) if p + r else 0.0
    return p, r, f


def collapse_type(name: str, tier: int = 1) -> str:
    """An edit type at one of ChERRANT's category tiers (-cat): 1 the operation (`R:NOUN` -> `R`),
    2 what follows it (`NOUN`; empty for a bare operation), 3 the full type. UNK stays UNK."""
    if name == "UNK" or tier not in (1, 2):
        return name
    return name[:1] if tier == 1 else name[2:]


def type_totals(rows: Iterable[Mapping[str, Iterable[int]]], tier: int = 1) -> dict[str, Counts]:
    """Per-type counts (type -> (tp, fp, fn) or Counts) of many sentences, summed at a tier,
    sorted by type."""
    out: dict[str, Counts] = {}
    for types in rows:
        for name, values in types.items():
            key = collapse_type(name, tier)
            out[key] = out.get(key, Counts()) + Counts(*values)
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class SentenceScore:
    """One sentence: the reference (annotator) chosen for it, its counts against that
    reference, (ChERRANT) its counts per full edit type, `(tp, fp, fn)`, and both edit lists."""

    ref: int | None
    tp: int
    fp: int
    fn: int
    types: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    hyp_edits: tuple[str, ...] = ()  # the hypothesis' edits as the method compared them
    ref_edits: tuple[str, ...] = ()  # the chosen reference's

    @property
    def counts(self) -> Counts:
        return Counts(self.tp, self.fp, self.fn)

    def type_counts(self, tier: int = 1) -> dict[str, Counts]:
        return type_totals([self.types], tier)

    def as_json(self, types: bool = True) -> dict[str, Any]:
        """One level of a `sentences.jsonl` line: counts, chosen reference, per-type counts
        (`types=False` for a method without types: MaxMatch). Edit lists are not kept."""
        entry: dict[str, Any] = {"tp": self.tp, "fp": self.fp, "fn": self.fn, "ref": self.ref}
        if types:
            entry["types"] = {name: list(values) for name, values in self.types.items()}
        return entry

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "SentenceScore":
        """The inverse of `as_json` (the caller validates the shape: the record's models)."""
        types = {name: (int(v[0]), int(v[1]), int(v[2])) for name, v in (data.get("types") or {}).items()}
        return cls(data.get("ref"), data["tp"], data["fp"], data["fn"], types)


@dataclass(frozen=True)
class Score:
    """A corpus score. `f` is F-beta for the recipe's beta (`f05` reads it under its usual
    name). `signature_fields` says how it was made; `signature` renders it. `texts()` gives
    the method's files (M2, segmentations), made when asked for. `source_chars`: the characters
    of the sources scored, whitespace removed (the denominator of FP per 100 characters)."""

    method: str
    level: str
    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f: float
    signature_fields: Signature
    recipe: Recipe
    per_sentence: tuple[SentenceScore, ...] = ()
    source_chars: int | None = None
    texts: Callable[[], dict[str, str]] = field(default=dict, compare=False, repr=False)

    @property
    def signature(self) -> str:
        return self.signature_fields.render()

    @property
    def f05(self) -> float:
        return self.f

    @property
    def counts(self) -> Counts:
        return Counts(self.tp, self.fp, self.fn)

    @property
    def typed(self) -> bool:
        """Whether the method types its edits (ChERRANT does, MaxMatch does not)."""
        return self.method == "cherrant"

    @property
    def by_type(self) -> dict[str, Counts]:
        """Tier 1: M, R, S, W (ChERRANT; empty for MaxMatch)."""
        return self.type_counts(1) if self.typed else {}

    @property
    def by_type_fine(self) -> dict[str, Counts]:
        """Full types (word-level ChERRANT; empty otherwise)."""
        return self.type_counts(3) if self.typed and self.level == "word" else {}

    def type_counts(self, tier: int = 1) -> dict[str, Counts]:
        """ChERRANT's category tiers over every sentence (see `collapse_type`)."""
        return type_totals((sentence.types for sentence in self.per_sentence), tier)

    @property
    def outcomes(self) -> dict[str, int]:
        """How many sentences had each outcome (metrics.outcomes; docs/outcomes.md)."""
        return outcome_counts(classify_all(self.per_sentence))

    def as_json(self) -> dict[str, Any]:
        """Rounded to 4 places as the original scorers print them; the signature as its string
        and as fields; with sentence scores, the outcome counts and over-correction figures."""
        payload = {**counts_json(self.counts, self.precision, self.recall, self.f), "signature": self.signature,
                   "signature_fields": self.signature_fields.to_json()}
        if self.per_sentence:
            outcomes = self.outcomes
            fp_by_operation = {name: c.fp for name, c in self.by_type.items()} if self.typed else None
            payload.update(outcomes=outcomes,
                           over_correction=corpus_figures(outcomes, self.fp, self.source_chars, fp_by_operation))
        beta = self.recipe.beta
        if self.typed:
            payload["by_type"] = {name: counts_json(c, beta=beta) for name, c in self.by_type.items()}
            if self.by_type_fine:
                payload["by_type_fine"] = {name: counts_json(c, beta=beta) for name, c in self.by_type_fine.items()}
        if self.level == "word":
            payload.update(scorer=self.method, segmenter=self.recipe.segmenter)
        recipe = self.recipe
        settings = {"eval": recipe.mode if recipe.mode != EVAL_MODES[0] else None,
                    "edits": recipe.edits if recipe.edits != EDIT_SELECTIONS[0] else None,
                    "filt": list(recipe.filt) or None, "t2s": False if not recipe.t2s else None,
                    "beta": recipe.beta if recipe.beta != DEFAULT_BETA else None,
                    "max_unchanged": recipe.max_unchanged if recipe.max_unchanged != DEFAULT_MAX_UNCHANGED else None}
        payload.update({key: value for key, value in settings.items() if value is not None})
        return payload

    def sentences_json(self) -> list[dict[str, Any]]:
        """Each sentence as one level of a `sentences.jsonl` line."""
        return [sentence.as_json(types=self.typed) for sentence in self.per_sentence]


def counts_json(counts: Counts, p: float | None = None, r: float | None = None, f: float | None = None,
                beta: float = DEFAULT_BETA) -> dict[str, Any]:
    if p is None or r is None or f is None:
        p, r, f = prf(counts, beta)
    return {"tp": counts.tp, "fp": counts.fp, "fn": counts.fn,
            "precision": round(p, 4), "recall": round(r, 4), "f0.5": round(f, 4)}


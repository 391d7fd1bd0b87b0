"""What every scorer returns, and the recipe that names how it was computed.

One `Score` type for every method (ChERRANT at char or word level, MaxMatch): corpus counts,
P/R/F, per-type counts where the method has types, per-sentence counts with the reference
chosen for each sentence, and the signature. The `Recipe` holds every setting that decides the
numbers: it writes the signature (as sacreBLEU does) and the keys of every cache, so the two
can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Callable, Sequence

from metrics.compare import Counts, prf

# Bump when a change to extraction changes M2 output, so that cached reference M2s are not reused.
EXTRACTION_REVISION = 1
DEFAULT_BETA = 0.5


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "missing"


def nrefs_field(reference_counts: Sequence[int]) -> str:
    if not reference_counts:
        return "0"
    low, high = min(reference_counts), max(reference_counts)
    return str(low) if low == high else f"{low}-{high}"


@dataclass(frozen=True)
class Recipe:
    """The settings that decide a score. `tok` names the tokeniser: `char`, or a segmenter as
    `<name>-<version>-pos`; `spell` (word-level ChERRANT) how S:SPELL is decided."""

    level: str  # char | word
    method: str  # cherrant | maxmatch
    tok: str = "char"
    t2s: bool = True  # references (and ChERRANT hypotheses) converted to simplified characters
    spell: str | None = None
    max_unchanged: int = 2  # MaxMatch
    beta: float = DEFAULT_BETA
    mode: str = "cs"  # ChERRANT: cs, cse (with types), ds (detection by spans), dt (by tokens)
    edits: str = "all"  # ChERRANT: all, single (one source token at most) or multi
    filt: tuple[str, ...] = ()  # ChERRANT: types left out
    gold: str | None = None  # MaxMatch: a gold M2 given as a file (its name), not made from references

    @property
    def defaults(self) -> bool:
        """Every setting as the published protocols have it."""
        return (self.t2s and self.beta == DEFAULT_BETA and self.max_unchanged == 2 and self.mode == "cs"
                and self.edits == "all" and not self.filt and self.gold is None)

    @property
    def segmenter(self) -> str | None:
        return None if self.tok == "char" else self.tok.split("-", 1)[0]

    @property
    def name(self) -> str:
        """`char` or `word-<segmenter>`: how file names tell levels apart."""
        return "char" if self.segmenter is None else f"word-{self.segmenter}"

    @property
    def protocol(self) -> str:
        """Word level: the NLPCC 2023 Task 1 protocol is MaxMatch on THULAC; the rest is not official."""
        official = (self.method, self.segmenter) == ("maxmatch", "thulac") and self.defaults
        return "official-nlpcc2023" if official else "unofficial"

    def _conversion(self) -> str:
        uses_t2s = self.t2s and self.method == "cherrant"
        return f"opencc-{package_version('opencc')}-t2s" if uses_t2s else "none"

    def signature(self, reference_counts: Sequence[int]) -> str:
        fields = [f"level:{self.level}", f"method:{self.method}", f"nrefs:{nrefs_field(reference_counts)}",
                  f"tok:{self.tok}", f"t2s:{self._conversion()}"]
        if self.method == "cherrant":
            fields.append(f"readings:pypinyin-{package_version('pypinyin')}")
            if self.level == "word":
                fields.append(f"spell:{self.spell or 'readings'}")
        if self.method == "maxmatch":
            fields.append(f"max_unchanged:{self.max_unchanged}")
            if self.gold is not None:
                fields.append(f"gold:{self.gold}")
        if self.mode != "cs":
            fields.append(f"eval:{self.mode}")
        if self.edits != "all":
            fields.append(f"edits:{self.edits}")
        if self.filt:
            fields.append(f"filt:{'+'.join(self.filt)}")
        if self.beta != DEFAULT_BETA:
            fields.append(f"beta:{self.beta:g}")
        if self.level == "word" or not self.defaults:
            fields.append(f"protocol:{self.protocol}")
        fields.append(f"version:cgec-harness-{package_version('cgec-harness')}")
        return "|".join(fields)

    def extraction_key(self) -> str:
        """What decides the M2 blocks ChERRANT extracts (not how they are compared): the key
        of cached reference M2s. MaxMatch's gold comes from word-level ChERRANT blocks."""
        return "|".join([f"level:{self.level}", f"tok:{self.tok}", f"t2s:{self.t2s}",
                         f"spell:{self.spell if self.level == 'word' else 'none'}",
                         f"revision:{EXTRACTION_REVISION}", f"harness:{package_version('cgec-harness')}",
                         f"pypinyin:{package_version('pypinyin')}", f"opencc:{package_version('opencc')}"])


@dataclass(frozen=True)
class SentenceScore:
    """One sentence: the reference (annotator) chosen for it, its counts against that
    reference, (ChERRANT) its counts per full edit type, `[tp, fp, fn]`, and both edit lists."""

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


@dataclass(frozen=True)
class Score:
    """A corpus score. `f` is F-beta for the recipe's beta (`f05` reads it under its usual
    name). `texts()` gives the method's files (M2, segmentations), made when asked for."""

    method: str
    level: str
    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f: float
    signature: str
    recipe: Recipe
    by_type: dict[str, Counts] = field(default_factory=dict)  # tier 1: M, R, S, W (ChERRANT)
    by_type_fine: dict[str, Counts] = field(default_factory=dict)  # full types (word-level ChERRANT)
    per_sentence: tuple[SentenceScore, ...] = ()
    texts: Callable[[], dict[str, str]] = field(default=dict, compare=False, repr=False)

    @property
    def f05(self) -> float:
        return self.f

    @property
    def counts(self) -> Counts:
        return Counts(self.tp, self.fp, self.fn)

    def type_counts(self, tier: int = 1) -> dict[str, Counts]:
        """ChERRANT's category tiers: 1 the operation (M, R, S, W), 2 the rest (NOUN, VERB...;
        empty for a bare operation), 3 the full type. UNK stays UNK."""
        out: dict[str, list[int]] = {}
        for sentence in self.per_sentence:
            for name, values in sentence.types.items():
                if name != "UNK":
                    name = name[0] if tier == 1 else name[2:] if tier == 2 else name
                slot = out.setdefault(name, [0, 0, 0])
                for k in range(3):
                    slot[k] += values[k]
        return {name: Counts(*values) for name, values in sorted(out.items())}

    def as_json(self) -> dict:
        """Rounded to 4 places as the original scorers print them."""
        payload = {**counts_json(self.counts, self.precision, self.recall, self.f), "signature": self.signature}
        beta = self.recipe.beta
        if self.method == "cherrant":
            payload["by_type"] = {name: counts_json(c, beta=beta) for name, c in self.by_type.items()}
            if self.by_type_fine:
                payload["by_type_fine"] = {name: counts_json(c, beta=beta) for name, c in self.by_type_fine.items()}
        if self.level == "word":
            payload.update(scorer=self.method, segmenter=self.recipe.segmenter)
        settings = {"eval": self.recipe.mode if self.recipe.mode != "cs" else None,
                    "edits": self.recipe.edits if self.recipe.edits != "all" else None,
                    "filt": list(self.recipe.filt) or None, "t2s": False if not self.recipe.t2s else None,
                    "beta": self.recipe.beta if self.recipe.beta != DEFAULT_BETA else None,
                    "max_unchanged": self.recipe.max_unchanged if self.recipe.max_unchanged != 2 else None}
        payload.update({key: value for key, value in settings.items() if value is not None})
        return payload


def counts_json(counts: Counts, p: float | None = None, r: float | None = None, f: float | None = None,
                beta: float = DEFAULT_BETA) -> dict:
    if p is None or r is None or f is None:
        p, r, f = prf(counts, beta)
    return {"tp": counts.tp, "fp": counts.fp, "fn": counts.fn,
            "precision": round(p, 4), "recall": round(r, 4), "f0.5": round(f, 4)}

"""The scoring options: one frozen object, built the same way (`ScoringOptions.from_mapping`)
from `harness score`'s flags, `harness.score_corpus`'s keywords and a run config's `scoring:`
section, so the three cannot drift. The allowed values come from `metrics.options`, where
they are declared once; `--help` and `harness list` show them.

Light on purpose (no pydantic, no scorer): the CLI imports it to build its parser.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from harness.core.errors import HarnessError
from metrics.options import (
    CATEGORY_TIERS, DEFAULT_BETA, DEFAULT_MAX_UNCHANGED, EDIT_SELECTIONS, EVAL_MODES, LEVELS, SEGMENTERS,
    WORD_SCORERS,
)

if TYPE_CHECKING:
    from metrics.compare import EditFilter

ALL_LEVELS = "all"  # --level all: every level, and the NLPCC 2023 score
DEFAULT_MAX_CHARS = 4000  # a 2,000-character paragraph passes; alignment grows with the square of the length


def _levels(value: Any) -> tuple[str, ...]:
    """`all`, one level, or several, as the levels in their canonical order."""
    given = (value,) if isinstance(value, str) else tuple(value)
    if ALL_LEVELS in given:
        return LEVELS
    unknown = [level for level in given if level not in LEVELS]
    if unknown or not given:
        raise HarnessError(f"scoring option levels: expected some of {', '.join(LEVELS)} (or {ALL_LEVELS}), got "
                           f"{', '.join(map(str, given)) or 'none'}")
    return tuple(level for level in LEVELS if level in given)


def _types(value: Any) -> tuple[str, ...]:
    """Edit types to leave out: `R,M:NOUN` or a list, sorted, blanks dropped."""
    items = value.split(",") if isinstance(value, str) else list(value or ())
    return tuple(sorted({str(item).strip() for item in items if str(item).strip()}))


@dataclass(frozen=True)
class ScoringOptions:
    """How hypotheses are scored; every default is the published protocol's.

    Deciding the numbers (named in the signature): `levels`, `word_scorer`, `segmenter`,
    `eval`, `edits`, `filter`, `t2s`, `beta`, `max_unchanged_words`. Reading files and showing
    results (`harness score` only; a run scores its dataset's own sources): `cat`,
    `strict_sources`, `max_chars`.
    """

    levels: tuple[str, ...] = LEVELS
    word_scorer: str = WORD_SCORERS[0]
    segmenter: str = SEGMENTERS[0]
    eval: str = EVAL_MODES[0]
    edits: str = EDIT_SELECTIONS[0]
    filter: tuple[str, ...] = ()
    t2s: bool = True
    beta: float = DEFAULT_BETA
    max_unchanged_words: int = DEFAULT_MAX_UNCHANGED
    cat: int | None = None
    strict_sources: bool = False
    max_chars: int = DEFAULT_MAX_CHARS

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", _levels(self.levels))
        object.__setattr__(self, "filter", _types(self.filter))
        for name, allowed in (("word_scorer", WORD_SCORERS), ("segmenter", SEGMENTERS), ("eval", EVAL_MODES),
                              ("edits", EDIT_SELECTIONS)):
            if getattr(self, name) not in allowed:
                raise HarnessError(f"scoring option {name}: expected one of {', '.join(allowed)}, "
                                   f"got {getattr(self, name)!r}")
        _check_number("beta", self.beta, float, 0.0, strict=True)
        object.__setattr__(self, "beta", float(self.beta))
        _check_number("max_unchanged_words", self.max_unchanged_words, int, 0)
        _check_number("max_chars", self.max_chars, int, 1)
        if self.cat is not None and self.cat not in CATEGORY_TIERS:
            raise HarnessError(f"scoring option cat: expected one of {', '.join(map(str, CATEGORY_TIERS))}, "
                               f"got {self.cat!r}")
        for name in ("t2s", "strict_sources"):
            if not isinstance(getattr(self, name), bool):
                raise HarnessError(f"scoring option {name}: expected true or false, got {getattr(self, name)!r}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "ScoringOptions":
        """The options named in `values` (the rest at their defaults): the one way the CLI,
        the API and a run config build them. An unknown name is an error listing the known."""
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise HarnessError(f"unknown scoring option {', '.join(unknown)} (known: {', '.join(known)})")
        return cls(**values)

    @property
    def selection(self) -> "EditFilter":
        """ChERRANT's -single/-multi/-filt as metrics reads them."""
        from metrics.compare import EditFilter

        return EditFilter(self.edits == "single", self.edits == "multi", frozenset(self.filter))


def _check_number(name: str, value: Any, kind: type, minimum: float, strict: bool = False) -> None:
    number = isinstance(value, (int, float)) if kind is float else isinstance(value, int)
    if isinstance(value, bool) or not number or value < minimum or (strict and value == minimum):
        bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
        what = "a number" if kind is float else "a whole number"
        raise HarnessError(f"scoring option {name}: expected {what} {bound}, got {value!r}")


# --------------------------------------------------------------------------------------------
# What `harness list` and `--help` show


def choices_table() -> list[list[str]]:
    """Each scoring option with its allowed values and default: `harness list` prints it."""
    defaults = ScoringOptions()
    return [
        ["--level", "levels", ", ".join((*LEVELS, ALL_LEVELS)), ALL_LEVELS],
        ["--word-scorer", "word_scorer", _listed(WORD_SCORERS), defaults.word_scorer],
        ["--segmenter", "segmenter", _listed(SEGMENTERS), defaults.segmenter],
        ["--eval", "eval", _listed(EVAL_MODES), defaults.eval],
        ["--single / --multi", "edits", _listed(EDIT_SELECTIONS), defaults.edits],
        ["--filter", "filter", "edit types, comma-separated (R,M:NOUN)", "none"],
        ["--no-t2s", "t2s", "true, false", "true"],
        ["--beta", "beta", "a number > 0", f"{defaults.beta:g}"],
        ["--max-unchanged-words", "max_unchanged_words", "a whole number >= 0", str(defaults.max_unchanged_words)],
        ["--cat", "cat", _listed(CATEGORY_TIERS), "none"],
        ["--strict-sources", "strict_sources", "true, false", "false"],
        ["--max-chars", "max_chars", "a whole number >= 1", str(defaults.max_chars)],
    ]


def _listed(values: Iterable[Any]) -> str:
    return ", ".join(map(str, values))

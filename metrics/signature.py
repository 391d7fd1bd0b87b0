"""How a score was made: the `Recipe` (every setting that decides the numbers) and the
`Signature` it writes, as sacreBLEU does.

A signature is a record of fields. It is rendered as the familiar string
(`level:char|method:cherrant|nrefs:1-4|tok:char|t2s:opencc-1.1.2-t2s|...|version:cgec-harness-0.1.0`)
for display, stored as fields (`to_json`) beside that string, and read back from either.
Two scores are comparable when the fields that change numbers agree (`Signature.differences`):
the harness version that wrote them is not one of those fields.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Mapping, Sequence

from metrics import __version__
from metrics.options import DEFAULT_BETA, DEFAULT_MAX_UNCHANGED, EDIT_SELECTIONS, EVAL_MODES
from metrics.zh.t2s import NAME as T2S_NAME

# Bump when a change to extraction changes M2 output, so that cached reference M2s are not reused.
EXTRACTION_REVISION = 1
_VERSION_PREFIX = "cgec-harness-"


def package_version(name: str) -> str:
    """An installed dependency's version (`missing` when it is not installed)."""
    try:
        return version(name)
    except PackageNotFoundError:
        return "missing"


def nrefs_range(reference_counts: Sequence[int]) -> tuple[int, int]:
    """The fewest and most references of a sentence; (0, 0) for no sentences."""
    return (min(reference_counts), max(reference_counts)) if reference_counts else (0, 0)


class SignatureError(ValueError):
    """A signature string or object that does not read as one."""


@dataclass(frozen=True)
class Signature:
    """What a score says about how it was made. A field left None was not stated (a record
    written by hand or by an older version may state fewer); `eval`, `edits`, `filt` and `beta`
    hold their defaults when the string leaves them out, as it does for the defaults.

    Fields that change numbers, so `differences` compares them:
    - `level`, `method`: char or word; ChERRANT or MaxMatch count differently.
    - `nrefs`: fewest and most references a sentence has; other references, other counts.
    - `tok`: the tokeniser and its version (`char`, `thulac-0.2.2-pos`): other words, other edits.
    - `t2s`: the OpenCC table that converts targets (`none`: not converted), with its version.
    - `readings`: the pinyin library and version the aligner reads (a reading decides an alignment).
    - `spell`: the table that labels S:SPELL (word-level ChERRANT): changes per-type figures.
    - `max_unchanged`, `gold`: MaxMatch's lattice option and a gold read from a file.
    - `eval`, `edits`, `filt`, `beta`: the evaluation options; beta also picks references.
    - `extra`: fields this version does not know (a newer writer's): compared, to be safe.
    Fields that do not:
    - `protocol`: a label computed from the fields above (official NLPCC 2023 or not).
    - `version`: the cgec-harness version that wrote it; what a version changes in the numbers
      shows in the fields above (and is pinned by the golden tests), so records written by two
      versions compare.
    """

    level: str | None = None
    method: str | None = None
    nrefs: tuple[int, int] | None = None
    tok: str | None = None
    t2s: str | None = None
    readings: str | None = None
    spell: str | None = None
    max_unchanged: int | None = None
    gold: str | None = None
    eval: str = EVAL_MODES[0]
    edits: str = EDIT_SELECTIONS[0]
    filt: tuple[str, ...] = ()
    beta: float = DEFAULT_BETA
    protocol: str | None = None
    version: str | None = None
    extra: tuple[tuple[str, str], ...] = ()

    COUNTED = ("level", "method", "nrefs", "tok", "t2s", "readings", "spell", "max_unchanged", "gold", "eval",
               "edits", "filt", "beta")

    # --- the string

    def _text(self, name: str) -> str | None:
        """A field as the string shows it; None when the string leaves it out."""
        value = getattr(self, name)
        if name == "nrefs":
            return None if value is None else str(value[0]) if value[0] == value[1] else f"{value[0]}-{value[1]}"
        if name == "eval":
            return None if value == EVAL_MODES[0] else value
        if name == "edits":
            return None if value == EDIT_SELECTIONS[0] else value
        if name == "filt":
            return "+".join(value) if value else None
        if name == "beta":
            return None if value == DEFAULT_BETA else f"{value:g}"
        if name == "version":
            return None if value is None else _VERSION_PREFIX + value
        return None if value is None else str(value)

    def render(self) -> str:
        """The sacreBLEU-like string: fields in a fixed order, the harness version last."""
        named = [(name, self._text(name)) for name in (*self.COUNTED, "protocol")]
        parts = [*named, *self.extra, ("version", self._text("version"))]
        return "|".join(f"{name}:{text}" for name, text in parts if text is not None)

    def __str__(self) -> str:
        return self.render()

    @classmethod
    def parse(cls, text: str) -> "Signature":
        """Read a rendered signature back (fields it does not know go to `extra`)."""
        values: dict[str, Any] = {}
        extra: list[tuple[str, str]] = []
        known = {f.name for f in fields(cls)} - {"extra"}
        for part in text.split("|") if text else ():
            name, _, value = part.partition(":")
            if name not in known:
                extra.append((name, value))
                continue
            try:
                values[name] = _read_field(name, value)
            except ValueError:
                raise SignatureError(f"signature field {part!r} does not read") from None
        return cls(**values, extra=tuple(extra))

    # --- the fields as JSON

    def to_json(self) -> dict[str, Any]:
        """Every field as plain JSON (a fixed set of keys; None where not stated)."""
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["nrefs"] = list(self.nrefs) if self.nrefs is not None else None
        out["filt"] = list(self.filt)
        out["extra"] = dict(self.extra)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Signature":
        """The inverse of `to_json`; unknown keys are an error (the record schema names the version)."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise SignatureError(f"unknown signature fields: {', '.join(unknown)}")
        values = dict(data)
        if values.get("nrefs") is not None:
            values["nrefs"] = tuple(values["nrefs"])
        values["filt"] = tuple(values.get("filt") or ())
        values["extra"] = tuple((values.get("extra") or {}).items())
        if values.get("beta") is None:
            values.pop("beta", None)
        try:
            return cls(**values)
        except TypeError as error:
            raise SignatureError(str(error)) from None

    # --- comparing

    def differences(self, other: "Signature") -> list[str]:
        """The fields that change numbers and differ, as `field:a vs field:b` (`-`: not stated),
        sorted by field. Scores are comparable only when this is empty."""
        out = [(name, self._text(name), other._text(name)) for name in self.COUNTED
               if getattr(self, name) != getattr(other, name)]
        mine, theirs = dict(self.extra), dict(other.extra)
        out += [(name, mine.get(name), theirs.get(name)) for name in set(mine) | set(theirs)
                if mine.get(name) != theirs.get(name)]
        return [f"{name}:{a if a is not None else '-'} vs {name}:{b if b is not None else '-'}"
                for name, a, b in sorted(out, key=lambda row: row[0])]

    @property
    def default_options(self) -> bool:
        """The evaluation options are the published protocols' (nothing says otherwise)."""
        converted = self.method != "cherrant" or self.t2s != "none"
        return (self.eval == EVAL_MODES[0] and self.edits == EDIT_SELECTIONS[0] and not self.filt
                and self.beta == DEFAULT_BETA and self.max_unchanged in (None, DEFAULT_MAX_UNCHANGED)
                and self.gold is None and converted)


def _read_field(name: str, value: str) -> Any:
    if name == "nrefs":
        low, _, high = value.partition("-")
        return (int(low), int(high or low))
    if name == "max_unchanged":
        return int(value)
    if name == "beta":
        return float(value)
    if name == "filt":
        return tuple(value.split("+")) if value else ()
    if name == "version":
        if not value.startswith(_VERSION_PREFIX):
            raise ValueError(value)
        return value[len(_VERSION_PREFIX):]
    return value


@dataclass(frozen=True)
class Recipe:
    """The settings that decide a score. `tok` names the tokeniser: `char`, or a segmenter as
    `<name>-<version>-pos`; `spell` (word-level ChERRANT) how S:SPELL is decided. It writes the
    signature and the keys of every cache, so the two can never disagree."""

    level: str  # char | word
    method: str  # cherrant | maxmatch
    tok: str = "char"
    t2s: bool = True  # references (and ChERRANT hypotheses) converted to simplified characters
    spell: str | None = None
    max_unchanged: int = DEFAULT_MAX_UNCHANGED  # MaxMatch
    beta: float = DEFAULT_BETA
    mode: str = EVAL_MODES[0]  # ChERRANT: cs, cse (with types), ds (detection by spans), dt (by tokens)
    edits: str = EDIT_SELECTIONS[0]  # ChERRANT: all, single (one source token at most) or multi
    filt: tuple[str, ...] = ()  # ChERRANT: types left out
    gold: str | None = None  # MaxMatch: a gold M2 given as a file (its name), not made from references

    @property
    def defaults(self) -> bool:
        """Every setting as the published protocols have it."""
        return (self.t2s and self.beta == DEFAULT_BETA and self.max_unchanged == DEFAULT_MAX_UNCHANGED
                and self.mode == EVAL_MODES[0] and self.edits == EDIT_SELECTIONS[0] and not self.filt
                and self.gold is None)

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
        return T2S_NAME if uses_t2s else "none"

    def signature(self, reference_counts: Sequence[int]) -> Signature:
        """The signature of a score by this recipe over sentences with these reference counts."""
        cherrant, maxmatch = self.method == "cherrant", self.method == "maxmatch"
        return Signature(
            level=self.level, method=self.method, nrefs=nrefs_range(reference_counts), tok=self.tok,
            t2s=self._conversion(), readings=f"pypinyin-{package_version('pypinyin')}" if cherrant else None,
            spell=(self.spell or "readings") if cherrant and self.level == "word" else None,
            max_unchanged=self.max_unchanged if maxmatch else None, gold=self.gold if maxmatch else None,
            eval=self.mode, edits=self.edits, filt=self.filt, beta=self.beta,
            protocol=self.protocol if self.level == "word" or not self.defaults else None, version=__version__)

    def extraction_key(self) -> str:
        """What decides the M2 blocks ChERRANT extracts (not how they are compared): the key
        of cached reference M2s. MaxMatch's gold comes from word-level ChERRANT blocks."""
        return "|".join([f"level:{self.level}", f"tok:{self.tok}", f"t2s:{self.t2s}",
                         f"spell:{self.spell if self.level == 'word' else 'none'}",
                         f"revision:{EXTRACTION_REVISION}", f"harness:{__version__}",
                         f"pypinyin:{package_version('pypinyin')}", f"t2s:{T2S_NAME}",
                         f"opencc:{package_version('opencc')}"])

"""What one call of `clean` knows and records, handed to every step: the source (every removal is
guarded by it), the prompt texts that were sent, the rules, and the trace of what was removed and why."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from harness.cleaning.text import bigrams, containment, content, latin_share
from harness.config.schema import CleaningSpec

# A sentence unit whose letters/digits come from the source at least this much (multiset containment) is
# part of the answer, whatever marker it contains. Explanations, echoes and refusals score far below.
UNIT_FROM_SOURCE = 0.5
# A unit is an echo of the prompt when at least this share of its letter/digit bigrams occur in a prompt text.
_UNIT_FROM_PROMPT = 0.8


@dataclass(frozen=True)
class Context:
    """The source and prompts of one reply, precomputed once, and the questions the rules ask about them."""

    source: str
    source_lower: str
    source_chars: Counter[str]
    source_latin: float
    prompts: tuple[str, ...]
    prompt_pairs: tuple[Counter[str], ...]
    rules: CleaningSpec

    @classmethod
    def of(cls, source: str, rules: CleaningSpec, prompt_texts: Sequence[str]) -> Context:
        """The context of one reply; a prompt text's `{source}` slot becomes a space."""
        prompts = tuple(text for text in (str(t).replace("{source}", " ") for t in prompt_texts) if content(text))
        return cls(source, source.lower(), content(source), latin_share(content(source)), prompts,
                   tuple(bigrams(text) for text in prompts), rules)

    def in_source(self, text: str) -> bool:
        """`text` (stripped, any case) occurs in the source: then it is never removed."""
        text = text.strip()
        return bool(text) and text.lower() in self.source_lower

    def find(self, text: str, markers: Sequence[str]) -> bool:
        """Some marker occurs in `text` but not in the source."""
        lower = text.lower()
        return any(marker.lower() in lower and marker.lower() not in self.source_lower for marker in markers)

    def from_source(self, text: str) -> float:
        """The share of the letters/digits of `text` that the source holds."""
        return containment(content(text), self.source_chars)

    def from_prompt(self, text: str) -> bool:
        """`text` (6 letters/digits or more) is a copy, exact or nearly, of part of a prompt text."""
        pairs = bigrams(text)
        if sum(pairs.values()) < 5:
            return False
        lower = text.strip().lower()
        return any(lower in prompt.lower() or containment(pairs, counter) >= _UNIT_FROM_PROMPT
                   for prompt, counter in zip(self.prompts, self.prompt_pairs))


@dataclass
class Trace:
    """What happened while cleaning one reply (local to one call)."""

    flags: set[str]
    evidence: set[str]  # echo, refusal, no_error, unrelated: why text was removed
    removed: set[str]  # the same, for units removed by `prune` (named by a flag only if a sentence remains)


@dataclass(frozen=True)
class Part:
    """A piece of a reply: what its label says it is, its text, its line, and whether a label named it."""

    kind: str  # answer, plain, original, explanation
    text: str
    line: int
    labelled: bool = False


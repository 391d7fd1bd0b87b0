"""What cleaning returns and what the record keeps of it: the prediction to score, the flags naming each
rule that changed the reply (a flag is only set when its rule changed the text), and their counts over
a run. `FLAG_MEANINGS` is the vocabulary, in the order flags are listed; docs/cleaning.md shows it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

FLAG_MEANINGS: Mapping[str, str] = MappingProxyType({
    "crlf": "carriage returns (CRLF or CR line ends) became LF",
    "whitespace": "outer whitespace, invisible characters (BOM, zero-width), spaces between two CJK characters, "
                  "or line breaks were removed or joined, or a run of whitespace the source does not have (a tab, "
                  "two spaces, an ideographic space) became one space",
    "code_fence": "Markdown code fences (```` ``` ````, `~~~`) or wrapping backticks were removed",
    "markdown": "Markdown emphasis (`**`), heading (`#`), blockquote (`>`) or list markers, or tags such as "
                "`<answer>`, were removed",
    "prefix": "a label or lead-in was removed (`修改后的句子：`, `修正：`, `原句：`, `输出：`, `【答案】`, "
              "`以下是修改后的句子：`, `Corrected sentence:` ...), or a part labelled as the original sentence "
              "was dropped in favour of the corrected one",
    "quotes": "quotes wrapping the whole sentence were removed (`“...”`, `「...」`, `\"...\"` ...)",
    "arrow": "the text after the last `->` / `→` / `=>` was taken (the few-shot format `source -> correction`)",
    "explanation": "an explanation or comment was cut off (`解释：...`, `（将“的”改为“地”）`, `这句话缺少主语。`, an "
                   "English remark after a Chinese sentence, an apology next to an answer, a `<think>...</think>` "
                   "block)",
    "echo": "an echoed part of the prompt (instruction, few-shot example) was removed and a sentence remained",
    "repeat": "a sentence repeated verbatim, or a truncated copy of an earlier sentence at the end, was dropped "
              "(small models loop until they run out of tokens)",
    "residue": "stray characters a small model leaves around its sentence were removed: a lone `：` or `，` before "
               "it, or a short run of characters after its final `。` that occur nowhere in the source "
               "(`……的孩子。躾`), when the source has nothing there",
    "tail": "a clause or sentence the model invented after its sentence was cut: the reply starts with the "
            "source, or a plausible correction of it (similar in length and characters), ending as the source "
            "ends (its final `。`, `！`, `？`... and closing quotes), and goes on "
            "(`……具有重要意义。能在中部地区发展，是……`)",
    "multiline": "the reply had several non-empty lines; the most plausible one (or all of them joined) was taken",
    # Nothing usable was left, so the prediction is the source (no edit); the first reason that applies names it.
    "echo_fallback": "nothing usable was left and the reply echoed the prompt: the prediction is the source",
    "refusal_fallback": "nothing usable was left and the reply refused or asked a question back: the prediction "
                        "is the source",
    "no_error_fallback": "nothing usable was left and the reply said the sentence has no error: the prediction "
                         "is the source",
    "empty_fallback": "nothing was left after cleaning: the prediction is the source",
    "unrelated_fallback": "what was left shares too few characters with the source (`min_similarity`): the "
                          "prediction is the source",
})
FLAGS: tuple[str, ...] = tuple(FLAG_MEANINGS)
FALLBACK_FLAGS: tuple[str, ...] = tuple(flag for flag in FLAGS if flag.endswith("_fallback"))


@dataclass(frozen=True)
class Cleaned:
    """The prediction to score and the rules that fired (in `FLAGS` order)."""

    prediction: str
    flags: tuple[str, ...]

    @property
    def fell_back(self) -> bool:
        """The prediction is the source because nothing usable was left."""
        return any(flag in FALLBACK_FLAGS for flag in self.flags)


def summarise(cleaned: Iterable[Cleaned]) -> dict[str, int]:
    """How many predictions each flag fired on (every flag of `FLAGS`, sorted by name), then `total`
    (predictions seen) and `changed` (predictions with at least one flag)."""
    counts = dict.fromkeys(sorted(FLAGS), 0)
    total = changed = 0
    for item in cleaned:
        total += 1
        if item.flags:
            changed += 1
        for flag in set(item.flags):
            counts[flag] = counts.get(flag, 0) + 1
    counts["total"] = total
    counts["changed"] = changed
    return counts


"""Turn a chat model's reply into the one sentence that is scored: chat models wrap their answer in labels
(`修改后的句子：`), quotes, code fences and explanations, echo the prompt, refuse, or say there is no error,
and each of these would otherwise be scored as edits of the source. The raw reply is kept by the caller;
every rule that changes it is named in `Cleaned.flags` and counted by `summarise`.

Flag vocabulary (`FLAGS`; a flag is only set when its rule changed the text):

- `crlf`: carriage returns (CRLF or CR line ends) became LF.
- `whitespace`: outer whitespace, invisible characters (BOM, zero-width), spaces between two CJK characters,
  or line breaks were removed or joined.
- `code_fence`: Markdown code fences (```` ``` ````, `~~~`) or wrapping backticks were removed.
- `markdown`: Markdown emphasis (`**`), heading (`#`), blockquote (`>`) or list markers, or tags such as
  `<answer>`, were removed.
- `prefix`: a label or lead-in was removed (`修改后的句子：`, `修正：`, `原句：`, `输出：`, `【答案】`,
  `以下是修改后的句子：`, `Corrected sentence:` ...), or a part labelled as the original sentence was dropped
  in favour of the corrected one.
- `quotes`: quotes wrapping the whole sentence were removed (`“...”`, `「...」`, `"..."` ...).
- `arrow`: the text after the last `->` / `→` / `=>` was taken (the few-shot format `source -> correction`).
- `explanation`: an explanation or comment was cut off (`解释：...`, `（将“的”改为“地”）`, `这句话缺少主语。`,
  an English remark after a Chinese sentence, an apology next to an answer, a `<think>...</think>` block).
- `echo`: an echoed part of the prompt (instruction, few-shot example) was removed and a sentence remained.
- `repeat`: a sentence repeated verbatim, or a truncated copy of an earlier sentence at the end, was dropped
  (small models loop until they run out of tokens).
- `residue`: stray characters a small model leaves around its sentence were removed: a lone `：` or `，`
  before it, or a short run of characters after its final `。` that occur nowhere in the source
  (`……的孩子。躾`), when the source has nothing there.
- `tail`: a clause or sentence the model invented after its sentence was cut: the reply starts with the
  source, or a plausible correction of it (similar in length and characters), ending as the source ends
  (its final `。`, `！`, `？`... and closing quotes), and goes on (`……具有重要意义。能在中部地区发展，是……`).
- `multiline`: the reply had several non-empty lines; the most plausible one (or all of them joined) was taken.
- `echo_fallback`, `refusal_fallback`, `no_error_fallback`, `empty_fallback`, `unrelated_fallback`: nothing
  usable was left, so the prediction is the source (no edit). The reason, in this order of precedence:
  the reply echoed the prompt; refused or asked a question back; said the sentence has no error;
  nothing was left after cleaning; what was left shares too few characters with the source
  (`CleaningRules.min_similarity`).

Every removal is guarded by the source: a label, marker or wrapper that also occurs in the source is never
removed, and a sentence unit that mostly consists of the source's characters is never dropped as an
explanation or echo (so `无不无法抵挡地` is not a refusal and a legitimate correction passes untouched).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any

from harness.core.errors import HarnessError

__all__ = ["FALLBACK_FLAGS", "FLAGS", "Cleaned", "CleaningRules", "clean", "similarity", "summarise"]

FLAGS: tuple[str, ...] = (
    "crlf", "whitespace", "code_fence", "markdown", "prefix", "quotes", "arrow", "explanation", "echo", "repeat",
    "residue", "tail", "multiline", "echo_fallback", "refusal_fallback", "no_error_fallback", "empty_fallback", "unrelated_fallback",
)
FALLBACK_FLAGS: tuple[str, ...] = tuple(flag for flag in FLAGS if flag.endswith("_fallback"))

# Labels whose following text is the answer. Each matches when followed by an optional 是/为/如下 and a
# full-width or ASCII colon (`修改后的句子：`, `修改后的句子为:`), or when written in brackets (`【答案】`).
DEFAULT_PREFIXES: tuple[str, ...] = (
    "修改后的句子", "修改后句子", "修改后的文本", "修改后的版本", "修改后", "修改结果", "修改句子", "修改",
    "修正后的句子", "修正后", "修正结果", "修正",
    "改正后的句子", "改正后", "改正",
    "纠正后的句子", "纠正后", "纠正",
    "更正后的句子", "更正后", "更正",
    "纠错后的句子", "纠错后", "纠错结果", "纠错",
    "改写后的句子", "改写后", "润色后", "优化后", "改后",
    "正确的句子", "正确句子", "正确的表述", "正确",
    "最终答案", "最终结果", "最终输出", "答案", "输出", "回答", "答", "结果", "预测", "句子", "应改为", "改为",
    "corrected sentence", "corrected", "correction", "revised sentence", "revised", "fixed sentence",
    "output", "answer", "result", "prediction", "sentence",
)
# Labels of the input restated by the model. The labelled text is stripped like a prefix; it is only used when
# the reply has nothing else (a reply `原句：A 修改后：B` gives B).
DEFAULT_ORIGINAL_LABELS: tuple[str, ...] = (
    "原句子", "原句", "原文", "原始句子", "原始文本", "源句", "输入", "病句", "错误句子",
    "original sentence", "original", "source", "input",
)
# Labels that start an explanation: the label and everything after it (up to the next answer label) is cut.
DEFAULT_EXPLANATION_LABELS: tuple[str, ...] = (
    "解释", "说明", "修改说明", "修改理由", "修改原因", "修改解释", "修改思路", "理由", "原因", "分析",
    "错误分析", "错误类型", "错误原因", "错误", "病因", "注", "注意", "备注", "提示", "修改建议", "建议",
    "explanation", "explanations", "note", "reason", "changes", "analysis",
)
# Words that make a short text before a colon (or before an opening quote) a lead-in, e.g.
# `以下是我修改后的句子：`, `下面是对上述句子进行修改后的原句：`, `Here is the corrected sentence:`.
DEFAULT_LEADIN_CUES: tuple[str, ...] = (
    "修改后", "修正后", "改正后", "纠正后", "更正后", "改写后", "纠错后", "修改过", "修改的句子", "修改如下",
    "句子", "原句", "以下是", "下面是", "如下", "范例", "示例",
    "corrected", "correction", "revised", "here is", "here's", "sentence",
)
# Unlabelled sentence units that comment on the correction instead of being part of it.
DEFAULT_EXPLANATION_CUES: tuple[str, ...] = (
    "这句话", "这个句子", "该句", "此句", "原句", "句子中", "句中", "修改为", "改为", "改成", "修改后", "修改了",
    "删除", "删去", "去掉", "加上", "添加", "补充", "语病", "病句", "通顺", "搭配", "成分残缺", "语序",
    "主语", "谓语", "宾语", "希望对你", "希望这", "如果您", "如果你", "还有其他", "请告诉我", "有帮助",
    "the sentence", "this sentence", "changed", "corrected", "because", "hope this", "let me know",
)
# Parts of the instruction or of few-shot blocks: the first five come from the GoodGap outputs
# (`请对下述句子进行修正。返回你修改后的句子，无需其它说明和解释。`, `下面是一些范例:`).
DEFAULT_ECHO_MARKERS: tuple[str, ...] = (
    "请对下述句子进行修正", "下述句子", "返回你修改后的句子", "无需其它说明和解释", "下面是一些范例",
    "以下是一些范例", "一些范例", "无需其他说明", "请对以下句子", "请修改下面的句子", "请改正下面的句子",
    "请纠正下面的句子", "检测这个句子的语法错误", "你是一个", "你是一名",
    "you are a", "please correct", "correct the following", "return the corrected", "the following sentence",
    "here are some examples",
)
# Refusals, apologies and questions back to the user (`请问您想让我修改哪个句子呢?`).
DEFAULT_REFUSAL_MARKERS: tuple[str, ...] = (
    "抱歉", "对不起", "很遗憾", "无法", "我不能", "不能完成", "作为一个AI", "作为AI", "作为一个人工智能",
    "作为人工智能", "人工智能助手", "语言模型", "请提供", "请问您", "您想让我", "哪个句子",
    "i'm sorry", "i am sorry", "sorry", "i cannot", "i can't", "i can not", "as an ai", "language model",
    "please provide", "which sentence",
)
# Statements that the sentence needs no correction.
DEFAULT_NO_ERROR_MARKERS: tuple[str, ...] = (
    "没有错误", "没有语病", "无语病", "没有语法错误", "无语法错误", "不存在语病", "没有问题", "无需修改",
    "不需要修改", "无须修改", "无需修正", "不需要修正", "无需改动", "不需要改动", "是正确的", "句子正确",
    "原句正确", "表述正确",
    "no error", "is correct", "no correction", "no changes", "grammatically correct",
)

# Dice coefficient of the letter/digit multisets of the prediction and the source (punctuation, symbols and
# whitespace ignored). On NaCGEC dev the 20 prompt-leakage lines of the GoodGap outputs score 0.00-0.17 and
# every other line scores 0.59 or more; 200,000 random pairs of unrelated NaCGEC test sentences score
# 0.10 (median), 0.28 (99.9th percentile), 0.35 (99.99th percentile). 0.35 rejects unrelated text while a
# prediction that keeps a quarter of the source (Dice 0.4) or rewrites it heavily still passes.
DEFAULT_MIN_SIMILARITY = 0.35

# A sentence unit whose letters/digits come from the source at least this much (multiset containment) is
# part of the answer, whatever marker it contains. Explanations, echoes and refusals score far below.
_UNIT_FROM_SOURCE = 0.5
# A unit is an echo of the prompt when at least this share of its letter/digit bigrams occur in a prompt text.
_UNIT_FROM_PROMPT = 0.8
_MAX_LEADIN = 40

_TUPLE_FIELDS = ("prefixes", "original_labels", "explanation_labels", "leadin_cues", "explanation_cues",
                 "echo_markers", "refusal_markers", "no_error_markers")
_BOOL_FIELDS = ("strip_quotes", "strip_code_fences", "strip_markdown", "take_sentence_from_explanation",
                "detect_echo", "detect_refusal", "detect_no_error", "fallback_on_empty", "strip_residue", "strip_tails")


@dataclass(frozen=True)
class CleaningRules:
    """Which cleaning rules run, and their word lists. `CleaningRules()` is the default for chat models;
    `CleaningRules.disabled()` changes nothing but line ends and whitespace (for seq2seq systems).
    Line ends and whitespace are always normalised. Word lists are matched case-insensitively.

    - `prefixes`: labels of the answer, written without their colon (`修改后的句子` matches `修改后的句子：`,
      `修改后的句子为:`, `**修改后的句子**：`, `【修改后的句子】`); `original_labels`: labels of the restated
      input (`原句`), stripped too, but a reply's answer wins over them; `explanation_labels`: labels that
      start an explanation (`解释`), cut with what follows; `leadin_cues`: words that make a short text
      before a colon a lead-in (`以下是我修改后的句子：`).
    - `strip_quotes`, `strip_code_fences`, `strip_markdown`: remove those wrappers (and tags, for the last).
    - `take_sentence_from_explanation`: look at every line and sentence of the reply and keep the answer:
      drop explanation lines, labelled and bracketed notes, sentences with an `explanation_cues` word that
      mostly do not come from the source, English remarks on a Chinese source, repetitions, `<think>` blocks.
    - `detect_echo` (`echo_markers`, and the `prompt_texts` given to `clean`), `detect_refusal`
      (`refusal_markers`), `detect_no_error` (`no_error_markers`): drop such sentences, and name the reason
      when the prediction falls back to the source.
    - `fallback_on_empty`: an empty result falls back to the source.
    - `strip_residue`: remove stray leading punctuation and a short stray tail (flag `residue`).
    - `strip_tails`: cut what follows the sentence when it starts as the source ends (flag `tail`).
    - `min_similarity`: a result whose `similarity` with the source is below this falls back to the source
      (0 turns the check off).
    """

    prefixes: tuple[str, ...] = DEFAULT_PREFIXES
    original_labels: tuple[str, ...] = DEFAULT_ORIGINAL_LABELS
    explanation_labels: tuple[str, ...] = DEFAULT_EXPLANATION_LABELS
    leadin_cues: tuple[str, ...] = DEFAULT_LEADIN_CUES
    strip_quotes: bool = True
    strip_code_fences: bool = True
    strip_markdown: bool = True
    take_sentence_from_explanation: bool = True
    explanation_cues: tuple[str, ...] = DEFAULT_EXPLANATION_CUES
    detect_echo: bool = True
    echo_markers: tuple[str, ...] = DEFAULT_ECHO_MARKERS
    detect_refusal: bool = True
    refusal_markers: tuple[str, ...] = DEFAULT_REFUSAL_MARKERS
    detect_no_error: bool = True
    no_error_markers: tuple[str, ...] = DEFAULT_NO_ERROR_MARKERS
    fallback_on_empty: bool = True
    strip_residue: bool = True
    strip_tails: bool = True
    min_similarity: float = DEFAULT_MIN_SIMILARITY

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], where: str) -> CleaningRules:
        """Rules from a config's `cleaning:` mapping; missing keys keep their defaults. Word lists are
        lists of non-empty strings and replace the default list."""
        if not isinstance(mapping, Mapping):
            raise HarnessError("cleaning: expected a mapping", path=where)
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in mapping.items():
            if key not in known:
                raise HarnessError(f"unknown key cleaning.{key}", path=where)
            if key in _BOOL_FIELDS:
                if not isinstance(value, bool):
                    raise HarnessError(f"cleaning.{key}: expected true or false", path=where)
                values[key] = value
            elif key in _TUPLE_FIELDS:
                if isinstance(value, str) or not isinstance(value, (list, tuple)) \
                        or not all(isinstance(item, str) and item.strip() for item in value):
                    raise HarnessError(f"cleaning.{key}: expected a list of non-empty strings", path=where)
                values[key] = tuple(item.strip() for item in value)
            else:  # min_similarity
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                    raise HarnessError(f"cleaning.{key}: expected a number from 0 to 1", path=where)
                values[key] = float(value)
        return cls(**values)

    @classmethod
    def disabled(cls) -> CleaningRules:
        """Rules that change nothing but line ends and whitespace."""
        return cls(prefixes=(), original_labels=(), explanation_labels=(), leadin_cues=(), strip_quotes=False,
                   strip_code_fences=False, strip_markdown=False, take_sentence_from_explanation=False,
                   explanation_cues=(), detect_echo=False, echo_markers=(), detect_refusal=False,
                   refusal_markers=(), detect_no_error=False, no_error_markers=(), fallback_on_empty=False,
                   strip_residue=False, strip_tails=False, min_similarity=0.0)


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


# ----------------------------------------------------------------------------------------------------------
# Characters and similarity


def _is_wide(ch: str) -> bool:
    """CJK ideographs, kana, CJK punctuation, full-width forms and the curly quotes/dashes Chinese uses."""
    code = ord(ch)
    return (0x2E80 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0xFE30 <= code <= 0xFE4F
            or 0xFF00 <= code <= 0xFFEF or 0x20000 <= code <= 0x3FFFF or 0x2010 <= code <= 0x206F
            or 0xAC00 <= code <= 0xD7AF)


def _content(text: str) -> Counter[str]:
    """The multiset of letters and digits (Unicode categories L*, N*), lower-cased."""
    return Counter(ch for ch in text.lower() if unicodedata.category(ch)[:1] in ("L", "N"))


def similarity(prediction: str, source: str) -> float:
    """Dice coefficient of the letter/digit multisets: 1.0 for the same characters, 0.0 for none in common."""
    a, b = _content(prediction), _content(source)
    size = sum(a.values()) + sum(b.values())
    if size == 0:
        return 1.0
    return 2 * sum((a & b).values()) / size


def _bigrams(text: str) -> Counter[str]:
    """The multiset of pairs of consecutive letters/digits (punctuation and whitespace skipped)."""
    chars = [ch for ch in text.lower() if unicodedata.category(ch)[:1] in ("L", "N")]
    return Counter(a + b for a, b in zip(chars, chars[1:]))


def _containment(part: Counter[str], whole: Counter[str]) -> float:
    size = sum(part.values())
    return sum((part & whole).values()) / size if size else 1.0


def _latin_share(counter: Counter[str]) -> float:
    size = sum(counter.values())
    return sum(n for ch, n in counter.items() if "a" <= ch <= "z") / size if size else 0.0


# ----------------------------------------------------------------------------------------------------------
# The context of one call


@dataclass(frozen=True)
class _Context:
    source: str
    source_lower: str
    source_chars: Counter[str]
    source_latin: float
    prompts: tuple[str, ...]
    prompt_pairs: tuple[Counter[str], ...]
    rules: CleaningRules

    def in_source(self, text: str) -> bool:
        text = text.strip()
        return bool(text) and text.lower() in self.source_lower

    def find(self, text: str, markers: Sequence[str]) -> bool:
        """Some marker occurs in `text` but not in the source."""
        lower = text.lower()
        return any(marker.lower() in lower and marker.lower() not in self.source_lower for marker in markers)

    def from_source(self, text: str) -> float:
        return _containment(_content(text), self.source_chars)

    def from_prompt(self, text: str) -> bool:
        """`text` (6 letters/digits or more) is a copy, exact or nearly, of part of a prompt text."""
        pairs = _bigrams(text)
        if sum(pairs.values()) < 5:
            return False
        lower = text.strip().lower()
        return any(lower in prompt.lower() or _containment(pairs, counter) >= _UNIT_FROM_PROMPT
                   for prompt, counter in zip(self.prompts, self.prompt_pairs))


@dataclass
class _Trace:
    """What happened while cleaning one reply (local to one call)."""

    flags: set[str]
    evidence: set[str]  # echo, refusal, no_error, unrelated: why text was removed
    removed: set[str]  # the same, for units removed by `_prune` (named by a flag only if a sentence remains)


@dataclass(frozen=True)
class _Part:
    kind: str  # answer, plain, original, explanation
    text: str
    line: int
    labelled: bool = False


# ----------------------------------------------------------------------------------------------------------
# Regular expressions built from the rules


def _alternation(words: Iterable[str]) -> str:
    """Longest first, so that `修改后的句子` wins over `修改`; a colon given with a label is dropped."""
    words = {word.strip().rstrip(":：").strip() for word in words} - {""}
    return "|".join(re.escape(word) for word in sorted(words, key=lambda w: (-len(w), w)))


# A label inside a line must follow a sentence end, a space, a colon or a closing bracket/quote (not a comma:
# `……，结果：` is more likely a sentence than a label).
_BOUNDARY = r"(?:^|(?<=[\s。！？!?．.:：)）\]】>」』”\"'*#]))"
_ARROW_RE = re.compile(r"\s*(?:-{1,2}>|=>|→|⇒|⟶)\s*")
_FENCE_LINE_RE = re.compile(r"^\s*(?:```+|~~~+)[^`~]*$")
_INLINE_FENCE_RE = re.compile(r"^\s*```+[\w+-]*[ \t]*(.*?)[ \t]*```+\s*$", re.S)
_BULLET_RE = re.compile(r"^(?:[-*+•]|\d{1,2}[.)])\s+")
_HEADING_RE = re.compile(r"^(?:#{1,6}\s*|>\s*)+")
_EMPHASIS_RE = re.compile(r"\*\*|__")
_INNER_SPACE_RE = re.compile(r"(?<=\S)\s+(?=\S)")
_INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"
_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ud800-\udfff]")
_THINK_RE = re.compile(r"<(think|thinking|reasoning|analysis)>.*?(?:</\1>|$)", re.S | re.I)
_ANSWER_TAG_RE = re.compile(r"<(answer|output|corrected|correction|result|sentence)>(.*?)</\1>", re.S | re.I)
_TAG_RE = re.compile(r"</?[A-Za-z][\w-]{0,20}\s*/?>")
# Up to _MAX_LEADIN characters, then a colon, or an opening quote after 是/为/成 or after English "is"/"as".
_LEADIN_RE = re.compile(rf"([^:：“”\"「」\n]{{1,{_MAX_LEADIN}}}?)"
                        r"(?:[ \t]*[:：]|(?<=[是为成])(?=[“\"「『])|(?<=\b(?:is|as) )(?=[“\"]))", re.I)
_LINE_SEPARATORS = "\u2028\u2029\x85\x0b\x0c"
_TERMINATORS = "。！？!?．…"
_CLOSERS = "”’」』）)]】\"'"
_QUOTE_PAIRS = MappingProxyType({"“": "”", "‘": "’", "「": "」", "『": "』", "\"": "\"", "'": "'", "﹁": "﹂", "﹃": "﹄"})


def _label_regexes(rules: CleaningRules) -> list[tuple[str, re.Pattern[str]]]:
    groups = [("answer", rules.prefixes), ("original", rules.original_labels),
              ("explanation", rules.explanation_labels if rules.take_sentence_from_explanation else ())]
    regexes = []
    for kind, words in groups:
        if not words:
            continue
        alt = _alternation(words)
        em = r"(?:\*\*|__)?"
        copula = r"(?:应该是|应当是|应该为|应是|应为|是|为|如下)?"
        pattern = (rf"{_BOUNDARY}{em}(?:(?:{alt}){em}[ \t]*{copula}[ \t]*{em}[ \t]*[:：]"
                   rf"|[【\[](?:{alt})[】\]][ \t]*[:：]?){em}[ \t]*")
        regexes.append((kind, re.compile(pattern, re.I)))
    return regexes


# ----------------------------------------------------------------------------------------------------------
# Steps


def _normalise(raw: str, trace: _Trace) -> str:
    text = raw
    if "\r" in text:  # a final CRLF/CR is a line end, not whitespace
        text = text.removesuffix("\n").removesuffix("\r") if text.endswith("\r\n") else text.removesuffix("\r")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        trace.flags.add("crlf")
    if any(ch in text for ch in _LINE_SEPARATORS + _INVISIBLE):
        for ch in _LINE_SEPARATORS:
            text = text.replace(ch, "\n")
        for ch in _INVISIBLE:
            text = text.replace(ch, "")
        trace.flags.add("whitespace")
    if _CONTROL_RE.search(text):
        text = _CONTROL_RE.sub("", text)
        trace.flags.add("whitespace")
    stripped = text.strip()
    if stripped != text:
        trace.flags.add("whitespace")
    return stripped


def _remove_fences(text: str, ctx: _Context, trace: _Trace) -> str:
    if "```" in ctx.source or "~~~" in ctx.source:
        return text
    match = _INLINE_FENCE_RE.match(text)
    if match and "\n" not in match.group(1):
        trace.flags.add("code_fence")
        return match.group(1).strip()
    lines = text.split("\n")
    kept = [line for line in lines if not _FENCE_LINE_RE.match(line)]
    if len(kept) != len(lines):
        trace.flags.add("code_fence")
        return "\n".join(kept).strip()
    if len(text) >= 2 and text[0] == "`" and text[-1] == "`" and "`" not in text[1:-1] and "`" not in ctx.source:
        trace.flags.add("code_fence")
        return text[1:-1].strip()
    return text


def _remove_tags(text: str, ctx: _Context, trace: _Trace) -> str:
    """Drop reasoning blocks (`<think>...</think>`), take the content of an `<answer>` tag, drop other tags."""
    if "<" not in text or "<" in ctx.source:
        return text
    if ctx.rules.take_sentence_from_explanation and _THINK_RE.search(text):
        text = _THINK_RE.sub("", text).strip()
        trace.removed.add("explanation")
    match = _ANSWER_TAG_RE.search(text)
    if match and match.group(2).strip():
        text = match.group(2).strip()
        trace.flags.add("prefix")
    if _TAG_RE.search(text):
        text = _TAG_RE.sub("", text).strip()
        trace.flags.add("markdown")
    return text


def _strip_markdown(line: str, ctx: _Context, trace: _Trace) -> str:
    before = line
    if not ctx.source.lstrip().startswith(("#", ">")):
        line = _HEADING_RE.sub("", line)
    match = _BULLET_RE.match(line)
    if match and not ctx.source.startswith(match.group(0).strip()):
        line = line[match.end():]
    if "**" not in ctx.source and "__" not in ctx.source:
        line = _EMPHASIS_RE.sub("", line)
    line = line.strip()
    if line != before.strip():
        trace.flags.add("markdown")
    return line


def _leadin(text: str, ctx: _Context, trace: _Trace) -> tuple[int, str] | None:
    """Where the text after a lead-in such as `以下是修改后的句子：` or `修改后的句子是“` starts, and its kind:
    `original` after an echoed instruction (`检测这个句子的语法错误：<source>`), else `answer`; None without
    a lead-in. Only the first `_MAX_LEADIN` characters and the colon are looked at."""
    rules = ctx.rules
    match = _LEADIN_RE.match(text)
    if not match:
        return None
    lead = match.group(1).strip().strip("*_").strip()
    whole = match.group(0).strip()
    if not lead or ctx.in_source(whole) or ctx.in_source(lead) or ctx.from_source(lead) >= _UNIT_FROM_SOURCE:
        return None
    echo = rules.detect_echo and (ctx.find(lead, rules.echo_markers) or ctx.from_prompt(lead))
    cue = ctx.find(lead, rules.leadin_cues)
    if not (echo or cue):
        return None
    if echo:
        trace.evidence.add("echo")
        trace.removed.add("echo")
    if rules.detect_no_error and ctx.find(lead, rules.no_error_markers):
        trace.evidence.add("no_error")
    if rules.detect_refusal and ctx.find(lead, rules.refusal_markers):
        trace.evidence.add("refusal")
    end = match.end()
    while end < len(text) and text[end] in " \t:：":
        end += 1
    return end, "original" if echo else "answer"


def _strip_start(text: str, ctx: _Context, regexes: list[tuple[str, re.Pattern[str]]],
                 trace: _Trace) -> tuple[str, str | None]:
    """Remove one label or lead-in at the start of `text`; return the rest and the label's kind."""
    for kind, regex in regexes:
        if kind == "explanation":
            continue
        match = regex.match(text)
        if match and not ctx.in_source(match.group(0)):
            trace.flags.add("prefix")
            return text[match.end():].strip(), kind
    if ctx.rules.leadin_cues or ctx.rules.detect_echo:
        found = _leadin(text[:_MAX_LEADIN + 8], ctx, trace)
        if found is not None:
            trace.flags.add("prefix")
            return text[found[0]:].strip(), found[1]
    return text, None


def _split_line(line: str, number: int, ctx: _Context, regexes: list[tuple[str, re.Pattern[str]]],
                trace: _Trace) -> list[_Part]:
    """A line cut at its labels (`原句：A 修改后：B 解释：C`) and at arrows (`A -> B`)."""
    rules = ctx.rules
    bare = line.strip().rstrip(":：").strip().lower()
    for kind, words in (("answer", rules.prefixes), ("original", rules.original_labels),
                        ("explanation", rules.explanation_labels)):
        if bare and bare in (word.strip().rstrip(":：").strip().lower() for word in words) \
                and not ctx.in_source(bare):
            trace.flags.add("prefix")
            return [_Part(kind, "", number, True)]  # a heading such as `### 修改后的句子`: it labels the next line
    hits: list[tuple[int, int, str]] = []
    for kind, regex in regexes:
        for match in regex.finditer(line):
            if match.end() > match.start() and not ctx.in_source(match.group(0)):
                hits.append((match.start(), match.end(), kind))
    hits.sort(key=lambda hit: (hit[0], -hit[1]))
    parts: list[_Part] = []
    position, kind, labelled = 0, "plain", False
    if not (hits and hits[0][0] == 0) and (rules.leadin_cues or rules.detect_echo):
        # a lead-in at the start wins over a label inside it (`Here is the corrected sentence:`)
        found = _leadin(line[:_MAX_LEADIN + 8], ctx, trace)
        if found is not None:
            position, kind, labelled = found[0], found[1], True
            trace.flags.add("prefix")
    for start, end, hit_kind in hits:
        if start < position:
            continue
        parts.append(_Part(kind, line[position:start].strip(), number, labelled))
        position, kind, labelled = end, hit_kind, True
    parts.append(_Part(kind, line[position:].strip(), number, labelled))
    if hits:
        trace.flags.add("prefix")
    split: list[_Part] = []
    for part in parts:
        split.extend(_split_leadin(part, ctx, trace) if not part.labelled and part.text else [part])
    result: list[_Part] = []
    for part in split:
        if part.kind != "explanation" and part.text and _ARROW_RE.search(part.text) \
                and not _ARROW_RE.search(ctx.source):
            pieces = [piece.strip() for piece in _ARROW_RE.split(part.text)]
            if len(pieces) > 1 and pieces[-1]:
                trace.flags.add("arrow")
                result.extend(_Part("original", piece, number, True) for piece in pieces[:-1])
                result.append(_Part("answer", pieces[-1], number, True))
                continue
        result.append(part)
    return [part for part in result if part.text or part.labelled]


def _split_leadin(part: _Part, ctx: _Context, trace: _Trace) -> list[_Part]:
    """Cut an unlabelled part where a sentence unit starts with a lead-in
    (`这个句子多了一个“不”。正确的句子应该是：...`)."""
    if not (ctx.rules.leadin_cues or ctx.rules.detect_echo):
        return [part]
    offset = 0
    for unit in _units(part.text):
        start = offset + len(unit) - len(unit.lstrip())
        offset += len(unit)
        found = _leadin(part.text[start:start + _MAX_LEADIN + 8], ctx, trace)
        if found is not None:
            trace.flags.add("prefix")
            before = part.text[:start].strip()
            rest = _Part(found[1], part.text[start + found[0]:].strip(), part.line, True)
            return ([_Part("plain", before, part.line)] if before else []) + [rest]
    return [part]


def _units(text: str) -> list[str]:
    """Sentence units: each ends after a run of terminators and closing quotes/brackets (lossless)."""
    units: list[str] = []
    start, i, n = 0, 0, len(text)
    while i < n:
        ch = text[i]
        end = None
        if ch in _TERMINATORS:
            end = i + 1
        elif ch == "." and i > 0 and text[i - 1].isascii() and text[i - 1].isalpha() \
                and (i + 1 == n or text[i + 1].isspace()):
            end = i + 1  # an English full stop, not a decimal point
        if end is None:
            i += 1
            continue
        while end < n and (text[end] in _TERMINATORS or text[end] in _CLOSERS):
            end += 1
        units.append(text[start:end])
        start = i = end
    if start < n:
        units.append(text[start:])
    return units


def _trailing_note(unit: str, ctx: _Context) -> int | None:
    """Where a final bracketed note such as `（将“的”改为“地”）` starts, or None."""
    stripped = unit.rstrip()
    if not stripped or stripped[-1] not in "）)":
        return None
    opener = "（" if stripped[-1] == "）" else "("
    start = stripped.rfind(opener)
    if start <= 0:
        return None
    note = stripped[start:]
    rules = ctx.rules
    if ctx.in_source(note) or ctx.from_source(note) >= _UNIT_FROM_SOURCE:
        return None
    return start if ctx.find(note, rules.explanation_cues + rules.explanation_labels) else None


def _prune(text: str, ctx: _Context, trace: _Trace) -> str:
    """Drop the sentence units that are echoes, refusals, no-error statements or explanations."""
    rules = ctx.rules
    kept: list[str] = []
    seen: set[str] = set()
    units = _units(text)
    for index, unit in enumerate(units):
        chars = _content(unit)
        if chars and _is_repeat(unit.strip(), index == len(units) - 1, seen, ctx):
            trace.flags.add("repeat")
            continue
        if not chars or _containment(chars, ctx.source_chars) >= _UNIT_FROM_SOURCE:
            if rules.take_sentence_from_explanation:
                cut = _trailing_note(unit, ctx)
                if cut is not None:
                    trace.flags.add("explanation")
                    unit = unit[:cut]
            kept.append(unit)
            seen.add(unit.strip())
            continue
        if rules.detect_echo and (ctx.find(unit, rules.echo_markers) or ctx.from_prompt(unit)):
            reason = "echo"
        elif rules.detect_refusal and ctx.find(unit, rules.refusal_markers):
            reason = "refusal"
        elif rules.detect_no_error and ctx.find(unit, rules.no_error_markers):
            reason = "no_error"
        elif rules.take_sentence_from_explanation and ctx.find(unit, rules.explanation_cues):
            reason = "explanation"
        elif rules.take_sentence_from_explanation and ctx.source_latin < 0.2 and _latin_share(chars) >= 0.5 \
                and sum(chars.values()) >= 3:
            reason = "unrelated"  # an English remark on a Chinese sentence
        else:
            reason = None
        if reason is not None:
            trace.removed.add(reason)
            if reason != "explanation":
                trace.evidence.add(reason)
        else:
            kept.append(unit)
            seen.add(unit.strip())
    return "".join(kept).strip()


def _is_repeat(body: str, last: bool, seen: set[str], ctx: _Context) -> bool:
    """`body` repeats a kept unit (and the source has no such repeat), or, at the end of the text, is the
    truncated start of one (a reply cut off by the token limit while looping)."""
    if body in seen:
        return ctx.source.count(body) < 2
    if last and body[-1] not in _TERMINATORS + _CLOSERS + "." and sum(_content(body).values()) >= 2:
        return any(earlier.startswith(body) for earlier in seen) and not ctx.source.rstrip().endswith(body)
    return False


def _unwrap(text: str, ctx: _Context, trace: _Trace) -> str:
    """Remove quotes around the whole text (a final 。 after the closing quote is kept inside)."""
    if len(text) < 2:
        return text
    opener = text[0]
    closer = _QUOTE_PAIRS.get(opener)
    if closer is None:
        return text
    source = ctx.source.strip()
    if source.startswith(opener):
        return text
    tail = ""
    body = text
    if body[-1] in "。.！!" and len(body) >= 3 and body[-2] == closer:
        tail, body = body[-1], body[:-1]
    if body[-1] != closer or len(body) < 2:
        return text
    inner = body[1:-1]
    if opener == closer:
        if opener in inner:
            return text
    else:
        depth = 0
        for ch in inner:
            if ch == opener:
                depth += 1
            elif ch == closer:
                depth -= 1
                if depth < 0:
                    return text
        if depth != 0:
            return text
    inner = inner.strip()
    if not inner:
        return text
    if tail and inner[-1] not in _TERMINATORS + ".":
        inner += tail
    trace.flags.add("quotes")
    return inner


def _tidy(text: str, ctx: _Context, trace: _Trace) -> str:
    """Remove whitespace between two CJK characters (unless the source has such spaces) and turn any other
    run of whitespace that holds a line break into one space."""
    keep_cjk_spaces = any(_is_wide(ctx.source[m.start() - 1]) and _is_wide(ctx.source[m.end()])
                          for m in _INNER_SPACE_RE.finditer(ctx.source))

    def replace(match: re.Match[str]) -> str:
        run = match.group(0)
        if _is_wide(text[match.start() - 1]) and _is_wide(text[match.end()]) and (not keep_cjk_spaces or "\n" in run):
            return ""
        return run if run == " " else " "

    tidy = _INNER_SPACE_RE.sub(replace, text).strip()
    if tidy != text:
        trace.flags.add("whitespace")
    return tidy


_RESIDUE_MAX = 12  # characters after the final terminator that can be stray output, not a clause
_LEADING_STRAY = "：:，,、；;"


def _residue(text: str, ctx: _Context, trace: _Trace) -> str:
    """Remove stray leading punctuation and a short tail after the final terminator, where the source
    has neither (its first character is not that mark; it ends with its terminator) and the tail's
    characters occur nowhere in the source."""
    source = ctx.source
    out = text
    while out and out[0] in _LEADING_STRAY and not source.startswith(out[0]):
        out = out[1:].lstrip()
    if source and source[-1] in _TERMINATORS:
        cut = max(out.rfind(mark) for mark in _TERMINATORS)
        tail = out[cut + 1:] if cut > 0 else ""
        if tail and len(tail) <= _RESIDUE_MAX and all(ch.isalnum() for ch in tail) \
                and not any(ch in source for ch in tail):
            out = out[: cut + 1]
    if out != text:
        trace.flags.add("residue")
    return out


_CLOSERS = "”’」』）)》】\"'"
_TAIL_HEAD_SIMILARITY = 0.8  # the head is the source or a plausible correction of it
_TAIL_HEAD_LENGTH = 0.2  # ... and as long as the source, give or take this share (at least 8 characters)


def _sentence_end(text: str) -> str | None:
    """How `text` ends: its final terminator with any closing quotes after it, or None."""
    end = len(text)
    while end and text[end - 1] in _CLOSERS:
        end -= 1
    return text[end - 1:] if end and text[end - 1] in _TERMINATORS else None


def _invented_tail(text: str, ctx: _Context, trace: _Trace) -> str:
    """Cut a clause or sentence invented after the answer: the longest-matching head of `text` that
    ends as the source ends, is about as long as it and shares its characters (the source, or a
    correction of it) with as many sentences, followed by more text. A correction never goes on after
    the source's end."""
    source = ctx.source
    end = _sentence_end(source)
    if end is None or len(text) <= len(source):
        return text
    slack = max(8, int(_TAIL_HEAD_LENGTH * len(source)))
    sentences = sum(source.count(mark) for mark in _TERMINATORS)
    best: tuple[float, int] | None = None
    start = text.find(end)
    while 0 <= start:
        cut = start + len(end)
        if cut < len(text) and abs(cut - len(source)) <= slack \
                and sum(text[:cut].count(mark) for mark in _TERMINATORS) == sentences:
            score = similarity(text[:cut], source)
            if score >= _TAIL_HEAD_SIMILARITY and (best is None or score > best[0]):
                best = (score, cut)
        start = text.find(end, start + 1)
    if best is None or not _content(text[best[1]:]):
        return text
    trace.flags.add("tail")
    return text[: best[1]]


def _choose(parts: list[str], ctx: _Context) -> str:
    """The part, or all parts joined, most similar to the source. A part that copies the source loses to any
    other plausible part (a reply that repeats the source and then corrects it)."""
    candidates = parts + (["".join(parts)] if len(parts) > 1 else [])
    scored = [(similarity(candidate, ctx.source), -index, candidate) for index, candidate in enumerate(candidates)]
    if len(parts) > 1 and ctx.source in parts:
        plausible = [item for item in scored[:len(parts)] if item[2] != ctx.source
                     and item[0] >= ctx.rules.min_similarity]
        if plausible:
            scored = plausible + scored[len(parts):]
    return max(scored)[2]


def _fallback(ctx: _Context, trace: _Trace, empty: bool) -> str:
    for reason in ("echo", "refusal", "no_error"):
        if reason in trace.evidence:
            return f"{reason}_fallback"
    if empty and "unrelated" not in trace.evidence:
        return "empty_fallback"
    return "unrelated_fallback"


def clean(raw: str, source: str, rules: CleaningRules, prompt_texts: Sequence[str] = ()) -> Cleaned:
    """The prediction to score for one raw reply. `prompt_texts` are the system and user texts that were sent
    (without the source), so that a reply repeating them is recognised as an echo. Falling back to the source
    means "no edit" and is always flagged. Never raises on a string."""
    prompts = tuple(text for text in (str(t).replace("{source}", " ") for t in prompt_texts) if _content(text))
    ctx = _Context(source, source.lower(), _content(source), _latin_share(_content(source)), prompts,
                   tuple(_bigrams(text) for text in prompts), rules)
    trace = _Trace(set(), set(), set())
    text = _normalise(raw, trace)
    if text == source:
        return _result(source, trace)
    if rules.strip_code_fences:
        text = _remove_fences(text, ctx, trace)
    if rules.strip_markdown:
        text = _remove_tags(text, ctx, trace)
    regexes = _label_regexes(rules)

    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if rules.strip_markdown:
        lines = [line for line in (_strip_markdown(line, ctx, trace) for line in lines) if line]
    if rules.take_sentence_from_explanation:
        candidate = _from_parts(lines, ctx, regexes, trace)
    else:
        candidate = "\n".join(lines)
        if rules.detect_echo or rules.detect_refusal or rules.detect_no_error:
            candidate = _prune(candidate, ctx, trace)

    for _ in range(8):  # nested wrappers: “修改后的句子：...”, **“...”**; stops when nothing changes
        before = candidate
        candidate, _kind = _strip_start(candidate, ctx, regexes, trace)
        if rules.strip_quotes:
            candidate = _unwrap(candidate, ctx, trace)
        if rules.strip_markdown and "**" not in source and candidate.startswith("**") and candidate.endswith("**"):
            candidate = candidate[2:-2].strip()
            trace.flags.add("markdown")
        if candidate == before:
            break
    candidate = _tidy(candidate, ctx, trace)
    if rules.strip_residue:
        candidate = _residue(candidate, ctx, trace)
    if rules.strip_tails:
        candidate = _invented_tail(candidate, ctx, trace)

    if candidate == source:
        return _result(source, trace)
    if not candidate:
        if rules.fallback_on_empty or trace.evidence:
            trace.flags.add(_fallback(ctx, trace, empty=True))
            return _result(source, trace)
        return _result(candidate, trace)
    if rules.min_similarity > 0 and similarity(candidate, source) < rules.min_similarity:
        trace.flags.add(_fallback(ctx, trace, empty=False))
        return _result(source, trace)
    return _result(candidate, trace)


def _from_parts(lines: list[str], ctx: _Context, regexes: list[tuple[str, re.Pattern[str]]], trace: _Trace) -> str:
    parts: list[_Part] = []
    for number, line in enumerate(lines):
        parts.extend(_split_line(line, number, ctx, regexes, trace))
    # A label alone at the end of a line (`修改后的句子：`) labels the next line.
    merged: list[_Part] = []
    for part in parts:
        if merged and not merged[-1].text and merged[-1].line < part.line and part.kind == "plain":
            merged[-1] = _Part(merged[-1].kind, part.text, part.line, True)
        else:
            merged.append(part)
    if len(lines) > 1:
        trace.flags.add("multiline")
    if any(part.kind == "explanation" and part.text for part in merged):
        trace.flags.add("explanation")

    # Prune each part; an answer may go on over the plain lines that follow it (a two-line answer).
    answers: list[list[str]] = []
    found: dict[str, list[str]] = {"plain": [], "original": []}
    previous = None
    for part in merged:
        text = _prune(part.text, ctx, trace) if part.kind != "explanation" and part.text else ""
        if part.kind == "answer":
            answers.append([text] if text else [])
        elif part.kind == "plain" and previous == "answer" and answers and answers[-1]:
            if text:
                answers[-1].append(text)
            continue
        elif part.kind in found and text:
            found[part.kind].append(text)
        previous = part.kind
    answers = [run for run in answers if run]
    if answers:
        if found["original"] or found["plain"]:
            trace.flags.add("prefix")
        run = answers[0]
        if len(run) > 1 and similarity("".join(run), ctx.source) > similarity(run[0], ctx.source):
            return "".join(run)
        return run[0]
    for kind in ("plain", "original"):
        if found[kind]:
            return _choose(found[kind], ctx)
    return ""


def _result(prediction: str, trace: _Trace) -> Cleaned:
    flags = set(trace.flags)
    if "explanation" in trace.removed:
        flags.add("explanation")
    if not flags.intersection(FALLBACK_FLAGS):  # otherwise the fallback flag names the reason
        if "echo" in trace.removed:
            flags.add("echo")
        if trace.removed.intersection(("refusal", "no_error", "unrelated")):
            flags.add("explanation")
    return Cleaned(prediction, tuple(flag for flag in FLAGS if flag in flags))

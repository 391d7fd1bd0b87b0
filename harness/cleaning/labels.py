"""Where a reply's answer starts: labels (`修改后的句子：`, `【答案】`), lead-ins (`以下是修改后的句子：`) and
arrows (`A -> B`), and a line cut into labelled parts (answer, original, explanation, plain)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from harness.cleaning.context import UNIT_FROM_SOURCE, Context, Part, Trace
from harness.cleaning.text import sentence_units
from harness.config.schema import CleaningSpec

LabelRegexes = list[tuple[str, re.Pattern[str]]]  # (kind, regex), built from the rules once per call
_MAX_LEADIN = 40  # characters of a lead-in before its colon
# A label inside a line must follow a sentence end, a space, a colon or a closing bracket/quote (not a comma:
# `……，结果：` is more likely a sentence than a label).
_BOUNDARY = r"(?:^|(?<=[\s。！？!?．.:：)）\]】>」』”\"'*#]))"
_ARROW_RE = re.compile(r"\s*(?:-{1,2}>|=>|→|⇒|⟶)\s*")
# Up to _MAX_LEADIN characters, then a colon, or an opening quote after 是/为/成 or after English "is"/"as".
_LEADIN_RE = re.compile(rf"([^:：“”\"「」\n]{{1,{_MAX_LEADIN}}}?)"
                        r"(?:[ \t]*[:：]|(?<=[是为成])(?=[“\"「『])|(?<=\b(?:is|as) )(?=[“\"]))", re.I)


def _alternation(words: Iterable[str]) -> str:
    """Longest first, so that `修改后的句子` wins over `修改`; a colon given with a label is dropped."""
    words = {word.strip().rstrip(":：").strip() for word in words} - {""}
    return "|".join(re.escape(word) for word in sorted(words, key=lambda w: (-len(w), w)))


def label_regexes(rules: CleaningSpec) -> LabelRegexes:
    """One regex per kind of label (answer, original, explanation when explanations are cut), each
    matching a label with its colon, copula, brackets and emphasis."""
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


def _leadin(text: str, ctx: Context, trace: Trace) -> tuple[int, str] | None:
    """Where the text after a lead-in such as `以下是修改后的句子：` or `修改后的句子是“` starts, and its kind:
    `original` after an echoed instruction (`检测这个句子的语法错误：<source>`), else `answer`; None without
    a lead-in. Only the first `_MAX_LEADIN` characters and the colon are looked at."""
    rules = ctx.rules
    match = _LEADIN_RE.match(text)
    if not match:
        return None
    lead = match.group(1).strip().strip("*_").strip()
    whole = match.group(0).strip()
    if not lead or ctx.in_source(whole) or ctx.in_source(lead) or ctx.from_source(lead) >= UNIT_FROM_SOURCE:
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


def strip_start(text: str, ctx: Context, regexes: LabelRegexes, trace: Trace) -> tuple[str, str | None]:
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


def split_line(line: str, number: int, ctx: Context, regexes: LabelRegexes, trace: Trace) -> list[Part]:
    """A line cut at its labels (`原句：A 修改后：B 解释：C`) and at arrows (`A -> B`)."""
    rules = ctx.rules
    bare = line.strip().rstrip(":：").strip().lower()
    for kind, words in (("answer", rules.prefixes), ("original", rules.original_labels),
                        ("explanation", rules.explanation_labels)):
        if bare and bare in (word.strip().rstrip(":：").strip().lower() for word in words) \
                and not ctx.in_source(bare):
            trace.flags.add("prefix")
            return [Part(kind, "", number, True)]  # a heading such as `### 修改后的句子`: it labels the next line
    hits: list[tuple[int, int, str]] = []
    for kind, regex in regexes:
        for match in regex.finditer(line):
            if match.end() > match.start() and not ctx.in_source(match.group(0)):
                hits.append((match.start(), match.end(), kind))
    hits.sort(key=lambda hit: (hit[0], -hit[1]))
    parts: list[Part] = []
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
        parts.append(Part(kind, line[position:start].strip(), number, labelled))
        position, kind, labelled = end, hit_kind, True
    parts.append(Part(kind, line[position:].strip(), number, labelled))
    if hits:
        trace.flags.add("prefix")
    split: list[Part] = []
    for part in parts:
        split.extend(_split_leadin(part, ctx, trace) if not part.labelled and part.text else [part])
    result: list[Part] = []
    for part in split:
        if part.kind != "explanation" and part.text and _ARROW_RE.search(part.text) \
                and not _ARROW_RE.search(ctx.source):
            pieces = [piece.strip() for piece in _ARROW_RE.split(part.text)]
            if len(pieces) > 1 and pieces[-1]:
                trace.flags.add("arrow")
                result.extend(Part("original", piece, number, True) for piece in pieces[:-1])
                result.append(Part("answer", pieces[-1], number, True))
                continue
        result.append(part)
    return [part for part in result if part.text or part.labelled]


def _split_leadin(part: Part, ctx: Context, trace: Trace) -> list[Part]:
    """Cut an unlabelled part where a sentence unit starts with a lead-in
    (`这个句子多了一个“不”。正确的句子应该是：...`)."""
    if not (ctx.rules.leadin_cues or ctx.rules.detect_echo):
        return [part]
    offset = 0
    for unit in sentence_units(part.text):
        start = offset + len(unit) - len(unit.lstrip())
        offset += len(unit)
        found = _leadin(part.text[start:start + _MAX_LEADIN + 8], ctx, trace)
        if found is not None:
            trace.flags.add("prefix")
            before = part.text[:start].strip()
            rest = Part(found[1], part.text[start + found[0]:].strip(), part.line, True)
            return ([Part("plain", before, part.line)] if before else []) + [rest]
    return [part]


"""The wrappers around an answer that carry none of its words: line ends and invisible characters,
code fences, reasoning and answer tags, Markdown marks, quotes, and whitespace inside a Chinese
sentence. Each is removed only when the source has no such thing."""

from __future__ import annotations

import re
from types import MappingProxyType

from harness.cleaning.context import Context, Trace
from harness.cleaning.text import TERMINATORS, is_wide

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
_LINE_SEPARATORS = "\u2028\u2029\x85\x0b\x0c"
_QUOTE_PAIRS = MappingProxyType({"“": "”", "‘": "’", "「": "」", "『": "』", "\"": "\"", "'": "'", "﹁": "﹂", "﹃": "﹄"})


def normalise(raw: str, trace: Trace) -> str:
    """Line ends as LF, invisible and control characters removed, outer whitespace stripped."""
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


def remove_fences(text: str, ctx: Context, trace: Trace) -> str:
    """Remove an inline code span, fence lines (```` ``` ````, `~~~`) or backticks around the whole text."""
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


def remove_tags(text: str, ctx: Context, trace: Trace) -> str:
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


def strip_line_markdown(line: str, ctx: Context, trace: Trace) -> str:
    """Remove heading, blockquote and list markers and emphasis from one line."""
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


def unwrap(text: str, ctx: Context, trace: Trace) -> str:
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
    if tail and inner[-1] not in TERMINATORS + ".":
        inner += tail
    trace.flags.add("quotes")
    return inner


def tidy_whitespace(text: str, ctx: Context, trace: Trace) -> str:
    """Remove whitespace between two CJK characters (unless the source has such spaces) and turn any other
    run of whitespace into one space, except a run the source has itself (an ideographic space U+3000, say):
    that is part of the sentence, and a spelling checker's output that keeps it must keep its length."""
    runs = list(_INNER_SPACE_RE.finditer(ctx.source))
    keep_cjk_spaces = any(is_wide(ctx.source[m.start() - 1]) and is_wide(ctx.source[m.end()]) for m in runs)
    source_runs = {m.group(0) for m in runs if "\n" not in m.group(0)}

    def replace(match: re.Match[str]) -> str:
        run = match.group(0)
        if is_wide(text[match.start() - 1]) and is_wide(text[match.end()]) and (not keep_cjk_spaces or "\n" in run):
            return ""
        return run if run == " " or run in source_runs else " "

    tidy = _INNER_SPACE_RE.sub(replace, text).strip()
    if tidy != text:
        trace.flags.add("whitespace")
    return tidy


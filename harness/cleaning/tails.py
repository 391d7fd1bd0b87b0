"""What a small model writes after its sentence: stray characters (`residue`) and invented clauses
(`tail`), cut only where the source itself ends, so that a correction is never shortened."""

from __future__ import annotations

from harness.cleaning.context import Context, Trace
from harness.cleaning.text import CLOSERS, TERMINATORS, content, similarity

_RESIDUE_MAX = 12  # characters after the final terminator that can be stray output, not a clause
_LEADING_STRAY = "：:，,、；;"


def remove_residue(text: str, ctx: Context, trace: Trace) -> str:
    """Remove stray leading punctuation and a short tail after the final terminator, where the source
    has neither (its first character is not that mark; it ends with its terminator) and the tail's
    characters occur nowhere in the source."""
    source = ctx.source
    out = text
    while out and out[0] in _LEADING_STRAY and not source.startswith(out[0]):
        out = out[1:].lstrip()
    if source and source[-1] in TERMINATORS:
        cut = max(out.rfind(mark) for mark in TERMINATORS)
        tail = out[cut + 1:] if cut > 0 else ""
        if tail and len(tail) <= _RESIDUE_MAX and all(ch.isalnum() for ch in tail) \
                and not any(ch in source for ch in tail):
            out = out[: cut + 1]
    if out != text:
        trace.flags.add("residue")
    return out


_TAIL_HEAD_SIMILARITY = 0.8  # the head is the source or a plausible correction of it
_TAIL_HEAD_LENGTH = 0.2  # ... and as long as the source, give or take this share (at least 8 characters)


def _sentence_end(text: str) -> str | None:
    """How `text` ends: its final terminator with any closing quotes after it, or None."""
    end = len(text)
    while end and text[end - 1] in CLOSERS:
        end -= 1
    return text[end - 1:] if end and text[end - 1] in TERMINATORS else None


def cut_invented_tail(text: str, ctx: Context, trace: Trace) -> str:
    """Cut a clause or sentence invented after the answer: the longest-matching head of `text` that
    ends as the source ends, is about as long as it and shares its characters (the source, or a
    correction of it) with as many sentences, followed by more text. A correction never goes on after
    the source's end."""
    source = ctx.source
    end = _sentence_end(source)
    if end is None or len(text) <= len(source):
        return text
    slack = max(8, int(_TAIL_HEAD_LENGTH * len(source)))
    sentences = sum(source.count(mark) for mark in TERMINATORS)
    best: tuple[float, int] | None = None
    start = text.find(end)
    while 0 <= start:
        cut = start + len(end)
        if cut < len(text) and abs(cut - len(source)) <= slack \
                and sum(text[:cut].count(mark) for mark in TERMINATORS) == sentences:
            score = similarity(text[:cut], source)
            if score >= _TAIL_HEAD_SIMILARITY and (best is None or score > best[0]):
                best = (score, cut)
        start = text.find(end, start + 1)
    if best is None or not content(text[best[1]:]):
        return text
    trace.flags.add("tail")
    return text[: best[1]]

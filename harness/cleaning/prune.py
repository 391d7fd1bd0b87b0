"""Sentences that are not the answer: echoes of the prompt, refusals, no-error statements,
explanations, bracketed notes and repetitions, dropped unit by unit. A unit made mostly of the
source's characters is always kept, whatever marker it holds."""

from __future__ import annotations

from harness.cleaning.context import UNIT_FROM_SOURCE, Context, Trace
from harness.cleaning.text import CLOSERS, TERMINATORS, containment, content, latin_share, sentence_units


def _trailing_note(unit: str, ctx: Context) -> int | None:
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
    if ctx.in_source(note) or ctx.from_source(note) >= UNIT_FROM_SOURCE:
        return None
    return start if ctx.find(note, rules.explanation_cues + rules.explanation_labels) else None


def prune(text: str, ctx: Context, trace: Trace) -> str:
    """Drop the sentence units that are echoes, refusals, no-error statements or explanations."""
    rules = ctx.rules
    kept: list[str] = []
    seen: set[str] = set()
    units = sentence_units(text)
    for index, unit in enumerate(units):
        chars = content(unit)
        if chars and _is_repeat(unit.strip(), index == len(units) - 1, seen, ctx):
            trace.flags.add("repeat")
            continue
        if not chars or containment(chars, ctx.source_chars) >= UNIT_FROM_SOURCE:
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
        elif rules.take_sentence_from_explanation and ctx.source_latin < 0.2 and latin_share(chars) >= 0.5 \
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


def _is_repeat(body: str, last: bool, seen: set[str], ctx: Context) -> bool:
    """`body` repeats a kept unit (and the source has no such repeat), or, at the end of the text, is the
    truncated start of one (a reply cut off by the token limit while looping)."""
    if body in seen:
        return ctx.source.count(body) < 2
    if last and body[-1] not in TERMINATORS + CLOSERS + "." and sum(content(body).values()) >= 2:
        return any(earlier.startswith(body) for earlier in seen) and not ctx.source.rstrip().endswith(body)
    return False

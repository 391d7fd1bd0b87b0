"""The order of the steps: `clean` turns one raw reply into the prediction to score. Wrappers and
labels are removed, the answer is chosen among the reply's lines and sentences, invented tails are
cut, and the source is returned (flagged with the reason) when nothing usable is left.

Every removal is guarded by the source: a label, marker or wrapper that also occurs in the source is
never removed, and a sentence unit that mostly consists of the source's characters is never dropped as
an explanation or echo (so `无不无法抵挡地` is not a refusal and a legitimate correction passes untouched)."""

from __future__ import annotations

from collections.abc import Sequence

from harness.cleaning.context import Context, Part, Trace
from harness.cleaning.labels import LabelRegexes, label_regexes, split_line, strip_start
from harness.cleaning.prune import prune
from harness.cleaning.result import FALLBACK_FLAGS, FLAGS, Cleaned
from harness.cleaning.tails import cut_invented_tail, remove_residue
from harness.cleaning.text import similarity
from harness.cleaning.wrappers import (
    normalise, remove_fences, remove_tags, strip_line_markdown, tidy_whitespace, unwrap,
)
from harness.config.schema import CleaningSpec


def clean(raw: str, source: str, rules: CleaningSpec, prompt_texts: Sequence[str] = ()) -> Cleaned:
    """The prediction to score for one raw reply. `prompt_texts` are the system and user texts that were sent
    (without the source), so that a reply repeating them is recognised as an echo. Falling back to the source
    means "no edit" and is always flagged. Never raises on a string."""
    trace = Trace(set(), set(), set())
    if raw == source:  # nothing to clean: not even whitespace or invisible characters the source has itself
        return _result(source, trace)
    text = normalise(raw, trace)
    if text == source:
        return _result(source, trace)
    ctx = Context.of(source, rules, prompt_texts)
    if not rules.enabled:  # line ends and whitespace only
        return _result(tidy_whitespace("\n".join(_lines(text)), ctx, trace), trace)
    regexes = label_regexes(rules)
    candidate = _unwrapped(_answer(text, ctx, regexes, trace), ctx, regexes, trace)
    candidate = tidy_whitespace(candidate, ctx, trace)
    if rules.strip_residue:
        candidate = remove_residue(candidate, ctx, trace)
    if rules.strip_tails:
        candidate = cut_invented_tail(candidate, ctx, trace)
    return _verdict(candidate, ctx, trace)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def _answer(text: str, ctx: Context, regexes: LabelRegexes, trace: Trace) -> str:
    """The answer among the lines and sentences of the reply, without fences, tags, Markdown marks,
    explanations, echoes, refusals and no-error statements."""
    rules = ctx.rules
    if rules.strip_code_fences:
        text = remove_fences(text, ctx, trace)
    if rules.strip_markdown:
        text = remove_tags(text, ctx, trace)
    lines = _lines(text)
    if rules.strip_markdown:
        lines = [line for line in (strip_line_markdown(line, ctx, trace) for line in lines) if line]
    if rules.take_sentence_from_explanation:
        return _from_parts(lines, ctx, regexes, trace)
    candidate = "\n".join(lines)
    if rules.detect_echo or rules.detect_refusal or rules.detect_no_error:
        candidate = prune(candidate, ctx, trace)
    return candidate


def _from_parts(lines: list[str], ctx: Context, regexes: LabelRegexes, trace: Trace) -> str:
    """The answer of a reply cut into labelled parts: the first labelled answer (with the plain lines
    that continue it), else the most plausible plain or restated part."""
    parts: list[Part] = []
    for number, line in enumerate(lines):
        parts.extend(split_line(line, number, ctx, regexes, trace))
    # A label alone at the end of a line (`修改后的句子：`) labels the next line.
    merged: list[Part] = []
    for part in parts:
        if merged and not merged[-1].text and merged[-1].line < part.line and part.kind == "plain":
            merged[-1] = Part(merged[-1].kind, part.text, part.line, True)
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
        text = prune(part.text, ctx, trace) if part.kind != "explanation" and part.text else ""
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


def _choose(parts: list[str], ctx: Context) -> str:
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


def _unwrapped(candidate: str, ctx: Context, regexes: LabelRegexes, trace: Trace) -> str:
    """Remove labels, quotes and emphasis around the answer, nested (`“修改后的句子：...”`, `**“...”**`)."""
    rules = ctx.rules
    for _ in range(8):  # stops when nothing changes
        before = candidate
        candidate, _kind = strip_start(candidate, ctx, regexes, trace)
        if rules.strip_quotes:
            candidate = unwrap(candidate, ctx, trace)
        if rules.strip_markdown and "**" not in ctx.source and candidate.startswith("**") \
                and candidate.endswith("**"):
            candidate = candidate[2:-2].strip()
            trace.flags.add("markdown")
        if candidate == before:
            break
    return candidate


def _verdict(candidate: str, ctx: Context, trace: Trace) -> Cleaned:
    """The candidate, or the source (flagged with the reason) when nothing usable is left."""
    rules, source = ctx.rules, ctx.source
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


def _fallback(ctx: Context, trace: Trace, empty: bool) -> str:
    """The fallback flag: the first reason found (echo, refusal, no error), else empty or unrelated."""
    for reason in ("echo", "refusal", "no_error"):
        if reason in trace.evidence:
            return f"{reason}_fallback"
    if empty and "unrelated" not in trace.evidence:
        return "empty_fallback"
    return "unrelated_fallback"


def _result(prediction: str, trace: Trace) -> Cleaned:
    """The prediction with its flags in `FLAGS` order; removed units are named only when they explain
    a kept sentence (a fallback flag already names the reason)."""
    flags = set(trace.flags)
    if "explanation" in trace.removed:
        flags.add("explanation")
    if not flags.intersection(FALLBACK_FLAGS):  # otherwise the fallback flag names the reason
        if "echo" in trace.removed:
            flags.add("echo")
        if trace.removed.intersection(("refusal", "no_error", "unrelated")):
            flags.add("explanation")
    return Cleaned(prediction, tuple(flag for flag in FLAGS if flag in flags))

"""From an alignment path to span edits: ChERRANT's grouping, transposition and trimming rules."""

from __future__ import annotations

from itertools import groupby
from string import punctuation

from metrics.alignment import Step
from metrics.levenshtein import distance

# The merger's punctuation (note: differs from the alignment's, ends with ASCII '.').
MERGER_PUNCTUATION = punctuation + (
    "！？｡＂＃＄％＆＇（）＊＋，－／：；＜＝＞＠［＼］＾＿｀｛｜｝～｟｠｢｣､、〃》「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟–—‘'‛“”„‟…‧."
)


def _span(steps: list[Step], tag: str) -> Step:
    return (tag, steps[0][1], steps[-1][2], steps[0][3], steps[-1][4])


def _group(steps: list[Step], granularity: str) -> list[Step]:
    """One run of non-M, non-T steps: D-only and I-only runs merge, D+I stays split,
    S-only merges at char level only, any other mix becomes one S."""
    if len(steps) <= 1:
        return steps
    ops = {step[0] for step in steps}
    if ops == {"D"} or ops == {"I"}:
        return [_span(steps, ops.pop())]
    if ops == {"D", "I"}:
        return steps
    if ops == {"S"}:
        return steps if granularity == "word" else [_span(steps, "S")]
    if ops == {"M"}:
        return [_span(steps, "M")]
    return [_span(steps, "S")]


def _is_transposition(first: Step, middle: Step, last: Step, src: list[str], tgt: list[str]) -> bool:
    e1, e2, e3 = first[0][0], middle[0][0], last[0][0]
    if e1 == "S" and e2 == "M" and e3 == "S":
        w1 = "".join(src[first[1] : first[2]])
        w2 = "".join(tgt[first[3] : first[4]])
        w3 = "".join(src[last[1] : last[2]])
        w4 = "".join(tgt[last[3] : last[4]])
        if min(len(w1), len(w2), len(w3), len(w4)) == 1:
            return w1 == w4 and w2 == w3
        return distance(w1, w4) <= 1 and distance(w2, w3) <= 1
    if (e1, e3) in (("D", "I"), ("I", "D")) and (e2 == "M" or e2 == "T"):
        deleted, inserted = (first, last) if e1 == "D" else (last, first)
        a = "".join(src[deleted[1] : deleted[2]])
        b = "".join(tgt[inserted[3] : inserted[4]])
        if len(a) < len(b):
            a, b = b, a
        if a in MERGER_PUNCTUATION or b in MERGER_PUNCTUATION or len(a) - len(b) > 1:
            return False
        if len(b) == 1:
            return a == b
        return distance(a, b) <= 1 or (len(a) == len(b) and b in a + a)
    return False


def _trim(edit: Step, src: list[str], tgt: list[str]) -> Step:
    """Drop the common leading and trailing tokens of an S edit (ChERRANT's second filter)."""
    op, s_start, s_end, t_start, t_end = edit
    target = "".join(tgt[t_start:t_end])
    changed = False
    common = ""
    candidate_start = s_start
    for i in range(s_start, s_end):
        if not target.startswith(common + src[i]):
            break
        common += src[i]
        candidate_start = i + 1
    new_s_start, new_t_start = s_start, t_start
    if common:
        joined = ""
        for i in range(t_start, t_end):
            joined += tgt[i]
            if joined == common:
                new_s_start, new_t_start = candidate_start, i + 1
                changed = True
                break
            if len(joined) > len(common):
                break
    common = ""
    new_s_end, new_t_end = s_end, t_end
    candidate_end = s_end
    for i in reversed(range(new_s_start, s_end)):
        if not target.endswith(src[i] + common):
            break
        common = src[i] + common
        candidate_end = i
    if common:
        joined = ""
        for i in reversed(range(new_t_start, t_end)):
            joined = tgt[i] + joined
            if joined == common:
                new_s_end, new_t_end = candidate_end, i
                changed = True
                break
            if len(joined) > len(common):
                break
    if not changed:
        return edit
    if new_s_start == new_s_end:
        return ("I", new_s_start, new_s_end, new_t_start, new_t_end)
    if new_t_start == new_t_end:
        return ("D", new_s_start, new_s_end, new_t_start, new_t_end)
    return ("S", new_s_start, new_s_end, new_t_start, new_t_end)


def merge(path: list[Step], src: list[str], tgt: list[str], granularity: str = "char") -> list[Step]:
    """Turn one alignment path into the span edits ChERRANT writes (M spans dropped)."""
    grouped: list[Step] = []
    for kind, run in groupby(path, lambda step: step[0][0] if step[0][0] in "MT" else ""):
        steps = list(run)
        if kind == "T":
            grouped.extend(steps)
        else:
            grouped.extend(_group(steps, granularity))

    edits: list[Step] = []
    i = 0
    while i < len(grouped):
        if i < len(grouped) - 2 and _is_transposition(grouped[i], grouped[i + 1], grouped[i + 2], src, tgt):
            first, last = grouped[i], grouped[i + 2]
            edits.append((f"T{last[2] - first[1]}", first[1], last[2], first[3], last[4]))
            i += 3
            continue
        if grouped[i][0][0] != "M":
            edits.append(grouped[i])
        i += 1

    out: list[Step] = []
    for edit in edits:
        if "".join(src[edit[1] : edit[2]]) == "".join(tgt[edit[3] : edit[4]]):
            continue
        out.append(_trim(edit, src, tgt) if edit[0] == "S" else edit)
    return out

"""Edit types: char level M/R/S/W; word level M:/R:/S: plus the POS class of the edited word."""

from __future__ import annotations

from metrics.alignment import Step
from metrics.edit import Edit
from metrics.zh.tokens import MISSING_COMPONENT, Token

CHAR_TYPES = {"T": "W", "D": "R", "I": "M", "S": "S"}

_POS_CLASSES = {
    **dict.fromkeys(("n", "nd", "nh", "ni", "nl", "ns", "nt", "nz"), "NOUN"),
    "v": "VERB",
    **dict.fromkeys(("a", "b"), "ADJ"),
    "c": "CONJ",
    "r": "PRON",
    "d": "ADV",
    "u": "AUX",
    "m": "NUM",
    "p": "PREP",
    "q": "QUAN",
    "wp": "PUNCT",
}


def pos_class(tag: str) -> str:
    """ChERRANT's POS class of an LTP tag (named entities count as NOUN)."""
    return _POS_CLASSES.get(tag, "OTHER")


def classify(step: Step, src: list[Token], tgt: list[Token], granularity: str = "char",
             annotator: int = 0, spelling=None) -> Edit:
    """Type one merged edit. `spelling(src_text, tgt_text)` decides S:SPELL at word level."""
    op, s_start, s_end, t_start, t_end = step
    correction = tuple(t.text for t in tgt[t_start:t_end])
    kind = op[0]
    if granularity == "char":
        return Edit(s_start, s_end, CHAR_TYPES[kind], () if kind == "D" else correction, annotator)
    if kind == "T":
        return Edit(s_start, s_end, "W", correction, annotator)
    target_span = " ".join(correction)
    if kind == "D":
        if s_end - s_start > 1:
            return Edit(s_start, s_end, "R:OTHER", (), annotator)
        cls = "MC" if target_span == MISSING_COMPONENT else pos_class(src[s_start].pos)
        return Edit(s_start, s_end, f"R:{cls}", (), annotator)
    if kind == "I":
        if t_end - t_start > 1:
            return Edit(s_start, s_end, "M:OTHER", correction, annotator)
        cls = "MC" if target_span == MISSING_COMPONENT else pos_class(tgt[t_start].pos)
        return Edit(s_start, s_end, f"M:{cls}", correction, annotator)
    source_text = "".join(t.text for t in src[s_start:s_end])
    if spelling is not None and spelling(source_text, "".join(correction)):
        return Edit(s_start, s_end, "S:SPELL", correction, annotator)
    if t_end - t_start > 1:
        return Edit(s_start, s_end, "S:OTHER", correction, annotator)
    cls = "MC" if target_span == MISSING_COMPONENT else pos_class(tgt[t_start].pos)
    return Edit(s_start, s_end, f"S:{cls}", correction, annotator)

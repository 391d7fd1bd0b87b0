"""Reading score signatures (metrics.score.Recipe writes them): the one rule by which two
scores, or a score and a published protocol, are comparable."""

from __future__ import annotations


def parse_signature(signature: str) -> dict[str, str]:
    """`level:char|method:cherrant|...` as a mapping of its fields."""
    return dict(field.split(":", 1) if ":" in field else (field, "") for field in signature.split("|"))


def signature_differences(a: str, b: str) -> list[str]:
    """The fields in which two signatures differ, as `field:a vs field:b`. Scores are
    comparable only when this is empty: the one rule `compare` and `table` apply."""
    fa, fb = parse_signature(a), parse_signature(b)
    return [f"{key}:{fa.get(key, '-')} vs {key}:{fb.get(key, '-')}"
            for key in sorted(set(fa) | set(fb)) if fa.get(key) != fb.get(key)]


def follows(signature: str, level: str, method: str, segmenter: str | None = None) -> bool:
    """Whether a score was made by a published protocol: the level, method and segmenter a
    table of reported figures names (they carry no signature of their own)."""
    fields = parse_signature(signature)
    tok = fields.get("tok", "")
    return (fields.get("level") == level and fields.get("method") == method
            and (segmenter is None or tok.split("-", 1)[0] == segmenter))

"""Comparing score signatures (`metrics.signature.Signature`): the one rule by which two
scores, or a score and a published protocol, are comparable. Takes a signature as fields, as
the JSON object a record stores, or as its rendered string (records written before the
fields were stored)."""

from __future__ import annotations

from typing import Any, Mapping, Union

from harness.core.errors import HarnessError
from metrics.signature import Signature, SignatureError

SignatureLike = Union[Signature, Mapping[str, Any], str]


def as_signature(value: SignatureLike) -> Signature:
    """A signature from any of its forms; one that does not read is a one-line error."""
    if isinstance(value, Signature):
        return value
    try:
        return Signature.parse(value) if isinstance(value, str) else Signature.from_json(value)
    except SignatureError as error:
        raise HarnessError(f"unreadable score signature: {error}") from None


def signature_differences(a: SignatureLike, b: SignatureLike) -> list[str]:
    """The fields that change numbers in which two signatures differ, as `field:a vs field:b`.
    Scores are comparable only when this is empty: the one rule `compare` and `table` apply.
    The harness version that wrote them is not compared (see `Signature`)."""
    return as_signature(a).differences(as_signature(b))


def follows(signature: SignatureLike, level: str, method: str, segmenter: str | None = None) -> bool:
    """Whether a score was made by a published protocol: the level, method and segmenter a
    table of reported figures names (they carry no signature of their own), with the
    protocol's evaluation options (no other eval mode, beta, filter...)."""
    fields = as_signature(signature)
    tok = fields.tok or ""
    return (fields.level == level and fields.method == method and fields.default_options
            and (segmenter is None or tok.split("-", 1)[0] == segmenter))

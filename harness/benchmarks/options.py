"""The one place where a protocol's options (plain data in benchmarks.yaml) become the scorer's
options object: when `ScoringOptions` changes shape, only this function changes."""

from __future__ import annotations

from typing import Sequence

from harness.benchmarks.registry import ProtocolOptions
from harness.scoring.options import ScoringOptions


def scoring_options(options: ProtocolOptions, levels: Sequence[str] = ("char",),
                    segmenter: str | None = None) -> ScoringOptions:
    """The scorer's options for `levels` (word level: MaxMatch); `segmenter` overrides the
    protocol's (a user's choice for unsegmented word-level outputs)."""
    return ScoringOptions.from_mapping({
        "levels": tuple(levels), "word_scorer": "maxmatch", "segmenter": segmenter or options.segmenter or "thulac",
        "t2s": options.t2s, "beta": options.beta, "max_unchanged_words": options.max_unchanged,
    })

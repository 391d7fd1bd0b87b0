"""cgec-harness: run Chinese GEC models and score them the way the papers did.

    from harness import score_corpus
    score = score_corpus(sources, hypotheses, references, level="char")
"""

from __future__ import annotations

from typing import Any

from metrics import __version__  # one constant for the distribution: signatures name it

__all__ = ["ScoringOptions", "__version__", "score_corpus", "score_levels"]


def __getattr__(name: str) -> Any:
    # Imported on first use: `python -m harness table` need not load the scorer.
    if name in ("score_corpus", "score_levels"):
        from harness.scoring import corpus

        return getattr(corpus, name)
    if name == "ScoringOptions":
        from harness.scoring.options import ScoringOptions

        return ScoringOptions
    raise AttributeError(f"module 'harness' has no attribute {name!r}")

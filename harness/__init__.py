"""cgec-harness: run Chinese GEC models and score them the way the papers did.

    from harness import score_corpus
    score = score_corpus(sources, hypotheses, references, level="char")
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "score_corpus"]


def __getattr__(name: str) -> Any:
    # Imported on first use: `python -m harness table` need not load the scorer.
    if name == "score_corpus":
        from harness.scoring.corpus import score_corpus

        return score_corpus
    raise AttributeError(f"module 'harness' has no attribute {name!r}")

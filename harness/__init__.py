"""cgec-harness: run Chinese GEC models and score them the way the papers did."""

__version__ = "0.1.0"

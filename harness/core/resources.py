"""Files that ship inside the package: the data manifest, prices and reported figures.

They live in the checkout's `data/` folder; `harness/_data` links to it, so the same files are
in the wheel, and `importlib.resources` finds them in either place.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def packaged(relpath: str) -> Path:
    """The path of a shipped data file, e.g. `manifest.yaml` or `reported/nacgec-dev.csv`."""
    return Path(str(files("harness").joinpath("_data", *relpath.split("/"))))

"""Which kernels run: the compiled ones (C) when they were built and not turned off, else the
pure-Python ones. Both give the same results (tests/test_kernel_*.py, tests/test_thulac_fast.py).

- `COMPILED`: metrics._kernel, the alignment kernel (DP fill, paths, char costs);
- `THULAC`: metrics._thulac, THULAC's feature scoring and Viterbi decoder (word level).

`CGEC_PURE_PYTHON=1` forces the pure-Python kernels (CI runs the golden tests once that way);
it is read once, when metrics is first imported.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

PURE_PYTHON_VARIABLE = "CGEC_PURE_PYTHON"


def _load(module: str) -> ModuleType | None:
    if os.environ.get(PURE_PYTHON_VARIABLE, "").strip() not in ("", "0"):
        return None
    try:
        return importlib.import_module(module)
    except ImportError:  # not built (no compiler at install time): the Python kernel serves
        return None


COMPILED: ModuleType | None = _load("metrics._kernel")
THULAC: ModuleType | None = _load("metrics._thulac")


def name() -> str:
    """`c` or `python`: what the benches print beside their figures."""
    return "c" if COMPILED is not None else "python"


def thulac_name() -> str:
    """`c` or `python`: which THULAC decoder the word level uses."""
    return "c" if THULAC is not None else "python"

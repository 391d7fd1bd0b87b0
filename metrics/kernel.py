"""Which alignment kernel runs: the compiled one (metrics._kernel, C) when it was built and not
turned off, else the pure-Python one. Both give the same tables (tests/test_kernel_*.py).

`CGEC_PURE_PYTHON=1` forces the pure-Python kernel (CI runs the golden tests once that way);
it is read once, when metrics is first imported.
"""

from __future__ import annotations

import os
from types import ModuleType

PURE_PYTHON_VARIABLE = "CGEC_PURE_PYTHON"


def _load() -> ModuleType | None:
    if os.environ.get(PURE_PYTHON_VARIABLE, "").strip() not in ("", "0"):
        return None
    try:
        from metrics import _kernel
    except ImportError:  # not built (no compiler at install time): the Python kernel serves
        return None
    return _kernel


COMPILED: ModuleType | None = _load()


def name() -> str:
    """`c` or `python`: what the benches print beside their figures."""
    return "c" if COMPILED is not None else "python"

"""Traditional to simplified characters as ChERRANT converts them: OpenCC 1.1.2's t2s tables
(bundled in t2s_tables/, see its README: ChERRANT pins OpenCC==1.1.2 and later tables differ)
run by the installed OpenCC engine."""

from __future__ import annotations

import re
from pathlib import Path

# Imported here, not when first converting: a Ctrl-C landing inside the import of a pybind11
# module (OpenCC's) turns into ImportError("initialization failed"), not KeyboardInterrupt.
import opencc

TABLES = Path(__file__).with_name("t2s_tables")
NAME = "opencc-1.1.2-t2s"  # what a signature's t2s field says
# The engine (1.4.x) keeps an ideographic description sequence whole; 1.1.2 converted its parts.
_IDS = re.compile("([\u2ff0-\u2fff])")


class T2S:
    """`convert(text)`: OpenCC 1.1.2's t2s. Pickles as nothing but its class: a worker process
    (a Dask worker's too) loads the bundled tables itself, never another version's."""

    def __init__(self) -> None:
        self._converter = opencc.OpenCC(str(TABLES / "t2s.json"))

    def __reduce__(self) -> tuple[type["T2S"], tuple[()]]:
        return T2S, ()

    def convert(self, text: str) -> str:
        if not _IDS.search(text):
            return self._converter.convert(text)
        return "".join(part if _IDS.fullmatch(part) else self._converter.convert(part)
                       for part in _IDS.split(text) if part)

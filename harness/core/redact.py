"""One redactor for every text that can reach a file, a log or the terminal: API error bodies
(OpenAI's 401 echoes the key it refused), exception texts, error messages.

It removes the values of the environment variables that hold secrets (names ending in KEY,
TOKEN or SECRET, and whatever variable a config names as its key), and anything shaped like an
API key or a bearer token.
"""

from __future__ import annotations

import os
import re
from typing import Iterable, Mapping

MASK = "[REDACTED]"
# OpenAI-style keys (sk-..., sk-proj-...) and bearer tokens, wherever they appear in a text.
_SHAPES = re.compile(r"\bsk-[A-Za-z0-9_.\-]{6,}|(?i:bearer)\s+[A-Za-z0-9_.\-=+/]{8,}")
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET)$", re.IGNORECASE)
MIN_SECRET_LENGTH = 8  # shorter values ("1", "yes") would mask ordinary words


def secret_values(environ: Mapping[str, str] | None = None, names: Iterable[str] = ()) -> list[str]:
    """Values to mask: of the named variables and of every variable named like a secret."""
    environ = os.environ if environ is None else environ
    wanted = {n for n in names if n} | {n for n in environ if _SECRET_NAME.search(n)}
    values = {environ[n] for n in wanted if len(environ.get(n, "")) >= MIN_SECRET_LENGTH}
    return sorted(values, key=len, reverse=True)  # longest first: a key containing another


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """`text` with every secret value and key-shaped string replaced by [REDACTED]."""
    for value in secret_values() if secrets is None else secrets:
        text = text.replace(value, MASK)
    return _SHAPES.sub(MASK, text)

"""Toneless pinyin readings of a character, as ChERRANT gets them from pypinyin
(`pinyin(char, style=Style.NORMAL, heteronym=True)[0]`), without importing pypinyin.

Importing pypinyin loads its phrase dictionary and trains its segmenter: a quarter of a second,
more than aligning NaCGEC dev's references takes. For one character pypinyin only looks the
code point up in `pinyin_dict.json` (no phrase has one character), strips the tone marks,
writes ü as v and drops duplicates, in order; a character it does not know is its own reading.
`Readings` does the same from the same file. tests/test_metrics_readings.py checks every entry
of the table and every other code point against pypinyin itself; with another pypinyin release
than the one checked, or for a token longer than one character, pypinyin is called.
"""

from __future__ import annotations

import json
import unicodedata
from importlib import metadata, util
from pathlib import Path

CHECKED_PYPINYIN = "0.55.0"  # the release whose table and style rules the tests compared
_TONE_MARKS = dict.fromkeys((0x0300, 0x0301, 0x0304, 0x030C))  # grave, acute, macron, caron


def pypinyin_version() -> str:
    try:
        return metadata.version("pypinyin")
    except metadata.PackageNotFoundError:
        return "unknown"


def toneless(reading: str) -> str:
    """pypinyin's NORMAL style of one toned reading: `lǜ` -> `lv`, `ê̄` -> `ê`."""
    bare = unicodedata.normalize("NFC", unicodedata.normalize("NFD", reading).translate(_TONE_MARKS))
    return bare.replace("ü", "v")


class Readings:
    """`readings(text)`: the heteronym readings of `text`'s first character as pypinyin gives
    them (for one character, from its table; otherwise from pypinyin). Memoised."""

    def __init__(self) -> None:
        self._table: dict[str, str] | None = None
        self._memo: dict[str, tuple[str, ...]] = {}

    def _lookup(self) -> dict[str, str] | None:
        if self._table is None:
            spec = util.find_spec("pypinyin")
            if pypinyin_version() != CHECKED_PYPINYIN or spec is None or spec.origin is None:
                self._table = {}
            else:
                path = Path(spec.origin).parent / "pinyin_dict.json"
                self._table = json.loads(path.read_text(encoding="utf-8"))
        return self._table or None

    def __call__(self, text: str) -> tuple[str, ...]:
        found = self._memo.get(text)
        if found is None:
            found = self._memo[text] = self._compute(text)
        return found

    def _compute(self, text: str) -> tuple[str, ...]:
        table = self._lookup() if len(text) == 1 else None
        if table is None:
            from pypinyin import Style, pinyin

            return tuple(pinyin(text, style=Style.NORMAL, heteronym=True)[0])
        toned = table.get(str(ord(text)))
        if toned is None:
            return (text,)
        return tuple(dict.fromkeys(toneless(reading) for reading in toned.split(",")))

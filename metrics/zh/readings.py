"""Toneless pinyin readings of a char-level token, as ChERRANT gets them from pypinyin
(`pinyin(token, style=Style.NORMAL, heteronym=True)[0]`), without importing pypinyin.

Importing pypinyin loads its phrase dictionary and trains its segmenter: a quarter of a second,
more than aligning MuCGEC dev takes with the compiled kernel. So the readings of every
character pypinyin knows (and of the one multi-character char-level token, `[缺失成分]`) are
precomputed from pypinyin itself into `readings.txt`, shipped with the package; a character
missing from it is its own reading, as in pypinyin. Why a shipped table rather than one
computed on first use: see docs/speed.md.

`python -m metrics.zh.readings` regenerates the table (with pypinyin CHECKED_PYPINYIN installed);
tests/test_metrics_readings.py checks it against pypinyin for every code point and that the
generator reproduces it byte for byte. With another pypinyin release installed, or for any
other token, pypinyin itself is called (slower, and then the numbers follow that release, as
the score signature says).
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

CHECKED_PYPINYIN = "0.55.0"  # the release the table was made from
TABLE_PATH = Path(__file__).with_name("readings.txt")
# Char-level tokens longer than one character whose readings the table holds.
TABLE_TOKENS = ("[缺失成分]",)
_HEADER = "# Toneless heteronym readings of pypinyin {version} (Style.NORMAL, heteronym=True), " \
          "written by `python -m metrics.zh.readings`: a line is `readings<TAB>characters`.\n"
_TONE_MARKS = dict.fromkeys((0x0300, 0x0301, 0x0304, 0x030C))  # grave, acute, macron, caron
_TABLE: dict[str, tuple[str, ...]] | None = None


def pypinyin_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("pypinyin")
    except metadata.PackageNotFoundError:
        return "unknown"


def toneless(reading: str) -> str:
    """pypinyin's NORMAL style of one toned reading: `lǜ` -> `lv`, `ê̄` -> `ê`."""
    bare = unicodedata.normalize("NFC", unicodedata.normalize("NFD", reading).translate(_TONE_MARKS))
    return bare.replace("ü", "v")


def parse_table(text: str) -> dict[str, tuple[str, ...]]:
    """The table file's text as {token: readings}; the readings of a line are one shared tuple."""
    table: dict[str, tuple[str, ...]] = {}
    for line in text.split("\n"):
        if not line or line.startswith("#"):
            continue
        readings, _, tokens = line.partition("\t")
        table.update(dict.fromkeys(tokens.split(" "), tuple(readings.split(","))))
    return table


def shipped_table() -> dict[str, tuple[str, ...]]:
    """The shipped table, read once a process; empty when it is missing or was made from
    another pypinyin release than the installed one (pypinyin then answers itself)."""
    global _TABLE
    if _TABLE is None:
        try:
            text = TABLE_PATH.read_text(encoding="utf-8")
        except OSError:
            text = ""
        version = pypinyin_version()
        _TABLE = parse_table(text) if text.startswith(_HEADER.format(version=version)) else {}
    return _TABLE


class Readings:
    """`readings(text)`: pypinyin's heteronym readings of a char-level token (of its first
    character, as pypinyin segments it), from the shipped table; memoised."""

    def __init__(self) -> None:
        self._memo: dict[str, tuple[str, ...]] = {}

    def __call__(self, text: str) -> tuple[str, ...]:
        found = self._memo.get(text)
        if found is None:
            found = self._memo[text] = self._compute(text)
        return found

    def _compute(self, text: str) -> tuple[str, ...]:
        table = shipped_table()
        if table:
            found = table.get(text)
            if found is not None:
                return found
            if len(text) == 1:
                return (text,)
        return pypinyin_readings(text)


def pypinyin_readings(text: str) -> tuple[str, ...]:
    """What pypinyin itself says (imports it: a quarter of a second the first time)."""
    from pypinyin import Style, pinyin

    return tuple(pinyin(text, style=Style.NORMAL, heteronym=True)[0])


def table_text() -> str:
    """The table, made by asking pypinyin about every character of its own dictionary and
    the tokens of TABLE_TOKENS; lines sorted by readings, characters by code point."""
    from pypinyin.pinyin_dict import pinyin_dict

    version = pypinyin_version()
    if version != CHECKED_PYPINYIN:
        raise SystemExit(f"pypinyin {CHECKED_PYPINYIN} is required to write the table (installed: {version})")
    groups: dict[str, list[str]] = {}
    for token in [chr(point) for point in sorted(pinyin_dict)] + list(TABLE_TOKENS):
        readings = pypinyin_readings(token)
        if readings != (token,):  # a character read as itself needs no line
            if any("," in r or "\t" in r or "\n" in r for r in readings) or " " in token:
                raise ValueError(f"readings of {token!r} cannot be written in the table format: {readings}")
            groups.setdefault(",".join(readings), []).append(token)
    lines = [f"{readings}\t{' '.join(tokens)}\n" for readings, tokens in sorted(groups.items())]
    return _HEADER.format(version=version) + "".join(lines)


def main() -> None:
    """Write the shipped table from the installed pypinyin."""
    TABLE_PATH.write_text(table_text(), encoding="utf-8")
    print(f"wrote {TABLE_PATH}")


if __name__ == "__main__":
    main()

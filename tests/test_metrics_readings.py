"""metrics.zh.readings reads pypinyin's table itself (importing pypinyin costs a quarter of a
second a process): every character it knows and every other code point must get exactly the
readings `pinyin(char, style=Style.NORMAL, heteronym=True)[0]` gives."""

from __future__ import annotations

import json
from importlib import util
from pathlib import Path

import pytest
from pypinyin import Style, pinyin

from metrics.zh.readings import CHECKED_PYPINYIN, Readings, pypinyin_version, toneless


def reference(text: str) -> tuple[str, ...]:
    return tuple(pinyin(text, style=Style.NORMAL, heteronym=True)[0])


def table() -> dict[str, str]:
    path = Path(util.find_spec("pypinyin").origin).parent / "pinyin_dict.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_installed_pypinyin_is_the_checked_one():
    # pyproject pins it; another release falls back to pypinyin (slower, same numbers)
    assert pypinyin_version() == CHECKED_PYPINYIN


def test_every_character_of_the_table_reads_as_pypinyin_reads_it():
    readings = Readings()
    differ = [(key, readings(chr(int(key))), reference(chr(int(key))))
              for key in table() if readings(chr(int(key))) != reference(chr(int(key)))]
    assert differ == []


def test_characters_outside_the_table_are_their_own_reading():
    known = {int(key) for key in table()}
    readings = Readings()
    points = [*range(0, 0x3000), *range(0xFF00, 0xFFF0), *range(0x20000, 0x2A6E0, 7)]
    chars = [chr(p) for p in points if p not in known and not 0xD800 <= p < 0xE000]
    assert [c for c in chars if readings(c) != reference(c)] == []


@pytest.mark.parametrize("reading, bare", [("lǜ", "lv"), ("nǚ", "nv"), ("zhòng", "zhong"), ("ê̄", "ê"),
                                           ("ḿ", "m"), ("ňg", "ng"), ("lüè", "lve")])
def test_toneless(reading, bare):
    assert toneless(reading) == bare


def test_heteronyms_keep_pypinyins_order_without_duplicates_and_tokens_fall_back():
    readings = Readings()
    assert readings("重") == reference("重") == ("zhong", "chong", "tong")
    assert readings("[缺失成分]") == reference("[缺失成分]")
    assert readings("ab") == reference("ab")

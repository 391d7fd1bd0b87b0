"""S:SPELL at word level: FASPell's character similarities and ChERRANT's spelling test.

The six characters below are the example entries of FASPell's char_meta.txt; the expected
similarities are the values FASPell documents for them (its char_sim.py doctests), float for
float, since ChERRANT compares their sum with 0.8.
"""

from __future__ import annotations

import pytest

from metrics.zh.charmeta import CharMetaError, parse_char_meta, shape_similarity, sound_similarity
from metrics.zh.spelling import SpellingCheck

SAMPLE = (
    "U+5E74\t年\tning4,nian2;nin4;NYEN;NEN;nên\t⿱⿰丿一⿻⿳一丨一丨\n"
    "U+725B\t牛\tniu2;ngau4;WU;GYUU;ngưu\t⿻⿰丿一⿻一丨\n"
    "U+5343\t千\tqian1;cin1;CHEN;SEN;thiên\t⿱丿⿻一丨\n"
    "U+7530\t田\ttian2;tin4;CEN;DEN,TEN;điền\t⿵⿰丨𠃌⿱⿻一丨一\n"
    "U+7531\t由\tyou2,yao1;jau4;YU;YUU,YUI,YU;do\t⿻⿰丨𠃌⿱⿻一丨一\n"
    "U+5348\t午\twu3;ng5;O;GO;ngọ\t⿱⿰丿一⿻一丨\n"
)


@pytest.fixture(scope="module")
def table():
    return parse_char_meta(SAMPLE)


def test_faspell_documented_similarities(table):
    assert shape_similarity(table["牛"], table["午"]) == 0.8571428571428572
    assert shape_similarity(table["田"], table["由"]) == 0.8888888888888888
    assert sound_similarity(table["牛"], table["午"]) == 0.27999999999999997
    assert sound_similarity(table["由"], table["田"]) == 0.09


def test_similarities_of_a_character_with_itself_are_one(table):
    for meta in table.values():
        assert shape_similarity(meta, meta) == 1.0 and sound_similarity(meta, meta) == 1.0


def test_best_decomposition_and_reading_alternative_count():
    # Two decompositions on one side: the closer one counts. Two Mandarin readings: the
    # matching one counts (1.0), the other languages are null and left out.
    table = parse_char_meta("U+1\t甲\tab,cd;null\tXY\tZZZ\nU+2\t乙\tcd;null\tXZ\n")
    assert shape_similarity(table["甲"], table["乙"]) == 0.5
    assert sound_similarity(table["甲"], table["乙"]) == 1.0


def test_second_character_without_readings_sounds_like_nothing():
    table = parse_char_meta("U+1\t甲\tab;cd\tX\nU+2\t乙\tnull\tX\n")
    assert sound_similarity(table["甲"], table["乙"]) == 0.0


def test_malformed_lines_are_errors_with_their_line_number():
    with pytest.raises(CharMetaError, match="line 2: expected code point") as info:
        parse_char_meta("U+1\t甲\tab\tX\nU+2\t乙\n")
    assert info.value.line == 2
    with pytest.raises(CharMetaError, match="line 3: character '甲' is listed twice"):
        parse_char_meta("U+1\t甲\tab\tX\nU+2\t乙\tcd\tY\nU+3\t甲\tef\tZ\n")


def test_exact_check_uses_shape_and_sound(table):
    check = SpellingCheck(table)
    assert check.exact
    # 牛/午: no reading in common, but shape 0.857 + sound 0.28 >= 0.8.
    assert check("牛", "午")
    # 午/千: shape 5/7, sound 0.0, no common reading.
    assert shape_similarity(table["午"], table["千"]) + sound_similarity(table["午"], table["千"]) < 0.8
    assert not check("午", "千")
    # Every differing pair must be similar; equal characters are skipped.
    assert check("田牛", "由午")
    assert check("田年", "由年")
    assert not check("田午", "由千")


def test_exact_check_needs_both_characters_in_the_table(table):
    # 他/她 share the reading "ta", but neither is in the table: not a spelling error, where the
    # readings-only approximation says it is.
    assert not SpellingCheck(table)("他", "她")
    assert SpellingCheck()("他", "她")


def test_shared_reading_is_enough_when_both_are_listed():
    # Hand-made entries far apart in shape and sound: pypinyin's shared reading (ta) decides.
    table = parse_char_meta("U+1\t他\tzz;null\tAAAA\nU+2\t她\tyy;null\tBBBB\n")
    check = SpellingCheck(table)
    assert shape_similarity(table["他"], table["她"]) + sound_similarity(table["他"], table["她"]) < 0.8
    assert check("他", "她")  # pypinyin: both read ta


def test_anagrams_and_lengths_do_not_need_the_table(table):
    for check in (SpellingCheck(table), SpellingCheck()):
        assert check("学习", "习学")
        assert not check("学习", "学")
        assert not check("午", "千")  # no common reading, and (exact) not similar enough

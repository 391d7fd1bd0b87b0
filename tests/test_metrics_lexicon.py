"""Parsing of the two lexical resources: Tongyici Cilin and the confusion sets (SCORING.md section 3)."""

from __future__ import annotations

from metrics.zh.lexicon import Lexicon, parse_cilin, parse_confusion


def test_cilin_line_gives_every_word_the_split_code():
    # "Aa01A01=" splits into (code[0], code[1], code[2:4]) = ("A", "a", "01").
    assert parse_cilin("Aa01A01= 人 士") == {"人": ("A", "a", "01"), "士": ("A", "a", "01")}


def test_cilin_code_keeps_only_its_first_four_characters():
    # Levels beyond code[2:4] ("A01=", "B02#") are ignored: both words get ("B", "c", "12").
    assert parse_cilin("Bc12A01= 甲\nBc12B02# 乙") == {"甲": ("B", "c", "12"), "乙": ("B", "c", "12")}


def test_cilin_word_on_several_lines_keeps_the_last_code():
    text = "Aa01A01= 人 士\nBa02B03= 人\nCb03C04@ 士"
    semantic = parse_cilin(text)
    assert semantic["人"] == ("B", "a", "02")
    assert semantic["士"] == ("C", "b", "03")


def test_cilin_surrounding_blank_lines_are_ignored():
    assert parse_cilin("\nAa01A01= 人\n") == {"人": ("A", "a", "01")}


def test_confusion_line_maps_a_character_to_its_confusables():
    assert parse_confusion("我 找 哦 窝\n") == {"我": ["找", "哦", "窝"]}


def test_confusion_several_lines():
    assert parse_confusion("甲 乙\n丙 丁 戊\n") == {"甲": ["乙"], "丙": ["丁", "戊"]}


def test_confusion_is_not_made_symmetric_by_parsing():
    # The cost checks both directions; the parsed table itself holds the file as written.
    assert "乙" not in parse_confusion("甲 乙\n")


def test_confusion_last_line_without_newline_is_read():
    assert parse_confusion("甲 乙\n丙 丁") == {"甲": ["乙"], "丙": ["丁"]}


def test_lexicon_from_texts_combines_both_parses():
    lexicon = Lexicon.from_texts("Aa01A01= 人", "人 入\n")
    assert lexicon.semantic == {"人": ("A", "a", "01")}
    assert lexicon.confusion == {"人": ["入"]}


def test_empty_lexicon_knows_no_words():
    lexicon = Lexicon()
    assert lexicon.semantic == {} and lexicon.confusion == {}

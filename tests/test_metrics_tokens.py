"""Char-level tokens and their readings (SCORING.md section 2)."""

from __future__ import annotations

from metrics.zh.tokens import MISSING_COMPONENT, CharTokenizer, Token, split_chars


def texts(sentence: str) -> list[str]:
    return [token.text for token in CharTokenizer()(sentence)]


def test_every_chinese_character_is_one_token():
    assert texts("我很高兴") == ["我", "很", "高", "兴"]


def test_latin_letters_and_digits_are_one_token_each():
    # Spec: "every character is a token, Latin letters and digits too" (no word pieces).
    assert texts("GDP增长3%") == ["G", "D", "P", "增", "长", "3", "%"]


def test_punctuation_is_one_token_each():
    assert texts("好，走。") == ["好", "，", "走", "。"]


def test_missing_component_placeholder_is_one_token():
    assert texts("[缺失成分]") == ["[缺失成分]"]


def test_missing_component_placeholder_is_one_token_between_other_characters():
    assert texts("我[缺失成分]去") == ["我", "[缺失成分]", "去"]


def test_missing_component_placeholder_twice_in_a_row_is_two_tokens():
    assert texts("他[缺失成分][缺失成分]了") == ["他", MISSING_COMPONENT, MISSING_COMPONENT, "了"]


def test_incomplete_placeholder_is_split_into_characters():
    # Only the complete literal "[缺失成分]" is kept whole.
    assert split_chars("[缺失成分") == ["[", "缺", "失", "成", "分"]


def test_empty_sentence_has_no_tokens():
    assert texts("") == []


def test_char_tokens_are_tagged_unk():
    assert {token.pos for token in CharTokenizer()("我a，")} == {"unk"}


def test_heteronym_has_all_its_toneless_readings():
    # 了 is read le (particle) and liao (了解); toneless, heteronym=True.
    [token] = CharTokenizer()("了")
    assert set(token.readings) == {"le", "liao"}


def test_single_reading_character_has_one_toneless_reading():
    [token] = CharTokenizer()("我")
    assert token.readings == ("wo",)


def test_latin_letter_reading_is_the_letter_itself():
    [token] = CharTokenizer()("a")
    assert token.readings == ("a",)


def test_digit_reading_is_the_digit_itself():
    [token] = CharTokenizer()("3")
    assert token.readings == ("3",)


def test_punctuation_reading_is_the_character_itself():
    [token] = CharTokenizer()("，")
    assert token.readings == ("，",)


def test_token_carries_text_pos_and_readings():
    assert CharTokenizer()("我") == [Token("我", "unk", ("wo",))]


def test_same_character_gets_the_same_readings_each_time():
    tokenizer = CharTokenizer()
    first, second = tokenizer("了了")
    assert first == second

"""Substitution cost = sem/6 + char + pos at char level (SCORING.md section 3).

Most tests use a tiny hand-made lexicon so that every term is known. The characters 甲乙丙丁戊己庚辛
have pairwise disjoint readings (jia, yi/jue, bing, ding/zheng, wu, ji/qi, geng, xin), so their
spelling term is 0.5 unless the confusion table says otherwise.
"""

from __future__ import annotations

import random

import pytest

from support import SHARED_DATA
from metrics.cost import SubstitutionCost
from metrics.zh.lexicon import Lexicon
from metrics.zh.tokens import CharTokenizer, Token


CILIN = "\n".join([
    "Aa01A01= 甲 乙",  # same code
    "Aa01A02= 丙",  # differs from 甲 only after code[0:4]: same split code ("A", "a", "01")
    "Ab01A01= 丁",  # ("A", "b", "01"): positions 0 and 2 equal to 甲
    "Ba01A01= 戊",  # ("B", "a", "01"): positions 1 and 2 equal (top level differs)
    "Ba02B01= 己",  # ("B", "a", "02"): only position 1 equal
    "Bb01B01= 壬",  # ("B", "b", "01"): only position 2 equal
    "Cd05C01= 庚",  # ("C", "d", "05"): nothing equal
    "Ab01A01= ，",  # a punctuation mark with a code, for the float-order test
])
CONFUSION = "甲 庚\n"  # one direction only: 庚 is listed under 甲, not the reverse

NEITHER_PUNCT = 0.25
BOTH_PUNCT = 0.0
ONE_PUNCT = 0.499


@pytest.fixture
def cost() -> SubstitutionCost:
    return SubstitutionCost(Lexicon.from_texts(CILIN, CONFUSION))


def tok(text: str) -> Token:
    [token] = CharTokenizer()(text)
    return token


# --- equal tokens ------------------------------------------------------------------------------


def test_equal_tokens_cost_zero(cost):
    assert cost(tok("甲"), tok("甲")) == 0


def test_equal_unknown_non_chinese_tokens_cost_zero(cost):
    assert cost(tok("a"), tok("a")) == 0


# --- sem -------------------------------------------------------------------------------------


def test_sem_identical_codes_is_zero(cost):
    assert cost.semantic("甲", "乙") == 0


def test_sem_ignores_code_beyond_the_fourth_character(cost):
    # Aa01A01 vs Aa01A02 -> ("A","a","01") both: all three positions equal -> 0.
    assert cost.semantic("甲", "丙") == 0


def test_sem_two_equal_positions_is_two(cost):
    # Aa01A01 vs Ab01A01: ("A","a","01") vs ("A","b","01") -> 2 equal -> 2 * (3 - 2) = 2.
    assert cost.semantic("甲", "丁") == 2


def test_sem_counts_positions_not_hierarchy_when_top_level_differs(cost):
    # Aa01 vs Ba01: top level differs, yet positions 1 and 2 are equal -> 2 * (3 - 2) = 2
    # (a hierarchical comparison would stop at the top level and give 6).
    assert cost.semantic("甲", "戊") == 2


def test_sem_only_middle_position_equal_is_four(cost):
    # ("A","a","01") vs ("B","a","02") -> 1 equal -> 2 * (3 - 1) = 4.
    assert cost.semantic("甲", "己") == 4


def test_sem_only_last_position_equal_is_four(cost):
    # ("A","a","01") vs ("B","b","01") -> 1 equal -> 4 (hierarchically it would be 6).
    assert cost.semantic("甲", "壬") == 4


def test_sem_no_equal_position_is_six(cost):
    # ("A","a","01") vs ("C","d","05") -> 0 equal -> 2 * 3 = 6.
    assert cost.semantic("甲", "庚") == 6


def test_sem_one_word_unknown_is_four(cost):
    assert cost.semantic("甲", "辛") == 4
    assert cost.semantic("辛", "甲") == 4


def test_sem_both_words_unknown_is_four(cost):
    assert cost.semantic("辛", "癸") == 4


def test_sem_is_symmetric(cost):
    assert cost.semantic("丁", "甲") == cost.semantic("甲", "丁") == 2


# --- pos (char level) -------------------------------------------------------------------------


def test_pos_neither_punctuation_adds_a_quarter(cost):
    # 甲/乙: sem 0, readings jia vs yi/jue, no confusion -> char 0.5; pos 0.25.
    assert cost(tok("甲"), tok("乙")) == 0 / 6.0 + 0.5 + NEITHER_PUNCT


def test_pos_both_full_width_punctuation_adds_nothing(cost):
    # 、 and ！ are unknown to the lexicon (sem 4), non-Chinese (char 0.5), both punctuation.
    assert cost(tok("、"), tok("！")) == 4 / 6.0 + 0.5 + BOTH_PUNCT


def test_pos_both_ascii_punctuation_adds_nothing(cost):
    assert cost(tok("!"), tok(",")) == 4 / 6.0 + 0.5 + BOTH_PUNCT


def test_pos_full_width_and_ascii_punctuation_adds_nothing(cost):
    assert cost(tok("！"), tok("?")) == 4 / 6.0 + 0.5 + BOTH_PUNCT


def test_pos_exactly_one_punctuation_adds_0_499(cost):
    # 辛 unknown (sem 4); ！ non-Chinese (char 0.5).
    assert cost(tok("辛"), tok("！")) == 4 / 6.0 + 0.5 + ONE_PUNCT
    assert cost(tok("！"), tok("辛")) == 4 / 6.0 + 0.5 + ONE_PUNCT


def test_pos_ideographic_full_stop_is_not_punctuation(cost):
    # The punctuation string has the half-width ｡ (U+FF61) but not 。 (U+3002): ，/。 is
    # "exactly one punctuation".
    assert cost(tok("，"), tok("。")) == 4 / 6.0 + 0.5 + ONE_PUNCT


def test_pos_ideographic_full_stop_and_a_letter_are_neither_punctuation(cost):
    assert cost(tok("。"), tok("a")) == 4 / 6.0 + 0.5 + NEITHER_PUNCT


def test_pos_left_title_mark_is_not_punctuation_but_right_one_is(cost):
    # The string lists 》 but not 《.
    assert cost(tok("《"), tok("》")) == 4 / 6.0 + 0.5 + ONE_PUNCT


def test_pos_punctuation_is_a_substring_test(cost):
    # "！？" occurs as a substring of the punctuation string (it starts with "！？"), so a token
    # made of both counts as punctuation; "？！" does not occur, so it does not.
    both = Token("！？", "unk", ("！？",))
    reversed_pair = Token("？！", "unk", ("？！",))
    comma = tok("、")
    assert cost(both, comma) == 4 / 6.0 + 0.5 + BOTH_PUNCT
    assert cost(reversed_pair, comma) == 4 / 6.0 + 0.5 + ONE_PUNCT


def test_pos_missing_component_token_is_not_punctuation(cost):
    assert cost(tok("[缺失成分]"), tok("，")) == 4 / 6.0 + 0.5 + ONE_PUNCT


# --- char ------------------------------------------------------------------------------------


def test_char_readings_that_meet_cost_zero(cost):
    # 他 (ta, tuo) and 她 (ta, ...) share "ta"; both unknown to the lexicon.
    assert cost.spelling(tok("他"), tok("她")) == 0
    assert cost(tok("他"), tok("她")) == 4 / 6.0 + 0 + NEITHER_PUNCT


def test_char_heteronym_reading_meets(cost):
    # 了 (le, liao) and 料 (liao) meet on "liao".
    assert cost.spelling(tok("了"), tok("料")) == 0
    assert cost(tok("了"), tok("料")) == 4 / 6.0 + 0 + NEITHER_PUNCT


def test_char_confusable_in_the_listed_direction_costs_zero(cost):
    # confusion["甲"] = ["庚"]; sem 甲/庚 = 6.
    assert cost.spelling(tok("甲"), tok("庚")) == 0
    assert cost(tok("甲"), tok("庚")) == 6 / 6.0 + 0 + NEITHER_PUNCT


def test_char_confusable_in_the_other_direction_costs_zero_too(cost):
    # 庚 has no entry of its own; 甲 in confusion[庚] fails but 庚 in confusion[甲] holds.
    assert cost.spelling(tok("庚"), tok("甲")) == 0
    assert cost(tok("庚"), tok("甲")) == 6 / 6.0 + 0 + NEITHER_PUNCT


def test_char_unrelated_chinese_characters_cost_half(cost):
    assert cost.spelling(tok("甲"), tok("辛")) == 0.5
    assert cost(tok("甲"), tok("辛")) == 4 / 6.0 + 0.5 + NEITHER_PUNCT


def test_char_latin_letter_costs_half(cost):
    assert cost.spelling(tok("a"), tok("甲")) == 0.5
    assert cost(tok("a"), tok("甲")) == 4 / 6.0 + 0.5 + NEITHER_PUNCT


def test_char_two_digits_cost_half(cost):
    assert cost(tok("3"), tok("5")) == 4 / 6.0 + 0.5 + NEITHER_PUNCT


def test_char_non_chinese_costs_half_even_when_readings_meet(cost):
    # 〇 (U+3007, outside U+4E00-U+9FFF) reads ling like 零: the range test comes first.
    assert cost.spelling(tok("〇"), tok("零")) == 0.5


def test_char_missing_component_costs_half_even_with_a_shared_reading():
    # Two non-Chinese tokens sharing a reading (hand-made) still cost 0.5.
    cost = SubstitutionCost(Lexicon())
    assert cost.spelling(Token("[缺失成分]", "unk", ("[",)), Token("[", "unk", ("[",))) == 0.5


def test_char_range_bounds_are_chinese():
    # U+4E00 (一) and U+9FFF are inside the range: with hand-made shared readings, char is 0.
    cost = SubstitutionCost(Lexicon())
    first = Token("\u4e00", "unk", ("r",))
    last = Token("\u9fff", "unk", ("r",))
    assert cost.spelling(first, last) == 0


def test_char_multi_character_counts_shorter_token_characters_without_match():
    # Hand-made readings that do not meet: shorter a = 甲乙, b = 甲丙; 甲 matches 甲, 乙 matches
    # nothing -> (2 - 1) / (2 * 2) = 0.25.
    cost = SubstitutionCost(Lexicon(), "word")
    a = Token("甲乙", "n", ("p1",))
    b = Token("甲丙", "n", ("p2",))
    assert cost.spelling(a, b) == 0.25


def test_char_multi_character_uses_the_shorter_token_as_a():
    # a = 乙丁 (the shorter, whichever side it is on), b = 甲乙丙: 乙 found, 丁 not ->
    # (2 - 1) / 4 = 0.25. Were the longer one used as a: (3 - 1) / 6 = 0.333...
    cost = SubstitutionCost(Lexicon(), "word")
    short = Token("乙丁", "n", ("p1",))
    long = Token("甲乙丙", "n", ("p2",))
    assert cost.spelling(long, short) == 0.25
    assert cost.spelling(short, long) == 0.25


def test_char_multi_character_readings_meeting_anywhere_match_every_character():
    # The original tests the TOKENS' reading sets: they meet on "x", so both characters of
    # a = 甲乙 count although neither occurs in 丙丁 -> (2 - 2) / 4 = 0.
    cost = SubstitutionCost(Lexicon(), "word")
    a = Token("甲乙", "n", ("x", "p1"))
    b = Token("丙丁", "n", ("p2", "x"))
    assert cost.spelling(a, b) == 0


def test_char_multi_character_confusion_counts_per_character():
    # confusion[乙] = [丁]: a = 甲乙, b = 丙丁: 甲 no match, 乙~丁 -> (2 - 1) / 4 = 0.25.
    cost = SubstitutionCost(Lexicon.from_texts("", "乙 丁\n"), "word")
    assert cost.spelling(Token("甲乙", "n", ("p1",)), Token("丙丁", "n", ("p2",))) == 0.25


# --- total and float order -------------------------------------------------------------------


def test_total_adds_sem_over_six(cost):
    # 甲/丁: sem 2 -> 2/6, char 0.5, pos 0.25.
    assert cost(tok("甲"), tok("丁")) == 2 / 6.0 + 0.5 + NEITHER_PUNCT


def test_total_is_symmetric_for_these_tokens(cost):
    assert cost(tok("丁"), tok("甲")) == cost(tok("甲"), tok("丁"))


def test_char_level_total_adds_in_order_sem_char_pos(cost):
    # ， has code Ab01A01, 甲 Aa01A01 -> sem 2; ， is non-Chinese -> char 0.5; one punctuation
    # -> pos 0.499. (2/6 + 0.5) + 0.499 = 1.3323333333333331, whereas adding pos before char
    # gives 1.3323333333333334: ties are compared exactly, so the order matters.
    expected = 2 / 6.0 + 0.5 + 0.499
    assert expected == 1.3323333333333331
    assert expected != 2 / 6.0 + 0.499 + 0.5
    assert cost(tok("，"), tok("甲")) == expected


def test_word_level_total_adds_in_order_sem_pos_char():
    # Word level: pos is 0.499 for different tags; the sum is sem/6 + pos + char.
    cost = SubstitutionCost(Lexicon.from_texts(CILIN, ""), "word")
    a = Token("甲", "n", ("jia",))
    b = Token("，", "wp", ("，",))
    expected = 2 / 6.0 + 0.499 + 0.5
    assert expected == 1.3323333333333334
    assert cost(a, b) == expected


def test_word_level_same_tag_has_no_pos_cost():
    # sem 0 (same code), pos 0 (same tag), char 0.5.
    cost = SubstitutionCost(Lexicon.from_texts(CILIN, ""), "word")
    assert cost(Token("甲", "n", ("jia",)), Token("乙", "n", ("yi",))) == 0.5


def test_word_level_different_tags_cost_0_499_even_for_open_classes():
    cost = SubstitutionCost(Lexicon.from_texts(CILIN, ""), "word")
    assert cost(Token("甲", "n", ("jia",)), Token("乙", "v", ("yi",))) == 0 / 6.0 + 0.499 + 0.5


def test_word_level_tokens_with_equal_text_cost_zero_whatever_their_tags():
    cost = SubstitutionCost(Lexicon(), "word")
    assert cost(Token("甲", "n", ("jia",)), Token("甲", "v", ("jia",))) == 0


def test_unknown_granularity_is_rejected():
    with pytest.raises(ValueError):
        SubstitutionCost(Lexicon(), "sentence")


def test_any_substitution_is_cheaper_than_a_deletion_plus_an_insertion(cost):
    # Upper bound: sem 6/6 + char 0.5 + pos 0.499 = 1.999 < 2.
    assert cost(tok("甲"), tok("！")) < 2
    assert 6 / 6.0 + 0.5 + 0.499 < 2


# --- matrix ----------------------------------------------------------------------------------


def assert_matrix_equals_pairwise(cost_for_matrix, cost_for_call, src, tgt):
    matrix = cost_for_matrix.matrix(src, tgt)
    assert matrix.shape == (len(src), len(tgt))
    for i, a in enumerate(src):
        for j, b in enumerate(tgt):
            if a.text != b.text:  # entries of equal tokens are unused
                assert matrix[i, j] == cost_for_call(a, b), (a.text, b.text)


def test_matrix_equals_pairwise_cost_on_hand_made_tokens():
    lexicon = Lexicon.from_texts(CILIN, CONFUSION)
    tokenizer = CharTokenizer()
    src = tokenizer("甲乙，他了a3！[缺失成分]《。")
    tgt = tokenizer("丁戊庚她料b5、》甲，〇[缺失成分]")
    assert_matrix_equals_pairwise(SubstitutionCost(lexicon), SubstitutionCost(lexicon), src, tgt)


def test_matrix_of_an_empty_side_is_empty(cost):
    assert cost.matrix(CharTokenizer()("甲乙"), []).shape == (2, 0)
    assert cost.matrix([], CharTokenizer()("甲乙")).shape == (0, 2)


@pytest.fixture(scope="module")
def real_pairs() -> list[tuple[str, str]]:
    path = SHARED_DATA / "nacgec" / "nacgec.dev.ref.para"
    if not path.is_file():
        pytest.skip(f"NaCGEC dev references not found at {path} (data mirror absent)")
    lines = path.read_text(encoding="utf-8").strip().split("\n")
    rows = [line.split("\t")[1:] for line in random.Random(0).sample(lines, 12)]
    pairs = [(row[0], target) for row in rows for target in row[1:]]
    # Unrelated sentences too, so that many more distinct character pairs are compared.
    pairs += [(rows[k][0], rows[k + 1][0]) for k in range(len(rows) - 1)]
    return pairs


def test_matrix_equals_pairwise_cost_on_real_sentences(real_lexicon, real_pairs):
    tokenizer = CharTokenizer()
    for source, target in real_pairs:
        src, tgt = tokenizer(source), tokenizer(target)
        assert_matrix_equals_pairwise(SubstitutionCost(real_lexicon), SubstitutionCost(real_lexicon), src, tgt)


def test_matrix_equals_pairwise_cost_when_the_instance_is_reused(real_lexicon, real_pairs):
    # The same instance answering calls and matrices (shared memo) gives the same numbers.
    cost = SubstitutionCost(real_lexicon)
    tokenizer = CharTokenizer()
    for source, target in real_pairs[:6]:
        assert_matrix_equals_pairwise(cost, cost, tokenizer(source), tokenizer(target))

"""Whole-sentence extraction: normalisation, markers, alignment, merging and char-level types
(SCORING.md sections 1, 5 and 6).

Most tests use the real lexical resources; the expected edits follow from the structure of the
sentences, whatever the exact substitution costs: every substitution costs less than 2 (at most
1 + 0.5 + 0.499), a deletion plus an insertion costs 2, and when one sentence is the other plus
or minus some characters the cheapest paths are the (here unique) embeddings.
"""

from __future__ import annotations


import pytest

from support import SHARED_DATA
from metrics.classifier import classify
from metrics.edit import Edit
from metrics.extract import Extractor
from metrics.m2 import format_block
from metrics.zh.lexicon import Lexicon
from metrics.zh.tokens import CharTokenizer



@pytest.fixture(scope="module")
def extractor() -> Extractor:
    resources = SHARED_DATA / "resources"
    if not (resources / "cilin.txt").is_file():
        pytest.skip(f"lexical resources not found at {resources} (data mirror absent)")
    lexicon = Lexicon.from_texts((resources / "cilin.txt").read_text(encoding="gbk"),
                                 (resources / "confusion_dict.txt").read_text(encoding="utf-8"))
    return Extractor(lexicon)


def m2(extractor: Extractor, source: str, *targets: str) -> str:
    return format_block(extractor.block(source, targets))


def edit_line(start: int, end: int, kind: str, correction: str = "-NONE-", annotator: int = 0) -> str:
    return f"A {start} {end}|||{kind}|||{correction}|||REQUIRED|||-NONE-|||{annotator}"


NOOP = "A -1 -1|||noop|||-NONE-|||REQUIRED|||-NONE-|||0"


# --- markers and no-edit targets -------------------------------------------------------------


def test_no_error_literal_gives_a_noop_block(extractor):
    assert m2(extractor, "我很高兴", "没有错误") == f"S 我 很 高 兴\nT0 没有错误\n{NOOP}\n\n"


def test_no_error_literal_with_spaces_is_still_the_literal(extractor):
    assert m2(extractor, "我很高兴", " 没有 错误 ") == f"S 我 很 高 兴\nT0 没有错误\n{NOOP}\n\n"


def test_cannot_annotate_literal_gives_an_na_line(extractor):
    assert m2(extractor, "我很高兴", "无法标注") == (
        "S 我 很 高 兴\nT0 无法标注\nA -1 -1|||NA|||-NONE-|||REQUIRED|||-NONE-|||0\n\n")


def test_target_equal_to_source_gives_a_noop_block(extractor):
    assert m2(extractor, "我很高兴", "我很高兴") == f"S 我 很 高 兴\nT0 没有错误\n{NOOP}\n\n"


def test_target_equal_to_source_but_for_whitespace_gives_a_noop_block(extractor):
    assert m2(extractor, "我很 高兴", " 我 很高兴\u3000") == f"S 我 很 高 兴\nT0 没有错误\n{NOOP}\n\n"


def test_traditional_target_of_a_simplified_source_is_converted_to_no_edit(extractor):
    # 這是書 -> t2s -> 这是书, equal to the source.
    assert m2(extractor, "这是书", "這是書") == f"S 这 是 书\nT0 没有错误\n{NOOP}\n\n"


def test_source_is_not_converted_so_a_copied_traditional_character_is_an_edit(extractor):
    # Source 這是书 stays as is; the identical hypothesis becomes 这是书: one substitution
    # (cheaper than deletion + insertion, and the only change) at 0..1.
    assert m2(extractor, "這是书", "這是书") == (
        f"S 這 是 书\nT0-A0 这 是 书\n{edit_line(0, 1, 'S', '这')}\n\n")


def test_conversion_can_be_switched_off():
    extractor = Extractor(Lexicon(), convert_t2s=False)
    assert m2(extractor, "這是书", "這是书") == f"S 這 是 书\nT0 没有错误\n{NOOP}\n\n"


# --- edits of the four char-level types ------------------------------------------------------


def test_inserted_latin_letters_are_one_missing_edit_of_three_tokens(extractor):
    # 今年增长了 -> 今年GDP增长了: 3 insertions are forced (cost >= 3); any S or T adds cost;
    # the embedding is unique -> I I I in one run -> M at 2..2 with "G D P".
    assert m2(extractor, "今年增长了", "今年GDP增长了") == (
        f"S 今 年 增 长 了\nT0-A0 今 年 G D P 增 长 了\n{edit_line(2, 2, 'M', 'G D P')}\n\n")


def test_substituted_digit_is_one_substitution(extractor):
    assert m2(extractor, "共有3人", "共有5人") == (
        f"S 共 有 3 人\nT0-A0 共 有 5 人\n{edit_line(2, 3, 'S', '5')}\n\n")


def test_deleted_character_is_a_redundant_edit(extractor):
    assert m2(extractor, "我很高兴", "我高兴") == (
        f"S 我 很 高 兴\nT0-A0 我 高 兴\n{edit_line(1, 2, 'R')}\n\n")


def test_swapped_characters_are_a_word_order_edit(extractor):
    # 我很 -> 很我: cell (2,2) has T2 = 1 against del = ins = 2 and two substitutions
    # (each >= 0.25 + 0.5, readings wo/hen differ) -> only W with the target span as correction.
    assert m2(extractor, "我很高兴", "很我高兴") == (
        f"S 我 很 高 兴\nT0-A0 很 我 高 兴\n{edit_line(0, 2, 'W', '很 我')}\n\n")


def test_one_character_hypothesis_deletes_the_rest(extractor):
    # 我很高兴。 -> 我: 4 deletions are forced and enough (我 matches) -> one D run 1..5.
    assert m2(extractor, "我很高兴。", "我") == (
        f"S 我 很 高 兴 。\nT0-A0 我\n{edit_line(1, 5, 'R')}\n\n")


def test_one_character_source_and_hypothesis_equal_is_noop(extractor):
    assert m2(extractor, "好", "好") == f"S 好\nT0 没有错误\n{NOOP}\n\n"


def test_empty_hypothesis_deletes_the_whole_source(extractor):
    # No target tokens: the only path is n deletions, one D run spanning the source.
    # The T line keeps its space before the (empty) target.
    assert m2(extractor, "我很高兴", "") == f"S 我 很 高 兴\nT0-A0 \n{edit_line(0, 4, 'R')}\n\n"


def test_whitespace_only_hypothesis_is_an_empty_hypothesis(extractor):
    assert m2(extractor, "我很高兴", " \t ") == f"S 我 很 高 兴\nT0-A0 \n{edit_line(0, 4, 'R')}\n\n"


def test_empty_hypothesis_of_a_long_source_is_one_deletion(extractor):
    # 14 characters: |14 - 0| > 10 (first op only), still the single all-D path.
    source = "今天天气很好我们一起去公园吧"
    block = extractor.block(source, [""])
    assert block.annotations[0].alignments == ((Edit(0, len(source), "R", (), 0),),)


def test_missing_component_inserted_in_a_reference(extractor):
    # One insertion forced, unique embedding -> M at 1..1 with the placeholder as one token.
    assert m2(extractor, "我去了北京", "我[缺失成分]去了北京") == (
        "S 我 去 了 北 京\nT0-A0 我 [缺失成分] 去 了 北 京\n"
        f"{edit_line(1, 1, 'M', '[缺失成分]')}\n\n")


def test_missing_component_substituted_in_a_reference(extractor):
    # Same length, only the first token differs: one substitution (< 2) -> S 0..1.
    assert m2(extractor, "我们去了", "[缺失成分]们去了") == (
        "S 我 们 去 了\nT0-A0 [缺失成分] 们 去 了\n"
        f"{edit_line(0, 1, 'S', '[缺失成分]')}\n\n")


def test_several_targets_are_annotators_in_order(extractor):
    assert m2(extractor, "我很高兴", "我很高兴", "我高兴", "无法标注") == (
        "S 我 很 高 兴\n"
        f"T0 没有错误\n{NOOP}\n"
        f"T1-A0 我 高 兴\n{edit_line(1, 2, 'R', annotator=1)}\n"
        "T2 无法标注\nA -1 -1|||NA|||-NONE-|||REQUIRED|||-NONE-|||2\n\n")


# --- several cheapest alignments ------------------------------------------------------------


def test_alignments_with_identical_edits_are_deduplicated():
    # Empty lexicon: every substitution of these characters costs c = 4/6 + 0.5 + 0.25.
    # 甲乙 -> 丙: (2,1) has del = c + 1 and sub = 1 + c: a tie [S, D], two paths
    # (D S and S D); both runs are mixed and become S(0..2 -> 丙): one alignment only.
    extractor = Extractor(Lexicon())
    assert m2(extractor, "甲乙", "丙") == f"S 甲 乙\nT0-A0 丙\n{edit_line(0, 2, 'S', '丙')}\n\n"


def test_alignments_with_different_edits_are_all_written():
    # ， and 、 share a Cilin code: sub = 0/6 + 0.5 (non-Chinese) + 0 (both punctuation) = 0.5.
    # ，、 -> 、，: (2,2) has T2 = 0 + 1 and S S = 0.5 + 0.5 = 1.0: two paths, T2 -> W and
    # S S -> one S run; both edits span 0..2 with correction "、 ，".
    extractor = Extractor(Lexicon.from_texts("Aa01A01= ， 、", ""))
    assert m2(extractor, "，、", "、，") == (
        "S ， 、\n"
        f"T0-A0 、 ，\n{edit_line(0, 2, 'W', '、 ，')}\n"
        f"T0-A1 、 ，\n{edit_line(0, 2, 'S', '、 ，')}\n\n")


# --- char-level types ------------------------------------------------------------------------


def test_char_level_types_follow_the_op():
    src = CharTokenizer()("甲乙丙")
    tgt = CharTokenizer()("乙甲丁戊")
    assert classify(("T2", 0, 2, 0, 2), src, tgt) == Edit(0, 2, "W", ("乙", "甲"), 0)
    assert classify(("S", 2, 3, 2, 3), src, tgt) == Edit(2, 3, "S", ("丁",), 0)
    assert classify(("I", 3, 3, 3, 4), src, tgt) == Edit(3, 3, "M", ("戊",), 0)
    assert classify(("D", 2, 3, 2, 2), src, tgt) == Edit(2, 3, "R", (), 0)


def test_classified_edit_carries_the_annotator():
    src, tgt = CharTokenizer()("甲"), CharTokenizer()("乙")
    assert classify(("S", 0, 1, 0, 1), src, tgt, annotator=3).annotator == 3


def test_word_level_needs_a_segmenter():
    with pytest.raises(ValueError):
        Extractor(Lexicon(), granularity="word")

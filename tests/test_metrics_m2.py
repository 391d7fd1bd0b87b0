"""M2 blocks: writing them as ChERRANT does and reading them back (SCORING.md section 6)."""

from __future__ import annotations

import pytest

from metrics.compare import block_edits
from metrics.edit import Annotation, Block, Edit
from metrics.m2 import (
    M2FormatError, M2Sentence, edit_line, format_block, format_blocks, maxmatch_gold, read_blocks, read_m2,
)
from metrics.maxmatch import gold_from_blocks, parse_gold_m2

SOURCE = ("我", "很", "高", "兴")


def one_alignment_block() -> Block:
    target = ("很", "我", "高", "兴", "。")
    edits = (Edit(0, 2, "W", ("很", "我"), 0), Edit(4, 4, "M", ("。",), 0))
    return Block(SOURCE, (Annotation(0, target, (edits,)),))


def two_alignment_block() -> Block:
    target = ("我", "高", "兴", "了")
    first = (Edit(1, 2, "R", (), 0), Edit(4, 4, "M", ("了",), 0))
    second = (Edit(1, 4, "S", ("高", "兴", "了"), 0),)
    return Block(SOURCE, (Annotation(0, target, (first, second)),))


def mixed_annotators_block() -> Block:
    return Block(SOURCE, (
        Annotation(0, SOURCE, marker="没有错误"),
        Annotation(1, ("我", "高", "兴"), ((Edit(1, 2, "R", (), 1),),)),
        Annotation(2, ("无", "法", "标", "注"), marker="无法标注"),
    ))


# --- writing -----------------------------------------------------------------------------------


def test_block_with_one_alignment():
    assert format_block(one_alignment_block()) == (
        "S 我 很 高 兴\n"
        "T0-A0 很 我 高 兴 。\n"
        "A 0 2|||W|||很 我|||REQUIRED|||-NONE-|||0\n"
        "A 4 4|||M|||。|||REQUIRED|||-NONE-|||0\n"
        "\n")


def test_deletion_correction_is_written_none():
    block = Block(SOURCE, (Annotation(0, ("我", "兴"), ((Edit(1, 3, "R", (), 0),),)),))
    assert format_block(block) == (
        "S 我 很 高 兴\nT0-A0 我 兴\nA 1 3|||R|||-NONE-|||REQUIRED|||-NONE-|||0\n\n")


def test_block_with_several_alignments_has_one_header_each():
    assert format_block(two_alignment_block()) == (
        "S 我 很 高 兴\n"
        "T0-A0 我 高 兴 了\n"
        "A 1 2|||R|||-NONE-|||REQUIRED|||-NONE-|||0\n"
        "A 4 4|||M|||了|||REQUIRED|||-NONE-|||0\n"
        "T0-A1 我 高 兴 了\n"
        "A 1 4|||S|||高 兴 了|||REQUIRED|||-NONE-|||0\n"
        "\n")


def test_noop_block():
    block = Block(SOURCE, (Annotation(0, SOURCE, marker="没有错误"),))
    assert format_block(block) == (
        "S 我 很 高 兴\nT0 没有错误\nA -1 -1|||noop|||-NONE-|||REQUIRED|||-NONE-|||0\n\n")


def test_na_block():
    block = Block(SOURCE, (Annotation(0, ("无", "法", "标", "注"), marker="无法标注"),))
    assert format_block(block) == (
        "S 我 很 高 兴\nT0 无法标注\nA -1 -1|||NA|||-NONE-|||REQUIRED|||-NONE-|||0\n\n")


def test_several_annotators_follow_each_other_with_their_ids():
    assert format_block(mixed_annotators_block()) == (
        "S 我 很 高 兴\n"
        "T0 没有错误\n"
        "A -1 -1|||noop|||-NONE-|||REQUIRED|||-NONE-|||0\n"
        "T1-A0 我 高 兴\n"
        "A 1 2|||R|||-NONE-|||REQUIRED|||-NONE-|||1\n"
        "T2 无法标注\n"
        "A -1 -1|||NA|||-NONE-|||REQUIRED|||-NONE-|||2\n"
        "\n")


def test_missing_component_is_written_as_one_token():
    block = Block(("我", "去"), (Annotation(0, ("我", "[缺失成分]", "去"),
                                           ((Edit(1, 1, "M", ("[缺失成分]",), 0),),)),))
    assert format_block(block) == (
        "S 我 去\nT0-A0 我 [缺失成分] 去\nA 1 1|||M|||[缺失成分]|||REQUIRED|||-NONE-|||0\n\n")


# --- reading -----------------------------------------------------------------------------------


def test_read_back_gives_source_edits_and_first_lines():
    blocks = [one_alignment_block(), two_alignment_block(), mixed_annotators_block()]
    text = "".join(format_block(b) for b in blocks)
    # Block 1 has 4 lines + blank (lines 1-5), block 2 has 6 + blank (6-12), block 3 starts at 13.
    assert read_m2(text) == [
        M2Sentence(SOURCE, tuple(block_edits(blocks[0])), 1),
        M2Sentence(SOURCE, tuple(block_edits(blocks[1])), 6),
        M2Sentence(SOURCE, tuple(block_edits(blocks[2])), 13),
    ]


def test_read_back_edits_of_all_alignments_in_file_order():
    [sentence] = read_m2(format_block(two_alignment_block()))
    assert sentence.edits == (Edit(1, 2, "R", (), 0), Edit(4, 4, "M", ("了",), 0),
                              Edit(1, 4, "S", ("高", "兴", "了"), 0))


def test_read_back_markers_as_noop_and_na_edits():
    [sentence] = read_m2(format_block(mixed_annotators_block()))
    assert sentence.edits == (Edit(-1, -1, "noop", (), 0), Edit(1, 2, "R", (), 1),
                              Edit(-1, -1, "NA", (), 2))


def test_read_tolerates_extra_blank_lines():
    # Lines 1-2 blank, 3 S, 4 A, 5-7 blank, 8 S, 9 T, 10 A, then blanks.
    text = "\n\nS 甲\nA 0 1|||R|||-NONE-|||REQUIRED|||-NONE-|||0\n\n\n\nS 乙\nT0 没有错误\n" \
           "A -1 -1|||noop|||-NONE-|||REQUIRED|||-NONE-|||0\n\n\n"
    assert read_m2(text) == [
        M2Sentence(("甲",), (Edit(0, 1, "R", (), 0),), 3),
        M2Sentence(("乙",), (Edit(-1, -1, "noop", (), 0),), 8),
    ]


def test_read_empty_text_gives_no_sentences():
    assert read_m2("") == []
    assert read_m2("\n\n") == []


def test_read_block_without_edits():
    assert read_m2("S 甲 乙\n") == [M2Sentence(("甲", "乙"), (), 1)]


# --- errors ------------------------------------------------------------------------------------


EDIT = "A 0 1|||R|||-NONE-|||REQUIRED|||-NONE-|||0"


def error_line(text: str) -> int:
    with pytest.raises(M2FormatError) as caught:
        read_m2(text)
    return caught.value.line


def test_block_not_starting_with_s_reports_its_line():
    # Line 1 S, 2 A, 3 blank, 4 the bad block start.
    assert error_line(f"S 甲\n{EDIT}\n\nX 乙\n{EDIT}\n") == 4


def test_first_block_not_starting_with_s_after_blank_lines_reports_its_line():
    assert error_line(f"\n\n{EDIT}\n") == 3


def test_edit_with_non_integer_span_reports_its_line():
    assert error_line("S 甲 乙\nT0-A0 乙\nA x 1|||R|||-NONE-|||REQUIRED|||-NONE-|||0\n") == 3


def test_edit_with_a_single_span_number_reports_its_line():
    assert error_line("S 甲 乙\nA 0|||R|||-NONE-|||REQUIRED|||-NONE-|||0\n") == 2


def test_edit_with_non_integer_annotator_reports_its_line():
    assert error_line("S 甲\nA 0 1|||R|||-NONE-|||REQUIRED|||-NONE-|||x\n") == 2


def test_edit_with_too_few_fields_reports_its_line():
    assert error_line(f"S 甲\n{EDIT}\nA 0 1|||R\n") == 3


def test_stray_line_inside_a_block_reports_its_line():
    assert error_line(f"S 甲\n{EDIT}\n\nS 乙\nT0-A0 丙\nhello\n") == 6


def test_format_error_is_a_value_error():
    with pytest.raises(ValueError):
        read_m2("hello\n")


# --- blocks: the full reader ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["ref.char.m2", "hyp.llm.char.m2", "ref.word-thulac.m2", "hyp.mix.word-thulac.m2"])
def test_read_blocks_then_format_gives_the_golden_files_back_byte_for_byte(name, golden):
    text = (golden / name).read_text(encoding="utf-8")
    blocks = read_blocks(text)
    assert len(blocks) == 500 and format_blocks(blocks) == text
    assert [tuple(block_edits(b)) for b in blocks] == [s.edits for s in read_m2(text)]


def test_read_blocks_of_a_file_without_t_lines_keeps_each_annotators_edits():
    text = "S 甲 乙\nA 0 1|||R|||-NONE-|||REQUIRED|||-NONE-|||0\nA 1 1|||M|||丙|||REQUIRED|||-NONE-|||1\n\n"
    [block] = read_blocks(text)
    assert [(a.annotator, a.alignments) for a in block.annotations] == [
        (0, ((Edit(0, 1, "R", (), 0),),)), (1, ((Edit(1, 1, "M", ("丙",), 1),),))]


def test_read_blocks_reports_a_bad_t_line_with_its_line():
    with pytest.raises(M2FormatError) as caught:
        read_blocks("S 甲\nTx-A0 乙\n")
    assert caught.value.line == 2


@pytest.mark.parametrize("name", ["ref.word-thulac.m2", "ref.char.m2"])
def test_maxmatch_gold_from_blocks_equals_reading_the_rebuilt_gold_text(name, golden):
    text = (golden / name).read_text(encoding="utf-8")
    assert gold_from_blocks(read_blocks(text)) == parse_gold_m2(maxmatch_gold(text))


# --- corrections with a '|' in them ------------------------------------------------------------
# ChERRANT's compare (simplify_edits) and M2Scorer (load_annotation) read an edit line with
# `split("|||")` and take field 2: a correction with a `|` in it is cut on both sides. What the
# harness compares must be what they read back, whether the edit comes straight from the
# aligner or from a reference M2 read back from the cache.

PIPE_CORRECTIONS = [("|",), ("|", "|"), ("好", "|"), ("|", "好"), ("学", "|||", "校"), ("好", "||"), ("｜",)]


def cherrant_reads(line: str) -> str:
    """compare_m2_for_evaluation.simplify_edits: `cor = edit[2].replace(" ", "")`."""
    return line[2:].split("|||")[2].replace(" ", "")


def m2scorer_reads(line: str) -> tuple[str, ...]:
    """m2scorer.load_annotation: `fields[2].split('||')`, stripped, -NONE- meaning ''."""
    return tuple(c.strip() if c != "-NONE-" else "" for c in line.split("|||")[2].split("||"))


@pytest.mark.parametrize("correction", PIPE_CORRECTIONS)
def test_edit_key_is_what_cherrant_reads_back_from_its_line(correction):
    edit = Edit(3, 3, "M", correction, 0)
    assert edit.key == (3, 3, cherrant_reads(edit_line(edit)))


def test_a_lone_bar_reads_back_empty_and_a_trailing_bar_is_cut():
    assert edit_line(Edit(3, 3, "M", ("|",), 0)) == "A 3 3|||M|||||||REQUIRED|||-NONE-|||0"
    assert Edit(3, 3, "M", ("|",), 0).key == (3, 3, "")
    assert Edit(3, 3, "M", ("好", "|"), 0).key == (3, 3, "好")
    assert Edit(3, 3, "M", ("|", "|"), 0).key == (3, 3, "|")


@pytest.mark.parametrize("correction", PIPE_CORRECTIONS)
def test_an_edit_line_with_bars_reads_back_as_the_same_edit(correction):
    edit = Edit(2, 3, "S", correction, 1)
    block = Block(("我", "们", "去", "学", "校"), (Annotation(1, ("x",), ((edit,),)),))
    text = format_block(block)
    assert read_m2(text)[0].edits == (edit,)
    assert format_blocks(read_blocks(text)) == text


def test_maxmatch_gold_corrections_are_what_m2scorer_reads_back():
    edits = tuple(Edit(i, i, "M", c, 0) for i, c in enumerate(PIPE_CORRECTIONS))
    block = Block(("我", "们", "去", "学", "校", "。", "了"), (Annotation(0, ("x",), (edits,)),))
    gold = gold_from_blocks([block])[0].annotators[0]
    assert [g.corrections for g in gold] == [m2scorer_reads(edit_line(e)) for e in edits]
    assert gold == gold_from_blocks(read_blocks(format_block(block)))[0].annotators[0]


# Expected counts are ChERRANT's (MuCGEC @3922193, parallel_to_m2.py + compare_m2_for_evaluation.py)
# and M2Scorer's (on the harness' THULAC hypotheses and gold), run on these sentences.
PIPE_CASES = {  # source, reference, hypothesis -> (level, word scorer) -> (tp, fp, fn)
    "bar-vs-two-bars": (("我们去学校。", "我们去||学校。", "我们去|学校。"),
                        {("char", None): (0, 1, 1), ("word", "cherrant"): (1, 0, 0), ("word", "maxmatch"): (0, 1, 1)}),
    "trailing-bar-cut": (("我们去学校。", "我们去好|学校。", "我们去好学校。"),
                         {("char", None): (1, 0, 0), ("word", "cherrant"): (1, 0, 0), ("word", "maxmatch"): (1, 0, 0)}),
}


@pytest.mark.parametrize("level,word_scorer", [("char", None), ("word", "cherrant"), ("word", "maxmatch")])
@pytest.mark.parametrize("case", sorted(PIPE_CASES))
def test_bar_corrections_score_as_the_reference_scorers_cold_and_warm(case, level, word_scorer, shared_data, tmp_path):
    from harness.data.manifest import DataSettings
    from harness.scoring.corpus import score_corpus

    (source, reference, hypothesis), expected = PIPE_CASES[case]
    settings = DataSettings(data_dir=shared_data, cache_dir=tmp_path)
    options = {"word_scorer": word_scorer} if word_scorer else {}
    counts = []
    for _ in ("cold", "warm"):
        score = score_corpus([source], [hypothesis], [[reference]], level, settings=settings, jobs=1, **options)
        counts.append((score.tp, score.fp, score.fn))
        assert list((tmp_path / "m2").glob("*.m2")), "the reference M2 is cached after the first scoring"
    assert counts == [expected[(level, word_scorer)]] * 2

"""Output cleaning for chat models: one behaviour per test on small hand-written replies, then the real
GoodGap LLM outputs on NaCGEC dev (skipped without the shared data mirror)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from harness.cleaning import FALLBACK_FLAGS, FLAGS, Cleaned, CleaningSpec, clean, similarity, summarise
from harness.cleaning.doc import ALWAYS, RULE_FLAGS, markdown
from harness.cleaning.text import sentence_units

RULES = CleaningSpec()
DOCS = Path(__file__).resolve().parents[1] / "docs" / "cleaning.md"
# NaCGEC dev line 466: a triple negation; the correction drops the last 不.
SOURCE = "这么感人的一幕，不能不使我不掉下眼泪。"
FIXED = "这么感人的一幕，不能不使我掉下眼泪。"
# The prompt of configs/gpt35-base.yaml, as harness.run.execute passes it (system text, user turn without the source).
PROMPT = ("你是一个汉语语法纠错器。请直接输出修改后的句子；如果句子没有错误，原样输出。", "检测这个句子的语法错误：")


def cleaned(raw: str, source: str = SOURCE, rules: CleaningSpec = RULES, prompt=()) -> Cleaned:
    return clean(raw, source, rules, prompt)


# --- nothing to clean ---------------------------------------------------------------------------------------

def test_the_source_itself_is_not_changed():
    assert cleaned(SOURCE) == Cleaned(SOURCE, ())


@pytest.mark.parametrize("source, prediction", [
    (SOURCE, FIXED),
    # 无法 is a refusal marker, but here it is part of the correction (NaCGEC dev 103).
    ("奥运圣火登顶珠峰的瞬间，无不毫无例外地感受到了心灵的震撼。", "奥运圣火登顶珠峰的瞬间，无不无法抵挡地感受到了心灵的震撼。"),
    # a bracket that is not a note (dev 57)
    ("结果显示，“收入分配”以82.48%的关注度高居榜首。", "结果显示，关注度最高的是“收入分配”（82.48%）。"),
    # ASCII quotes that open the sentence but do not wrap it (dev 226)
    ("“文化营销”是当前的一个潮流，切忌不要只顾利益。", "\"文化营销\"是当前的一个潮流，切忌只顾利益。"),
    # a colon that is not a label (dev 260)
    ("针对养老金缴费多少年更“划算”，人社部给出回应：我国正在健全多缴多得激励机制。",
     "针对养老金缴费年限，人社部给出回应：我国正在完善多缴多得的激励机制。"),
    # a closing quote at the end, no opening quote at the start (dev 12)
    ("称其“揭露了我们与世界联系的虚幻之下的深渊。”。", "称其“揭露了我们与世界联系的虚幻之下的深渊。”"),
    # quotes added inside the sentence (dev 465)
    ("一带一路倡议反映了人们的共同心愿。", "“一带一路”倡议反映了人们的共同心愿。"),
    # a heavy but genuine rewrite (dev 214, the least similar genuine line of the file)
    ("虽然精神看不见、摸不着，却是一个无比强大的现实存在，并真切地反映着时代的本质，影响着人们的生活。",
     "虽然精神看不见、摸不着，但它在人们的现实生活中有着重要的影响，影响着人们的日常生活。"),
])
def test_a_genuine_correction_passes_untouched(source, prediction):
    assert cleaned(prediction, source) == Cleaned(prediction, ())


# --- line ends and whitespace -------------------------------------------------------------------------------

def test_crlf_line_end_is_removed():
    assert cleaned(FIXED + "\r\n") == Cleaned(FIXED, ("crlf",))


def test_outer_whitespace_is_removed():
    assert cleaned(f"  {FIXED}\n") == Cleaned(FIXED, ("whitespace",))


def test_space_between_chinese_characters_is_removed():
    # dev 349: "而且 更加重要"
    raw = "经典的魅力在于它不仅指向现实，而且 更加重要的是，它还指向未来。"
    source = "经典的魅力在于经典作品不仅指向现实，也指向未来。"
    assert cleaned(raw, source) == Cleaned("经典的魅力在于它不仅指向现实，而且更加重要的是，它还指向未来。", ("whitespace",))


def test_space_between_latin_words_is_kept():
    source = "他在New York工作了三年了。"
    assert cleaned("他在New York工作了三年。", source) == Cleaned("他在New York工作了三年。", ())


# SIGHAN 15 test item 212: an ideographic space (U+3000) between full-width letters, and its correction.
WIDE_SOURCE = "在圣文森我住在ＮＯＲＴＨ\u3000ＵＮＩＯＮ，这里有很有明的花地方。"
WIDE_TARGET = "在圣文森我住在ＮＯＲＴＨ\u3000ＵＮＩＯＮ，这里有很有名的花地方。"


@pytest.mark.parametrize("rules", [RULES, CleaningSpec(enabled=False)])
def test_whitespace_the_source_has_is_kept(rules):
    # A spelling check compares outputs character by character: U+3000 turned into " " would be a change.
    assert cleaned(WIDE_TARGET, WIDE_SOURCE, rules) == Cleaned(WIDE_TARGET, ())
    assert cleaned(WIDE_TARGET + "\n", WIDE_SOURCE, rules) == Cleaned(WIDE_TARGET, ("whitespace",))
    # Whitespace the source does not have is still normalised.
    assert cleaned(WIDE_TARGET.replace("\u3000", "\t"), WIDE_SOURCE, rules) == \
        Cleaned(WIDE_TARGET.replace("\u3000", " "), ("whitespace",))
    assert cleaned(WIDE_TARGET, WIDE_SOURCE.replace("\u3000", " "), rules) == \
        Cleaned(WIDE_TARGET.replace("\u3000", " "), ("whitespace",))


@pytest.mark.parametrize("rules", [RULES, CleaningSpec(enabled=False)])
def test_a_reply_identical_to_its_source_is_kept_with_its_outer_whitespace(rules):
    source = "\u3000据世界银行的预测，50年之后中国会成富裕的国家。"  # MuCGEC test 3125 opens with U+3000
    assert cleaned(source, source, rules) == Cleaned(source, ())
    assert cleaned(source + "\n", source, rules) == Cleaned(source.strip(), ("whitespace",))


def test_a_run_of_spaces_the_source_has_is_kept_and_another_is_joined():
    source = "在遵循市场原则的基础    上，开展直接交易。"  # FCGEC valid e0259530…: four spaces
    assert cleaned("在遵循市场原则的基础    上，开展了直接交易。", source) == \
        Cleaned("在遵循市场原则的基础    上，开展了直接交易。", ())
    assert cleaned("在遵循市场原则的基础  上，开展了直接交易。", source) == \
        Cleaned("在遵循市场原则的基础 上，开展了直接交易。", ("whitespace",))


# --- wrappers -----------------------------------------------------------------------------------------------

def test_code_fence_is_removed():
    assert cleaned(f"```text\n{FIXED}\n```") == Cleaned(FIXED, ("code_fence",))


def test_backticks_around_the_sentence_are_removed():
    assert cleaned(f"`{FIXED}`") == Cleaned(FIXED, ("code_fence",))


def test_markdown_emphasis_around_a_label_is_removed():
    assert cleaned(f"**修改后的句子：**{FIXED}") == Cleaned(FIXED, ("markdown", "prefix"))


def test_list_marker_is_removed():
    assert cleaned(f"1. {FIXED}") == Cleaned(FIXED, ("markdown",))


@pytest.mark.parametrize("label", [
    "修改后的句子：", "修改后的句子:", "修改后的句子为：", "修改后：", "修正：", "修正后的句子：", "改正后的句子：",
    "纠正后：", "输出：", "答案：", "答：", "正确的句子：", "正确的句子应该是：", "【修改后】", "Corrected sentence: ",
    "以下是修改后的句子：", "好的，以下是我修改后的句子：", "Here is the corrected sentence: ",
])
def test_label_before_the_sentence_is_removed(label):
    assert cleaned(label + FIXED) == Cleaned(FIXED, ("prefix",))


def test_original_label_is_removed():
    # dev 237: the model labels its output 原句 (and dropped the second sentence).
    source = "原本遥不可及的宇宙太空，已被中国人化为咫尺。但中国人将不停地迈进。"
    assert cleaned("原句：原本遥不可及的宇宙太空，已被中国人化为咫尺。", source) == \
        Cleaned("原本遥不可及的宇宙太空，已被中国人化为咫尺。", ("prefix",))


def test_label_that_is_in_the_source_is_kept():
    source = "原因：这次事故是由于司机疲劳驾驶造成的。"
    prediction = "原因：这次事故是司机疲劳驾驶造成的。"
    assert cleaned(prediction, source) == Cleaned(prediction, ())


def test_prefix_then_the_unchanged_source_gives_the_source():
    # dev 235
    assert cleaned(f"修改后的句子：{SOURCE}") == Cleaned(SOURCE, ("prefix",))


def test_lead_in_line_labels_the_next_line():
    assert cleaned(f"好的，以下是修改后的句子：\n\n{FIXED}") == Cleaned(FIXED, ("prefix", "multiline"))


def test_heading_labels_the_next_line():
    assert cleaned(f"### 修改后的句子\n{FIXED}") == Cleaned(FIXED, ("markdown", "prefix", "multiline"))


@pytest.mark.parametrize("raw", [f"“{FIXED}”", f"「{FIXED}」", f"\"{FIXED}\"", f"‘{FIXED}’"])
def test_quotes_around_the_sentence_are_removed(raw):
    assert cleaned(raw) == Cleaned(FIXED, ("quotes",))


def test_quotes_followed_by_a_full_stop_are_removed():
    assert cleaned("“这么感人的一幕，不能不使我掉下眼泪”。") == Cleaned(FIXED, ("quotes",))


def test_label_and_quotes_are_both_removed():
    assert cleaned(f"修改后的句子为：“{FIXED}”") == Cleaned(FIXED, ("prefix", "quotes"))


def test_quotes_that_open_and_close_different_quotations_are_kept():
    source = "“不是不报，时辰未到。”他说，“今天是你们的死期到了！”"
    prediction = "“不是不报，时辰未到。”他说，“今天你们的死期到了！”"
    assert cleaned(prediction, source) == Cleaned(prediction, ())


def test_quotes_are_kept_when_the_source_is_quoted():
    source = "“我们明天一起去公园玩吧吧。”"
    prediction = "“我们明天一起去公园玩吧。”"
    assert cleaned(prediction, source) == Cleaned(prediction, ())


# --- explanations -------------------------------------------------------------------------------------------

def test_explanation_line_is_dropped():
    raw = f"{FIXED}\n\n解释：原句中“不能不使我不”是三重否定，应删去最后一个“不”。"
    assert cleaned(raw) == Cleaned(FIXED, ("prefix", "explanation", "multiline"))


def test_explanation_after_the_sentence_on_the_same_line_is_cut():
    assert cleaned(f"{FIXED}解释：删去多余的“不”。") == Cleaned(FIXED, ("prefix", "explanation"))


def test_bracketed_note_is_cut():
    assert cleaned(f"{FIXED}（删去了多余的“不”）") == Cleaned(FIXED, ("explanation",))


def test_unlabelled_explanation_sentence_is_cut():
    assert cleaned(f"{FIXED}这句话原来有三重否定。") == Cleaned(FIXED, ("explanation",))


def test_english_remark_is_cut():
    assert cleaned(f"{FIXED} This sentence had a triple negation.") == Cleaned(FIXED, ("explanation",))


def test_sentence_is_taken_from_an_explanation_before_it():
    raw = f"这个句子的语法错误是多了一个“不”。正确的句子应该是：{FIXED}"
    assert cleaned(raw).prediction == FIXED


def test_corrected_line_wins_over_the_original_line():
    assert cleaned(f"原句：{SOURCE}\n修改后：{FIXED}") == Cleaned(FIXED, ("prefix", "multiline"))


def test_corrected_part_wins_over_the_original_part_on_one_line():
    assert cleaned(f"原句：{SOURCE} 修改后：{FIXED}") == Cleaned(FIXED, ("prefix",))


def test_closing_chatter_is_cut():
    assert cleaned(f"{FIXED}希望对你有帮助！") == Cleaned(FIXED, ("explanation",))


def test_correction_after_a_copy_of_the_source_is_taken():
    assert cleaned(f"{SOURCE}\n{FIXED}") == Cleaned(FIXED, ("multiline",))


def test_lines_of_one_answer_are_joined():
    source = "随着旅游业的快速发展，近年来旅游部门将开发新的旅游景点。这是好事。"
    raw = "随着旅游业的快速发展，旅游部门将开发新的旅游景点。\n这是好事。"
    assert cleaned(raw, source) == Cleaned("随着旅游业的快速发展，旅游部门将开发新的旅游景点。这是好事。", ("multiline",))


def test_text_after_an_arrow_is_taken():
    assert cleaned(f"{SOURCE} -> {FIXED}") == Cleaned(FIXED, ("prefix", "arrow"))


def test_reasoning_block_is_dropped():
    assert cleaned(f"<think>三重否定，删去一个“不”。</think>\n{FIXED}") == Cleaned(FIXED, ("explanation",))


def test_repeated_sentence_is_dropped():
    assert cleaned(FIXED * 3 + "这么感人的一幕，不能") == Cleaned(FIXED, ("repeat",))


# --- echoes, refusals, no-error answers: fall back to the source --------------------------------------------

def test_echoed_instruction_falls_back():
    # dev 23, 55, 82, 113, 399, 448
    assert cleaned("请对下述句子进行修正。返回你修改后的句子，无需其它说明和解释。") == Cleaned(SOURCE, ("echo_fallback",))


def test_echoed_few_shot_block_falls_back():
    # dev 85, 287, 424
    raw = "下面是一些范例:  学生大概做飞机去北京。 -> 学生大概坐飞机去北京。  我觉得他很大胆，他不去外国。"
    result = cleaned(raw)
    assert result.prediction == SOURCE and "echo_fallback" in result.flags


def test_echoed_instruction_before_the_answer_is_removed():
    raw = f"请对下述句子进行修正。返回你修改后的句子，无需其它说明和解释。\n{FIXED}"
    assert cleaned(raw) == Cleaned(FIXED, ("echo", "multiline"))


def test_text_copied_from_the_prompt_texts_is_an_echo():
    raw = "你是一个汉语语法纠错器。请直接输出修改后的句子；如果句子没有错误，原样输出。"
    assert cleaned(raw, prompt=PROMPT) == Cleaned(SOURCE, ("echo_fallback",))


def test_echoed_user_turn_with_the_source_gives_the_source():
    result = cleaned(f"检测这个句子的语法错误：{SOURCE}", prompt=PROMPT)
    assert result == Cleaned(SOURCE, ("prefix", "echo"))


def test_few_shot_example_is_an_echo_with_the_prompt_and_unrelated_without():
    # dev 154, 407: an example sentence of the GoodGap prompt, without its marker
    example = "我觉得他很大胆，他不去外国。他觉得如果要改变中国，就要在中国做研究。"
    prompt = (f"请对下述句子进行修正。下面是一些范例: 学生大概做飞机去北京。 -> 学生大概坐飞机去北京。 {example}",)
    assert cleaned(example, prompt=prompt) == Cleaned(SOURCE, ("echo_fallback",))
    assert cleaned(example) == Cleaned(SOURCE, ("unrelated_fallback",))


@pytest.mark.parametrize("raw", [
    "抱歉，我无法完成这个任务。",
    "作为一个AI语言模型，我无法判断这个句子。",
    "I'm sorry, but I can't help with that.",
    "请问您想让我修改哪个句子呢?",  # dev 322
])
def test_refusal_falls_back(raw):
    assert cleaned(raw) == Cleaned(SOURCE, ("refusal_fallback",))


@pytest.mark.parametrize("raw", ["这个句子没有语病，无需修改。", "原句没有错误。", "The sentence is grammatically correct."])
def test_no_error_statement_falls_back(raw):
    assert cleaned(raw) == Cleaned(SOURCE, ("no_error_fallback",))


@pytest.mark.parametrize("raw", ["", "   ", "\n\n"])
def test_empty_reply_falls_back(raw):
    result = cleaned(raw)
    assert result.prediction == SOURCE and "empty_fallback" in result.flags


def test_lead_in_without_a_sentence_falls_back():
    # dev 68, 387
    assert cleaned("以下是我修改后的句子：") == Cleaned(SOURCE, ("prefix", "empty_fallback"))


def test_unrelated_text_falls_back():
    # dev 314
    assert cleaned("我不喜欢他。") == Cleaned(SOURCE, ("unrelated_fallback",))


def test_english_reply_falls_back():
    assert cleaned("The quick brown fox jumps over the lazy dog.") == Cleaned(SOURCE, ("unrelated_fallback",))


def test_min_similarity_zero_keeps_unrelated_text():
    rules = CleaningSpec(min_similarity=0.0)
    assert cleaned("我不喜欢他。", rules=rules) == Cleaned("我不喜欢他。", ())


def test_similarity_ignores_punctuation_and_counts_characters():
    assert similarity("不能，不使我。", "不能不使我") == 1.0
    assert similarity("甲乙", "丙丁") == 0.0
    assert similarity("甲乙", "甲丙") == 0.5


# --- rules --------------------------------------------------------------------------------------------------

def test_disabled_rules_change_only_line_ends_and_whitespace():
    rules = CleaningSpec(enabled=False)
    for raw in (f"修改后的句子：“{FIXED}”", f"`{FIXED}`", "请对下述句子进行修正。", "我不喜欢他。", "抱歉，我无法完成。"):
        assert cleaned(raw, rules=rules) == Cleaned(raw, ())
    assert cleaned(f" {FIXED}\r\n", rules=rules) == Cleaned(FIXED, ("crlf", "whitespace"))
    assert cleaned("这么感人的一幕，\n不能不使我掉下眼泪。", rules=rules) == Cleaned(FIXED, ("whitespace",))
    assert cleaned("", rules=rules) == Cleaned("", ())


def test_disabled_rules_ignore_the_other_keys():
    rules = CleaningSpec(enabled=False, strip_quotes=True, prefixes=["修改后的句子"])
    assert cleaned(f"修改后的句子：“{FIXED}”", rules=rules) == Cleaned(f"修改后的句子：“{FIXED}”", ())


def test_config_values_replace_the_defaults():
    rules = CleaningSpec.model_validate({"prefixes": ["改好了"], "strip_quotes": False, "min_similarity": 0.5})
    assert rules.prefixes == ("改好了",) and rules.strip_quotes is False and rules.min_similarity == 0.5
    assert rules.echo_markers == CleaningSpec().echo_markers
    assert cleaned(f"改好了：“{FIXED}”", rules=rules).prediction == f"“{FIXED}”"


def test_an_empty_mapping_gives_the_defaults():
    assert CleaningSpec.model_validate({}) == CleaningSpec()


def test_words_are_stripped_of_outer_whitespace():
    assert CleaningSpec(prefixes=[" 改好了 "]).prefixes == ("改好了",)


# --- properties ---------------------------------------------------------------------------------------------

def test_flags_come_in_vocabulary_order():
    flags = cleaned(f" **修改后的句子：**“{FIXED}”\r\n").flags
    assert flags == tuple(flag for flag in FLAGS if flag in flags)
    assert set(flags) == {"crlf", "whitespace", "markdown", "prefix", "quotes"}


def test_summary_counts_each_flag():
    results = [cleaned(FIXED), cleaned(f"修改后的句子：“{FIXED}”"), cleaned("我不喜欢他。"), cleaned(f"修正：{FIXED}")]
    summary = summarise(results)
    assert list(summary) == sorted(FLAGS) + ["total", "changed"]
    assert summary["total"] == 4 and summary["changed"] == 3
    assert summary["prefix"] == 2 and summary["quotes"] == 1 and summary["unrelated_fallback"] == 1
    assert summary["echo_fallback"] == 0


HAND_WRITTEN = [
    FIXED, f"修改后的句子为：“{FIXED}”", f"```\n{FIXED}\n```", f"原句：{SOURCE}\n修改后：{FIXED}",
    f"{FIXED}\n\n解释：删去“不”。", f"{FIXED}（删去了“不”）", f"{SOURCE} -> {FIXED}", FIXED * 3,
    "请对下述句子进行修正。", "我不喜欢他。", "抱歉，我无法完成。", "", f"**{FIXED}**", f"> {FIXED}",
    f"“{FIXED}”。", f"Sure! Here's the corrected sentence:\n\n**{FIXED}**\n\n**Explanation:** removed 不.",
]


@pytest.mark.parametrize("raw", HAND_WRITTEN)
def test_cleaning_is_idempotent(raw):
    once = cleaned(raw, prompt=PROMPT)
    assert cleaned(once.prediction, prompt=PROMPT) == Cleaned(once.prediction, ())


def test_cleaning_never_raises_and_always_flags_a_fallback():
    pieces = ["修改后的句子：", "原句：", "解释：", "“", "”", "\"", "```", "\n", "\r\n", " ", "　", "。", "->", "**",
              "（", "）", "<think>", "</think>", "抱歉", "下面是一些范例:", "不", "掉下眼泪", "a", ".", "\x00", "\ud800",
              "\ufeff", "【", "】", "#", "1. ", FIXED, SOURCE]
    rng = random.Random(20240501)
    for _ in range(3000):
        raw = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        for source in (SOURCE, "", "“引号”：原句：A -> B"):
            result = clean(raw, source, RULES, PROMPT)
            assert isinstance(result.prediction, str)
            assert set(result.flags) <= set(FLAGS)
            assert len(set(result.flags) & set(FALLBACK_FLAGS)) <= 1
            if result.fell_back:
                assert result.prediction == source


@pytest.mark.parametrize("raw", [FIXED * 20000, "修改后的句子：" * 50000, "“" * 100000, "<think>" + "想" * 100000])
def test_very_long_replies_are_cleaned(raw):
    result = cleaned(raw)
    assert isinstance(result.prediction, str)


# --- the real GoodGap outputs on NaCGEC dev -----------------------------------------------------------------

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OUTPUTS = SHARED_DATA / "outputs" / "llm-goodgap.nacgec-dev.txt"
DEV = SHARED_DATA / "nacgec" / "nacgec.dev.ref.para"
# From ../shared/golden/nacgec-dev/README.md.
LEAKAGE = {23, 55, 61, 68, 82, 85, 113, 154, 198, 219, 287, 314, 322, 387, 399, 407, 424, 448, 487, 488}
# Lines whose only problem is a label (修改后的句子：, 修正：, 原句：) or a space: the rest of the file is
# passed through untouched.
LABELLED = {235, 237, 357, 439, 476}
SPACED = {349}


@pytest.fixture(scope="module")
def real() -> tuple[list[str], list[str]]:
    """(raw lines with their CR, sources), line i of each belongs to dev id i + 1."""
    if not OUTPUTS.is_file() or not DEV.is_file():
        pytest.skip(f"shared data not found at {SHARED_DATA} (a clone outside the workplace)")
    raw = OUTPUTS.read_bytes().decode("utf-8").split("\n")
    if raw[-1] == "":
        raw.pop()
    sources = [line.split("\t")[1] for line in DEV.read_text(encoding="utf-8").splitlines()]
    assert len(raw) == len(sources) == 500
    return raw, sources


@pytest.fixture(scope="module")
def real_cleaned(real) -> list[Cleaned]:
    raw, sources = real
    return [clean(line.removesuffix("\r"), source, RULES) for line, source in zip(raw, sources)]


def test_real_every_leakage_line_falls_back(real, real_cleaned):
    _raw, sources = real
    for number in sorted(LEAKAGE):
        result = real_cleaned[number - 1]
        assert result.fell_back, (number, result)
        assert result.prediction == sources[number - 1]


def test_real_no_line_equal_to_its_source_is_changed(real, real_cleaned):
    raw, sources = real
    same = [i for i, (line, source) in enumerate(zip(raw, sources)) if line.removesuffix("\r") == source]
    assert len(same) == 184
    for i in same:
        assert real_cleaned[i] == Cleaned(sources[i], ()), i + 1


def test_real_only_labelled_spaced_and_leaked_lines_change(real, real_cleaned):
    raw, _sources = real
    changed = {i + 1 for i, result in enumerate(real_cleaned) if result.flags}
    assert changed == LEAKAGE | LABELLED | SPACED
    for i, result in enumerate(real_cleaned):
        if i + 1 not in changed:
            assert result.prediction == raw[i].removesuffix("\r")


@pytest.mark.parametrize("label", ["修改后的句子：", "修正：", "原句：", "以下是修改后的句子：", "下面是一些范例:"])
def test_real_labels_are_removed_wherever_they_occur(real, real_cleaned, label):
    raw, sources = real
    lines = [i for i, line in enumerate(raw) if label in line]
    assert lines, label
    for i in lines:
        assert label not in real_cleaned[i].prediction, i + 1
        assert "prefix" in real_cleaned[i].flags or real_cleaned[i].fell_back, i + 1


def test_real_predictions_of_labelled_lines(real_cleaned):
    assert real_cleaned[234].prediction.startswith("中国足协副主席于洪臣")  # 235: the source after the label
    assert real_cleaned[438].prediction == "学习完孟子的一篇文章后，同学们很快就能理解并读懂孟子其他篇文章了。"
    assert real_cleaned[475].prediction == "我国约60%的青年认为“诚实守信”是优秀的传统美德，是做人的基本准则。"
    assert " " not in real_cleaned[348].prediction


def test_real_summary_adds_up(real_cleaned):
    summary = summarise(real_cleaned)
    assert summary["total"] == 500
    assert summary["changed"] == sum(1 for result in real_cleaned if result.flags) == 26
    for flag in FLAGS:
        assert summary[flag] == sum(1 for result in real_cleaned if flag in result.flags), flag
    assert sum(summary[flag] for flag in FALLBACK_FLAGS) == len(LEAKAGE)


def test_real_crlf_is_flagged_and_changes_nothing_else(real, real_cleaned):
    raw, sources = real
    with_cr = [clean(line, source, RULES) for line, source in zip(raw, sources)]
    assert all("crlf" in result.flags for result in with_cr)
    assert [result.prediction for result in with_cr] == [result.prediction for result in real_cleaned]
    assert summarise(with_cr)["changed"] == 500


def test_real_cleaning_is_idempotent(real, real_cleaned):
    _raw, sources = real
    for i, (result, source) in enumerate(zip(real_cleaned, sources)):
        assert clean(result.prediction, source, RULES) == Cleaned(result.prediction, ()), i + 1


def test_residue_a_stray_character_after_the_final_full_stop_is_removed():
    # Seen from Gemma 3 270M: a lone odd character after the sentence.
    result = clean("它渐渐失去了颜色，好像病了的孩子。躾", "它渐渐失去颜色，好像病了的孩子。", CleaningSpec())
    assert result.prediction == "它渐渐失去了颜色，好像病了的孩子。" and result.flags == ("residue",)


def test_residue_a_stray_leading_colon_is_removed():
    result = clean("：《民法典》是一部基础性法律。", "《民法典》是一部基础性的法律。", CleaningSpec())
    assert result.prediction == "《民法典》是一部基础性法律。" and "residue" in result.flags


def test_residue_keeps_closing_quotes_and_text_made_of_source_characters():
    rules = CleaningSpec()
    assert clean("他说：“好。”", "他说：“好。”", rules).prediction == "他说：“好。”"
    assert clean("他来了。我走了", "他来了。我走了。", rules).prediction == "他来了。我走了"


# --- invented tails (real replies of Gemma 3 270M on NaCGEC dev) ---------------------------------

TAILS = [
    ("老丁大约六十岁上下，可是身体非常硬朗。", "老丁大约六十岁上下，可是身体非常硬朗。岁的"),
    ("能否促进中部地区崛起，对推动新型工业化、信息化、城镇化和农业现代化协调发展，支撑经济中高速增长，具有重要意义。",
     "能否促进中部地区崛起，对推动新型工业化、信息化、城镇化和农业现代化协调发展，支撑经济中高速增长，具有重要意义。"
     "能在中部地区发展，是实现经济增长的重大机遇。"),
    ("班主任严肃处置了小明欺负班上弱小同学。",
     "班主任严肃处置了小明欺负班上弱小同学。尽管小明在班上欺负了班上弱小同学，但班上存在着团结和合作的氛围。"),
    ("电视剧《人民的名义》受广大观众欢迎的原因，不仅因为剧情跌宕、演员表演精彩，更因为它反映了当前中国的反腐斗争。",
     "电视剧《人民的名义》受广大观众欢迎的原因，不仅因为剧情跌宕、演员表演精彩，更因为它反映了当前中国的反腐斗争。を担当"),
]


@pytest.mark.parametrize("source, raw", TAILS)
def test_a_tail_invented_after_the_sentence_is_cut(source, raw):
    cleaned = clean(raw, source, CleaningSpec())
    assert cleaned.prediction == source and "tail" in cleaned.flags


def test_a_tail_after_a_corrected_sentence_is_cut_and_the_correction_kept():
    source = "这次网络故障的原因是由服务器故障引起的。"
    raw = "这次网络故障的原因是服务器故障。选举结果：服务器已经恢复。"
    assert clean(raw, source, CleaningSpec()).prediction == "这次网络故障的原因是服务器故障。"


@pytest.mark.parametrize("source, correction", [
    ("他跑的很快。", "他跑得很快！"),  # the final mark changed: nothing follows the source's end
    ("我今天去了学校。他也去了。", "我今天去学校了。他也去了。"),  # two sentences, both kept
    ("他说：“我明天来。”", "他说：“我明天再来。”"),  # closing quote after the terminator
    ("阅读名著开拓了我的视野，也提高了我的写作。", "阅读名著开拓了我的视野，也提高了我的写作能力。"),
])
def test_corrections_are_never_cut(source, correction):
    cleaned = clean(correction, source, CleaningSpec())
    assert cleaned.prediction == correction and "tail" not in cleaned.flags


def test_no_reference_of_nacgec_is_taken_for_an_invented_tail(shared_data):
    """Every reference correction of NaCGEC dev and test (7,568), cleaned as a reply: none is cut."""
    cut = []
    for name in ("nacgec.dev.ref.para", "nacgec.test.ref.para"):
        for line in (shared_data / "nacgec" / name).read_text(encoding="utf-8").splitlines():
            _, source, *references = line.split("\t")
            cut += [r for r in references if "tail" in clean(r, source, CleaningSpec()).flags]
    assert cut == []


def test_no_reply_of_the_stored_llm_run_is_taken_for_an_invented_tail(shared_data):
    """The mirror's LLM outputs on NaCGEC dev (corrections, echoes, explanations): the tail rule
    leaves every one of them alone (measured: 0 of 500)."""
    raw = (shared_data / "outputs" / "llm-goodgap.nacgec-dev.txt").read_text(encoding="utf-8").split("\r\n")
    sources = [line.split("\t")[1] for line in
               (shared_data / "nacgec" / "nacgec.dev.ref.para").read_text(encoding="utf-8").splitlines()]
    assert [r for r, s in zip(raw, sources) if "tail" in clean(r, s, CleaningSpec()).flags] == []


# --- closing marks: 》 closes a sentence, ] does not --------------------------------------------------------

def test_a_closing_title_mark_ends_a_sentence_unit():
    assert sentence_units("他说《好。》我走了。") == ["他说《好。》", "我走了。"]
    assert sentence_units("他说[好。]我走了。") == ["他说[好。", "]我走了。"]


def test_a_tail_after_a_closing_title_mark_is_cut():
    source = "他最喜欢的一首诗是《静夜思。》"
    assert clean(source + "这首诗表达了诗人对故乡的思念。", source, RULES) == Cleaned(source, ("tail",))


# --- docs/cleaning.md ---------------------------------------------------------------------------------------

def test_every_rule_names_the_flags_it_can_leave():
    assert tuple(RULE_FLAGS) == tuple(CleaningSpec.model_fields)
    named = {flag for flags in RULE_FLAGS.values() for flag in flags}
    assert named <= set(FLAGS) and set(FLAGS) - named == set(ALWAYS)


def test_the_cleaning_docs_are_generated_from_the_rules():
    """Regenerate with `python -m harness.cleaning.doc > docs/cleaning.md`."""
    assert DOCS.read_text(encoding="utf-8") == markdown()

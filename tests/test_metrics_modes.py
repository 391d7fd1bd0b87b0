"""ChERRANT's evaluation modes and options (compare_m2_for_evaluation.py: -cs, -cse, -ds, -dt,
-single, -multi, -filt, -b, -cat) and M2Scorer's options, on examples worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support import run_cli
from metrics.compare import Counts, EditFilter, choose_references, edit_dict, sentence_pairs, total_counts
from metrics.edit import Edit

# Reference (annotator 0): delete token 1, insert 了 at 3, replace tokens 4-5 by 高兴.
REFERENCE = [Edit(1, 2, "R", (), 0), Edit(3, 3, "M", ("了",), 0), Edit(4, 6, "S", ("高", "兴"), 0)]
# Hypothesis: the deletion typed S, the insertion, the right span with the wrong words, and a
# word-order edit over tokens 0-1 that the reference does not have.
HYPOTHESIS = [Edit(1, 2, "S", (), 0), Edit(3, 3, "M", ("了",), 0), Edit(4, 6, "S", ("快", "乐"), 0),
              Edit(0, 2, "W", ("乙", "甲"), 0)]


def counts(mode: str = "cs", selection: EditFilter = EditFilter()) -> Counts:
    pairs = sentence_pairs(edit_dict(HYPOTHESIS, mode, selection), edit_dict(REFERENCE, mode, selection))
    return total_counts(choose_references([pairs]))


@pytest.mark.parametrize("mode, expected", [
    ("cs", Counts(2, 2, 1)),   # span + correction: the deletion and the insertion match
    ("cse", Counts(1, 3, 2)),  # + type: the deletion's type differs (S vs R)
    ("ds", Counts(3, 1, 0)),   # spans only: (1,2), (3,3), (4,6) match; (0,2) does not
    ("dt", Counts(4, 1, 0)),   # tokens: 1, 3 (the insertion, right of it), 4, 5 match; token 0 does not
])
def test_each_mode_counts_as_chERRANT_defines_it(mode, expected):
    assert counts(mode) == expected


def test_single_multi_and_filter_select_edits_on_both_sides():
    assert counts(selection=EditFilter(single=True)) == Counts(2, 0, 0)  # widths 0 and 1 only
    assert counts(selection=EditFilter(multi=True)) == Counts(0, 2, 1)  # (4,6) and (0,2)
    assert counts(selection=EditFilter(types=frozenset({"M"}))) == Counts(1, 2, 1)


def test_unk_edits_count_only_for_detection():
    unk = [Edit(2, 3, "UNK", (), 0)]
    assert edit_dict(unk, "cs") == {0: {}}
    assert edit_dict(unk, "ds") == {0: {(2, 3): ["UNK"]}}


def test_beta_decides_the_reference_chosen():
    """Two references: A has the hypothesis' first edit only (TP 1, FP 1, FN 0), B both and two
    more (TP 2, FP 0, FN 2). F0.5 prefers B (0.833 vs 0.556), F2 prefers A (0.833 vs 0.556)."""
    e = [Edit(i, i + 1, "R", (), 0) for i in range(4)]
    hyp = edit_dict(e[:2])
    ref = edit_dict([Edit(0, 1, "R", (), 0)] + [Edit(i, i + 1, "R", (), 1) for i in range(4)])
    assert choose_references([sentence_pairs(hyp, ref)], beta=0.5)[0].ref == 1
    assert choose_references([sentence_pairs(hyp, ref)], beta=2.0)[0].ref == 0


# --------------------------------------------------------------------------------------------
# Through the CLI


REF_PARA = "1\t他去了崑山。\t他去了崑山。\n2\t我们要学习知识。\t我们要学知识。\t我们要学习知识了。\n"
HYP = "他去了崑山。\n我们要学知识。\n"


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    ref, hyp = tmp_path / "ref.para", tmp_path / "hyp.txt"
    ref.write_text(REF_PARA, encoding="utf-8")
    hyp.write_text(HYP, encoding="utf-8")
    return ref, hyp


def score(files, env, *options: str) -> dict:
    ref, hyp = files
    result = run_cli(["score", "--level", "char", "--hyp", str(hyp), "--ref", str(ref), "--json", *options], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["char"]


def test_no_t2s_explains_a_do_nothing_hypothesis_scoring_a_true_positive(files, cli_env):
    """崑 becomes 昆 in references and hypotheses alike: an edit nobody made, and a TP."""
    default = score(files, cli_env)
    assert (default["tp"], default["fp"], default["fn"]) == (2, 0, 0)
    plain = score(files, cli_env, "--no-t2s")
    assert (plain["tp"], plain["fp"], plain["fn"]) == (1, 0, 0)
    assert plain["t2s"] is False and "|t2s:none|" in plain["signature"]
    assert "protocol:unofficial" in plain["signature"]


def test_modes_and_options_appear_in_the_signature_and_the_json(files, cli_env):
    detection = score(files, cli_env, "--eval", "dt", "--beta", "2", "--filter", "W,M")
    assert detection["eval"] == "dt" and detection["beta"] == 2.0 and detection["filt"] == ["M", "W"]
    assert "|eval:dt|filt:M+W|beta:2|protocol:unofficial|" in detection["signature"]
    assert "eval" not in score(files, cli_env)  # the default, cs, is not spelled out


def test_category_tiers_and_per_sentence_output(files, cli_env, tmp_path):
    ref, hyp = files
    table = tmp_path / "sentences.tsv"
    result = run_cli(["score", "--level", "char", "--hyp", str(hyp), "--ref", str(ref), "--cat", "3",
                      "--per-sentence", str(table)], cli_env)
    assert result.returncode == 0, result.stderr
    assert "| char    | R      | 1    |" in result.stdout and "| char    | S      | 1    |" in result.stdout
    lines = table.read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t") == ["id", "level", "annotator", "tp", "fp", "fn", "hypothesis_edits",
                                    "reference_edits"]
    assert lines[2].split("\t")[:6] == ["2", "char", "0", "1", "0", "0"]  # 学习 -> 学: annotator 0 chosen
    assert lines[2].split("\t")[6] == lines[2].split("\t")[7] == "4 5 -NONE- R"


def test_m2scorer_gold_file_max_unchanged_words_and_beta(golden, cli_env):
    """The golden `mix` set against the golden word gold, as M2Scorer scores it (its verbose
    totals are in scores.json); other settings change the numbers and say so."""
    expected = json.loads((golden / "scores.json").read_text())["mix"]["word_maxmatch_thulac"]
    args = ["score", "--hyp", str(golden / "hyp.mix.txt"), "--gold-m2", str(golden / "gold.word-thulac.maxmatch.m2"),
            "--level", "word", "--json"]
    result = run_cli(args, cli_env)
    assert result.returncode == 0, result.stderr
    word = json.loads(result.stdout)["word"]
    assert (word["tp"], word["tp"] + word["fp"], word["tp"] + word["fn"]) == (
        expected["correct_edits"], expected["proposed_edits"], expected["gold_edits"])
    assert "|gold:m2-" in word["signature"] and "protocol:unofficial" in word["signature"]
    wider = json.loads(run_cli(args + ["--max-unchanged-words", "0", "--beta", "1"], cli_env).stdout)["word"]
    assert wider["max_unchanged"] == 0 and wider["beta"] == 1.0 and "|max_unchanged:0|" in wider["signature"]
    assert (wider["tp"], wider["fp"], wider["fn"]) != (word["tp"], word["fp"], word["fn"])

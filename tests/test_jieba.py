"""jieba: a non-official word-level variant. Deterministic, and pinned on hand-checked cases."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from support import REPO, run_cli
from metrics.zh.segment import JiebaSegmenter, WordTokenizer

PINNED = {
    "我今天去了学校。": [("我", "r"), ("今天", "nt"), ("去", "v"), ("了", "u"), ("学校", "n"), ("。", "wp")],
    "他跑得很快。": [("他", "r"), ("跑", "v"), ("得", "u"), ("很快", "d"), ("。", "wp")],
    "经济增长了百分之五。": [("经济", "n"), ("增长", "v"), ("了", "u"), ("百分之五", "m"), ("。", "wp")],
    "[缺失成分]是重要的": [("[缺失成分]", "n"), ("是", "v"), ("重要", "a"), ("的", "u")],
}


@pytest.fixture(scope="module")
def tokenizer() -> WordTokenizer:
    return WordTokenizer(JiebaSegmenter())


@pytest.mark.parametrize("sentence", sorted(PINNED))
def test_pinned_segmentations_with_ltp_tags(sentence, tokenizer):
    assert tokenizer.tagged(sentence) == PINNED[sentence]


@pytest.mark.slow
def test_segmentation_is_the_same_under_different_hash_seeds(shared_data):
    script = (
        "import json, sys\n"
        "from metrics.zh.segment import JiebaSegmenter, WordTokenizer\n"
        "t = WordTokenizer(JiebaSegmenter())\n"
        "lines = open(sys.argv[1], encoding='utf-8').read().split('\\n')[:60]\n"
        "print(json.dumps([t.tagged(l.split('\\t')[1]) for l in lines], ensure_ascii=False))\n"
    )
    outputs = []
    for seed in ("0", "1", "12345"):
        env = {"PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
        result = subprocess.run([sys.executable, "-c", script, str(shared_data / "nacgec" / "nacgec.dev.ref.para")],
                                env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        outputs.append(json.loads(result.stdout))
    assert outputs[0] == outputs[1] == outputs[2]
    assert len(outputs[0]) == 60


def test_word_cherrant_with_jieba_scores_and_says_unofficial(tmp_path, cli_env):
    ref = tmp_path / "ref.para"
    ref.write_text("1\t我今天去了学校。\t我今天去学校了。\n2\t他跑的很快。\t他跑得很快。\t他跑得非常快。\n"
                   "3\t天气很好。\t天气很好。\n", encoding="utf-8")
    hyp = tmp_path / "hyp.txt"
    # The sources unchanged: line 1 misses its one word-order edit; line 2 ties between the
    # references on F (0) and TP/FP (0), so the one with fewer misses (ref 0: 的->得) is chosen.
    hyp.write_text("我今天去了学校。\n他跑的很快。\n天气很好。\n", encoding="utf-8")
    result = run_cli(["score", "--level", "word", "--word-scorer", "cherrant", "--segmenter", "jieba",
                      "--hyp", str(hyp), "--ref", str(ref), "--json"], cli_env)
    assert result.returncode == 0, result.stderr
    word = json.loads(result.stdout)["word"]
    assert (word["tp"], word["fp"], word["fn"]) == (0, 0, 2)
    assert (word["scorer"], word["segmenter"]) == ("cherrant", "jieba")
    assert "tok:jieba-" in word["signature"] and "protocol:unofficial" in word["signature"]


def test_maxmatch_with_jieba_matches_hand_checked_edits(tmp_path, cli_env):
    ref = tmp_path / "ref.para"
    ref.write_text("1\t我今天去了学校。\t我今天去学校了。\n2\t他跑的很快。\t他跑得很快。\t他跑得非常快。\n"
                   "3\t天气很好。\t天气很好。\n", encoding="utf-8")
    hyp = tmp_path / "hyp.txt"
    # Line 1: the gold is one word-order edit 3-5 -> "学校 了", which MaxMatch can propose as one
    # merged arc; line 2: 的 -> 得 matches reference 0; line 3: nothing to do. So 2/2/2.
    hyp.write_text("我今天去学校了。\n他跑得很快。\n天气很好。\n", encoding="utf-8")
    result = run_cli(["score", "--level", "word", "--segmenter", "jieba", "--hyp", str(hyp), "--ref", str(ref),
                      "--json", "--m2-out", str(tmp_path / "m2")], cli_env)
    assert result.returncode == 0, result.stderr
    word = json.loads(result.stdout)["word"]
    assert (word["tp"], word["fp"], word["fn"]) == (2, 0, 0)
    assert "method:maxmatch" in word["signature"] and "protocol:unofficial" in word["signature"]
    gold = (tmp_path / "m2" / "gold.word-jieba.maxmatch.m2").read_text(encoding="utf-8")
    assert "A 3 5|||W|||学校 了|||REQUIRED|||-NONE-|||0" in gold

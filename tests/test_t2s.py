"""t2s as ChERRANT converts it: OpenCC 1.1.2's tables (ChERRANT pins OpenCC==1.1.2), bundled and
run by the installed engine. The expected conversions and counts below are what OpenCC 1.1.2
and ChERRANT itself give (checked against them; see metrics/zh/t2s_tables/README.md)."""

from __future__ import annotations

import hashlib
import pickle

import pytest

from harness import score_corpus
from metrics.normalise import TargetNormaliser
from metrics.zh.t2s import NAME, TABLES, T2S

SHA256 = {"TSPhrases.ocd2": "79c5d896477fc4ff55457d34ee6c2d6ef1755c229b854b61ca2702ba5b413205",
          "TSCharacters.ocd2": "ab79ebf3583519edbae828bdb10ad1c229b9e232589ac37dee302bf2f483a23b"}

# (text, OpenCC 1.1.2's t2s): where 1.4.2's own tables give something else, and plain cases.
CONVERSIONS = [
    ("他把桌子擡起来。", "他把桌子擡起来。"),  # 1.4.2: 抬
    ("他是个美人坏子。", "他是个美人坏子。"),  # 1.4.2: 坯子
    ("该行董秘沈思求证。", "该行董秘沈思求证。"),  # 1.4.2: 沉思 (a name here)
    ("项目获得环评批覆。", "项目获得环评批覆。"),  # 1.4.2: 批复
    ("街边有家店舖。", "街边有家店舖。"),  # 1.4.2: 铺
    ("他终于甦醒了。", "他终于苏醒了。"),  # 1.4.2 keeps 甦
    ("⿰⑤頁", "⿰⑤页"),  # 1.4.2's engine keeps an ideographic description sequence whole
    ("這個問題很難回答。", "这个问题很难回答。"),
    ("", ""),
]


def test_the_bundled_tables_are_opencc_1_1_2s() -> None:
    for name, digest in SHA256.items():
        assert hashlib.sha256((TABLES / name).read_bytes()).hexdigest() == digest


@pytest.mark.parametrize(("text", "simplified"), CONVERSIONS)
def test_t2s_converts_as_opencc_1_1_2(text: str, simplified: str) -> None:
    assert T2S().convert(text) == simplified


def test_the_converter_travels_to_workers_as_its_tables_not_another_version() -> None:
    normalise = pickle.loads(pickle.dumps(TargetNormaliser()))
    assert [normalise(text) for text, _ in CONVERSIONS] == [s for _, s in CONVERSIONS]
    assert len(pickle.dumps(T2S())) < 100  # the class, not a converter


def test_scores_follow_chERRANT_on_what_the_versions_convert_differently(dev_settings) -> None:
    sources = ["他把桌子抬起来。", "该行董秘沈思求证。", "他终于苏醒了。"]
    hypotheses = ["他把桌子擡起来。", "该行董秘沈思求证。", "他终于甦醒了。"]
    score = score_corpus(sources, hypotheses, [[s] for s in sources], level="char", settings=dev_settings)
    # ChERRANT: 擡 stays (one false edit); 沈思 is no edit at all; 甦 becomes 苏 (no edit).
    assert [(s.tp, s.fp, s.fn) for s in score.per_sentence] == [(0, 1, 0), (0, 0, 0), (0, 0, 0)]
    assert f"t2s:{NAME}" in score.signature

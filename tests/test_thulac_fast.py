"""The numpy THULAC decoder gives exactly what THULAC 0.2.2's own decoder gives."""

from __future__ import annotations

import contextlib
import io

import pytest

thulac = pytest.importorskip("thulac")

from metrics.zh import thulac_fast  # noqa: E402


@pytest.fixture(scope="module")
def taggers():
    with contextlib.redirect_stdout(io.StringIO()):
        original, fast = thulac.thulac(), thulac.thulac()
    thulac_fast.install(fast._thulac__tagging_decoder)
    return original, fast


@pytest.mark.slow
def test_fast_decoder_equals_original_on_hand_made_edge_cases(taggers):
    original, fast = taggers
    for text in ["我", "。", "GDP增长了5%", "２０２３年，ＡＩ发展迅速！", "的的的的的的", "他说：“好。”",
                 "近年来，音量大、字体大、使用方便的老人手机大受市场欢迎。"]:
        assert fast.cut(text) == original.cut(text), text


def test_fast_decoder_equals_original_on_real_sentences(taggers, shared_data):
    original, fast = taggers
    lines = (shared_data / "nacgec" / "nacgec.test.ref.para").read_text(encoding="utf-8").split("\n")[:50]
    outputs = (shared_data / "outputs" / "llm-goodgap.nacgec-dev.txt").read_text(encoding="utf-8").split("\n")
    sentences = ["".join(line.split("\t")[1].split()) for line in lines if line]
    sentences += ["".join(line.split()) for line in outputs[:30] if line.strip()]
    mismatches = [s for s in sentences if fast.cut(s) != original.cut(s)]
    assert not mismatches

"""`harness score` with and without FASPell's char_meta.txt: the word-level S:SPELL label, the
signature that says which rule decided it, cached reference M2s kept apart, bad files refused."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from conftest import run_cli
from test_metrics_spelling import SAMPLE

# 午 -> 牛: no pinyin reading in common, but similar in shape and sound (FASPell: 0.857 + 0.28).
REF = "1\t农民牵着一头午。\t农民牵着一头牛。\n2\t我去了学校。\t我去了学校。\n"
HYP = "农民牵着一头牛。\n我去了学校。\n"


def score_word(tmp_path: Path, env: dict[str, str], out: str):
    ref, hyp = tmp_path / "ref.para", tmp_path / "hyp.txt"
    ref.write_text(REF, encoding="utf-8")
    hyp.write_text(HYP, encoding="utf-8")
    result = run_cli(["score", "--level", "word", "--word-scorer", "cherrant", "--segmenter", "jieba",
                      "--hyp", str(hyp), "--ref", str(ref), "--json", "--m2-out", str(tmp_path / out)], env)
    return result


def test_char_meta_decides_spell_and_the_signature_names_the_copy(tmp_path, cli_env):
    without = score_word(tmp_path, cli_env, "without")
    assert without.returncode == 0, without.stderr
    word = json.loads(without.stdout)["word"]
    assert "|spell:readings|" in word["signature"]
    assert "S:SPELL" not in word["by_type_fine"]
    assert "|||S:SPELL|||" not in (tmp_path / "without" / "ref.word-jieba.m2").read_text(encoding="utf-8")

    # Same cache directory: the reference M2 cached above must not be reused under the new rule.
    char_meta = Path(cli_env["CGEC_CACHE_DIR"]) / "resources" / "char_meta.txt"
    char_meta.parent.mkdir(parents=True, exist_ok=True)
    char_meta.write_text(SAMPLE, encoding="utf-8")
    with_table = score_word(tmp_path, cli_env, "with")
    assert with_table.returncode == 0, with_table.stderr
    word_exact = json.loads(with_table.stdout)["word"]
    sha = hashlib.sha256(SAMPLE.encode()).hexdigest()
    assert f"|spell:faspell-{sha[:12]}|" in word_exact["signature"]
    assert word_exact["by_type_fine"] == {"S:SPELL": {"tp": 1, "fp": 0, "fn": 0, "precision": 1.0,
                                                      "recall": 1.0, "f0.5": 1.0}}
    for name in ("ref", "hyp"):
        m2 = (tmp_path / "with" / f"{name}.word-jieba.m2").read_text(encoding="utf-8")
        assert "A 4 5|||S:SPELL|||牛|||REQUIRED|||-NONE-|||0" in m2
    # Only the label changed.
    assert {k: word[k] for k in ("tp", "fp", "fn", "f0.5")} == {k: word_exact[k] for k in ("tp", "fp", "fn", "f0.5")}


def test_malformed_char_meta_is_refused_with_its_line(tmp_path, cli_env):
    char_meta = Path(cli_env["CGEC_CACHE_DIR"]) / "resources" / "char_meta.txt"
    char_meta.parent.mkdir(parents=True, exist_ok=True)
    char_meta.write_text(SAMPLE + "U+4E59\t乙\n", encoding="utf-8")
    result = score_word(tmp_path, cli_env, "m2")
    assert result.returncode == 2
    assert f"{char_meta}:7: expected code point, character and readings" in result.stderr
    assert "Traceback" not in result.stderr

"""`harness score` with FASPell's char_meta.txt (pinned in the manifest): the word-level S:SPELL
label, the signature that names the table, and a mirror copy that differs refused."""

from __future__ import annotations

import json
from pathlib import Path

from support import run_cli

from harness.data.manifest import load_manifest

# 批评 -> 批判 (golden llm sentence 132): 评 and 判 share no pinyin reading; FASPell's table
# makes them similar in shape and sound (0.533 + 0.45), so ChERRANT calls it S:SPELL.
REF = "1\t他受到了批评。\t他受到了批判。\n2\t我去了学校。\t我去了学校。\n"
HYP = "他受到了批判。\n我去了学校。\n"


def score_word(tmp_path: Path, env: dict[str, str], out: str):
    ref, hyp = tmp_path / "ref.para", tmp_path / "hyp.txt"
    ref.write_text(REF, encoding="utf-8")
    hyp.write_text(HYP, encoding="utf-8")
    return run_cli(["score", "--level", "word", "--word-scorer", "cherrant", "--segmenter", "jieba",
                    "--hyp", str(hyp), "--ref", str(ref), "--json", "--m2-out", str(tmp_path / out)], env)


def test_char_meta_decides_spell_and_the_signature_names_the_table(tmp_path, cli_env):
    result = score_word(tmp_path, cli_env, "m2")
    assert result.returncode == 0, result.stderr
    word = json.loads(result.stdout)["word"]
    sha = load_manifest().files["resources/char_meta.txt"].sha256
    assert f"|spell:faspell-{sha[:12]}|" in word["signature"]
    assert word["by_type_fine"] == {"S:SPELL": {"tp": 1, "fp": 0, "fn": 0, "precision": 1.0,
                                                "recall": 1.0, "f0.5": 1.0}}
    for name in ("ref", "hyp"):
        m2 = (tmp_path / "m2" / f"{name}.word-jieba.m2").read_text(encoding="utf-8")
        assert "A 3 4|||S:SPELL|||批判|||REQUIRED|||-NONE-|||0" in m2


def test_a_mirror_copy_that_differs_is_refused(tmp_path, cli_env, shared_data):
    mirror = tmp_path / "mirror"
    for relpath in load_manifest().files:
        (mirror / relpath).parent.mkdir(parents=True, exist_ok=True)
        (mirror / relpath).symlink_to(shared_data / relpath)
    bad = mirror / "resources" / "char_meta.txt"
    bad.unlink()
    bad.write_text("U+4E59\t乙\tyi3;jyut6;EL;OTSU;ất\t乙\n", encoding="utf-8")
    result = score_word(tmp_path, {**cli_env, "CGEC_DATA_DIR": str(mirror)}, "m2")
    assert result.returncode == 2
    assert f"{bad}: sha256 mismatch for resources/char_meta.txt" in result.stderr
    assert "Traceback" not in result.stderr

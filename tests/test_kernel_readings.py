"""The shipped readings table (metrics/zh/readings.txt): made from pypinyin by the generator in
metrics/zh/readings.py, so the generator must reproduce it byte for byte (a test of every code
point against pypinyin itself is tests/test_metrics_readings.py); scoring at char level then
never imports pypinyin; a missing table, or one made from another pypinyin release than the
installed one, is not used (pypinyin answers)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import metrics.zh.readings as readings
from metrics.zh.readings import TABLE_PATH, Readings, parse_table, pypinyin_readings, table_text

REPO = Path(__file__).resolve().parents[1]


def test_the_generator_reproduces_the_shipped_table():
    assert table_text() == TABLE_PATH.read_text(encoding="utf-8")


def test_the_table_covers_the_missing_component_token_and_heteronyms():
    table = parse_table(TABLE_PATH.read_text(encoding="utf-8"))
    assert table["[缺失成分]"] == pypinyin_readings("[缺失成分]") == ("[",)
    assert table["重"] == ("zhong", "chong", "tong")
    assert len(table) > 40000 and "a" not in table  # characters read as themselves have no line


def test_char_level_tokens_and_scoring_do_not_import_pypinyin():
    code = ("import sys\n"
            "from metrics.scorers import ChERRANT\n"
            "from metrics.zh.lexicon import Lexicon\n"
            "from metrics.zh.tokens import CharTokenizer\n"
            "CharTokenizer()('他[缺失成分]跑得很快。abc')\n"
            "ChERRANT(Lexicon({}, {})).extract([('他跑的很快[缺失成分]。', ('他跑得很快。',))])\n"
            "print('pypinyin' in sys.modules)\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("content", [None, "# Toneless heteronym readings of pypinyin 9.9.9 (another release)\nx\t重\n"])
def test_a_missing_or_foreign_table_is_not_used(monkeypatch, tmp_path, content):
    path = tmp_path / "readings.txt"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    monkeypatch.setattr(readings, "TABLE_PATH", path)
    monkeypatch.setattr(readings, "_TABLE", None)
    assert readings.shipped_table() == {}
    assert Readings()("重") == pypinyin_readings("重") == ("zhong", "chong", "tong")

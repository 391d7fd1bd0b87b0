"""`python -m harness score` as a user runs it: output shapes, files written, cache, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support import one_line_error, run_cli

SMALL_REF = (
    "1\t我今天去了学校。\t我今天去学校了。\n"
    "2\t他跑的很快。\t他跑得很快。\t他跑得非常快。\n"
    "3\t天气很好。\t天气很好。\n"
)


@pytest.fixture()
def small_ref(tmp_path: Path) -> Path:
    path = tmp_path / "ref.para"
    path.write_text(SMALL_REF, encoding="utf-8")
    return path


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_json_is_exactly_one_object_with_the_documented_keys(tmp_path, small_ref, cli_env):
    hyp = write(tmp_path, "hyp.txt", "我今天去学校了。\n他跑得很快。\n天气很好。\n")
    result = run_cli(["score", "--level", "char", "--hyp", str(hyp), "--ref", str(small_ref), "--json"], cli_env)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload) == {"char"}
    char = payload["char"]
    assert {"tp", "fp", "fn", "precision", "recall", "f0.5", "by_type", "signature"} <= set(char)
    # Line 1: the W edit of ref 0 is matched. Line 2: 的->得 is TP against ref 0 (1 edit) rather
    # than ref 1 (2 edits, one missed). Line 3: correct source, no edits.
    assert (char["tp"], char["fp"], char["fn"]) == (2, 0, 0)
    assert char["f0.5"] == 1.0
    assert char["signature"].startswith("level:char|method:cherrant|nrefs:1-2|")
    assert "pypinyin-0.55.0" in char["signature"] and "opencc-" in char["signature"]


def test_human_table_lists_types_with_by_type(tmp_path, small_ref, cli_env):
    hyp = write(tmp_path, "hyp.txt", "我今天去学校了。\n他跑得很快。\n天气很好。\n")
    result = run_cli(["score", "--level", "char", "--hyp", str(hyp), "--ref", str(small_ref), "--by-type"], cli_env)
    assert result.returncode == 0, result.stderr
    assert "| char    | W      |" in result.stdout
    assert "level:char|method:cherrant" in result.stdout


def test_para_hypothesis_file_scores_like_plain_lines(tmp_path, small_ref, cli_env):
    plain = write(tmp_path, "hyp.txt", "我今天去学校了。\n他跑的很快。\n天气很好。\n")
    para = write(tmp_path, "hyp.para", "1\t我今天去了学校。\t我今天去学校了。\n2\t他跑的很快。\t他跑的很快。\n"
                                       "3\t天气很好。\t天气很好。\n")
    outputs = [json.loads(run_cli(["score", "--level", "char", "--hyp", str(h), "--ref", str(small_ref), "--json"],
                                  cli_env).stdout) for h in (plain, para)]
    assert outputs[0] == outputs[1]
    assert (outputs[0]["char"]["tp"], outputs[0]["char"]["fn"]) == (1, 1)


def test_m2_out_writes_reference_and_hypothesis_files(tmp_path, small_ref, cli_env):
    hyp = write(tmp_path, "hyp.txt", "我今天去学校了。\n他跑得很快。\n天气很好。\n")
    out = tmp_path / "m2"
    result = run_cli(["score", "--level", "char", "--hyp", str(hyp), "--ref", str(small_ref), "--m2-out", str(out)], cli_env)
    assert result.returncode == 0, result.stderr
    ref_m2 = (out / "ref.char.m2").read_text(encoding="utf-8")
    assert ref_m2.startswith("S 我 今 天 去 了 学 校 。\nT0-A0 我 今 天 去 学 校 了 。\n")
    assert "T0 没有错误\nA -1 -1|||noop|||-NONE-|||REQUIRED|||-NONE-|||0" in ref_m2
    assert (out / "hyp.char.m2").read_text(encoding="utf-8").count("\n\n") == 3


def test_reference_m2_is_cached_by_content_and_reused(tmp_path, small_ref, cli_env):
    hyp = write(tmp_path, "hyp.txt", "我今天去学校了。\n他跑得很快。\n天气很好。\n")
    first = run_cli(["score", "--level", "char", "--hyp", str(hyp), "--ref", str(small_ref), "--json"], cli_env)
    cached = list((Path(cli_env["CGEC_CACHE_DIR"]) / "m2").glob("*.char.m2"))
    assert len(cached) == 1
    # Tamper with the cached file: a second run must read it rather than realign the references.
    cached[0].write_text(cached[0].read_text(encoding="utf-8").replace("|||W|||", "|||X|||"), encoding="utf-8")
    second = run_cli(["score", "--level", "char", "--hyp", str(hyp), "--ref", str(small_ref), "--json", "--by-type"], cli_env)
    assert json.loads(first.stdout)["char"]["by_type"].keys() == {"W", "S"}
    assert json.loads(second.stdout)["char"]["by_type"].keys() == {"X", "S"}


def test_reference_given_as_m2_scores_like_the_para_file(tmp_path, small_ref, cli_env):
    hyp = write(tmp_path, "hyp.txt", "我今天去学校了。\n他跑的很快。\n天气很好。\n")
    out = tmp_path / "m2"
    para = run_cli(["score", "--level", "char", "--hyp", str(hyp), "--ref", str(small_ref), "--json", "--m2-out", str(out)], cli_env)
    m2 = run_cli(["score", "--level", "char", "--hyp", str(hyp), "--ref", str(out / "ref.char.m2"), "--json"], cli_env)
    assert m2.returncode == 0, m2.stderr
    assert json.loads(para.stdout)["char"]["tp"] == json.loads(m2.stdout)["char"]["tp"]


def test_empty_hypothesis_line_deletes_everything_and_scores(tmp_path, small_ref, cli_env):
    hyp = write(tmp_path, "hyp.txt", "\n他跑得很快。\n天气很好。\n")
    out = tmp_path / "m2"
    result = run_cli(["score", "--level", "char", "--hyp", str(hyp), "--ref", str(small_ref), "--json", "--m2-out", str(out)], cli_env)
    assert result.returncode == 0, result.stderr
    assert "A 0 8|||R|||-NONE-|||REQUIRED|||-NONE-|||0" in (out / "hyp.char.m2").read_text(encoding="utf-8")
    char = json.loads(result.stdout)["char"]
    assert (char["tp"], char["fp"], char["fn"]) == (1, 1, 1)


def assert_one_line_error(result, path: Path, line: int | None, words: str) -> None:
    assert result.stdout == ""
    one_line_error(result, f"{path}:{line}" if line is not None else str(path), words)


def test_line_count_mismatch_names_the_hypothesis_file_and_line(tmp_path, small_ref, cli_env):
    hyp = write(tmp_path, "hyp.txt", "我今天去学校了。\n他跑得很快。\n")
    result = run_cli(["score", "--level", "char", "--hyp", str(hyp), "--ref", str(small_ref)], cli_env)
    assert_one_line_error(result, hyp, 3, "2 hypothesis lines but 3 reference sentences")


def test_para_line_without_source_column_is_an_error(tmp_path, cli_env):
    ref = write(tmp_path, "ref.para", "1\t我去了。\t我去。\n2\n")
    hyp = write(tmp_path, "hyp.txt", "我去。\n我\n")
    result = run_cli(["score", "--level", "char", "--hyp", str(hyp), "--ref", str(ref)], cli_env)
    assert_one_line_error(result, ref, 2, "no source column")


def test_invalid_utf8_names_the_line(tmp_path, small_ref, cli_env):
    hyp = write(tmp_path, "hyp.txt", "我今天去学校了。\n".encode() + b"\xff\xfe bad\n" + "天气很好。\n".encode())
    result = run_cli(["score", "--level", "char", "--hyp", str(hyp), "--ref", str(small_ref)], cli_env)
    assert_one_line_error(result, hyp, 2, "invalid UTF-8")


def test_m2_block_that_does_not_parse_names_the_line(tmp_path, cli_env):
    ref = write(tmp_path, "ref.m2", "S 我 去\nA 0 x|||R|||-NONE-|||REQUIRED|||-NONE-|||0\n\n")
    hyp = write(tmp_path, "hyp.txt", "我\n")
    result = run_cli(["score", "--level", "char", "--hyp", str(hyp), "--ref", str(ref)], cli_env)
    assert_one_line_error(result, ref, 2, "M2 block does not parse")


def test_missing_file_is_a_clear_error(tmp_path, small_ref, cli_env):
    missing = tmp_path / "nope.txt"
    result = run_cli(["score", "--level", "char", "--hyp", str(missing), "--ref", str(small_ref)], cli_env)
    assert_one_line_error(result, missing, None, "no such file")


def test_score_works_offline_from_the_mirror_alone(tmp_path, small_ref, cli_env):
    """No network: a download attempt would go to an unroutable base URL and fail."""
    cli_env["CGEC_DATA_BASE_URL"] = "http://127.0.0.1:9"
    hyp = write(tmp_path, "hyp.txt", "我今天去学校了。\n他跑得很快。\n天气很好。\n")
    result = run_cli(["score", "--level", "char", "--hyp", str(hyp), "--ref", str(small_ref), "--json"], cli_env)
    assert result.returncode == 0, result.stderr

"""`harness annotate` (harness/annotate): ChERRANT's parallel_to_m2.py output byte for byte on the
golden NaCGEC dev files (char and word level), whatever the chunking and the executor; resumed
after a kill or from a partial last block to the same bytes; bad input refused with one line
naming the file and line (exit 2), and an output of another input never extended."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from harness.annotate.m2file import resume_point
from harness.annotate.stream import annotate_file
from harness.annotate.work import AnnotateSettings
from support import REPO, one_line_error, run_cli

SETS = ("llm", "mix", "refs")


@pytest.fixture(scope="module")
def paras(shared_data, golden, tmp_path_factory) -> dict[str, Path]:
    """The golden inputs as ChERRANT read them: the dev para file, and id<TAB>source<TAB>hypothesis."""
    folder = tmp_path_factory.mktemp("paras")
    dev = shared_data / "nacgec" / "nacgec.dev.ref.para"
    rows = [line.split("\t") for line in dev.read_text(encoding="utf-8").split("\n") if line]
    out = {"ref": dev}
    for name in SETS:
        hypotheses = (golden / f"hyp.{name}.txt").read_text(encoding="utf-8").split("\n")[:500]
        path = folder / f"hyp.{name}.para"
        path.write_text("".join(f"{row[0]}\t{row[1]}\t{h}\n" for row, h in zip(rows, hypotheses)), encoding="utf-8")
        out[name] = path
    return out


def golden_name(name: str, level: str) -> str:
    suffix = "char" if level == "char" else "word-thulac"
    return f"ref.{suffix}.m2" if name == "ref" else f"hyp.{name}.{suffix}.m2"


@pytest.mark.golden
@pytest.mark.parametrize("name, jobs, chunk", [("ref", 1, 500), ("llm", 2, 37), ("mix", 2, 500), ("refs", 1, 64)])
def test_char_m2_equals_cherrant_byte_for_byte(name, jobs, chunk, paras, golden, cli_env, tmp_path):
    out = tmp_path / "out.m2"
    result = run_cli(["annotate", paras[name], "-o", out, "--jobs", jobs, "--chunk", chunk, "--quiet"], cli_env)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == (golden / golden_name(name, "char")).read_bytes()
    assert "500 blocks" in result.stderr


@pytest.mark.golden
@pytest.mark.slow
@pytest.mark.parametrize("name", ["ref", *SETS])
def test_word_m2_equals_cherrant_byte_for_byte(name, paras, golden, cli_env, tmp_path):
    out = tmp_path / "out.m2"
    result = run_cli(["annotate", paras[name], "-o", out, "--level", "word", "--jobs", 2, "--chunk", 100, "--quiet"],
                     cli_env)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == (golden / golden_name(name, "word")).read_bytes()


@pytest.mark.golden
def test_any_executor_gives_the_same_bytes(paras, golden, dev_settings, tmp_path):
    # a spawned pool: nothing inherited, the context travels pickled, once per worker
    out = tmp_path / "out.m2"
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as executor:
        report = annotate_file(paras["llm"], out, AnnotateSettings(), dev_settings, executor=executor, chunk=40,
                               progress=False)
    assert (report.total, report.resumed, report.written) == (500, 0, 500)
    assert out.read_bytes() == (golden / "hyp.llm.char.m2").read_bytes()


# --- resuming ---------------------------------------------------------------------------------


@pytest.mark.golden
@pytest.mark.parametrize("keep_blocks, partial", [(0, "S 他"), (137, ""), (137, "S 因 此 ，\nT0-A0 因"), (499, "S")])
def test_a_partial_output_is_continued_to_the_same_bytes(keep_blocks, partial, paras, golden, dev_settings,
                                                         tmp_path):
    expected = (golden / "hyp.mix.char.m2").read_text(encoding="utf-8")
    blocks = expected.split("\n\n")[:keep_blocks]
    out = tmp_path / "out.m2"
    out.write_text("".join(block + "\n\n" for block in blocks) + partial, encoding="utf-8")
    assert resume_point(out).blocks == keep_blocks
    report = annotate_file(paras["mix"], out, AnnotateSettings(), dev_settings, jobs=1, chunk=50, progress=False)
    assert (report.resumed, report.written) == (keep_blocks, 500 - keep_blocks)
    assert out.read_text(encoding="utf-8") == expected


@pytest.mark.golden
@pytest.mark.slow
def test_killed_then_rerun_gives_the_uninterrupted_output(paras, golden, cli_env, tmp_path):
    lines = [line for name in ("ref", *SETS) for line in paras[name].read_text(encoding="utf-8").split("\n") if line]
    big = tmp_path / "big.para"
    big.write_text("\n".join(lines * 3) + "\n", encoding="utf-8")  # 6,000 pairs
    out = tmp_path / "out.m2"
    command = [sys.executable, "-m", "harness", "annotate", str(big), "-o", str(out), "--jobs", "1", "--chunk", "25",
               "--quiet"]
    process = subprocess.Popen(command, env=cli_env, cwd=REPO, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while (not out.exists() or out.stat().st_size < 20_000) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, "finished before it could be killed: make the input longer"
    process.send_signal(signal.SIGKILL)
    process.wait()
    kept = resume_point(out).blocks
    assert 0 < kept < 6000
    with out.open("ab") as handle:  # as if killed in the middle of a block
        handle.write("S 半 个\nA 0 1|||S|||".encode())
    rerun = run_cli(["annotate", big, "-o", out, "--jobs", 2, "--quiet"], cli_env)
    assert rerun.returncode == 0, rerun.stderr
    assert f"the first {kept} kept" in rerun.stderr
    whole = tmp_path / "whole.m2"
    assert run_cli(["annotate", big, "-o", whole, "--jobs", 2, "--quiet"], cli_env).returncode == 0
    assert out.read_bytes() == whole.read_bytes()
    assert whole.read_text(encoding="utf-8").count("\n\n") == 6000


def test_the_output_of_another_input_is_not_extended(tmp_path, cli_env):
    first = tmp_path / "first.para"
    first.write_text("1\t他跑的很快。\t他跑得很快。\n2\t我去了学校。\t我去学校了。\n", encoding="utf-8")
    other = tmp_path / "other.para"
    other.write_text("1\t她唱的很好。\t她唱得很好。\n2\t我去了学校。\t我去学校了。\n", encoding="utf-8")
    out = tmp_path / "out.m2"
    assert run_cli(["annotate", first, "-o", out, "--quiet"], cli_env).returncode == 0
    text = out.read_text(encoding="utf-8")
    out.write_text(text.split("\n\n")[0] + "\n\n", encoding="utf-8")  # one complete block
    one_line_error(run_cli(["annotate", other, "-o", out, "--quiet"], cli_env), str(out), "another file", "--restart")
    assert run_cli(["annotate", other, "-o", out, "--quiet", "--restart"], cli_env).returncode == 0
    assert out.read_text(encoding="utf-8").startswith("S 她 唱")
    not_m2 = tmp_path / "notes.txt"
    not_m2.write_text("my notes\n", encoding="utf-8")
    one_line_error(run_cli(["annotate", first, "-o", not_m2, "--quiet"], cli_env), f"{not_m2}:1", "not an M2 file")
    assert not_m2.read_text(encoding="utf-8") == "my notes\n"


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("content, line, words", [
    (b"1\tsource only\n", 1, ("expected id<TAB>source<TAB>target",)),
    (b"1\t\xe4\xbb\x96\xe8\xb7\x91\t\xe4\xbb\x96\xe8\xb7\x91\n2\tab\t\xff\xfe\n", 2, ("invalid UTF-8",)),
    ("1\t他跑\t他跑了\n2\t他\t \n".encode(), 2, ("target 1 is empty",)),
    ("1\t他跑\t他跑了\t\n".encode(), 1, ("target 2 is empty",)),
    ("1\t \t他跑了\n".encode(), 1, ("the source is empty",)),
    ("1\t他跑\t他跑了\n\n2\t他跑\t他跑了\n".encode(), 2, ("empty line between pairs",)),
    ("1\t他跑\t他跑了\n2\t" .encode() + "很" .encode() * 30 + b"\t\xe5\xbe\x88\n", 2, ("over --max-chars 20",)),
])
def test_bad_input_is_one_line_naming_file_and_line(content, line, words, tmp_path, cli_env):
    path = tmp_path / "in.para"
    path.write_bytes(content)
    out = tmp_path / "out.m2"
    result = run_cli(["annotate", path, "-o", out, "--max-chars", 20, "--quiet"], cli_env)
    one_line_error(result, f"{path}:{line}", *words, starts="error:")
    assert not out.exists()  # refused before anything is written


def test_empty_lines_around_the_pairs_and_crlf_are_accepted(tmp_path, cli_env):
    path = tmp_path / "in.para"
    path.write_bytes("\r\n1\t他跑的很快。\t他跑得很快。\r\n2\t我 去了学校。\t我去学校了。\r\n\r\n\n".encode())
    out = tmp_path / "out.m2"
    result = run_cli(["annotate", path, "-o", out, "--quiet"], cli_env)
    assert result.returncode == 0, result.stderr
    assert out.read_text(encoding="utf-8") == (
        "S 他 跑 的 很 快 。\nT0-A0 他 跑 得 很 快 。\nA 2 3|||S|||得|||REQUIRED|||-NONE-|||0\n\n"
        "S 我 去 了 学 校 。\nT0-A0 我 去 学 校 了 。\nA 2 5|||W|||学 校 了|||REQUIRED|||-NONE-|||0\n\n")


def test_the_input_is_never_the_output(tmp_path, cli_env):
    path = tmp_path / "in.para"
    path.write_text("1\t他跑的很快。\t他跑得很快。\n", encoding="utf-8")
    one_line_error(run_cli(["annotate", path, "-o", path, "--restart"], cli_env), str(path), "the output is the input")
    assert path.read_text(encoding="utf-8") == "1\t他跑的很快。\t他跑得很快。\n"


def test_no_such_input_is_an_error(tmp_path, cli_env):
    one_line_error(run_cli(["annotate", tmp_path / "missing.para", "-o", tmp_path / "o.m2"], cli_env),
                   "missing.para", "no such file")


def test_annotate_is_listed_and_help_loads_no_scorer():
    code = ("import sys; from harness.cli import build_parser; build_parser().parse_args(['annotate', 'x', '-o', 'y']);"
            "print(sorted(m for m in ('metrics.alignment', 'harness.scoring.corpus', 'numpy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

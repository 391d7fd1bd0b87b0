"""The scorer as a library: `harness.score_corpus` and metrics' scorers, one `Score` type for
every method, the README's example, hypotheses aligned with their own sources (ChERRANT's
sample files have such a line), hypothesis M2 files, strict reference files, and the wheel."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from support import REPO, one_line_error, run_cli
from harness import score_corpus
from metrics.score import Score, SentenceScore

# The shape of ChERRANT's samples/demo.hyp.para against samples/demo.ref.m2.char: a char M2 of
# references (one sentence with two annotators) and a para file of hypotheses whose second
# source writes a full-width colon where the M2 has an ASCII one.
REF_M2 = (
    "S 这 部 电 影 不 仅 是 国 内 ， 在 国 外 也 很 有 名 。\n"
    "T0-A0 这 部 电 影 不 仅 是 在 国 内 ， 在 国 外 也 很 有 名 。\n"
    "A 7 7|||M|||在|||REQUIRED|||-NONE-|||0\n"
    "T1-A0 这 部 电 影 不 仅 在 国 内 ， 在 国 外 也 很 有 名 。\n"
    "A 6 7|||S|||在|||REQUIRED|||-NONE-|||1\n"
    "\n"
    "S 首 先 ， 我 们 得 准 备 : 大 虾 和 草 菇 。\n"
    "T0-A0 首 先 ， 我 们 得 准 备 : 大 虾 和 香 菇 。\n"
    "A 12 13|||S|||香|||REQUIRED|||-NONE-|||0\n"
    "\n"
)
HYP_PARA = ("1\t这部电影不仅是国内，在国外也很有名。\t这部电影不仅是在国内，在国外也很有名。\n"
            "2\t首先，我们得准备：大虾和草菇。\t首先，我们得准备：大虾和香菇。\n")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# score_corpus


@pytest.fixture(scope="module")
def mix(golden, dev_references):
    return (golden / "hyp.mix.txt").read_text(encoding="utf-8").split("\n")[:500]


@pytest.mark.parametrize("level, word_scorer", [("char", "maxmatch"), ("word", "maxmatch"), ("word", "cherrant")])
@pytest.mark.slow
def test_score_corpus_gives_the_cli_numbers_on_the_golden_mix_set(level, word_scorer, mix, dev_references,
                                                                  dev_settings, golden, cli_env):
    score = score_corpus(dev_references.sources, mix, dev_references.targets, level, word_scorer,
                         settings=dev_settings, jobs=2)
    cli = run_cli(["score", "--hyp", str(golden / "hyp.mix.txt"), "--ref", "nacgec-dev", "--level", level,
                   "--word-scorer", word_scorer, "--json"], cli_env)
    assert cli.returncode == 0, cli.stderr
    assert score.as_json() == json.loads(cli.stdout)[level]
    assert len(score.per_sentence) == 500 and sum(s.tp for s in score.per_sentence) == score.tp


def test_every_method_returns_the_same_score_type(dev_references, dev_settings, mix):
    sources, targets = dev_references.sources[:30], dev_references.targets[:30]
    scores = [score_corpus(sources, mix[:30], targets, "char", settings=dev_settings),
              score_corpus(sources, mix[:30], targets, "word", "maxmatch", settings=dev_settings),
              score_corpus(sources, mix[:30], targets, "word", "cherrant", settings=dev_settings)]
    names = [f.name for f in fields(Score)]
    for score in scores:
        assert type(score) is Score and [f.name for f in fields(score)] == names
        assert all(type(s) is SentenceScore for s in score.per_sentence) and len(score.per_sentence) == 30
        assert (score.tp, score.fp, score.fn) == tuple(sum(getattr(s, k) for s in score.per_sentence)
                                                       for k in ("tp", "fp", "fn"))
        assert score.f05 == score.f and score.signature_fields == score.recipe.signature([len(t) for t in targets])
        assert score.signature == str(score.signature_fields)
        assert {"tp", "fp", "fn", "precision", "recall", "f0.5", "signature"} <= set(score.as_json())
    assert [s.method for s in scores] == ["cherrant", "maxmatch", "cherrant"]
    assert scores[0].by_type and not scores[1].by_type  # MaxMatch has no types


def test_a_score_stores_its_signature_as_fields_and_its_sentences_as_record_lines(dev_references, dev_settings, mix):
    from metrics.score import SentenceScore
    from metrics.signature import Signature

    sources, targets = dev_references.sources[:30], dev_references.targets[:30]
    for level, method in (("char", "maxmatch"), ("word", "maxmatch"), ("word", "cherrant")):
        score = score_corpus(sources, mix[:30], targets, level, method, settings=dev_settings)
        payload = score.as_json()
        assert Signature.from_json(payload["signature_fields"]) == score.signature_fields
        assert Signature.parse(payload["signature"]) == score.signature_fields
        lines = score.sentences_json()
        assert all(("types" in line) == (method == "cherrant" or level == "char") for line in lines)
        for line, sentence in zip(lines, score.per_sentence):
            read = SentenceScore.from_json(line)
            assert (read.ref, read.counts, read.type_counts(1)) == (sentence.ref, sentence.counts,
                                                                    sentence.type_counts(1))


@pytest.mark.slow
def test_the_readme_example_runs_as_written(tmp_path, cli_env):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Scoring from Python\n.*?```python\n(.*?)```", readme, re.S)
    assert block, "README has no `## Scoring from Python` example"
    result = subprocess.run([sys.executable, "-c", block.group(1)], env=cli_env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "level:char|method:cherrant" in result.stdout


# --------------------------------------------------------------------------------------------
# Sources, hypothesis M2 files


def test_a_hypothesis_over_a_differing_source_is_aligned_with_its_own_and_named(tmp_path, cli_env):
    ref, hyp = write(tmp_path, "demo.ref.m2.char", REF_M2), write(tmp_path, "demo.hyp.para", HYP_PARA)
    result = run_cli(["score", "--level", "char", "--hyp", str(hyp), "--ref", str(ref), "--json"], cli_env)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == (f"warning: {hyp}:2: sentence 2: source differs from the reference source in "
                                     f"{ref}; the hypothesis is aligned with its own source")
    char = json.loads(result.stdout)["char"]
    # Sentence 1: the M edit of annotator 0. Sentence 2: 草->香 at the same offset, though the
    # hypothesis' source has '：' where the reference's has ':' (aligned against its own source,
    # the colon is no edit).
    assert (char["tp"], char["fp"], char["fn"]) == (2, 0, 0)
    strict = run_cli(["score", "--level", "char", "--hyp", str(hyp), "--ref", str(ref), "--strict-sources"], cli_env)
    one_line_error(strict, "source differs from the reference source", starts=f"error: {hyp}:2: ")


def test_a_hypothesis_m2_file_scores_like_the_hypotheses_it_was_made_from(tmp_path, cli_env):
    ref, hyp = write(tmp_path, "ref.m2", REF_M2), write(tmp_path, "hyp.para", HYP_PARA)
    first = run_cli(["score", "--level", "char", "--hyp", str(hyp), "--ref", str(ref), "--json",
                     "--m2-out", str(tmp_path / "m2")], cli_env)
    assert first.returncode == 0, first.stderr
    again = run_cli(["score", "--level", "char", "--hyp", str(tmp_path / "m2" / "hyp.char.m2"), "--ref", str(ref),
                     "--json"], cli_env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == json.loads(first.stdout)
    word = run_cli(["score", "--level", "word", "--hyp", str(tmp_path / "m2" / "hyp.char.m2"), "--ref", str(ref)],
                   cli_env)
    one_line_error(word, "word-level scoring needs para references", starts=f"error: {ref}: ")
    para_ref = write(tmp_path, "ref.para", "".join(f"{i}\t{s}\t{t}\n" for i, (_, s, t) in enumerate(
        (line.split("\t") for line in HYP_PARA.splitlines()), 1)))
    word = run_cli(["score", "--level", "word", "--hyp", str(tmp_path / "m2" / "hyp.char.m2"), "--ref",
                    str(para_ref)], cli_env)
    one_line_error(word, "scored at char level only", starts=f"error: {tmp_path / 'm2' / 'hyp.char.m2'}: ")


# --------------------------------------------------------------------------------------------
# Strict inputs


def test_an_empty_reference_column_is_an_error_not_a_reference(tmp_path, cli_env):
    ref = write(tmp_path, "ref.para", "1\t我去了学校。\t我去学校了。\n2\t他很高兴。\t他很高兴。\t\n")
    hyp = write(tmp_path, "hyp.txt", "我去学校了。\n\n")
    result = run_cli(["score", "--level", "char", "--hyp", str(hyp), "--ref", str(ref)], cli_env)
    one_line_error(result, "reference 2 is empty (a stray tab?)", starts=f"error: {ref}:2: ")


def test_a_word_level_m2_is_refused_for_char_scoring(tmp_path, cli_env):
    ref = write(tmp_path, "ref.word.m2", "S 我 去 了 学校 。\nT0-A0 我 去 学校 了 。\nA 2 4|||W|||学校 了|||REQUIRED|||-NONE-|||0\n\n")
    hyp = write(tmp_path, "hyp.txt", "我去学校了。\n")
    result = run_cli(["score", "--level", "char", "--hyp", str(hyp), "--ref", str(ref)], cli_env)
    one_line_error(result, "this M2 file is tokenised in words ('学校')", starts=f"error: {ref}:1: ")


@pytest.mark.parametrize("text, line, words", [
    ("1\t我去了学校。\t我去学校了。\t我去过学校。\n", 1, "para line has 4 columns; expected 3"),
    ("我去学校了。\n1\t我去了学校。\t我去学校了。\n", 2, "a tab in a file of plain hypotheses"),
])
def test_ambiguous_hypothesis_files_are_refused_with_their_line(text, line, words, tmp_path, cli_env):
    ref = write(tmp_path, "ref.para", "1\t我去了学校。\t我去学校了。\n2\t他很高兴。\t他很高兴。\n")
    hyp = write(tmp_path, "hyp.txt", text if text.count("\n") == 2 else text + "他很高兴。\n")
    result = run_cli(["score", "--level", "char", "--hyp", str(hyp), "--ref", str(ref)], cli_env)
    one_line_error(result, words, starts=f"error: {hyp}:{line}: ")


# --------------------------------------------------------------------------------------------
# The wheel


@pytest.mark.slow
def test_the_wheel_scores_from_another_directory(tmp_path, cli_env, shared_data):
    """`pip install .` (not editable) into a fresh virtual environment that borrows the
    dependencies (pip and setuptools too) already installed, then the CLI from elsewhere."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    source = tmp_path / "checkout"  # what git tracks, built outside the working tree (no build/ left in it)
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for relpath in filter(None, tracked.decode().split("\0")):
        target = source / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        if (REPO / relpath).is_symlink():
            target.symlink_to(os.readlink(REPO / relpath))
        else:
            shutil.copy2(REPO / relpath, target)
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                              "--no-index", str(source)], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in cli_env.items() if k != "PYTHONPATH"}
    where = subprocess.run([str(python), "-c", "import harness; print(harness.__file__)"], cwd=elsewhere, env=env,
                           capture_output=True, text=True)
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr
    scored = subprocess.run([str(venv / "bin" / "cgec-harness"), "score", "--hyp", "llm-goodgap", "--ref", "nacgec-dev",
                             "--level", "char", "--json"], cwd=elsewhere, env=env, capture_output=True, text=True,
                            timeout=300)
    assert scored.returncode == 0, scored.stderr
    in_checkout = run_cli(["score", "--hyp", "llm-goodgap", "--ref", "nacgec-dev", "--level", "char", "--json"],
                          cli_env)
    assert json.loads(scored.stdout) == json.loads(in_checkout.stdout)
    table = subprocess.run([str(venv / "bin" / "cgec-harness"), "table", "--runs", str(REPO / "results" / "runs")],
                           cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert table.returncode == 0 and "GrammarGPT" in table.stdout, table.stderr


@pytest.mark.slow
def test_per_sentence_counts_are_the_same_for_any_number_of_worker_processes(mix, dev_references, dev_settings):
    """Extraction in 1, 2 or 4 processes (the pool forced even for 500 sentences), then the
    sequential choice of references: every sentence's counts and chosen reference agree."""
    from harness.scoring.corpus import LexiconTexts, Workers
    from metrics.scorers import ChERRANT

    scorer = ChERRANT(LexiconTexts.load(dev_settings, char_meta=False).lexicon())
    results = []
    for jobs in (1, 2, 4):
        with Workers(scorer, jobs, min_pairs=1) as extract:
            score = scorer.corpus_score(dev_references.sources, mix, dev_references.targets, extract=extract)
        results.append([(s.ref, s.tp, s.fp, s.fn, s.types) for s in score.per_sentence])
    assert results[0] == results[1] == results[2]

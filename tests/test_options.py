"""One scoring-options object, built the same way by `harness score`'s flags, the API and a run
config's `scoring:` section; its allowed values declared once (metrics.options) and shown by
`--help` and `harness list`."""

from __future__ import annotations

import argparse
import typing
from pathlib import Path

import pytest

import metrics.options as vocabulary
from support import REPO
from harness.cli import build_parser, main
from harness.cli.score import scoring_options
from harness.config.schema import ScoringSpec, load_config, parse_config
from harness.core.errors import HarnessError
from harness.scoring import corpus
from harness.scoring.options import ScoringOptions
from harness.scoring.segmentation import SEGMENTER_TYPES
from metrics.compare import MODES

# The same non-default settings, written the three ways.
EXPECTED = ScoringOptions(levels=("char",), word_scorer="cherrant", segmenter="jieba", eval="dt", edits="single",
                          filter=("M", "W"), t2s=False, beta=2.0, max_unchanged_words=1)
FLAGS = ["--level", "char", "--word-scorer", "cherrant", "--segmenter", "jieba", "--eval", "dt", "--single",
         "--filter", "W, M", "--no-t2s", "--beta", "2", "--max-unchanged-words", "1"]
SCORING_YAML = ("scoring: {levels: [char], word_scorer: cherrant, segmenter: jieba, eval: dt, edits: single, "
                "filter: [W, M], t2s: false, beta: 2, max_unchanged_words: 1}\n")
API = dict(eval="dt", edits="single", filter="W,M", t2s=False, beta=2, max_unchanged_words=1)


def score_parser() -> argparse.ArgumentParser:
    actions = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return actions.choices["score"]


def config_with(tmp_path: Path, scoring: str):
    path = tmp_path / "c.yaml"
    path.write_text(f"name: c\ndataset: nacgec-dev\nmodel: {{backend: stored, predictions: llm-goodgap}}\n{scoring}",
                    encoding="utf-8")
    return load_config(path)


def test_flags_config_and_api_build_the_same_options(tmp_path, monkeypatch):
    from_flags = scoring_options(build_parser().parse_args(["score", "--hyp", "h", "--ref", "r", *FLAGS]))
    from_config = ScoringOptions.from_mapping(config_with(tmp_path, SCORING_YAML).scoring.model_dump())
    built = []
    monkeypatch.setattr(corpus, "score_levels", lambda *args, **kwargs: built.append(args[4]) or
                        corpus.ScoreSet({"char": None}))
    corpus.score_corpus(["甲"], ["甲"], [["甲"]], "char", "cherrant", "jieba", **API)
    assert from_flags == from_config == built[0] == EXPECTED


def test_defaults_are_the_published_protocols_everywhere(tmp_path):
    from_flags = scoring_options(build_parser().parse_args(["score", "--hyp", "h", "--ref", "r"]))
    from_config = ScoringOptions.from_mapping(config_with(tmp_path, "").scoring.model_dump())
    assert from_flags == from_config == ScoringOptions()
    assert ScoringOptions().selection == corpus.ScoringOptions().selection
    assert (ScoringOptions().levels, ScoringOptions().eval, ScoringOptions().beta) == (("char", "word"), "cs", 0.5)


def test_by_type_is_tier_one_and_cat_wins():
    parse = build_parser().parse_args
    assert scoring_options(parse(["score", "--hyp", "h", "--by-type"])).cat == 1
    assert scoring_options(parse(["score", "--hyp", "h", "--by-type", "--cat", "3"])).cat == 3


def test_a_config_that_leaves_the_options_alone_keeps_its_hash(tmp_path):
    plain = config_with(tmp_path, "scoring: {levels: [char]}\n")
    assert plain.as_dict()["scoring"] == {"levels": ["char"], "word_scorer": "maxmatch", "segmenter": "thulac"}
    assert config_with(tmp_path, "scoring: {levels: [char], beta: 1}\n").as_dict()["scoring"]["beta"] == 1.0
    committed = (REPO / "results" / "runs" / "llm-stored" / "manifest.json").read_text(encoding="utf-8")
    assert load_config(REPO / "configs" / "llm-stored.yaml").sha256 in committed


@pytest.mark.parametrize("values, words", [
    ({"eval": "cx"}, "scoring option eval: expected one of cs, cse, ds, dt, got 'cx'"),
    ({"levels": ("token",)}, "scoring option levels: expected some of char, word (or all), got token"),
    ({"beta": 0}, "scoring option beta: expected a number > 0, got 0"),
    ({"max_unchanged_words": -1}, "scoring option max_unchanged_words: expected a whole number >= 0"),
    ({"cat": 4}, "scoring option cat: expected one of 1, 2, 3, got 4"),
    ({"colour": "red"}, "unknown scoring option colour (known: levels, word_scorer"),
])
def test_bad_options_are_one_line_errors(values, words):
    with pytest.raises(HarnessError) as error:
        ScoringOptions.from_mapping(values)
    assert words in str(error.value) and "\n" not in str(error.value)


def test_the_api_refuses_an_unknown_option():
    with pytest.raises(HarnessError, match="unknown scoring option mode"):
        corpus.score_corpus(["甲"], ["甲"], [["甲"]], "char", mode="dt")


def test_a_config_option_outside_the_vocabulary_names_its_key():
    with pytest.raises(HarnessError, match="scoring.edits: Input should be 'all', 'single' or 'multi'"):
        parse_config({"name": "x", "dataset": "d", "model": {"backend": "stored", "predictions": "p"},
                      "scoring": {"edits": "double"}}, "c.yaml")


def test_allowed_values_are_declared_once():
    """The CLI's choices, the config schema's literals and the harness's registries read
    metrics.options."""
    choices = {a.dest: a.choices for a in score_parser()._actions if a.choices is not None}
    assert choices["level"] == [*vocabulary.LEVELS, "all"]
    assert tuple(choices["word_scorer"]) == vocabulary.WORD_SCORERS
    assert tuple(choices["segmenter"]) == vocabulary.SEGMENTERS
    assert tuple(choices["eval"]) == vocabulary.EVAL_MODES
    assert tuple(choices["cat"]) == vocabulary.CATEGORY_TIERS
    fields = ScoringSpec.model_fields
    assert typing.get_args(fields["word_scorer"].annotation) == vocabulary.WORD_SCORERS
    assert typing.get_args(fields["segmenter"].annotation) == vocabulary.SEGMENTERS
    assert typing.get_args(fields["eval"].annotation) == vocabulary.EVAL_MODES
    assert typing.get_args(fields["edits"].annotation) == vocabulary.EDIT_SELECTIONS
    assert tuple(SEGMENTER_TYPES) == vocabulary.SEGMENTERS
    assert MODES is vocabulary.EVAL_MODES
    assert set(ScoringSpec.model_fields) <= {f for f in ScoringOptions.__dataclass_fields__}


def test_no_other_scoring_module_spells_the_values_out():
    """The literal lists grep found in six files before; the scorer's own modules now import them."""
    owned = [*(REPO / "harness" / "cli").glob("*.py"), REPO / "harness" / "config" / "schema.py",
             *(REPO / "harness" / "scoring").glob("*.py"),
             *(REPO / "metrics" / name for name in ("score.py", "signature.py", "compare.py", "scorers.py"))]
    spelled = ['"maxmatch", "cherrant"', '"thulac", "jieba"', '("char", "word")', '"char", "word", "all"',
               '"cs", "cse", "ds", "dt"']
    for path in owned:
        text = path.read_text(encoding="utf-8")
        assert not [s for s in spelled if s in text], path


def test_list_shows_the_scoring_options_and_their_values(capsys):
    assert main(["list", "--configs", str(REPO / "configs")]) == 0
    out = capsys.readouterr().out
    for words in ("| --eval", "cs, cse, ds, dt", "| --word-scorer", "maxmatch, cherrant", "thulac, jieba",
                  "all, single, multi", "| max_unchanged_words"):
        assert words in out


def test_help_shows_the_choices(capsys):
    with pytest.raises(SystemExit):
        main(["score", "--help"])
    out = capsys.readouterr().out
    assert "{char,word,all}" in out and "{maxmatch,cherrant}" in out and "{cs,cse,ds,dt}" in out

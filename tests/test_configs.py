"""Run configs: the shipped ones load; bad ones are refused with the key named; limits hold."""

from __future__ import annotations

import asyncio
import json
import re
import time

import pytest
import yaml

from support import REPO
from harness.config.schema import CleaningSpec, load_config, parse_config
from harness.core.errors import HarnessError
from harness.run.limits import TokenBucket
from harness.run.prompt import render

CONFIGS = sorted((REPO / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_load(path, monkeypatch):
    for name in ("CGEC_GPT35_MODEL", "BART_PREDICTIONS", "GRAMMARGPT_PREDICTIONS", "NACGEC_TEST_PREDICTIONS"):
        monkeypatch.setenv(name, "set-by-test")
    config = load_config(path)
    assert config.name == path.stem or config.name
    assert config.dataset.name == ("nacgec-test" if "nacgec-test" in path.name else "nacgec-dev")


def test_environment_variables_fill_config_values(monkeypatch):
    monkeypatch.setenv("CGEC_GPT35_MODEL", "ft:gpt-3.5-turbo-0125:org::abc123")
    assert load_config(REPO / "configs" / "gpt35.yaml").model.model == "ft:gpt-3.5-turbo-0125:org::abc123"


def test_a_missing_environment_variable_names_the_key(monkeypatch):
    monkeypatch.delenv("CGEC_GPT35_MODEL", raising=False)
    with pytest.raises(HarnessError, match=r"model.model: environment variable CGEC_GPT35_MODEL is not set"):
        load_config(REPO / "configs" / "gpt35.yaml")


@pytest.mark.parametrize("raw, key", [
    ({"dataset": "nacgec-dev", "model": {"backend": "stored", "predictions": "x"}}, "name"),
    ({"name": "a b", "dataset": "nacgec-dev", "model": {"backend": "stored", "predictions": "x"}}, "name"),
    ({"name": "x", "model": {"backend": "stored", "predictions": "x"}}, "dataset"),
    ({"name": "x", "dataset": "d", "model": {"backend": "hf"}}, "model.backend"),
    ({"name": "x", "dataset": "d", "model": {"backend": "openai", "model": "m"}, "prompt": {"user": "no slot"}},
     "prompt.user"),
    ({"name": "x", "dataset": "d", "model": {"backend": "openai", "model": "m"}, "limits": {"concurrency": 0}},
     "limits.concurrency"),
    ({"name": "x", "dataset": "d", "model": {"backend": "openai", "model": "m"}, "scoring": {"levels": ["token"]}},
     "scoring.levels"),
])
def test_invalid_values_name_their_key(raw, key):
    with pytest.raises(HarnessError) as error:
        parse_config(raw, "c.yaml")
    assert str(error.value).startswith(f"c.yaml: {key}")


def test_the_prompt_is_built_from_the_source_alone():
    config = parse_config({"name": "x", "dataset": "d", "model": {"backend": "openai", "model": "m"},
                           "prompt": {"system": "S", "user": "改正：{source}",
                                      "few_shot": [{"source": "他跑的快。", "target": "他跑得快。"}]}}, "c.yaml")
    assert render(config.prompt, "我{爱}你") == [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "改正：他跑的快。"}, {"role": "assistant", "content": "他跑得快。"},
        {"role": "user", "content": "改正：我{爱}你"},
    ]


def test_token_bucket_spaces_requests_beyond_its_burst():
    async def take(n: int) -> float:
        bucket = TokenBucket(rate_per_minute=240)  # 4 a second, bursts of 4
        start = time.monotonic()
        for _ in range(n):
            await bucket.take()
        return time.monotonic() - start

    assert asyncio.run(take(4)) < 0.2
    assert asyncio.run(take(8)) >= 0.9  # the 4 beyond the burst need about a second


def test_set_overrides_config_values_and_is_checked_like_the_file(monkeypatch):
    monkeypatch.setenv("CGEC_GPT35_MODEL", "ft:x")
    config = load_config(REPO / "configs" / "gpt35.yaml", overrides=["model.model=gpt-4o-mini",
                                                                     "model.params.temperature=0.7",
                                                                     "limits.concurrency=2"])
    assert (config.model.model, config.model.params["temperature"], config.limits.concurrency) == \
        ("gpt-4o-mini", 0.7, 2)
    with pytest.raises(HarnessError, match=r"model.params.temperature: expected a number.*\(set by --set\)"):
        load_config(REPO / "configs" / "gpt35.yaml", overrides=["model.params.temperature=hot"])
    with pytest.raises(HarnessError, match="expected KEY=VALUE"):
        load_config(REPO / "configs" / "gpt35.yaml", overrides=["model.model"])


# --- cleaning rules -----------------------------------------------------------------------------------------

CLEANING_HEAD = "name: x\ndataset: nacgec-dev\nmodel: {backend: stored, predictions: p}\ncleaning:\n"  # line 4


def test_shipped_configs_keep_their_cleaning(monkeypatch):
    for name in ("BART_PREDICTIONS", "NACGEC_TEST_PREDICTIONS"):
        monkeypatch.setenv(name, "set-by-test")
    assert load_config(REPO / "configs" / "llm-stored.yaml").cleaning == CleaningSpec()
    for name in ("bart-stored.yaml", "nacgec-test-stored.yaml"):
        assert load_config(REPO / "configs" / name).cleaning.enabled is False


def test_the_cleaning_section_is_recorded_as_written(monkeypatch):
    """Not the long default word lists: a record's config and its hash stay what the file says."""
    monkeypatch.setenv("BART_PREDICTIONS", "set-by-test")
    assert load_config(REPO / "configs" / "llm-stored.yaml").as_dict()["cleaning"] is None
    assert load_config(REPO / "configs" / "bart-stored.yaml").as_dict()["cleaning"] == {"enabled": False}
    config = parse_config({"name": "x", "dataset": "d", "model": {"backend": "stored", "predictions": "p"},
                           "cleaning": {"prefixes": [" 答案 "], "min_similarity": 0}}, "c.yaml")
    assert config.as_dict()["cleaning"] == {"prefixes": ["答案"], "min_similarity": 0.0}
    assert parse_config(config.as_dict(), "c.yaml").cleaning == config.cleaning


def test_null_cleaning_keeps_the_defaults_and_set_can_turn_it_off():
    raw = {"name": "x", "dataset": "d", "model": {"backend": "stored", "predictions": "p"}, "cleaning": None}
    assert parse_config(raw, "c.yaml").cleaning == CleaningSpec()
    assert parse_config(raw, "c.yaml", overrides=["cleaning.enabled=false"]).cleaning.enabled is False


def test_an_unknown_cleaning_key_is_one_error_with_its_line(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(CLEANING_HEAD + "  enabled: true\n  strip_qoutes: false\n", encoding="utf-8")
    with pytest.raises(HarnessError) as error:
        load_config(path)
    assert (error.value.path, error.value.line) == (str(path), 6)
    assert error.value.message.startswith("cleaning.strip_qoutes: unknown key (allowed: enabled, prefixes, ")


@pytest.mark.parametrize("key, value", [
    ("enabled", "no"), ("strip_quotes", "yes"), ("detect_echo", 1), ("prefixes", "修改后"), ("prefixes", ["修改后", 3]),
    ("echo_markers", [""]), ("min_similarity", "0.3"), ("min_similarity", True), ("min_similarity", 1.5),
])
def test_a_wrong_cleaning_value_names_its_key_and_line(tmp_path, key, value):
    path = tmp_path / "run.yaml"
    path.write_text(CLEANING_HEAD + f"  {key}: {json.dumps(value, ensure_ascii=False)}\n", encoding="utf-8")
    with pytest.raises(HarnessError) as error:
        load_config(path)
    assert error.value.line == 5 and error.value.message.startswith(f"cleaning.{key}")


def test_cleaning_must_be_a_mapping():
    raw = {"name": "x", "dataset": "d", "model": {"backend": "stored", "predictions": "p"}, "cleaning": False}
    with pytest.raises(HarnessError, match=r"cleaning: expected a mapping of rules \(`enabled: false` turns"):
        parse_config(raw, "c.yaml")


def test_the_examples_of_the_cleaning_docs_load():
    text = (REPO / "docs" / "cleaning.md").read_text(encoding="utf-8")
    examples = re.findall(r"```yaml\n(.*?)```", text, re.S)
    assert len(examples) == 2
    for example in examples:
        config = parse_config(yaml.safe_load(CLEANING_HEAD.removesuffix("cleaning:\n") + example), "cleaning.md")
        assert config.as_dict()["cleaning"] == yaml.safe_load(example)["cleaning"]

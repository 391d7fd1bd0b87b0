"""Run configs: the shipped ones load; bad ones are refused with the key named; limits hold."""

from __future__ import annotations

import asyncio
import time

import pytest

from conftest import REPO
from harness.config.schema import load_config, parse_config
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

"""Fine-tuning data: prepared with the run config's own prompt, validated as OpenAI's guide does."""

from __future__ import annotations

import json

import pytest

from support import REPO, run_cli
from harness.config.schema import load_config
from harness.run.prompt import render


def test_grammargpt_pairs_become_1061_examples_with_the_prompt_harness_run_sends(tmp_path, cli_env, shared_data):
    out = tmp_path / "ft"
    result = run_cli(["finetune", "prepare", "--train", "grammargpt/instruction.json", "--config",
                      "configs/gpt35.yaml", "--out", str(out)], cli_env)
    assert result.returncode == 0, result.stderr
    assert "1061 examples written" in result.stdout and "identity pairs 21" in result.stdout
    examples = [json.loads(line) for line in (out / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(examples) == 1061
    config = load_config(REPO / "configs" / "gpt35.yaml", strict_env=False)
    records = json.loads((shared_data / "grammargpt" / "instruction.json").read_text(encoding="utf-8"))
    for example, record in zip(examples, records):
        sent = render(config.prompt, record["input"].strip())  # what `harness run` sends for this sentence
        assert example["messages"][:-1] == sent
        assert example["messages"][-1] == {"role": "assistant", "content": record["output"].strip()}


def test_the_seed_chat_file_is_re_rendered_with_the_run_prompt(tmp_path, cli_env):
    out = tmp_path / "ft"
    result = run_cli(["finetune", "prepare", "--train", "finetune_chatgpt/train_data.jsonl", "--config",
                      "configs/gpt35-base.yaml", "--out", str(out), "--drop-duplicates"], cli_env)
    assert result.returncode == 0, result.stderr
    first = json.loads((out / "train.jsonl").read_text(encoding="utf-8").splitlines()[0])
    base = load_config(REPO / "configs" / "gpt35-base.yaml")
    assert first["messages"][:-1] == render(base.prompt, "这件事对我们大家当时震动很大。")
    assert "duplicates 3 (dropped 3)" in result.stdout


@pytest.mark.slow
def test_training_sources_that_overlap_the_evaluation_set_are_refused_unless_forced(tmp_path, cli_env, shared_data):
    dev = (shared_data / "nacgec" / "nacgec.dev.ref.para").read_text(encoding="utf-8").splitlines()
    _, source, target = dev[0].split("\t")[:3]
    train = tmp_path / "train.para"
    train.write_text(f"1\t{source}\t{target}\n2\t他跑的很快。\t他跑得很快。\n", encoding="utf-8")
    refused = run_cli(["finetune", "prepare", "--train", str(train), "--config", "configs/gpt35.yaml",
                       "--out", str(tmp_path / "ft")], cli_env)
    assert refused.returncode == 2 and "1 training sources equal" in refused.stderr and "--force" in refused.stderr
    forced = run_cli(["finetune", "prepare", "--train", str(train), "--config", "configs/gpt35.yaml",
                      "--out", str(tmp_path / "ft"), "--force"], cli_env)
    assert forced.returncode == 0 and "1 exact" in forced.stdout


def test_near_duplicates_of_evaluation_sources_are_caught(tmp_path, cli_env, shared_data):
    dev = (shared_data / "nacgec" / "nacgec.dev.ref.para").read_text(encoding="utf-8").splitlines()
    source = dev[3].split("\t")[1]
    near = source.replace("。", "！")  # same words but one punctuation mark
    train = tmp_path / "train.para"
    train.write_text(f"1\t{near}\t{near}\n", encoding="utf-8")
    refused = run_cli(["finetune", "prepare", "--train", str(train), "--config", "configs/gpt35.yaml",
                       "--out", str(tmp_path / "ft")], cli_env)
    assert refused.returncode == 2 and "1 nearly equal" in refused.stderr


GOOD = '{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}, ' \
       '{"role": "assistant", "content": "a"}]}'


@pytest.mark.parametrize("bad_line, message", [
    ("not json", "not valid JSON"),
    ('{"prompt": "x"}', "missing 'messages' list"),
    ('{"messages": [{"role": "robot", "content": "x"}, {"role": "assistant", "content": "y"}]}', "unknown role 'robot'"),
    ('{"messages": [{"role": "user", "content": ["x"]}, {"role": "assistant", "content": "y"}]}',
     "content is not a string"),
    ('{"messages": [{"role": "user", "content": "x"}]}', "no assistant message"),
    ('{"messages": [{"role": "user", "content": "x", "colour": 1}, {"role": "assistant", "content": "y"}]}',
     "unknown key(s) colour"),
])
@pytest.mark.slow
def test_validate_names_the_line_of_each_problem(bad_line, message, tmp_path, cli_env):
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join([GOOD] * 5 + [bad_line] + [GOOD] * 6) + "\n", encoding="utf-8")
    result = run_cli(["finetune", "validate", str(path)], cli_env)
    assert result.returncode == 2
    assert f"{path}:6: " in result.stdout and message in result.stdout


def test_validate_needs_ten_examples_and_refuses_an_empty_file(tmp_path, cli_env):
    few = tmp_path / "few.jsonl"
    few.write_text("\n".join([GOOD] * 9) + "\n", encoding="utf-8")
    result = run_cli(["finetune", "validate", str(few)], cli_env)
    assert result.returncode == 2 and "9 examples: at least 10 are required" in result.stdout
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    result = run_cli(["finetune", "validate", str(empty)], cli_env)
    assert result.returncode == 2 and "empty file" in result.stdout


def test_validate_reports_tokens_and_a_cost_estimate(tmp_path, cli_env):
    path = tmp_path / "ok.jsonl"
    path.write_text("\n".join([GOOD] * 12) + "\n", encoding="utf-8")
    result = run_cli(["finetune", "validate", str(path), "--epochs", "2"], cli_env)
    assert result.returncode == 0 and result.stdout.strip().endswith("OK")
    assert "estimated training cost for 2 epochs on gpt-3.5-turbo: $" in result.stdout

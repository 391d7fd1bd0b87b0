"""The fine-tuning loop against the local server through the real SDK: prepare -> validate ->
launch -> follow -> generated config -> harness run -> scores; failures; resuming follow."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from support import run_cli
from tests.servers.server_process import ServerProcess
import pytest

pytestmark = pytest.mark.slow  # end-to-end runs through the CLI: `make test-all`

KEY = "sk-test.finetune.0123456789abcdef"  # dots: not mistaken for a real key by scanners


def small_training_file(tmp_path: Path) -> Path:
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"句{i}"},
                                                      {"role": "assistant", "content": f"句{i}。"}]},
                                        ensure_ascii=False) + "\n" for i in range(12)), encoding="utf-8")
    return train


def finetune(action: list[str], env: dict, server: ServerProcess, tmp_path: Path):
    """`harness finetune ACTION ...` with the options that action takes: the API ones for the
    platform actions, the config folder for follow."""
    extra: list[str] = []
    if action[0] in ("launch", "follow", "cancel", "list"):
        extra += ["--base-url", server.base_url, "--records", str(tmp_path / "records")]
    if action[0] == "follow":
        extra += ["--configs", str(tmp_path / "configs")]
    return run_cli(["finetune", *action, *extra], env)


def test_prepare_validate_launch_follow_then_run_the_fine_tuned_model(tmp_path, cli_env):
    env = dict(cli_env, OPENAI_API_KEY=KEY)
    data = tmp_path / "ft"
    with ServerProcess("--platform", "--ft-step-s", "0.1", log=tmp_path / "requests.jsonl") as server:
        prepared = finetune(["prepare", "--train", "grammargpt/instruction.json", "--config", "configs/gpt35.yaml",
                             "--out", str(data)], env, server, tmp_path)
        assert prepared.returncode == 0, prepared.stderr
        assert finetune(["validate", str(data / "train.jsonl")], env, server, tmp_path).returncode == 0
        launched = finetune(["launch", "--train", str(data / "train.jsonl"), "--model", "gpt-3.5-turbo",
                             "--suffix", "cgec", "--epochs", "3", "--config", "configs/gpt35.yaml", "--poll", "0.05"],
                            env, server, tmp_path)
        assert launched.returncode == 0, launched.stderr
        job_id = launched.stdout.split()[1]
        followed = finetune(["follow", job_id, "--poll", "0.05"], env, server, tmp_path)
        assert followed.returncode == 0, followed.stderr
        assert "training loss" in followed.stdout and "status: succeeded" in followed.stdout
        record = json.loads((tmp_path / "records" / f"{job_id}.json").read_text())
        model = record["fine_tuned_model"]
        assert model.startswith("ft:gpt-3.5-turbo") and record["status"] == "succeeded"
        config_path = tmp_path / "configs" / "cgec.yaml"
        config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        assert config["model"]["model"] == model and config["model"]["base_url"] == server.base_url
        assert config["prompt"]["user"] == "检测这个句子的语法错误：{source}"  # the prompt it was trained with
        out = tmp_path / "runs"
        ran = run_cli(["run", "--config", str(config_path), "--out", str(out), "--limit", "10", "--no-progress"], env)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        metrics = json.loads((out / "cgec.limit-10" / "metrics.json").read_text())
        assert {"char", "word"} <= metrics.keys() and metrics["items"] == 10
        chats = [r for r in server.requests() if r["path"].endswith("/chat/completions")]
        assert len(chats) == 10 and all(r["body"]["model"] == model for r in chats)
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "requests.jsonl"]
    assert not [p for p in written if KEY.encode() in p.read_bytes()]


def test_a_failed_job_ends_with_its_message_and_keeps_the_record(tmp_path, cli_env):
    env = dict(cli_env, OPENAI_API_KEY=KEY)
    train = small_training_file(tmp_path)
    with ServerProcess("--platform", "--ft-step-s", "0.1") as server:
        launched = finetune(["launch", "--train", str(train), "--suffix", "will-fail", "--poll", "0.05"],
                            env, server, tmp_path)
        job_id = launched.stdout.split()[1]
        followed = finetune(["follow", job_id, "--poll", "0.05"], env, server, tmp_path)
    assert followed.returncode == 1
    assert f"job {job_id} ended failed" in followed.stdout
    record = json.loads((tmp_path / "records" / f"{job_id}.json").read_text())
    assert record["status"] == "failed" and record["error"]["message"]
    assert not (tmp_path / "configs").exists()


def test_following_again_resumes_without_repeating_events(tmp_path, cli_env):
    env = dict(cli_env, OPENAI_API_KEY=KEY)
    train = small_training_file(tmp_path)
    mine = tmp_path / "configs" / "again.yaml"
    mine.parent.mkdir()
    mine.write_text("# my own config, with ${VARS} and comments\nname: again\n", encoding="utf-8")
    with ServerProcess("--platform", "--ft-step-s", "0.1") as server:
        job_id = finetune(["launch", "--train", str(train), "--suffix", "again", "--poll", "0.05"],
                          env, server, tmp_path).stdout.split()[1]
        first = finetune(["follow", job_id, "--poll", "0.05"], env, server, tmp_path)
        second = finetune(["follow", job_id, "--poll", "0.05"], env, server, tmp_path)
        listed = finetune(["list"], env, server, tmp_path)
    assert first.returncode == second.returncode == 0
    assert "training loss" in first.stdout and "training loss" not in second.stdout
    assert job_id in listed.stdout
    # An existing config is never overwritten: the new one gets a free name, said once.
    assert mine.read_text(encoding="utf-8") == "# my own config, with ${VARS} and comments\nname: again\n"
    written = tmp_path / "configs" / "again-2.yaml"
    assert f"{mine} exists and is left as it is" in first.stdout and "run config for ft:" in first.stdout
    assert str(written) in first.stdout and str(written) in second.stdout
    assert yaml.safe_load(written.read_text(encoding="utf-8"))["model"]["model"].startswith("ft:")
    assert sorted(p.name for p in mine.parent.iterdir()) == ["again-2.yaml", "again.yaml"]


def test_interrupting_follow_does_not_cancel_and_cancel_does(tmp_path, cli_env):
    import signal
    import subprocess
    import sys

    from support import REPO

    env = dict(cli_env, OPENAI_API_KEY=KEY)
    train = small_training_file(tmp_path)
    with ServerProcess("--platform", "--ft-step-s", "10") as server:
        job_id = finetune(["launch", "--train", str(train), "--suffix", "slow", "--poll", "0.05"],
                          env, server, tmp_path).stdout.split()[1]
        follower = subprocess.Popen([sys.executable, "-m", "harness", "finetune", "follow", job_id, "--poll", "0.1",
                                     "--base-url", server.base_url, "--records", str(tmp_path / "records")],
                                    env=dict(env, PYTHONUNBUFFERED="1"), cwd=REPO, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
        assert follower.stdout is not None
        first = ""
        while "status:" not in first:  # following has started
            first = follower.stdout.readline()
            assert first, "follow ended before printing a status"
        follower.send_signal(signal.SIGINT)
        stdout, _ = follower.communicate(timeout=30)
        assert follower.returncode == 130 and "goes on" in stdout
        listed = finetune(["list"], env, server, tmp_path).stdout
        assert f"{job_id}" in listed and "cancelled" not in listed
        cancelled = finetune(["cancel", job_id], env, server, tmp_path)
        assert cancelled.returncode == 0 and "cancelled" in cancelled.stdout
        ended = finetune(["follow", job_id, "--poll", "0.05"], env, server, tmp_path)
    assert ended.returncode == 1 and "ended cancelled" in ended.stdout

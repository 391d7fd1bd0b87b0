"""The run record, through the CLI: one run per folder whatever happens (Ctrl-C at each stage, a
second run at the same time, a partial run), runs matched to datasets and models by what they
are rather than by name, and the committed records usable on a fresh clone."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.record.store import HYPOTHESES, MANIFEST, PREDICTIONS, hold, read_record
from record_factory import lines, run_info, write
from support import REPO, TEST_SECRET, run, run_cli, write_config
from tests.servers.server_process import ServerProcess

pytestmark = pytest.mark.slow  # end-to-end runs through the CLI: `make test-all`

SECRET = TEST_SECRET
N_ITEMS = 20
RECORD_FILES = {MANIFEST, "metrics.json", "sentences.jsonl", HYPOTHESES, PREDICTIONS}
CHAR_ZERO = {"tp": 0, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0, "f0.5": 1.0, "signature": "level:char"}




def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def assert_one_whole_record(folder: Path) -> str:
    """Every file of the folder belongs to one record (read_record checks each against the
    manifest), nothing else is in it, and no writer's leftovers lie beside it."""
    record = read_record(folder)
    assert {p.name for p in folder.iterdir()} == RECORD_FILES
    assert record.predictions is not None and len(record.predictions) == record.dataset.run_items
    assert sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}.")) == []
    return record.fingerprint


def stored_config(tmp_path: Path, name: str, dataset: str, predictions: Path, extra: str = "") -> Path:
    config = tmp_path / f"{name}.yaml"
    config.write_text(f"name: {name}\ndataset: {dataset}\nmodel: {{backend: stored, predictions: '{predictions}'}}\n"
                      f"{extra}", encoding="utf-8")
    return config


def para_lines(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]


def start(config: Path, out: Path, env: dict[str, str], *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "harness", "run", "--config", str(config), "--out", str(out),
                             "--no-progress", *extra], env=env, cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for_line(stream, words: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = stream.readline()
        if not line:
            break
        if words in line:
            return
    raise AssertionError(f"never printed {words!r}")


# --------------------------------------------------------------------------------------------
# Identity: the model that answered


def test_another_model_behind_the_same_url_and_name_is_a_cache_miss_and_a_changed_identity(tmp_path, dev20, env):
    out, port = tmp_path / "runs", free_port()
    with ServerProcess("--port", str(port), "--served-model", "alpha", "--fingerprint", "fp_alpha",
                       log=tmp_path / "a.jsonl") as server:
        config = write_config(tmp_path, dev20, server.base_url)
        first = run(config, out, env)
        assert first.returncode == 0, first.stderr
        assert len(server.chat_requests()) == N_ITEMS
        assert run(config, out, env).returncode == 0 and len(server.chat_requests()) == N_ITEMS  # all cached
    before = json.loads((out / "srv" / MANIFEST).read_text(encoding="utf-8"))
    assert before["model"]["served"] == {"id": "alpha", "owned_by": "cgec-test"}  # `created` moves: left out
    assert before["model"]["system_fingerprints"] == ["fp_alpha"] and before["model"]["response_models"] == ["alpha"]

    # Same port, same config: another model answers now (it writes a prefix before each sentence).
    with ServerProcess("--port", str(port), "--served-model", "beta-prefix", "--fingerprint", "fp_beta",
                       log=tmp_path / "b.jsonl") as server:
        second = run(config, out, env)
        assert second.returncode == 0, second.stderr
        assert len(server.chat_requests()) == N_ITEMS  # nothing answered from the cache
    assert f"{N_ITEMS} items: {N_ITEMS} sent, 0 cached" in second.stdout
    assert "warning: the model that answered differs from the previous record" in second.stdout
    after = json.loads((out / "srv" / MANIFEST).read_text(encoding="utf-8"))
    assert after["model"]["served"]["id"] == "beta-prefix" and after["model"]["system_fingerprints"] == ["fp_beta"]
    assert after["model_changed"]["previous"]["served"]["id"] == "alpha"
    assert after["model_changed"]["previous_fingerprint"] == before["fingerprint"] != after["fingerprint"]
    assert all(p.raw.startswith("修改后的句子：") and p.response.model == "beta-prefix" for p in lines(out))


def test_an_unreachable_server_stops_the_run_before_it_starts_naming_the_url(tmp_path, dev20, env):
    base_url = f"http://127.0.0.1:{free_port()}/v1"
    result = run(write_config(tmp_path, dev20, base_url, retries=0), tmp_path / "runs", env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"error: cannot reach the model server at {base_url}/ (APIConnectionError); " \
                                    "is it running?"
    assert not (tmp_path / "runs").exists()


# --------------------------------------------------------------------------------------------
# Identity: the dataset that was scored


def test_a_run_over_another_file_is_never_placed_beside_a_published_row(tmp_path, cli_env, shared_data):
    # A 10-line file that even bears the dataset's name, with sentences 11-20 of dev renumbered.
    lines = para_lines(shared_data / "nacgec" / "nacgec.dev.ref.para")[10:20]
    small = tmp_path / "nacgec-dev.para"
    small.write_text("".join("\t".join([str(i), *f[1:]]) + "\n" for i, f in enumerate(lines, 1)), encoding="utf-8")
    sources = tmp_path / "sources.txt"
    sources.write_text("".join(f[1] + "\n" for f in lines), encoding="utf-8")
    out = tmp_path / "runs"
    config = stored_config(tmp_path, "ggpt", f"{{path: {small}}}", sources,
                           "scoring: {levels: [char]}\nreport: {label: GrammarGPT}\n")
    assert run(config, out, cli_env).returncode == 0

    table = run_cli(["table", "--runs", str(out), "--format", "json"], cli_env)
    assert table.returncode == 0, table.stderr
    data = json.loads(table.stdout)
    assert [r["Row"] for r in data["rows"] if r["Model"] == "GrammarGPT"] == ["reported", "not run"]
    assert not [r for r in data["rows"] if "ggpt" in r["Row"]]
    assert data["notes"] == [f"ggpt ({out / 'ggpt'}) is not shown: it scored {small} "
                             f"(sha256 {read_record(out / 'ggpt').dataset.sha256[:12]}), not nacgec-dev"]

    shown = run_cli(["show", str(out / "ggpt"), "--id", "3"], cli_env)
    assert shown.returncode == 0, shown.stderr
    assert f"source      {lines[2][1]}" in shown.stdout and f"reference 1  {lines[2][2]}" in shown.stdout

    small.write_text(small.read_text(encoding="utf-8").replace(lines[2][1], lines[2][1] + "了"), encoding="utf-8")
    refused = run_cli(["show", str(out / "ggpt"), "--id", "3"], cli_env)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().split("\n")) == 1
    assert f"{small}: this file changed since the run scored it" in refused.stderr


def test_several_runs_with_one_published_label_each_get_their_rows(tmp_path, cli_env):
    from test_table_show import fake_run

    fake_run(tmp_path, "ggpt-a", "GrammarGPT", (0.4, 0.2, 0.3333), (0.5, 0.2, 0.3846))
    fake_run(tmp_path, "ggpt-b", "GrammarGPT", (0.3, 0.2, 0.2727), (0.4, 0.2, 0.3333))
    rows = json.loads(run_cli(["table", "--runs", str(tmp_path), "--format", "json"], cli_env).stdout)["rows"]
    assert [r["Row"] for r in rows if r["Model"] == "GrammarGPT"] == [
        "reported", "reproduced (ggpt-a)", "difference (ggpt-a)", "reproduced (ggpt-b)", "difference (ggpt-b)"]


# --------------------------------------------------------------------------------------------
# One folder, one run


def test_ctrl_c_while_scoring_a_rerun_leaves_the_previous_record_whole(tmp_path, cli_env, shared_data):
    dev = shared_data / "nacgec" / "nacgec.dev.ref.para"
    predictions = tmp_path / "outputs.txt"
    predictions.write_text("".join(f[2] + "\n" for f in para_lines(dev)), encoding="utf-8")
    out, config = tmp_path / "runs", stored_config(tmp_path, "refs", "nacgec-dev", predictions)
    assert run(config, out, cli_env).returncode == 0
    first = assert_one_whole_record(out / "refs")

    predictions.write_text("".join(f[1] + "\n" for f in para_lines(dev)), encoding="utf-8")  # other outputs
    process = start(config, out, cli_env)
    wait_for_line(process.stderr, "scoring 500 predictions")
    # The line is printed as scoring starts; the record is written only after it (seconds later).
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and stderr.strip().endswith("interrupted"), stderr[-3000:]
    assert assert_one_whole_record(out / "refs") == first

    assert run(config, out, cli_env).returncode == 0  # the rerun, uninterrupted, replaces it whole
    assert assert_one_whole_record(out / "refs") != first


def test_ctrl_c_while_requesting_leaves_the_previous_record_whole_and_the_rerun_pays_once(tmp_path, dev20, env):
    out = tmp_path / "runs"
    with ServerProcess("--latency-ms", "150", log=tmp_path / "requests.jsonl") as server:
        config = write_config(tmp_path, dev20, server.base_url, concurrency=2)
        assert run(config, out, env).returncode == 0
        first = assert_one_whole_record(out / "srv")
        process = start(config, out, env, "--fresh")
        while len(server.chat_requests()) < N_ITEMS + 4:
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
        assert process.returncode == 130
        assert assert_one_whole_record(out / "srv") == first
        asked = len(server.chat_requests())
        assert run(config, out, env, "--fresh").returncode == 0
        assert len(server.chat_requests()) - asked == N_ITEMS
    assert assert_one_whole_record(out / "srv") == first  # same model, same answers: the same record


def test_a_second_run_on_a_held_folder_is_refused_at_once_naming_the_holder(tmp_path, dev20, env):
    out = tmp_path / "runs"
    with ServerProcess("--latency-ms", "300", log=tmp_path / "requests.jsonl") as server:
        config = write_config(tmp_path, dev20, server.base_url, concurrency=2)
        first = start(config, out, env)
        while not server.chat_requests():
            time.sleep(0.05)
        began = time.time()
        second = run(config, out, env)
        refused_in = time.time() - began
        first.communicate(timeout=120)
        assert first.returncode == 0
        assert len(server.chat_requests()) == N_ITEMS  # nobody paid twice
    assert second.returncode == 2 and refused_in < 30
    assert len(second.stderr.strip().split("\n")) == 1
    assert f"error: {out / 'srv'}: another run is writing this folder: pid {first.pid} on " in second.stderr
    assert_one_whole_record(out / "srv")
    assert not list(out.glob(".srv.*"))  # the lock goes with its holder


def test_a_lock_left_by_a_killed_run_does_not_block_the_next(tmp_path, dev20, env):
    out = tmp_path / "runs"
    with ServerProcess("--latency-ms", "200", log=tmp_path / "requests.jsonl") as server:
        config = write_config(tmp_path, dev20, server.base_url, concurrency=1)
        killed = start(config, out, env)
        while not server.chat_requests():
            time.sleep(0.05)
        killed.kill()
        killed.communicate()
        assert (out / ".srv.lock").exists()  # left behind, but no longer held
        result = run(config, out, env)
    assert result.returncode == 0, result.stderr
    assert_one_whole_record(out / "srv")


def test_a_swap_cut_short_is_repaired_by_the_next_writer(tmp_path):
    """kill -9 between the two renames of the portable swap leaves the old record set aside and
    no folder: the next holder of the lock puts it back."""
    folder = tmp_path / "runs" / "x"
    write(folder, run_info("x"), {"char": CHAR_ZERO}, [], [])
    fingerprint = read_record(folder).fingerprint
    folder.rename(tmp_path / "runs" / ".x.previous")
    (tmp_path / "runs" / ".x.staging").mkdir()
    with hold(folder):
        assert read_record(folder).fingerprint == fingerprint
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["x"]


def test_a_partial_run_gets_its_own_folder_and_leaves_the_complete_one_alone(tmp_path, cli_env):
    out = tmp_path / "runs"
    config = stored_config(tmp_path, "llm", "nacgec-dev", Path("llm-goodgap"), "scoring: {levels: [char]}\n"
                           "report: {label: GrammarGPT}\n")
    assert run(config, out, cli_env).returncode == 0
    complete = {p.name: p.read_bytes() for p in (out / "llm").iterdir()}
    partial = run(config, out, cli_env, "--limit", "20")
    assert partial.returncode == 0 and f"results: {out / 'llm.limit-20'}" in partial.stdout
    assert {p.name: p.read_bytes() for p in (out / "llm").iterdir()} == complete
    assert read_record(out / "llm.limit-20").dataset.run_items == 20
    rows = json.loads(run_cli(["table", "--runs", str(out), "--format", "json"], cli_env).stdout)["rows"]
    grammargpt = [r for r in rows if r["Model"] == "GrammarGPT"]
    assert [r["Row"] for r in grammargpt] == ["reported", "reproduced (llm)", "difference (llm)",
                                              "not a reproduction (llm.limit-20)"]
    assert grammargpt[3]["Note"] == "partial run (20 of 500 sentences)"
    bad = run(config, out, cli_env, "--limit", "0")
    assert bad.returncode == 2 and "--limit: expected a whole number >= 1, got '0'" in bad.stderr


# --------------------------------------------------------------------------------------------
# Readers refuse what is not one whole record


def test_a_folder_that_mixes_two_runs_is_refused_by_every_reader(tmp_path, cli_env):
    out = tmp_path / "runs"
    for name, limit in (("a", "30"), ("b", "40")):
        config = stored_config(tmp_path, name, "nacgec-dev", Path("llm-goodgap"), "scoring: {levels: [char]}\n")
        assert run(config, out, cli_env, "--limit", limit).returncode == 0
    a, b = out / "a.limit-30", out / "b.limit-40"
    shutil.copy(b / "metrics.json", a / "metrics.json")
    for command in (["table", "--runs", str(out)], ["show", str(a), "--id", "1"], ["compare", str(a), str(a)]):
        result = run_cli(command, cli_env)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert result.stderr.strip() == f"error: {a / 'metrics.json'}: does not belong to this run's record (its " \
                                        f"sha256 differs from the one in manifest.json): the folder mixes two " \
                                        f"runs; run the config again"


def test_a_folder_of_an_older_schema_is_refused_saying_which(tmp_path, cli_env):
    folder = tmp_path / "runs" / "old"
    folder.mkdir(parents=True)
    (folder / MANIFEST).write_text(json.dumps({"run": "old", "dataset": {"name": "nacgec-dev"}}), encoding="utf-8")
    result = run_cli(["compare", str(folder), str(folder)], cli_env)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {folder / MANIFEST}: written by an older cgec-harness (run record " \
                                    "schema 1; this version reads schema 3): run its config again to rewrite it"


# --------------------------------------------------------------------------------------------
# The committed records, as a fresh clone has them


def fresh_clone_of_runs(tmp_path: Path) -> Path:
    """results/runs with only what git tracks (no predictions of stored systems)."""
    tracked = subprocess.run(["git", "ls-files", "results/runs"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    for relpath in tracked:
        target = tmp_path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / relpath, target)
    return tmp_path / "results" / "runs"


def test_make_demo_on_a_fresh_clone_changes_no_committed_file(tmp_path, cli_env):
    runs = fresh_clone_of_runs(tmp_path)
    committed = {p.name: p.read_bytes() for p in (runs / "llm-stored").iterdir()}
    result = run_cli(["run", "--config", "configs/llm-stored.yaml", "--out", str(runs), "--no-progress"], cli_env)
    assert result.returncode == 0, result.stderr
    assert "(unchanged: it already holds this record" in result.stdout
    after = {p.name: p.read_bytes() for p in (runs / "llm-stored").iterdir()}
    assert {name: after[name] for name in committed} == committed
    assert set(after) - set(committed) == {HYPOTHESES, PREDICTIONS}  # restored, and ignored by git
    ignored = subprocess.run(["git", "check-ignore", "results/runs/llm-stored/predictions.jsonl",
                              "results/runs/llm-stored/hypotheses.txt"], cwd=REPO, capture_output=True, text=True)
    assert ignored.returncode == 0


def test_compare_and_show_work_on_the_committed_runs_of_a_fresh_clone(tmp_path, cli_env):
    runs = fresh_clone_of_runs(tmp_path)
    compared = run_cli(["compare", str(runs / "llm-stored"), str(runs / "local-gemma"), "--bootstrap", "100"], cli_env)
    assert compared.returncode == 0, compared.stderr
    assert "llm-stored: predictions.jsonl is not in its folder" in compared.stdout
    assert "## char level by NaCGEC error type" in compared.stdout
    shown = run_cli(["show", str(runs / "local-gemma"), "--id", "1"], cli_env)
    assert shown.returncode == 0, shown.stderr
    assert "raw output" in shown.stdout and "counts against reference" in shown.stdout
    missing = run_cli(["show", str(runs / "llm-stored"), "--id", "1"], cli_env)
    assert missing.returncode == 2
    assert "predictions.jsonl is not in its folder (the outputs of stored systems are not committed); run its " \
           "config again to restore it: `python -m harness run --config configs/llm-stored.yaml`" in missing.stderr

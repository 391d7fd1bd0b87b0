"""Past one machine: a local Dask cluster of two worker processes on 127.0.0.1, reached by its
scheduler's address as a remote one would be (`--dask`), gives `annotate` and `score` exactly
the bytes and counts they give with local processes."""

from __future__ import annotations

import json

import pytest

from support import run_cli

distributed = pytest.importorskip("distributed", reason="the `dask` extra is not installed")

pytestmark = [pytest.mark.slow, pytest.mark.golden]


@pytest.fixture(scope="module")
def scheduler() -> str:
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                       dashboard_address=None, worker_dashboard_address=None)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def test_annotate_on_dask_equals_cherrant_byte_for_byte(scheduler, shared_data, golden, cli_env, tmp_path):
    out = tmp_path / "ref.char.m2"
    result = run_cli(["annotate", shared_data / "nacgec" / "nacgec.dev.ref.para", "-o", out, "--dask", scheduler,
                      "--chunk", 60, "--quiet"], cli_env)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == (golden / "ref.char.m2").read_bytes()


def test_scoring_on_dask_gives_the_local_counts_and_m2(scheduler, golden, cli_env, tmp_path):
    hyp = golden / "hyp.mix.txt"
    runs = {}
    for where, extra in (("dask", ["--dask", scheduler]), ("local", ["--jobs", "2"])):
        m2_dir = tmp_path / where
        result = run_cli(["score", "--hyp", hyp, "--ref", "nacgec-dev", "--level", "char", "--json", "--no-cache",
                          "--m2-out", m2_dir, *extra], cli_env)
        assert result.returncode == 0, result.stderr
        runs[where] = json.loads(result.stdout), m2_dir
    (dask_json, dask_dir), (local_json, local_dir) = runs["dask"], runs["local"]
    assert dask_json == local_json
    assert (dask_json["char"]["tp"], dask_json["char"]["fp"], dask_json["char"]["fn"]) == (316, 203, 239)
    for name in ("hyp.char.m2", "ref.char.m2"):
        assert (dask_dir / name).read_bytes() == (local_dir / name).read_bytes() == (golden / name.replace(
            "hyp.", "hyp.mix.")).read_bytes()


def test_word_level_on_dask_segments_there_and_gives_the_local_counts(scheduler, golden, cli_env, tmp_path):
    hyp = golden / "hyp.mix.txt"
    runs = {}
    for where, extra in (("dask", ["--dask", scheduler]), ("local", ["--jobs", "2"])):
        result = run_cli(["score", "--hyp", hyp, "--ref", "nacgec-dev", "--level", "word", "--json", "--no-cache",
                          *extra], cli_env)  # no cache: every sentence is segmented, there or here
        assert result.returncode == 0, result.stderr
        runs[where] = json.loads(result.stdout)
    assert runs["dask"] == runs["local"]
    gold = json.loads((golden / "scores.json").read_text(encoding="utf-8"))["mix"]["word_maxmatch_thulac"]
    word = runs["dask"]["word"]
    assert (word["tp"], word["tp"] + word["fp"], word["tp"] + word["fn"]) == (
        gold["correct_edits"], gold["proposed_edits"], gold["gold_edits"])


def test_an_unreachable_scheduler_is_a_harness_error():
    from harness.core.errors import HarnessError
    from harness.scoring.executor import dask_executor

    with pytest.raises(HarnessError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        with dask_executor("tcp://127.0.0.1:9", timeout=2):
            pass

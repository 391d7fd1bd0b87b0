"""`run --benchmarks` end to end through `harness.cli.main`: against the local OpenAI-compatible
test server on small slices (`--limit`), and with stored outputs given per benchmark (MuCGEC's
published example prediction); then `table --suite` over the records written."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from harness.benchmarks import load_benchmark
from harness.data.manifest import DataSettings
from harness.record import read_record
from harness.record.store import hold
from support import one_line_error, run, run_cli, write_config
from tests.servers.server_process import ServerProcess

pytestmark = pytest.mark.slow  # end-to-end runs over several benchmarks

SUITE = ("nacgec-dev", "mucgec-dev", "nlpcc18-test", "fcgec-valid", "sighan15-test", "mucgec-test")
LIMIT = 6
CSC_SYSTEM = "只改错别字，不增删字。"
EXAMPLE = "MuCGEC example prediction (example_pred_dev.txt)"


@pytest.fixture(scope="module")
def benchmarks(shared_data: Path, tmp_path_factory) -> dict:
    settings = DataSettings(data_dir=shared_data, cache_dir=tmp_path_factory.mktemp("suite-cache"))
    return {name: load_benchmark(name, settings, progress=False) for name in SUITE}


def _suite(config: Path, out: Path, env: dict[str, str], *extra: str):
    return run(config, out, env, "--benchmarks", ",".join(SUITE), "--limit", str(LIMIT), *extra)


def _systems(server: ServerProcess) -> list[str]:
    return [request["body"]["messages"][0]["content"] for request in server.chat_requests()]


def test_a_run_over_benchmarks_writes_one_record_each_with_a_shared_cache(tmp_path, dev20, env, benchmarks) -> None:
    out = tmp_path / "runs"
    with ServerProcess(log=tmp_path / "requests.jsonl") as server:
        config = write_config(tmp_path, dev20, server.base_url,
                              extra=f'prompts:\n  csc: {{system: "{CSC_SYSTEM}", user: "改错字：\\n{{source}}"}}\n')
        first = _suite(config, out, env)
        assert first.returncode == 0, first.stdout + first.stderr
        systems = _systems(server)
        again = _suite(config, out, env)
        assert again.returncode == 0, again.stdout + again.stderr
        # One cache for the whole suite: MuCGEC test opens with NLPCC 2018 test's sentences, so they are
        # asked once; the second run is answered by the cache alone.
        distinct = {(b.spec.task, item.source) for b in benchmarks.values() for item in b.items[:LIMIT]}
        assert len(server.chat_requests()) == len(systems) == len(distinct) < LIMIT * len(SUITE)
    assert f"{LIMIT} items: 0 sent, {LIMIT} cached" in first.stdout.split("mucgec-test (gec")[1]
    # Each task family's prompt: CSC's from `prompts.csc`, GEC's from the config's own `prompt:`.
    assert systems.count(CSC_SYSTEM) == LIMIT and systems.count("你是一个汉语语法纠错器。") == len(distinct) - LIMIT
    for name, benchmark in benchmarks.items():
        folder = out / f"srv@{name}.limit-{LIMIT}"
        record = read_record(folder)
        block = record.metrics.benchmark
        assert block is not None and block.name == name and block.protocol == benchmark.spec.protocol.name
        assert record.dataset.sha256 == benchmark.sha256 and record.dataset.sentences == len(benchmark.items)
        assert record.dataset.run_items == LIMIT and record.partial and record.manifest.model.backend == "openai"
        assert [p.id for p in record.require_predictions()] == [item.id for item in benchmark.items[:LIMIT]]
        assert f"{LIMIT} items: 0 sent, {LIMIT} cached" in again.stdout
    assert again.stdout.count("unchanged: it already holds this record") == len(SUITE)
    _check_protocol_figures(out, benchmarks)


def _check_protocol_figures(out: Path, benchmarks: dict) -> None:
    """What each record carries for the suite table (the test model answers with the source)."""
    nlpcc18 = read_record(out / f"srv@nlpcc18-test.limit-{LIMIT}").metrics
    assert nlpcc18.benchmark.official is False and any("unofficial segmentation" in n for n in nlpcc18.benchmark.notes)
    assert nlpcc18.word is not None and nlpcc18.char is not None and nlpcc18.char.tp == 0
    nacgec = read_record(out / f"srv@nacgec-dev.limit-{LIMIT}").metrics
    assert nacgec.nlpcc2023 == 0 and nacgec.benchmark.figures["exact_match.total"] == LIMIT
    fcgec = read_record(out / f"srv@fcgec-valid.limit-{LIMIT}").metrics
    correct = LIMIT - sum(benchmarks["fcgec-valid"].gold.erroneous[:LIMIT])
    assert fcgec.char.outcomes.unscored == correct  # the protocol scores only the erroneous sentences
    assert fcgec.benchmark.figures["detection.tn"] == correct
    sighan = read_record(out / f"srv@sighan15-test.limit-{LIMIT}").metrics
    assert sighan.char is None and sighan.benchmark.task == "csc"
    assert sighan.benchmark.figures["length_mismatch"] == 0 and sighan.benchmark.headline == "sentence.correction.f1"
    test = read_record(out / f"srv@mucgec-test.limit-{LIMIT}")
    assert test.metrics.benchmark.references is False and test.metrics.benchmark.submission is None
    assert not (test.path / "MuCGEC_test.txt").exists()  # a partial run writes no submission file


def test_a_suite_run_is_refused_at_once_when_one_of_its_folders_is_locked(tmp_path, dev20, env) -> None:
    out = tmp_path / "runs"
    with ServerProcess(log=tmp_path / "requests.jsonl") as server:
        config = write_config(tmp_path, dev20, server.base_url)
        with hold(out / f"srv@sighan15-test.limit-{LIMIT}", command="another run"):
            result = _suite(config, out, env)
        one_line_error(result, "another run is writing this folder", "another run", starts="error: ")
        assert server.chat_requests() == []
    assert not any(path.name.startswith("srv@") for path in out.iterdir())


def test_stored_outputs_per_benchmark_and_the_suite_table(tmp_path, cli_env, benchmarks, shared_data) -> None:
    sources = tmp_path / "mucgec-test.txt"
    sources.write_text("".join(item.source + "\n" for item in benchmarks["mucgec-test"].items), encoding="utf-8")
    targets = tmp_path / "sighan15.jsonl"
    sighan = benchmarks["sighan15-test"]
    targets.write_text("".join(json.dumps({"id": item.id, "prediction": target}, ensure_ascii=False) + "\n"
                               for item, target in zip(sighan.items, sighan.gold.targets)), encoding="utf-8")
    config = tmp_path / "stored.yaml"
    config.write_text(f"""name: example
dataset: nacgec-dev
model:
  backend: stored
  predictions:
    mucgec-dev: mucgec/example_pred_dev.txt
    mucgec-test: {sources}
    sighan15-test: {targets}
cleaning: {{enabled: false}}
report: {{label: "{EXAMPLE}"}}
""", encoding="utf-8")
    out = tmp_path / "runs"
    result = run_cli(["run", "--config", config, "--benchmarks", "mucgec-dev,mucgec-test,sighan15-test", "--out", out,
                      "--no-progress"], cli_env)
    assert result.returncode == 0, result.stdout + result.stderr
    dev = read_record(out / "example@mucgec-dev").metrics
    assert (dev.char.tp, dev.char.fp, dev.char.fn) == (1084, 1635, 3003)
    assert round(dev.benchmark.headline_value, 4) == 0.3622
    test = read_record(out / "example@mucgec-test")
    submission = (test.path / "MuCGEC_test.txt").read_text(encoding="utf-8")
    assert len(submission.splitlines()) == 6000 and submission.startswith("1\t")
    assert test.metrics.benchmark.submission.sha256 == hashlib.sha256(submission.encode("utf-8")).hexdigest()
    # The references as outputs score 100: cleaning keeps the ideographic space (U+3000) that SIGHAN 15
    # item 212's source has, so the output keeps its length and is not counted as changed.
    csc = read_record(out / "example@sighan15-test")
    assert [p.id for p in csc.require_predictions() if p.prediction != p.raw or p.cleaning] == []
    assert "\u3000" in next(p.prediction for p in csc.require_predictions() if p.id == "212")
    assert csc.metrics.benchmark.headline_value == 1
    table = run_cli(["table", "--suite", "--runs", out], cli_env)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    reproduced = next(i for i, line in enumerate(lines) if "| reproduced (example)" in line)
    assert lines[reproduced - 1].startswith(f"| {EXAMPLE}") and "| reported" in lines[reproduced - 1]
    assert lines[reproduced - 1].count("36.22") == 1 and lines[reproduced].count("36.22") == 1
    assert "no references" in lines[reproduced] and "100.00" in lines[reproduced]
    for fmt in ("csv", "latex"):
        rendered = run_cli(["table", "--suite", "--runs", out, "--format", fmt], cli_env)
        assert rendered.returncode == 0 and "no references" in rendered.stdout and "36.22" in rendered.stdout


def _segmented_outputs(gold: Path, count: int) -> str:
    """The first `count` sentences of gold.01 as a word-segmented system would write them: each S
    line's tokens (the uncorrected input, segmented as the gold is), one sentence a line."""
    blocks = gold.read_text(encoding="utf-8").split("\n\n")
    return "".join(block.split("\n")[0][2:] + "\n" for block in blocks[:count])


def test_segmented_outputs_are_scored_against_nlpcc18_gold_as_given_and_officially(tmp_path, cli_env,
                                                                                     shared_data) -> None:
    """`model.segmented`: the outputs' spaces are the segmentation M2Scorer scores (official: no
    segmenter of ours stands in for PKUNLP); nothing cleans them away; another benchmark is refused."""
    outputs = tmp_path / "segmented.txt"
    outputs.write_text(_segmented_outputs(shared_data / "nlpcc18" / "gold.01", 2000), encoding="utf-8")
    config = tmp_path / "seg.yaml"
    config.write_text(f"name: seg\ndataset: nacgec-dev\nmodel: {{backend: stored, segmented: true, predictions: "
                      f"{{nlpcc18-test: '{outputs}'}}}}\n", encoding="utf-8")
    out = tmp_path / "runs"
    result = run(config, out, cli_env, "--benchmarks", "nlpcc18-test", "--limit", "40")
    assert result.returncode == 0, result.stdout + result.stderr
    record = read_record(out / "seg@nlpcc18-test.limit-40")
    benchmark = record.metrics.benchmark
    assert benchmark is not None and benchmark.official
    assert "tok:given" in benchmark.scorer_signatures["word"] and "protocol:official" in benchmark.scorer_signatures["word"]
    assert not any("unofficial segmentation" in note for note in benchmark.notes)
    assert all(" " in line.prediction for line in record.predictions)  # the segmentation is kept
    assert benchmark.figures["word.tp"] == 0  # the inputs themselves: nothing corrected
    refused = run(config, out, cli_env, "--benchmarks", "mucgec-dev", "--limit", "5")
    one_line_error(refused, "model.segmented", "mucgec-dev has no segmented gold")
    single = tmp_path / "seg-one-file.yaml"
    single.write_text(f"name: seg1\ndataset: nacgec-dev\nmodel: {{backend: stored, segmented: true, predictions: "
                      f"'{outputs}'}}\n", encoding="utf-8")
    one_line_error(run(single, out, cli_env), "model.segmented", "only `run --benchmarks nlpcc18-test`")

"""The HTML report: escaping, self-containment, determinism, the builder's checks and numbers,
and `harness report` on a run folder. The browser tests are in test_report_browser.py."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html import unescape
from dataclasses import replace
from pathlib import Path

import pytest

from support import run_cli
from harness.core.errors import HarnessError
from harness.reports.html.build import RunInputs, build_report
from harness.reports.html.model import Identity, MarkView, MetricRow, ReportView, RunView, SentenceView
from harness.reports.html.render import render, script_json
from metrics.chunks import ChunkCounts
from metrics.outcomes import OUTCOMES, OVER_CORRECTED, outcome_counts

HOSTILE = "<script>alert(1)</script></textarea></script><img src=x onerror=alert(1)><!-- &amp; \u2028"

# The hand-built set of the browser tests: every outcome, a hostile prediction, cleaning flags.
HAND_BUILT = [  # (source, hypothesis, references, raw output, flags)
    ("我今天去了学校。", "我今天去了学校。", ["我今天去了学校。"], "我今天去了学校。", ()),
    ("我今天去了学校。", "我今天去学校了。", ["我今天去了学校。"], "修改后：我今天去学校了。", ("prefix",)),
    ("他跑的很快。", "他跑得很快。", ["他跑得很快。"], "他跑得很快。", ()),
    ("他跑的很快，我走的很慢。", "他跑得很快，我走的很慢。", ["他跑得很快，我走得很慢。"], "他跑得很快，我走的很慢。", ()),
    ("他跑的很快。", "她跑的很快。", ["他跑得很快。"], "她跑的很快。", ()),
    ("他跑的很快。", "他跑的很快。", ["他跑得很快。"], "没有错误", ("no_error_fallback",)),
    ("这句话无法改。", "这句话无法改。", ["无法标注"], "这句话无法改。", ()),
    ("我喜欢看书。", HOSTILE + "我喜欢看书。", ["我喜欢看书。"], HOSTILE, ("markdown",)),
]


def hand_built_inputs(name: str = "hand", repeat: int = 1, hypotheses: list[str] | None = None) -> RunInputs:
    rows = HAND_BUILT * repeat
    return RunInputs(
        name=name, sources=tuple(r[0] for r in rows),
        hypotheses=tuple(hypotheses or [r[1] for r in rows]), references=tuple(tuple(r[2]) for r in rows),
        ids=tuple(f"s{k + 1}" for k in range(len(rows))), raw_outputs=tuple(r[3] for r in rows),
        flags=tuple(r[4] for r in rows), model="hand-model@test", dataset="hand-built", dataset_sha256="0" * 64,
        date="2026-01-01T00:00:00+00:00", cost_usd=0.0123)


def settings_for(shared_data: Path, cache: Path):
    from harness.data.manifest import DataSettings

    return DataSettings(data_dir=shared_data, cache_dir=cache)


# --------------------------------------------------------------------------------------------
# Rendering a view model (no scorer)


def tiny_report(run_name: str = "tiny", hypothesis: str = HOSTILE) -> ReportView:
    sentence = SentenceView(index=0, id="1", source="我喜欢看书。", aligned_source="我喜欢看书。", hypothesis=hypothesis,
                            reference="我喜欢看书。", references=("我喜欢看书。",),
                            marks=(MarkView("fp", 0, 0, "", hypothesis, ("M",)),), flags=("markdown",), raw=hypothesis,
                            error=None, outcome=OVER_CORRECTED, counts={"char": (0, 1, 0)})
    run = RunView(identity=Identity(run_name, "m", "d", "0" * 64, {"char": "level:char"}),
                  metrics=(MetricRow("char", 0, 1, 0, 0.0, 1.0, 0.0, None, "level:char"),),
                  outcomes={"char": outcome_counts([OVER_CORRECTED])}, fp_by_operation={"M": 1},
                  fp_by_type={"char": {"M": 1}}, chunks=ChunkCounts(over=1), figures=(), sentences=(sentence,))
    return ReportView(title=f"report of {run_name}", runs=(run,))


def _without_data(html: str) -> str:
    return re.sub(r'<script type="application/json" id="report-data">.*?</script>', "", html, flags=re.S)


def test_script_json_cannot_end_its_script_element_and_reads_back() -> None:
    data = {"text": HOSTILE, "more": "a & b > c"}
    text = script_json(data)
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == data


def test_data_reaches_the_page_only_inside_its_json_block() -> None:
    html = render(tiny_report())
    data = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S).group(1)
    assert "<" not in data and json.loads(data)["runs"][0]["sentences"][0]["hyp"] == HOSTILE
    assert "alert(1)" not in _without_data(html)
    assert html.count("<script") == 2  # the data block and our own script


def test_every_text_in_the_template_is_escaped() -> None:
    html = render(tiny_report(run_name="<b>run</b> & co"))
    assert "&lt;b&gt;run&lt;/b&gt; &amp; co" in html and "<b>run</b>" not in html


def test_the_page_has_no_inline_handler_and_fetches_nothing() -> None:
    page = _without_data(render(tiny_report()))
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", page)
    assert not re.search(r"""(src|href|action)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(" not in page


def test_only_our_script_and_style_may_run_by_their_hashes() -> None:
    html = render(tiny_report())
    script = html.rsplit("<script>", 1)[1].split("</script>", 1)[0]
    style = html.split("<style>", 1)[1].split("</style>", 1)[0]
    policy = unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html).group(1))

    def digest(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    assert f"script-src {digest(script)}" in policy and f"style-src {digest(style)}" in policy
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy


def test_the_same_view_model_renders_the_same_bytes() -> None:
    assert render(tiny_report()) == render(tiny_report())


# --------------------------------------------------------------------------------------------
# The builder


def test_inputs_of_different_lengths_are_one_error_naming_the_run() -> None:
    inputs = RunInputs("r", ("a。", "b。"), ("a。",), (("a。",), ("b。",)), path="runs/r")
    with pytest.raises(HarnessError, match="1 hypotheses for 2 sources") as error:
        inputs.check()
    assert error.value.path == "runs/r"


def test_runs_over_different_datasets_are_refused(tmp_path) -> None:
    a = hand_built_inputs("a")
    b = RunInputs("b", a.sources, a.hypotheses, a.references, dataset="other", dataset_sha256="1" * 64, path="runs/b")
    with pytest.raises(HarnessError, match="different datasets"):
        build_report([a, b], settings=None, levels=("char",))  # refused before any scoring


def test_the_report_of_the_hand_built_set_counts_every_outcome(shared_data, tmp_path) -> None:
    report = build_report([hand_built_inputs()], settings_for(shared_data, tmp_path), levels=("char",),
                          bootstrap=50)
    run = report.runs[0]
    assert [s.outcome for s in run.sentences] == ["kept-correct", "over-corrected", "fixed", "partly-fixed",
                                                  "wrong-fix", "missed", "unscored", "over-corrected"]
    assert sum(run.outcomes["char"].values()) == len(HAND_BUILT) and set(run.outcomes["char"]) == set(OUTCOMES)
    partly = run.sentences[3]
    assert [(m.kind, m.source_text, m.correction) for m in partly.marks] == [("tp", "的", "得"), ("missed", "的", "得")]
    assert run.metrics[0].tp == 2 and run.identity.model == "hand-model@test"
    figures = {f.name: f.value for f in run.figures}
    assert figures["over_correction_share"] == pytest.approx(2 / 3)


def test_two_runs_are_paired_and_their_differing_sentences_counted(shared_data, tmp_path) -> None:
    a = hand_built_inputs("a")
    b = hand_built_inputs("b", hypotheses=[r[0] for r in HAND_BUILT])  # leaves every source as it is
    report = build_report([a, b, a], settings_for(shared_data, tmp_path), levels=("char",), bootstrap=50)
    assert [run.identity.run for run in report.runs] == ["a", "b", "a#2"]
    assert report.differing == 5  # a changed 5 sources; b changed none
    same = next(pair for pair in report.pairs if (pair.a, pair.b) == ("a", "a#2"))
    assert all(row.difference == 0 and row.interval.lo == row.interval.hi == 0 for row in same.rows)
    assert {row.name for row in report.pairs[0].rows} >= {"f0.5-char", "over_correction_share", "fp_per_100_chars"}


def test_the_page_sends_the_dataset_once_for_all_runs(shared_data, tmp_path) -> None:
    from harness.reports.html.render import payload

    a = hand_built_inputs("a")
    b = hand_built_inputs("b", hypotheses=[r[0] for r in HAND_BUILT])
    data = payload(build_report([a, b], settings_for(shared_data, tmp_path), levels=("char",), bootstrap=0))
    assert [s["source"] for s in data["sentences"]] == [r[0] for r in HAND_BUILT]
    assert [s["refs"] for s in data["sentences"]] == [r[2] for r in HAND_BUILT]
    for run in data["runs"]:
        assert all(set(s) & {"source", "id", "refs", "own"} == set() for s in run["sentences"])
        assert [s["ref"] for s in run["sentences"]] == [0, 0, 0, 0, 0, 0, None, 0]  # 无法标注: not scored


def test_given_char_counts_that_the_scorer_does_not_find_are_refused(shared_data, tmp_path) -> None:
    from harness.reports.html.build import LevelScores
    from metrics.score import SentenceScore

    inputs = hand_built_inputs()
    wrong = LevelScores("level:char", tuple(SentenceScore(0, 0, 0, 0) for _ in HAND_BUILT))
    inputs = replace(inputs, scores={"char": wrong}, path="runs/hand")
    with pytest.raises(HarnessError, match="sentence s2 has char counts"):
        build_report([inputs], settings_for(shared_data, tmp_path), levels=("char",), bootstrap=0)


# --------------------------------------------------------------------------------------------
# harness report


def test_report_command_writes_one_page_of_a_run_folder(cli_env, tmp_path) -> None:
    runs = tmp_path / "runs"
    made = run_cli(["run", "--config", "configs/llm-stored.yaml", "--set", "scoring.levels=[char]", "--out", runs],
                   cli_env)
    assert made.returncode == 0, made.stderr
    out = tmp_path / "report.html"
    result = run_cli(["report", runs / "llm-stored", "--out", out, "--bootstrap", "100"], cli_env)
    assert result.returncode == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    assert "nacgec-dev" in html and "level:char|method:cherrant" in html
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', html, re.S).group(1))
    assert len(data["runs"][0]["sentences"]) == 500


def test_the_report_of_a_committed_run_shows_what_its_metrics_json_stores(shared_data, tmp_path) -> None:
    """local-gemma (its predictions are committed), read through the typed record only."""
    from harness.record import read_record
    from harness.reports.html.from_record import report_from_runs

    folder = Path(__file__).resolve().parents[1] / "results" / "runs" / "local-gemma"
    record = read_record(folder)
    (run,) = report_from_runs([str(folder)], settings_for(shared_data, tmp_path), bootstrap=0).runs
    assert run.identity.model == "gemma-3-270m-q4_k_m.gguf@f4df198ba6b870be / gemma-3-270m"
    assert run.identity.date == "2026-12-02T02:22:25Z"
    for level, scores in record.metrics.levels().items():
        assert run.outcomes[level] == scores.outcomes.by_name()
    figures = {row.name: row.value for row in run.figures}
    stored = record.metrics.char.over_correction
    assert round(figures["over_correction_share"], 4) == stored.over_correction_share
    assert round(figures["fp_per_100_chars"], 4) == stored.fp_per_100_chars
    assert run.fp_by_operation == stored.fp_by_operation


def test_report_command_refuses_a_folder_that_is_not_a_run(cli_env, tmp_path) -> None:
    result = run_cli(["report", tmp_path, "--out", tmp_path / "r.html"], cli_env)
    assert result.returncode == 2 and str(tmp_path) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

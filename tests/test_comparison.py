"""`harness.reports.comparison`: loading run directories, paired bootstrap, breakdowns, disagreements,
reports. Run directories are written by hand with small consistent counts; one test compares
real runs when the data mirror is present."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from harness.reports.comparison import compare, load_error_types, plot, to_json, to_markdown
from harness.core.errors import HarnessError
from harness.record.store import read_record as load_run
from metrics.compare import Counts, prf
from record_factory import prediction, run_info, write

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CHAR_SIG = "level:char|method:cherrant|nrefs:1-4|tok:char|version:cgec-harness-0.1.0"
WORD_SIG = "level:word|method:maxmatch|nrefs:1-4|tok:thulac|version:cgec-harness-0.1.0"
SOURCES = ["他跑的很快。", "我今天去了学校。", "天气很好。", "我们应该要努力学习。", "这本书我读过了三遍。",
           "他的成绩提高了很大。"]
TYPES = ["搭配不当", "语序不当", "正确", "成分赘余", "成分赘余"]  # the 6th source has no type: unknown


def write_run(root: Path, name: str, char: list[dict], word: list[tuple[int, int, int]] | None = None,
              dataset: str = "toy", sha256: str = "a" * 64, predictions: list[str] | None = None,
              char_signature: str = CHAR_SIG) -> Path:
    """A run directory written by the run record's writer. `char`: per sentence {type: [tp, fp, fn]}."""
    run = root / name
    n = len(char)
    sources = [SOURCES[i % len(SOURCES)] for i in range(n)]
    predictions = predictions or sources
    rows, char_total, word_total = [], Counts(), Counts()
    by_type: dict[str, list[int]] = {}
    for i, types in enumerate(char):
        counts = Counts(*(sum(v[k] for v in types.values()) for k in range(3)))
        char_total = char_total + counts
        for t, v in types.items():
            slot = by_type.setdefault(t, [0, 0, 0])
            for k in range(3):
                slot[k] += v[k]
        row = {"id": str(i + 1), "char": {"tp": counts.tp, "fp": counts.fp, "fn": counts.fn, "ref": 0,
                                           "types": types}}
        if word is not None:
            w = Counts(*word[i])
            word_total = word_total + w
            row["word"] = {"tp": w.tp, "fp": w.fp, "fn": w.fn, "ref": 0}
        rows.append(row)

    def figures(counts: Counts) -> dict:
        p, r, f = prf(counts)
        return {"tp": counts.tp, "fp": counts.fp, "fn": counts.fn, "precision": round(p, 4),
                "recall": round(r, 4), "f0.5": round(f, 4)}

    metrics: dict = {"char": {**figures(char_total), "signature": char_signature,
                              "by_type": {t: figures(Counts(*v)) for t, v in by_type.items()}},
                     "items": n, "failed": 0, "complete": True}
    if word is not None:
        metrics["word"] = {**figures(word_total), "signature": WORD_SIG, "scorer": "maxmatch", "segmenter": "thulac"}
    lines = [prediction(str(i + 1), s, p) for i, (s, p) in enumerate(zip(sources, predictions))]
    info = run_info(name, {"name": dataset, "path": f"/data/{dataset}.para", "sha256": sha256, "sentences": n,
                           "run_items": n})
    return write(run, info, metrics, rows, lines)


# Sentence by sentence: A corrects 1, 2, 4 fully and leaves 3 alone (correct), misses 5, over-corrects 6.
CHAR_A = [{"R": [1, 0, 0]}, {"W": [1, 0, 0]}, {}, {"M": [2, 0, 0]}, {"R": [0, 0, 1]}, {"S": [0, 2, 0], "R": [0, 0, 1]}]
WORD_A = [(1, 0, 0), (1, 0, 0), (0, 0, 0), (1, 0, 0), (0, 0, 1), (0, 1, 1)]
# B: wrong on 1 and 3, right on 2 (as A) and 5, partial on 4 and 6.
CHAR_B = [{"S": [0, 1, 0], "R": [0, 0, 1]}, {"W": [1, 0, 0]}, {"M": [0, 1, 0]}, {"M": [1, 1, 1]}, {"R": [1, 0, 0]},
          {"R": [1, 1, 0]}]
WORD_B = [(0, 1, 1), (1, 0, 0), (0, 1, 0), (1, 1, 0), (1, 0, 0), (1, 0, 0)]


@pytest.fixture()
def runs(tmp_path: Path):
    return (load_run(write_run(tmp_path, "a", CHAR_A, WORD_A)), load_run(write_run(tmp_path, "b", CHAR_B, WORD_B)))


def test_bootstrap_is_deterministic_for_a_seed_and_changes_with_the_seed(runs):
    first = to_json(compare(list(runs), bootstrap=200, seed=7))
    again = to_json(compare(list(runs), bootstrap=200, seed=7))
    other = to_json(compare(list(runs), bootstrap=200, seed=8))
    assert first == again
    intervals = lambda payload: [payload["levels"]["char"]["scores"][r]["interval"] for r in ("a", "b")]  # noqa: E731
    assert intervals(first) != intervals(other)


def test_a_run_compared_with_itself_differs_by_exactly_zero_and_never_wins(runs):
    comparison = compare([runs[0], runs[0]], bootstrap=300, seed=1)
    for level in comparison.levels:
        (pair,) = level.pairs
        assert (pair.a, pair.b) == ("a", "a#2")
        assert pair.difference == 0.0
        assert (pair.interval.lo, pair.interval.hi) == (0.0, 0.0)
        assert pair.win_share == 0.0


def test_corpus_f_from_sentence_counts_equals_metrics_json(runs):
    comparison = compare(list(runs), bootstrap=0)
    for level in comparison.levels:
        for run, score in zip(runs, level.scores):
            stored = run.metrics.levels()[level.level]
            assert score.counts == stored.counts
            assert round(score.f, 4) == stored.f05
            assert score.interval is None  # bootstrap=0: no resamples, no intervals


def test_edit_type_counts_add_up_to_level_totals(runs):
    comparison = compare(list(runs), bootstrap=0)
    (breakdown,) = comparison.edit_types  # char only: MaxMatch (word) has no edit types
    assert breakdown.level == "char" and breakdown.types == ("M", "R", "S", "W")
    for level_score, (label, per_type) in zip(comparison.levels[0].scores, breakdown.runs.items()):
        summed = sum((s.counts for s in per_type), Counts())
        assert summed == level_score.counts


def test_error_type_counts_add_up_to_totals_and_unknown_sentences_are_reported(tmp_path, runs):
    records = [{"source": " ".join(source), "target": [source], "error_type": t}  # spaces: keys drop whitespace
               for source, t in zip(SOURCES, TYPES)]
    path = tmp_path / "types.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    error_types = load_error_types(path)
    assert error_types[SOURCES[0]] == "搭配不当"
    comparison = compare(list(runs), bootstrap=0, error_types=error_types)
    assert {b.level for b in comparison.error_types} == {"char", "word"}
    for breakdown, level in zip(comparison.error_types, comparison.levels):
        assert breakdown.types == ("语序不当", "搭配不当", "成分赘余", "正确", "unknown")
        for score, per_type in zip(level.scores, breakdown.runs.values()):
            assert sum((s.counts for s in per_type), Counts()) == score.counts
            assert sum(s.sentences for s in per_type) == 6
            assert {s.type: s.sentences for s in per_type}["unknown"] == 1


def test_runs_are_matched_by_dataset_hash_not_by_name(tmp_path):
    a = load_run(write_run(tmp_path, "a", CHAR_A, WORD_A))
    same_data_other_name = load_run(write_run(tmp_path, "b", CHAR_B, WORD_B, dataset="copy-of-toy"))
    assert compare([a, same_data_other_name], bootstrap=0).dataset_sha256 == "a" * 64
    other_file = load_run(write_run(tmp_path, "c", CHAR_B, WORD_B, sha256="b" * 64))
    with pytest.raises(HarnessError, match="different datasets") as error:
        compare([a, other_file], bootstrap=0)
    assert "a (" in error.value.message and "c (" in error.value.message


def test_runs_over_different_sentence_counts_are_refused(tmp_path):
    a = load_run(write_run(tmp_path, "a", CHAR_A, WORD_A))
    short = load_run(write_run(tmp_path, "short", CHAR_B[:4], WORD_B[:4]))
    with pytest.raises(HarnessError, match="different numbers of sentences: 6 vs 4"):
        compare([a, short], bootstrap=0)


def test_runs_with_different_signatures_are_refused_naming_the_difference(tmp_path):
    a = load_run(write_run(tmp_path, "a", CHAR_A, WORD_A))
    b = load_run(write_run(tmp_path, "b", CHAR_B, WORD_B, char_signature=CHAR_SIG.replace("nrefs:1-4", "nrefs:1")))
    with pytest.raises(HarnessError, match=r"char scores of a and b are not comparable.*nrefs:1-4 vs nrefs:1\)"):
        compare([a, b], bootstrap=0)


def test_disagreement_ranks_one_right_one_wrong_above_both_agreeing(runs):
    comparison = compare(list(runs), bootstrap=0, top=10,
                         references=[(f"ref {i}",) for i in range(6)])
    ids = [d.id for d in comparison.disagreements]
    # Sentences 1, 3, 5: one run right (F 1), the other wrong (F 0); ties in dataset order.
    assert ids[:3] == ["1", "3", "5"]
    assert "2" not in ids  # both runs right: no disagreement
    first = comparison.disagreements[0]
    assert first.spread == 1.0 and first.references == ("ref 0",)
    assert [e.run for e in first.runs] == ["a", "b"]
    assert first.runs[1].counts["char"] == Counts(0, 1, 1)
    assert len(compare(list(runs), bootstrap=0, top=2).disagreements) == 2


def test_outcome_counts_per_run_add_up_and_follow_the_sentence_counts(runs):
    comparison = compare(list(runs), bootstrap=0)
    char = next(oc for oc in comparison.outcomes if oc.level == "char")
    a, b = char.runs
    assert (a.counts["fixed"], a.counts["kept-correct"], a.counts["missed"], a.counts["wrong-fix"]) == (3, 1, 1, 1)
    assert (b.counts["wrong-fix"], b.counts["fixed"], b.counts["over-corrected"], b.counts["partly-fixed"]) == \
        (1, 2, 1, 2)
    assert sum(a.counts.values()) == sum(b.counts.values()) == comparison.sentences == 6
    assert [oc.level for oc in comparison.outcomes] == ["char", "word"]


def test_over_correction_differences_are_paired_bootstrap_intervals(runs):
    comparison = compare(list(runs), bootstrap=300, seed=2)
    char = next(oc for oc in comparison.outcomes if oc.level == "char")
    characters = sum(len(s) for s in SOURCES)  # the toy runs' six sources
    assert char.runs[0].figures == {"over_correction_share": 0.0, "fp_per_100_chars": pytest.approx(200 / characters)}
    assert char.runs[1].figures == {"over_correction_share": 1.0, "fp_per_100_chars": pytest.approx(400 / characters)}
    share, per_100 = char.pairs
    assert (share.a, share.b, share.figure, share.difference) == ("a", "b", "over_correction_share", -1.0)
    assert per_100.difference == pytest.approx(-200 / characters)
    for d in char.pairs:
        assert d.interval.lo <= d.difference <= d.interval.hi and 0.0 <= d.a_higher_share <= 1.0
    assert compare(list(runs), bootstrap=300, seed=2).outcomes == comparison.outcomes  # deterministic
    payload = to_json(comparison)["outcomes"]["char"]
    assert payload["runs"]["b"]["outcomes"]["over-corrected"] == 1
    assert payload["pairs"][1]["interval"] == [round(per_100.interval.lo, 4), round(per_100.interval.hi, 4)]
    text = to_markdown(comparison)
    assert "## char level: sentence outcomes and over-correction" in text
    assert f"| a   | b   | FP per 100 chars       | {200 / characters:.2f}" in text


def test_without_sources_there_is_no_fp_rate_and_a_note_says_so(runs):
    bare = [dataclasses.replace(run, predictions=None) for run in runs]
    comparison = compare(bare, bootstrap=20)
    char = comparison.outcomes[0]
    assert [d.figure for d in char.pairs] == ["over_correction_share"]
    assert char.runs[0].figures["fp_per_100_chars"] is None
    assert any("per 100 source characters" in note for note in comparison.notes)


def test_reports_round_floats_sort_keys_and_print_percentages(runs):
    comparison = compare(list(runs), bootstrap=50, seed=3)
    payload = to_json(comparison)
    assert list(payload) == sorted(payload)
    assert json.loads(json.dumps(payload)) == payload
    score = payload["levels"]["char"]["scores"]["a"]
    assert score["f0.5"] == round(comparison.levels[0].scores[0].f, 4)
    text = to_markdown(comparison)
    assert f"{100 * comparison.levels[0].scores[0].f:.2f}" in text
    lo, hi = comparison.levels[0].scores[0].interval.lo, comparison.levels[0].scores[0].interval.hi
    assert f"[{100 * lo:.2f}, {100 * hi:.2f}]" in text


def test_missing_or_invalid_run_files_raise_harness_errors(tmp_path):
    run = write_run(tmp_path, "a", CHAR_A, WORD_A)
    (run / "sentences.jsonl").write_text('{"id": "1", "char": \n', encoding="utf-8")
    with pytest.raises(HarnessError, match="the folder mixes two runs") as error:
        load_run(run)
    assert error.value.path == str(run / "sentences.jsonl")
    (run / "metrics.json").unlink()
    with pytest.raises(HarnessError, match="missing: a run folder needs manifest.json, metrics.json") as error:
        load_run(run)
    assert error.value.path == str(run / "metrics.json")


def test_plot_writes_a_png(tmp_path, runs):
    pytest.importorskip("matplotlib")
    out = tmp_path / "pr.png"
    plot(compare(list(runs), bootstrap=0), out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.skipif(not (SHARED_DATA / "nacgec" / "nacgec.dev.ref.para").is_file(),
                    reason=f"data mirror not found at {SHARED_DATA}")
def test_real_runs_compare_consistently_with_their_metrics(tmp_path):
    from harness.config.schema import load_config
    from harness.data.manifest import DataSettings
    from harness.data.inputs import load_references
    from harness.run.execute import RunOptions, execute

    dev = SHARED_DATA / "nacgec" / "nacgec.dev.ref.para"
    lines = dev.read_text(encoding="utf-8").splitlines()
    fixed = tmp_path / "half-fixed.txt"
    fixed.write_text("".join((f.split("\t")[2] if i % 2 == 0 else f.split("\t")[1]) + "\n"
                             for i, f in enumerate(lines)), encoding="utf-8")
    settings = DataSettings(data_dir=SHARED_DATA, cache_dir=tmp_path / "cache")
    options = RunOptions(out_root=tmp_path / "runs", limit=60, progress=False)
    for name, predictions in (("llm", "llm-goodgap"), ("half", str(fixed))):
        config = tmp_path / f"{name}.yaml"
        config.write_text(f"name: {name}\ndataset: nacgec-dev\n"
                          f"model: {{backend: stored, predictions: '{predictions}'}}\n"
                          "scoring: {levels: [char]}\n", encoding="utf-8")
        assert execute(load_config(config), settings, options) == 0
    runs = [load_run(tmp_path / "runs" / f"{name}.limit-60") for name in ("llm", "half")]
    references = list(load_references(dev).targets[:60])
    comparison = compare(runs, bootstrap=200, references=references,
                         error_types=load_error_types(SHARED_DATA / "nacgec" / "nacgec_all_type.json"))
    (level,) = comparison.levels
    for run, score in zip(runs, level.scores):
        assert round(score.f, 4) == run.metrics.char.f05
        assert score.interval.lo <= score.f <= score.interval.hi
    assert level.pairs[0].difference < 0 and level.pairs[0].win_share < 0.05  # half-fixed is far better
    (outcomes,) = comparison.outcomes  # as metrics.json stores them (sources: the runs' predictions)
    for run, counted in zip(runs, outcomes.runs):
        assert counted.counts == run.metrics.char.outcomes.by_name()
        stored = run.metrics.char.over_correction
        assert round(counted.figures["fp_per_100_chars"], 4) == stored.fp_per_100_chars
        share = counted.figures["over_correction_share"]
        assert (None if share is None else round(share, 4)) == stored.over_correction_share
    assert comparison.disagreements and comparison.disagreements[0].references is not None


def test_plot_without_matplotlib_says_how_to_install_it(tmp_path, runs, monkeypatch):
    import sys

    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    with pytest.raises(HarnessError, match=r"matplotlib is not installed: pip install 'cgec-harness\[plot\]'"):
        plot(compare(list(runs), bootstrap=0), tmp_path / "pr.png")
    assert not (tmp_path / "pr.png").exists()

"""The benchmark suite end to end: the registry and its errors, each loader's counts (MANIFEST.md),
every protocol checked with the references and the sources as outputs, MuCGEC's published
example prediction, malformed files refused in one error, `cite`, `list` and the download notice."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from harness.benchmarks import load_benchmark, load_registry, score_benchmark, submission_text
from harness.benchmarks.benchmark import Benchmark
from harness.benchmarks.loaders.csc import load_csc_json, load_csc_tsv
from harness.benchmarks.loaders.nlpcc18 import load_nlpcc18
from harness.benchmarks.references import first_references, word_gold_targets
from harness.benchmarks.registry import DEFAULT_REGISTRY_PATH
from harness.benchmarks.reported import reported_rows
from harness.core.errors import HarnessError
from harness.data.datasets import Item
from harness.data.manifest import DataSettings
from support import one_line_error, run_cli


@pytest.fixture(scope="module")
def settings(shared_data: Path, tmp_path_factory) -> DataSettings:
    return DataSettings(data_dir=shared_data, cache_dir=tmp_path_factory.mktemp("bench-cache"))


@pytest.fixture(scope="module")
def bench(settings: DataSettings):
    loaded: dict[str, Benchmark] = {}

    def get(name: str) -> Benchmark:
        if name not in loaded:
            loaded[name] = load_benchmark(name, settings, progress=False)
        return loaded[name]

    return get


def without_t2s(benchmark: Benchmark) -> Benchmark:
    protocol = benchmark.spec.protocol
    options = protocol.options.model_copy(update={"t2s": False})
    spec = benchmark.spec.model_copy(update={"protocol": protocol.model_copy(update={"options": options})})
    return dataclasses.replace(benchmark, spec=spec)


# ---------------------------------------------------------------- registry

def test_the_registry_names_eight_benchmarks_with_bibtex_and_terms() -> None:
    registry = load_registry()
    assert list(registry.benchmarks) == ["nacgec-dev", "nacgec-test", "mucgec-dev", "mucgec-test", "nlpcc18-test",
                                         "fcgec-valid", "sighan15-test", "cscd-ns-test"]
    for spec in registry.benchmarks.values():
        assert spec.citation.startswith("@") and spec.terms


def test_every_published_rows_file_reads_and_names_split_protocol_and_source() -> None:
    for name, spec in load_registry().benchmarks.items():
        if spec.reported is None or spec.reported.format != "rows":
            continue
        rows = reported_rows(spec)
        assert len({row.model for row in rows}) >= 1, name
        assert all(row.split and row.protocol and row.source for row in rows)


# MuCGEC dev: papers report the test set; the example prediction is the one published figure.
ONE_PUBLISHED_MODEL = {"mucgec-dev"}


def test_two_published_models_per_benchmark_where_numbers_are_published() -> None:
    for name, spec in load_registry().benchmarks.items():
        if spec.reported is None or spec.reported.format != "rows":
            continue
        models = {row.model for row in reported_rows(spec)}
        assert len(models) >= (1 if name in ONE_PUBLISHED_MODEL else 2), (name, models)


def _printed_triples(path: Path):
    """(P, R, F, beta, F's row) as printed, for each model/split/protocol/level of a rows file."""
    groups: dict[tuple, dict[str, dict]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            prefix, _, last = row["metric"].rpartition(".")
            groups.setdefault((row["model"], row["split"], row["protocol"], prefix), {})[last] = row
    for key, metrics in groups.items():
        for name, beta in (("f1", 1.0), ("f05", 0.5)):
            if {"p", "r", name} <= metrics.keys():
                yield key, metrics["p"], metrics["r"], metrics[name], beta


def test_published_precision_recall_and_f_agree_unless_the_row_says_the_source_misprints() -> None:
    """A transcription check: an F printed beside its P and R must follow from them to the printed
    precision (two units of the last decimal); where the source itself disagrees, the F row keeps
    the printed value and its note says "as printed"."""
    checked = flagged = 0
    for spec in load_registry().benchmarks.values():
        if spec.reported is None or spec.reported.format != "rows":
            continue
        for key, p_row, r_row, f_row, beta in _printed_triples(DEFAULT_REGISTRY_PATH.parent / spec.reported.file):
            p, r, f = (float(row["value"]) for row in (p_row, r_row, f_row))
            decimals = max(len(row["value"].partition(".")[2]) for row in (p_row, r_row, f_row))
            implied = (1 + beta**2) * p * r / (beta**2 * p + r) if p + r else 0.0
            checked += 1
            if abs(implied - f) > 2 * 10**-decimals:
                assert "as printed" in f_row["note"], (spec.reported.file, key, p, r, f, round(implied, 3))
                flagged += 1
    assert checked > 40 and flagged == 2  # LM-Combiner's BART baseline F0.5 and SpellGCN's SIGHAN 15 C-F


def _registry_with(tmp_path: Path, name: str, change: dict) -> Path:
    import yaml

    raw = yaml.safe_load(DEFAULT_REGISTRY_PATH.read_text(encoding="utf-8"))
    entry = raw["benchmarks"][name]
    entry.pop("reported", None)
    entry.update(change)
    path = tmp_path / "benchmarks.yaml"
    path.write_text(yaml.safe_dump({"benchmarks": {name: entry}}, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("change, key, words", [
    ({"task": "spelling"}, "benchmarks.mucgec-dev.task", "Input should be 'gec' or 'csc'"),
    ({"loader": "xml"}, "benchmarks.mucgec-dev.loader", "unknown loader 'xml'"),
    ({"files": {"references": "mucgec/nope.txt"}}, "benchmarks.mucgec-dev.files.references", "not a file of"),
    ({"citation": "Zhang et al. 2022"}, "benchmarks.mucgec-dev.citation", "BibTeX"),
    ({"colour": "red"}, "benchmarks.mucgec-dev.colour", "unknown key"),
])
def test_a_bad_registry_entry_is_one_error_naming_file_key_and_line(tmp_path: Path, change: dict, key: str,
                                                                    words: str) -> None:
    from harness.benchmarks.registry import load_registry as read

    path = _registry_with(tmp_path, "mucgec-dev", change)
    with pytest.raises(HarnessError) as caught:
        read(path)
    assert caught.value.path == str(path) and caught.value.line is not None
    assert caught.value.message.startswith(key) and words in caught.value.message


def test_a_headline_the_scorers_do_not_give_is_refused(tmp_path: Path) -> None:
    from harness.benchmarks.registry import load_registry as read

    spec = load_registry().get("mucgec-dev").protocol.model_dump()
    path = _registry_with(tmp_path, "mucgec-dev", {"protocol": dict(spec, headline="word.f05",
                                                                    scorers=list(spec["scorers"]))})
    with pytest.raises(HarnessError, match="headline 'word.f05' is not a metric of these scorers"):
        read(path)


# ---------------------------------------------------------------- loaders (MANIFEST.md counts)

@pytest.mark.parametrize("name, stats", [
    ("mucgec-dev", {"sentences": 1137, "correct": 55, "unannotatable": 3}),
    ("mucgec-test", {"sentences": 6000}),
    ("nlpcc18-test", {"sentences": 2000, "two_annotators": 259, "no_edit": 17, "bom_lines": 7,
                      "width_differences": 67}),
    ("fcgec-valid", {"sentences": 2000, "erroneous": 1102, "references": 2543}),
    ("cscd-ns-test", {"sentences": 5000, "correct": 2697}),
    ("sighan15-test", {"sentences": 1100, "correct": 557}),
    ("nacgec-dev", {"sentences": 500, "correct": 18}),
])
def test_loaders_give_the_manifest_counts(bench, name: str, stats: dict) -> None:
    benchmark = bench(name)
    assert {key: benchmark.stats[key] for key in stats} == stats
    assert len(benchmark.items) == stats["sentences"]
    assert all(type(item) is Item and dataclasses.fields(item)[0].name == "id" for item in benchmark.items)
    assert [f.name for f in dataclasses.fields(Item)] == ["id", "source"]  # nothing else reaches a prompt


def test_nlpcc18_items_are_the_official_input_without_its_boms(bench) -> None:
    benchmark = bench("nlpcc18-test")
    assert not any("\ufeff" in item.source for item in benchmark.items)
    assert benchmark.items[0].source.startswith("冬阴功是泰国")
    assert "：" in benchmark.items[1].source  # full-width, as the official input has it


# ---------------------------------------------------------------- protocols: references and sources

def test_mucgec_example_prediction_scores_as_published(bench, settings: DataSettings, shared_data: Path) -> None:
    lines = (shared_data / "mucgec" / "example_pred_dev.txt").read_text(encoding="utf-8").splitlines()
    score = score_benchmark(bench("mucgec-dev"), [line.split("\t")[2] for line in lines], settings, jobs=2)
    metrics = score.metrics
    assert (metrics["char.tp"], metrics["char.fp"], metrics["char.fn"]) == (1084, 1635, 3003)
    assert round(metrics["char.f05"], 4) == 0.3622 and score.headline_value == metrics["char.f05"]
    assert score.official and score.signature.startswith("bench:mucgec-dev|protocol:mucgec-char|data:edbe29627aa8")


def test_mucgec_references_score_100_and_sources_recall_0(bench, settings: DataSettings) -> None:
    benchmark = bench("mucgec-dev")
    perfect = score_benchmark(benchmark, first_references(benchmark), settings, jobs=2).metrics
    assert (perfect["char.f05"], perfect["exact_match"], perfect["exact_match.total"]) == (1.0, 1.0, 1134)
    sources = [item.source for item in benchmark.items]
    assert score_benchmark(without_t2s(benchmark), sources, settings, jobs=2).metrics["char.tp"] == 0
    # With the protocol's t2s, a learner's traditional character is an edit some references share.
    as_published = score_benchmark(benchmark, sources, settings, jobs=2).metrics
    assert (as_published["char.tp"], as_published["char.fp"]) == (24, 6)


def test_fcgec_protocol_with_references_and_sources(bench, settings: DataSettings) -> None:
    benchmark = bench("fcgec-valid")
    perfect = score_benchmark(benchmark, first_references(benchmark), settings, jobs=2)
    metrics = perfect.metrics
    assert (metrics["exact_match"], metrics["exact_match.total"], metrics["char.f05"]) == (1.0, 1102, 1.0)
    # b984619f... is flagged erroneous but its only reference is an identity Switch: the source.
    assert (metrics["detection.tp"], metrics["detection.fn"], metrics["detection.fp"]) == (1101, 1, 0)
    assert "1102 of 2000 sentences scored" in perfect.notes[0]
    sources = [item.source for item in benchmark.items]
    assert score_benchmark(without_t2s(benchmark), sources, settings, jobs=2).metrics["char.tp"] == 0
    plain = score_benchmark(benchmark, sources, settings, jobs=2).metrics
    assert (plain["detection.tp"], plain["detection.fp"], plain["char.r"] < 0.004) == (0, 0, True)


def test_fcgec_scores_without_punctuation(bench, settings: DataSettings) -> None:
    benchmark = bench("fcgec-valid")
    references = first_references(benchmark)
    stripped = [r.replace("，", "").replace("。", "") for r in references]
    assert score_benchmark(benchmark, stripped, settings, jobs=2).metrics["char.f05"] == 1.0


def head(benchmark: Benchmark, count: int) -> Benchmark:
    """The first `count` items of a benchmark and their gold (a fast protocol check)."""
    gold = benchmark.gold
    assert gold is not None
    sliced = {f.name: getattr(gold, f.name)[:count] for f in dataclasses.fields(gold) if getattr(gold, f.name)}
    return dataclasses.replace(benchmark, items=benchmark.items[:count], gold=dataclasses.replace(gold, **sliced))


def test_nlpcc18_pre_segmented_outputs_are_scored_officially(bench, settings: DataSettings) -> None:
    benchmark = head(bench("nlpcc18-test"), 200)
    perfect = score_benchmark(benchmark, word_gold_targets(benchmark), settings, presegmented=True)
    assert perfect.official and perfect.headline == "word.f05" and not perfect.notes
    assert perfect.scorer_signatures["word"].startswith("level:word|method:maxmatch|tok:given|gold:nlpcc18/gold.01@")
    segmented_sources = [" ".join(sentence.source) for sentence in benchmark.gold.word_gold]
    nothing = score_benchmark(benchmark, segmented_sources, settings, presegmented=True).metrics
    assert (nothing["word.tp"], nothing["word.fp"], nothing["word.r"]) == (0, 0, 0.0)


@pytest.mark.slow
def test_nlpcc18_official_word_level_of_the_gold_corrections(bench, settings: DataSettings) -> None:
    benchmark = bench("nlpcc18-test")
    metrics = score_benchmark(benchmark, word_gold_targets(benchmark), settings, presegmented=True, jobs=2).metrics
    # M2Scorer cannot rebuild every gold edit from a perfect output (long reorderings split by
    # max_unchanged_words 2): the official protocol's ceiling for annotator 0's corrections.
    assert (metrics["word.tp"], metrics["word.fp"], metrics["word.fn"]) == (3716, 92, 77)
    assert round(metrics["word.f05"], 4) == 0.9766


@pytest.mark.slow
def test_nlpcc18_unsegmented_outputs_are_unofficial(bench, settings: DataSettings) -> None:
    benchmark = bench("nlpcc18-test")
    score = score_benchmark(benchmark, first_references(benchmark), settings, segmenter="jieba", jobs=2)
    # One reference keeps the traditional 動動 of its source: the t2s conversion makes it an edit.
    assert (score.metrics["char.tp"], score.metrics["char.fp"], score.metrics["char.fn"]) == (3880, 1, 0)
    assert score.metrics["exact_match"] == 1.0
    assert not score.official and "unofficial segmentation: outputs segmented with jieba" in score.notes[0]
    assert "tok:jieba" in score.scorer_signatures["word"]


def test_nlpcc18_official_input_is_reconciled_with_the_gold(bench, settings: DataSettings) -> None:
    """BOMs removed and full-width ：；（） mapped to gold's half-width forms: no edit at char level."""
    benchmark = without_t2s(bench("nlpcc18-test"))
    touched = [i for i, item in enumerate(benchmark.items) if "：" in item.source or "（" in item.source][:10]
    subset = head(benchmark, max(touched) + 1)
    metrics = score_benchmark(subset, [item.source for item in subset.items], settings, presegmented=True).metrics
    assert (metrics["char.tp"], metrics["char.fp"]) == (0, 0)
    assert metrics["exact_match.matched"] == sum(not any(g.annotators) for g in subset.gold.word_gold)


@pytest.mark.parametrize("name", ["sighan15-test", "cscd-ns-test"])
def test_csc_references_score_100_and_sources_recall_0(bench, settings: DataSettings, name: str) -> None:
    benchmark = bench(name)
    perfect = score_benchmark(benchmark, first_references(benchmark), settings).metrics
    assert all(perfect[f"{level}.{kind}.f1"] == 1.0 for level in ("sentence", "char")
               for kind in ("detection", "correction"))
    sources = score_benchmark(benchmark, [item.source for item in benchmark.items], settings).metrics
    assert all(sources[f"{level}.{kind}.r"] == 0.0 for level in ("sentence", "char")
               for kind in ("detection", "correction"))


def test_csc_counts_and_reports_outputs_of_another_length(bench, settings: DataSettings) -> None:
    benchmark = bench("sighan15-test")
    outputs = first_references(benchmark)
    outputs[0] += "。"
    score = score_benchmark(benchmark, outputs, settings)
    assert score.metrics["length_mismatch"] == 1 and "1 outputs differ in length" in score.notes[0]


@pytest.mark.slow
def test_nacgec_dev_references_reach_the_word_level_ceiling(bench, settings: DataSettings) -> None:
    benchmark = bench("nacgec-dev")
    metrics = score_benchmark(benchmark, first_references(benchmark), settings, jobs=2).metrics
    assert (metrics["char.f05"], metrics["exact_match"]) == (1.0, 1.0)
    assert round(metrics["word.f05"], 4) == 0.8697  # docs/scoring.md: the word metric's ceiling
    sources = score_benchmark(benchmark, [i.source for i in benchmark.items], settings, jobs=2).metrics
    assert (sources["char.r"], sources["word.r"]) == (0.0, 0.0)


def test_an_inputs_only_split_gives_its_submission_file_and_no_score(bench, settings: DataSettings) -> None:
    benchmark = bench("mucgec-test")
    with pytest.raises(HarnessError, match="no references here"):
        score_benchmark(benchmark, [item.source for item in benchmark.items], settings)
    name, text = submission_text(benchmark, [item.source for item in benchmark.items])
    assert name == "MuCGEC_test.txt" and text.count("\n") == 6000
    assert text.startswith("1\t冬阴功是泰国最著名的菜之一")


def test_outputs_must_match_the_items(bench, settings: DataSettings) -> None:
    with pytest.raises(HarnessError, match="3 outputs for the 1100 items of sighan15-test"):
        score_benchmark(bench("sighan15-test"), ["a", "b", "c"], settings)


# ---------------------------------------------------------------- malformed files

def _nlpcc18_files(tmp_path: Path, gold: str) -> dict[str, Path]:
    files = {"sources": ("source.txt", "我去学校。\n他很好。\n"),
             "char_m2": ("ref.m2.char", "S 我 去 学 校 。\nA -1 -1|||noop|||-NONE-|||REQUIRED|||-NONE-|||0\n\n"
                                        "S 他 很 好 。\nA -1 -1|||noop|||-NONE-|||REQUIRED|||-NONE-|||0\n\n"),
             "word_gold": ("gold.01", gold)}
    paths = {}
    for role, (name, text) in files.items():
        paths[role] = tmp_path / name
        paths[role].write_text(text, encoding="utf-8")
    return paths


def test_an_m2_block_without_s_is_one_error_naming_file_and_line(tmp_path: Path) -> None:
    paths = _nlpcc18_files(tmp_path, "S 我 去 学校 。\nA 1 2|||S|||到|||REQUIRED|||-NONE-|||0\n\n"
                                     "A 0 1|||S|||她|||REQUIRED|||-NONE-|||0\n")
    with pytest.raises(HarnessError) as caught:
        load_nlpcc18(paths)
    assert (caught.value.path, caught.value.line) == (str(paths["word_gold"]), 4)
    assert "does not start with an 'S ' line" in caught.value.message
    assert len(list(tmp_path.iterdir())) == 3  # nothing written


def test_the_nlpcc18_files_must_describe_the_same_sentences(tmp_path: Path) -> None:
    paths = _nlpcc18_files(tmp_path, "S 我 去 学校 。\n\nS 他 很 好 啊 。\n")
    with pytest.raises(HarnessError, match="sentence 2: the char M2 and gold.01 disagree"):
        load_nlpcc18(paths)


def test_a_csc_pair_of_unequal_length_is_one_error_naming_file_and_line(tmp_path: Path) -> None:
    tsv = tmp_path / "test.tsv"
    tsv.write_text("我门好\t我们好\n天气很号\t天气很好啊\n", encoding="utf-8")
    with pytest.raises(HarnessError) as caught:
        load_csc_tsv({"pairs": tsv})
    assert (caught.value.path, caught.value.line) == (str(tsv), 2) and "differ in length" in caught.value.message
    records = tmp_path / "cscd.json"
    records.write_text(json.dumps([{"src": "我门", "tgt": "我们"}, {"src": "天气", "tgt": "天"}], ensure_ascii=False,
                                  indent=4), encoding="utf-8")
    with pytest.raises(HarnessError) as caught:
        load_csc_json({"pairs": records})
    assert (caught.value.line, "record 2" in caught.value.message) == (6, True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cscd.json", "test.tsv"]


# ---------------------------------------------------------------- command line and notices

def test_cite_prints_the_bibtex(cli_env: dict[str, str]) -> None:
    done = run_cli(["cite", "cscd-ns-test"], cli_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("% cscd-ns-test: CSCD-NS is MIT-licensed")
    assert "@inproceedings{hu-etal-2024-cscd," in done.stdout and done.stdout.rstrip().endswith("}")


def test_cite_of_an_unknown_benchmark_is_one_line(cli_env: dict[str, str]) -> None:
    one_line_error(run_cli(["cite", "sighan14"], cli_env), "unknown benchmark 'sighan14'", "mucgec-dev")


def test_list_shows_the_benchmarks(cli_env: dict[str, str]) -> None:
    done = run_cli(["list"], cli_env)
    assert done.returncode == 0, done.stderr
    for name in load_registry().benchmarks:
        assert f"| {name}" in done.stdout
    assert "sentence.correction.f1" in done.stdout


def test_first_download_prints_terms_and_citation_once(shared_data: Path, tmp_path: Path, monkeypatch,
                                                       capsys) -> None:
    import harness.data.manifest as manifest

    def fake_download(entry, url, dest, progress) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared_data / entry.relpath, dest)

    monkeypatch.setattr(manifest, "_download", fake_download)
    offline = DataSettings(data_dir=None, cache_dir=tmp_path / "cache")
    load_benchmark("sighan15-test", offline, progress=False)
    first = capsys.readouterr().err
    assert "downloaded sighan15/test.tsv" in first and "sighan15-test: terms of use: No licence file" in first
    assert "@inproceedings{tseng-etal-2015-introduction," in first
    load_benchmark("sighan15-test", offline, progress=False)
    assert capsys.readouterr().err == ""

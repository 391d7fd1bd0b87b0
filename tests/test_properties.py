"""Property-based tests (hypothesis) for the readers of user files: whatever the text, they give
a result or the project's one error type (HarnessError, or M2FormatError inside metrics), never
another exception; and what the project writes, it reads back unchanged."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.config.schema import load_config, parse_config
from harness.core.errors import HarnessError
from harness.data.inputs import load_hypotheses, load_references
from harness.record.store import read_record
from metrics.edit import Annotation, Block, Edit
from metrics.m2 import M2FormatError, format_blocks, read_blocks
from record_factory import prediction, run_info, write

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Text with the characters that break naive readers: tabs, CR, separators, NUL, surrogates excluded.
AWKWARD = st.text(alphabet=st.sampled_from(list("甲乙丙。，ab 1\t\n\r\x00\x85\u2028\u2029\ufeff|:-ST{}[]\"'$")),
                  max_size=200)
TOKEN = st.text(alphabet=st.sampled_from(list("甲乙丙丁。，ab1")), min_size=1, max_size=3)


def temp_file(data: bytes) -> Path:
    handle = tempfile.NamedTemporaryFile(delete=False, suffix=".txt")
    handle.write(data)
    handle.close()
    return Path(handle.name)


@SETTINGS
@given(st.one_of(AWKWARD.map(lambda t: t.encode("utf-8")), st.binary(max_size=200)))
def test_reference_and_hypothesis_readers_raise_only_harness_errors(data):
    path = temp_file(data)
    try:
        references = load_references(path)
    except HarnessError:
        references = None
    if references is not None:
        try:
            hypotheses = load_hypotheses(path, references)
        except HarnessError:
            return
        assert len(hypotheses.sources) == len(references)
    path.unlink()


@SETTINGS
@given(AWKWARD)
def test_the_m2_reader_raises_only_format_errors(text):
    try:
        read_blocks(text)
    except M2FormatError:
        pass


@st.composite
def blocks(draw) -> Block:
    source = tuple(draw(st.lists(TOKEN, max_size=6)))
    annotations = []
    for annotator in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            annotations.append(Annotation(annotator, (), marker=draw(st.sampled_from(["没有错误", "无法标注"]))))
            continue
        alignments = []
        for _ in range(draw(st.integers(1, 2))):
            edits = []
            for _ in range(draw(st.integers(1, 3))):
                start = draw(st.integers(0, len(source)))
                end = draw(st.integers(start, len(source)))
                edits.append(Edit(start, end, draw(st.sampled_from(["M", "R", "S", "W", "S:NOUN"])),
                                  tuple(draw(st.lists(TOKEN, max_size=2))), annotator))
            alignments.append(tuple(edits))
        annotations.append(Annotation(annotator, tuple(draw(st.lists(TOKEN, min_size=1, max_size=5))),
                                      tuple(alignments)))
    return Block(source, tuple(annotations))


@SETTINGS
@given(st.lists(blocks(), min_size=1, max_size=4))
def test_m2_written_is_m2_read(written):
    text = format_blocks(written)
    assert format_blocks(read_blocks(text)) == text


@SETTINGS
@given(st.lists(st.one_of(st.tuples(st.text(max_size=30), st.text(max_size=30), st.none()),
                         st.tuples(st.none(), st.none(), st.text(max_size=20))), min_size=1, max_size=5))
def test_predictions_written_are_predictions_read(rows):
    """Model replies hold anything (U+2028, U+0085, NUL, tabs): the record reads them back."""
    with tempfile.TemporaryDirectory() as folder:
        run_dir = Path(folder) / "x"
        predictions = [prediction(str(i), "甲", raw, raw_prediction, error)
                       for i, (raw, raw_prediction, error) in enumerate(rows)]
        hypotheses = ["".join(p.hypothesis.split()) for p in predictions]
        metrics = {"char": {"tp": 0, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0, "f0.5": 1.0,
                            "signature": "level:char"}}
        sentences = [{"id": str(i), "char": {"tp": 0, "fp": 0, "fn": 0}} for i in range(len(rows))]
        write(run_dir, run_info("x", {"sentences": len(rows), "run_items": len(rows)}), metrics, sentences,
              predictions, hypotheses)
        record = read_record(run_dir)
    assert [(p.raw, p.prediction, p.error) for p in record.predictions] == [(r[0], r[1], r[2]) for r in rows]
    assert list(record.hypotheses) == hypotheses


CONFIG_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 10**6), st.floats(allow_nan=True), AWKWARD),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.sampled_from(["name", "dataset", "model", "backend", "params",
                                                                "max_tokens", "prompt", "user", "limits", "report",
                                                                "levels", "x"]), children, max_size=4)),
    max_leaves=12)


@SETTINGS
@given(st.dictionaries(st.sampled_from(["name", "dataset", "model", "prompt", "cleaning", "limits", "scoring",
                                        "report", "colour"]), CONFIG_VALUES, max_size=6))
def test_the_config_schema_raises_only_harness_errors(raw):
    try:
        parse_config(raw, "c.yaml")
    except HarnessError:
        pass


@SETTINGS
@given(AWKWARD)
def test_config_files_of_any_text_raise_only_harness_errors(text):
    path = temp_file(text.encode("utf-8"))
    try:
        load_config(path)
    except HarnessError as error:
        assert error.path == str(path)
    path.unlink()


@SETTINGS
@given(st.sampled_from(["name", "dataset", "model.backend", "model.model", "model.params.max_tokens", "limits"]),
       CONFIG_VALUES)
def test_a_bad_value_in_a_good_config_is_named_by_its_key(key, value):
    raw = {"name": "x", "dataset": "nacgec-dev", "model": {"backend": "openai", "model": "m",
                                                          "base_url": "http://127.0.0.1:9/v1"}}
    node = raw
    *parents, last = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    text = yaml.safe_dump(raw, allow_unicode=True)
    path = temp_file(text.encode("utf-8"))
    try:
        load_config(path)
    except HarnessError as error:
        assert error.path == str(path) and error.line is not None and str(error.message).startswith(key.split(".")[0])
    path.unlink()

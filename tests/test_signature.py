"""Signatures as fields (metrics.signature): rendered to the sacreBLEU-like string only for
display, stored as JSON, compared on the fields that change numbers whatever harness version
wrote them, and the same for a wheel and an uninstalled checkout."""

from __future__ import annotations

import importlib.metadata
import json
import tomllib

import pytest

import harness
import metrics
from support import REPO
from harness.core.errors import HarnessError
from harness.scoring.signature import follows, signature_differences
from metrics.signature import Recipe, Signature, SignatureError

README_SIGNATURE = ("level:char|method:cherrant|nrefs:1-4|tok:char|t2s:opencc-1.1.2-t2s|readings:pypinyin-0.55.0|"
                    "version:cgec-harness-0.1.0")
WORD_SIGNATURE = ("level:word|method:maxmatch|nrefs:1-4|tok:thulac-0.2.2-pos|t2s:none|max_unchanged:2|"
                  "protocol:official-nlpcc2023|version:cgec-harness-0.1.0")


def committed_signatures() -> list[str]:
    found = []
    for path in sorted((REPO / "results" / "runs").glob("*/metrics.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        found += [data[level]["signature"] for level in ("char", "word") if level in data]
    return found


def test_a_recipe_renders_the_documented_string():
    assert Recipe("char", "cherrant").signature([1, 4, 2]).render() == README_SIGNATURE
    assert str(Recipe("word", "maxmatch", "thulac-0.2.2-pos").signature([1, 4])) == WORD_SIGNATURE


def test_every_committed_signature_reads_back_to_the_same_string():
    signatures = committed_signatures() + [README_SIGNATURE, WORD_SIGNATURE]
    assert len(signatures) >= 4
    for text in signatures:
        assert Signature.parse(text).render() == text


@pytest.mark.parametrize("recipe", [
    Recipe("char", "cherrant"),
    Recipe("char", "cherrant", t2s=False, beta=2.0, mode="dt", edits="single", filt=("M", "W")),
    Recipe("word", "cherrant", "jieba-0.42.1-pos", spell="faspell-0123456789ab"),
    Recipe("word", "maxmatch", "thulac-0.2.2-pos", max_unchanged=0, gold="m2-0123456789ab"),
])
def test_fields_survive_the_string_and_json(recipe):
    signature = recipe.signature([1, 3])
    assert Signature.parse(signature.render()) == signature
    stored = json.loads(json.dumps(signature.to_json()))
    assert Signature.from_json(stored) == signature
    assert set(stored) == {"level", "method", "nrefs", "tok", "t2s", "readings", "spell", "max_unchanged", "gold",
                           "eval", "edits", "filt", "beta", "protocol", "version", "extra"}


def test_records_of_two_harness_versions_compare():
    newer = README_SIGNATURE.replace("cgec-harness-0.1.0", "cgec-harness-0.2.0")
    assert Signature.parse(newer).version == "0.2.0"
    assert signature_differences(README_SIGNATURE, newer) == []
    assert signature_differences(Signature.parse(README_SIGNATURE), Signature.parse(newer).to_json()) == []


@pytest.mark.parametrize("change, difference", [
    (("nrefs:1-4", "nrefs:1"), "nrefs:1-4 vs nrefs:1"),
    (("t2s:opencc-1.1.2-t2s", "t2s:opencc-1.5.0-t2s"), "t2s:opencc-1.1.2-t2s vs t2s:opencc-1.5.0-t2s"),
    (("tok:char", "tok:char|eval:dt"), "eval:- vs eval:dt"),
    (("readings:pypinyin-0.55.0", "readings:pypinyin-0.56.0"),
     "readings:pypinyin-0.55.0 vs readings:pypinyin-0.56.0"),
])
def test_fields_that_change_numbers_make_records_incomparable(change, difference):
    other = README_SIGNATURE.replace(*change)
    assert signature_differences(README_SIGNATURE, other) == [difference]


def test_a_field_a_newer_writer_adds_is_compared_and_kept():
    newer = README_SIGNATURE.replace("|version:", "|tokens:v2|version:")
    assert Signature.parse(newer).render() == newer
    assert signature_differences(README_SIGNATURE, newer) == ["tokens:- vs tokens:v2"]


def test_an_unreadable_signature_is_a_one_line_error():
    with pytest.raises(SignatureError):
        Signature.parse("level:char|nrefs:many")
    with pytest.raises(HarnessError, match="unreadable score signature"):
        signature_differences("level:char|beta:high", README_SIGNATURE)
    with pytest.raises(SignatureError, match="unknown signature fields: colour"):
        Signature.from_json({**Signature.parse(README_SIGNATURE).to_json(), "colour": "red"})


def test_follows_needs_the_protocol_and_its_options():
    assert follows(README_SIGNATURE, "char", "cherrant")
    assert follows(WORD_SIGNATURE, "word", "maxmatch", "thulac")
    assert not follows(WORD_SIGNATURE, "word", "maxmatch", "jieba")
    assert not follows(README_SIGNATURE.replace("|version", "|beta:1|version"), "char", "cherrant")
    assert not follows(README_SIGNATURE.replace("t2s:opencc-1.1.2-t2s", "t2s:none"), "char", "cherrant")
    assert follows("level:char|method:cherrant", "char", "cherrant")  # fields not stated are not held against it


def test_a_checkout_and_a_wheel_write_the_same_version(monkeypatch):
    """The version comes from one constant, not from the installed package's metadata (an
    uninstalled checkout has none and used to write `version:missing`)."""
    real = importlib.metadata.version

    def not_installed(name: str) -> str:
        if name == "cgec-harness":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr("metrics.signature.version", not_installed)
    assert Recipe("char", "cherrant").signature([1, 4]).render() == README_SIGNATURE
    assert "harness:0.1.0" in Recipe("char", "cherrant").extraction_key()


def test_one_version_constant_for_the_distribution():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert harness.__version__ is metrics.__version__
    assert project.get("version", metrics.__version__) == metrics.__version__

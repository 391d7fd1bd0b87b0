"""The fast THULAC decoders (C, metrics/_thulac.c, and numpy) give exactly what THULAC 0.2.2's
own decoder gives: on real and hand-made sentences against the original, on random strings
against each other (and the feature scores and dictionary look-ups against THULAC's own code),
and the Viterbi step against THULAC's AlphaBeta.dbDecode on small random models full of ties."""

from __future__ import annotations

import array
import contextlib
import io
import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

thulac = pytest.importorskip("thulac")

from metrics.zh import thulac_fast  # noqa: E402

try:
    from metrics import _thulac
except ImportError:  # not built: only the numpy decoder is checked
    _thulac = None

needs_c = pytest.mark.skipif(_thulac is None, reason="metrics._thulac is not built")
MODELS = Path(thulac.__file__).resolve().parent / "models"
DECODERS = ["numpy", pytest.param("c", marks=needs_c)]


def _fast_tagger(kind: str):
    """A THULAC tagger with the mapped model and the `kind` decoder installed."""
    with contextlib.redirect_stdout(io.StringIO()), thulac_fast.mapped_models(dat=kind == "c"):
        tagger = thulac.thulac()
    thulac_fast.install(tagger._thulac__tagging_decoder, use_c=kind == "c")
    return tagger


@pytest.fixture(scope="module")
def original():
    with contextlib.redirect_stdout(io.StringIO()):
        return thulac.thulac()


@pytest.fixture(scope="module")
def fast_taggers():
    return {kind: _fast_tagger(kind) for kind in ("numpy", "c") if kind == "numpy" or _thulac is not None}


@pytest.mark.slow
@pytest.mark.parametrize("kind", DECODERS)
def test_fast_decoder_equals_original_on_hand_made_edge_cases(original, fast_taggers, kind):
    fast = fast_taggers[kind]
    for text in ["我", "。", "GDP增长了5%", "２０２３年，ＡＩ发展迅速！", "的的的的的的", "他说：“好。”",
                 "近年来，音量大、字体大、使用方便的老人手机大受市场欢迎。", "a b  c", "😀𠀀中文", "#"]:
        assert fast.cut(text) == original.cut(text), text


@pytest.mark.slow  # loads THULAC's original tagger (seconds); the golden word tests cover the fast one too
@pytest.mark.parametrize("kind", DECODERS)
def test_fast_decoder_equals_original_on_real_sentences(original, fast_taggers, shared_data, kind):
    fast = fast_taggers[kind]
    lines = (shared_data / "nacgec" / "nacgec.test.ref.para").read_text(encoding="utf-8").split("\n")[:50]
    outputs = (shared_data / "outputs" / "llm-goodgap.nacgec-dev.txt").read_text(encoding="utf-8").split("\n")
    sentences = ["".join(line.split("\t")[1].split()) for line in lines if line]
    sentences += ["".join(line.split()) for line in outputs[:30] if line.strip()]
    mismatches = [s for s in sentences if fast.cut(s) != original.cut(s)]
    assert not mismatches


# --------------------------------------------------------------------------------------------
# Random strings: the C and numpy decoders agree, and C's feature scores are THULAC's.

CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
COMMON = st.sampled_from("的一是了不在人有我他这中大来上个国到说们为子和你地出道也时年得就那要下以生会自着去之过家学")
ASCII = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
PUNCTUATION = st.sampled_from("，。、；：？！“”‘’（）《》【】—…·,.;:?!()[]<>～％＋－０１２３４５ＡＢＣａｂｃ ")
OTHER = st.characters(min_codepoint=0x80, max_codepoint=0x2FFFF, blacklist_categories=("Cs",))
TEXT = st.text(st.one_of(COMMON, COMMON, CJK, ASCII, PUNCTUATION, OTHER), min_size=1, max_size=40)


@pytest.fixture(scope="module")
def original_feature():
    """THULAC's own CBNGramFeature over its own trie (a tuple) and the mapped weights."""
    from thulac.base.Dat import Dat
    from thulac.character.CBNGramFeature import CBNGramFeature

    return CBNGramFeature(Dat(str(MODELS / "model_c_dat.bin")), thulac_fast.MappedModel(str(MODELS / "model_c_model.bin")))


@needs_c
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXT)
def test_c_and_numpy_decoders_agree_on_random_strings(fast_taggers, text):
    c, numpy_ = fast_taggers["c"], fast_taggers["numpy"]
    assert c.cut(text) == numpy_.cut(text)
    decoders = [tagger._thulac__tagging_decoder for tagger in (c, numpy_)]
    assert decoders[0].bestScore == decoders[1].bestScore
    assert np.array_equal(np.asarray(decoders[0].values), np.asarray(decoders[1].values).ravel())


@needs_c
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXT)
def test_c_feature_scores_are_thulacs(fast_taggers, original_feature, text):
    decoder = fast_taggers["c"]._thulac__tagging_decoder
    tables = decoder._fast_tables
    size = tables.size
    expected = array.array("i", [0] * (len(text) * size))
    original_feature.putValues(text, len(text), expected)
    got = _thulac.values(text, tables.dat, decoder.nGramFeature.datSize, tables.weights, size)
    assert list(memoryview(got).cast("q")) == list(expected)


# The post-processing's dictionaries (place names, idioms, punctuation): C look-ups on the mapped
# files answer as THULAC's Dat over its tuple, for random strings built around known entries.

DICTIONARIES = ["ns.dat", "idiom.dat", "singlepun.dat"]
ENTRIES = ["北京", "北京市", "上海市", "湖南省", "一帆风顺", "画蛇添足", "亡羊补牢", "！", "。", "“", "——"]
PIECES = st.lists(st.one_of(st.sampled_from(ENTRIES), COMMON, CJK, PUNCTUATION, OTHER), max_size=6).map("".join)


@pytest.fixture(scope="module")
def dictionaries():
    from thulac.base.Dat import Dat

    return [(Dat(str(MODELS / name)), thulac_fast.MappedDat(str(MODELS / name))) for name in DICTIONARIES]


@needs_c
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=PIECES)
def test_dictionary_look_ups_are_thulacs(dictionaries, text):
    for original, mapped in dictionaries:
        for end in range(len(text) + 1):
            assert mapped.getInfo(text[:end]) == original.getInfo(text[:end])
            assert mapped.match(text[:end]) == original.match(text[:end])


@needs_c
def test_dictionary_look_ups_find_entries(dictionaries):
    (places, _), (idioms, _), (punctuation, _) = dictionaries
    assert places.match("上海市") >= 0 and idioms.match("画蛇添足") >= 0 and punctuation.match("！") >= 0
    for original, mapped in dictionaries:
        assert [mapped.match(w) for w in ENTRIES] == [original.match(w) for w in ENTRIES]


# --------------------------------------------------------------------------------------------
# The Viterbi step on small random models: few labels, weights in -2..2 (ties everywhere),
# random predecessor and allowed label lists (some empty).

@st.composite
def small_models(draw):
    size = draw(st.integers(1, 5))
    length = draw(st.integers(1, 7))
    weight = st.integers(-2, 2)
    labels = st.lists(st.integers(0, size - 1), max_size=size + 1)
    return types.SimpleNamespace(
        size=size, length=length,
        transitions=draw(st.lists(weight, min_size=size * size, max_size=size * size)),
        values=draw(st.lists(weight, min_size=size * length, max_size=size * length)),
        pre=[sorted(set(p)) + [-1] for p in draw(st.lists(labels, min_size=size, max_size=size))],
        allowed=[p + [-1] for p in draw(st.lists(labels.map(lambda x: list(dict.fromkeys(x))),
                                                  min_size=length, max_size=length))])


def _fake_decoder(model, values) -> types.SimpleNamespace:
    """What fast_dp and compiled_dp read of a CBTaggingDecoder."""
    from thulac.base.Node import Node

    nodes = [Node() for _ in range(model.length)]
    for i, node in enumerate(nodes):
        node.type = (1 if i == 0 else 0) + (2 if i == model.length - 1 else 0)
        node.predecessors = i - 1
    fake = types.SimpleNamespace(len=model.length, nodes=nodes, values=values, pocsToTags=None,
                                 allowedLabelLists=list(model.allowed) + [None],
                                 model=types.SimpleNamespace(l_size=model.size, ll_weights=model.transitions),
                                 labelTransPre=model.pre)
    return fake


@settings(max_examples=600, deadline=None)
@given(model=small_models(), use_c=st.sampled_from([False, True] if _thulac is not None else [False]))
def test_viterbi_equals_thulacs_dbdecode(model, use_c):
    from thulac.base.AlphaBeta import AlphaBeta

    nodes = _fake_decoder(model, None).nodes
    result: dict[int, int] = {}
    best = AlphaBeta().dbDecode(model.size, tuple(model.transitions), model.length, nodes, tuple(model.values), [],
                                result, model.pre, model.allowed)
    values = np.asarray(model.values, dtype=np.int64)
    fake = _fake_decoder(model, memoryview(values.tobytes()).cast("q") if use_c else values)
    fake._fast_tables = thulac_fast.FastDecoderTables(fake)
    fake._fast_tables.kernel = _thulac
    (thulac_fast.compiled_dp if use_c else thulac_fast.fast_dp)(fake)
    assert (fake.result, fake.bestScore) == (result, best)
    assert list(fake.result) == list(result)  # the same order: last node first

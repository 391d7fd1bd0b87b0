"""The confusion sets split on first look-up (`ConfusionSets`) are exactly `parse_confusion`'s
table: same keys in the same order, same lists, for any text (blank lines, repeated keys,
doubled spaces, CR, no final newline)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.zh.lexicon import ConfusionSets, Lexicon, parse_confusion

TEXT = st.text(st.sampled_from("甲乙丙丁ab \n\r"), max_size=60)


@settings(max_examples=500, deadline=None)
@given(text=TEXT, probes=st.lists(st.sampled_from(["甲", "乙", "a", "b", "", " ", "甲 乙", "\r", "x"]), max_size=6))
def test_confusion_sets_are_parse_confusions_table(text, probes):
    lazy, eager = ConfusionSets(text), parse_confusion(text)
    for key in probes:  # looked up first, in any order, then compared whole
        assert (key in lazy) == (key in eager)
        assert lazy.get(key) == eager.get(key)
    assert list(lazy) == list(eager) and len(lazy) == len(eager)
    assert dict(lazy.items()) == eager and lazy == eager


def test_the_lexicon_splits_only_what_is_looked_up():
    confusion = Lexicon.from_texts("", "我 找 哦\n人 入\n").confusion
    assert confusion.get("人") == ["入"] and "我" in confusion and confusion.get("你") is None
    assert list(confusion._split) == ["人"]

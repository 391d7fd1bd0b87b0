"""FCGEC operations -> references: the semantics of each operation on hand-written sentences, the
upstream converter's losses reproduced on purpose, and each of the 12 valid-set operations whose
Delete or Switch the upstream converter drops, restored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.benchmarks.fcgec_operations import OperationError, expand, expand_upstream
from harness.benchmarks.loaders.fcgec import load_fcgec
from harness.core.errors import HarnessError

S = "ABCDE"


def test_switch_reorders_the_characters() -> None:
    assert expand(S, [{"Switch": [0, 2, 1, 3, 4]}]) == ("ACBDE",)


def test_a_short_switch_keeps_the_tail_in_place() -> None:
    assert expand(S, [{"Switch": [1, 0, 2, 3]}]) == ("BACDE",)


def test_delete_insert_and_modify() -> None:
    assert expand(S, [{"Delete": [3]}]) == ("ABCE",)
    assert expand(S, [{"Insert": [{"pos": 1, "tag": "INS_1", "label": ["F"]}]}]) == ("ABFCDE",)
    assert expand(S, [{"Modify": [{"pos": 2, "tag": "MOD_1", "label": ["F"]}]}]) == ("ABFDE",)
    assert expand(S, [{"Modify": [{"pos": 1, "tag": "MOD_2+DEL_1", "label": "X"}]}]) == ("AXDE",)


def test_insert_at_minus_one_goes_at_the_start() -> None:
    assert expand(S, [{"Insert": [{"pos": -1, "tag": "INS_2", "label": "XY"}]}]) == ("XYABCDE",)


def test_every_label_alternative_and_every_combination_of_them() -> None:
    operations = [{"Insert": [{"pos": 0, "tag": "INS_1", "label": ["x", "y"]}],
                   "Modify": [{"pos": 4, "tag": "MOD_1", "label": ["1", "2"]}]}, {"Delete": [0]}]
    assert expand(S, operations) == ("AxBCD1", "AxBCD2", "AyBCD1", "AyBCD2", "BCDE")


def test_all_parts_of_a_set_apply_together() -> None:
    operations = [{"Delete": [4], "Modify": [{"pos": 0, "tag": "MOD_1", "label": ["a", "b"]}]}]
    assert expand(S, operations) == ("aBCD", "bBCD")


def test_positions_after_a_switch_are_in_the_switched_sentence() -> None:
    assert expand(S, [{"Switch": [4, 0, 1, 2, 3], "Delete": [0]}]) == ("ABCD",)


def test_a_modify_wins_over_an_insert_or_delete_at_its_position() -> None:
    operations = [{"Insert": [{"pos": 2, "tag": "INS_1", "label": "x"}],
                   "Modify": [{"pos": 2, "tag": "MOD_1", "label": "y"}]}, {"Delete": [2, 3],
                                                                          "Modify": [{"pos": 2, "tag": "MOD_2", "label": "z"}]}]
    assert expand(S, operations) == ("AByDE", "ABzE")


def test_the_tag_decides_what_an_entry_does() -> None:
    assert expand(S, [{"Modify": [{"pos": 3, "tag": "INS_2", "label": "xy"}]}]) == ("ABCDxyE",)


def test_duplicate_references_are_given_once() -> None:
    assert expand(S, [{"Delete": [0]}, {"Delete": [0]}]) == ("BCDE",)


@pytest.mark.parametrize("operation, words", [
    ({"Delete": [5]}, "Delete position 5 is past the sentence (5 characters)"),
    ({"Insert": [{"pos": 5, "tag": "INS_1", "label": "x"}]}, "Insert position 5 is past"),
    ({"Modify": [{"pos": 4, "tag": "MOD_2", "label": "x"}]}, "Modify position 4 is past"),
    ({"Switch": [0, 1, 2, 3, 9]}, "Switch position 9 is past"),
    ({"Switch": [0, 0, 1]}, "not a reordering"),
    ({"Modify": [{"pos": 0, "tag": "XYZ", "label": "x"}]}, "neither INS_k nor MOD_k"),
    ({"Rotate": [1]}, "holds only"),
])
def test_an_operation_that_cannot_apply_is_refused(operation: dict, words: str) -> None:
    with pytest.raises(OperationError, match=words.replace("(", r"\(").replace(")", r"\)")):
        expand(S, [operation])


# ---------------------------------------------------------------- the upstream converter's losses

def test_upstream_drops_the_delete_of_a_set_with_list_labels() -> None:
    operations = [{"Delete": [4], "Modify": [{"pos": 0, "tag": "MOD_1", "label": ["a", "b"]}]}]
    assert expand_upstream(S, operations) == ("aBCDE", "bBCDE")
    assert expand(S, operations) == ("aBCD", "bBCD")


def test_upstream_drops_a_later_set_without_insert_or_modify() -> None:
    operations = [{"Insert": [{"pos": 0, "tag": "INS_1", "label": ["x"]}]}, {"Delete": [1]}]
    assert expand_upstream(S, operations) == ("AxBCDE",)
    assert expand(S, operations) == ("AxBCDE", "ACDE")


def test_upstream_splits_a_later_string_label_into_characters() -> None:
    operations = [{"Insert": [{"pos": 0, "tag": "INS_1", "label": ["x"]}]},
                  {"Modify": [{"pos": 1, "tag": "MOD_2", "label": "yz"}]}]
    assert expand_upstream(S, operations) == ("AxBCDE", "AyDE", "AzDE")
    assert expand(S, operations) == ("AxBCDE", "AyzDE")


# ---------------------------------------------------------------- the valid set

# (record, operation set, a reference the fixed expansion gives and the upstream converter loses):
# the 12 operation sets of FCGEC_valid.json holding a Delete or Switch beside list-labelled
# Inserts or Modifies. Each expected sentence was read and checked by hand.
DROPPED = [
    ("29a67546d74faa0731585cfac1b29c2c", 0, "推进文化体制创新和挖掘特色文化内涵"),
    ("fd9640d0d37617ff2e68dbe88da3919e", 0, "这是引起当今从事国际问题研究的专家学者们关注的问题"),
    ("515761620c2f5f29d7bcf5c2e6633210", 0, "某批发部，查出两名当事人"),
    ("163b009de05071f6279e53c79c08c8f8", 0, "虽然我国环境保护转机的曙光隐约可见"),
    ("b231e9932d3e0d323a891de81f68da9b", 0, "不但没有消失， 反而在敖汉"),
    ("b231e9932d3e0d323a891de81f68da9b", 1, "不但没有消失，反倒在敖汉"),
    ("6ac5bff2afa5320efe46d8d7490d282f", 0, "丰富流行音乐的表现内涵和拓宽审美空间"),
    ("854aedc98f6ce76689f03c3d86eada5d", 0, "7．5万亿元，占全部信贷比重"),
    ("8f6fbddb3d462d1c9e4d871e81efafde", 1, "或许更应该追问，这种模式"),
    ("bf374769b63ae48046c6fe0a0ad96fc0", 0, "健康素养是个人获取和理解基本健康信息"),
    ("0409f9451051a4d8e8eba3844e6a61fd", 0, "我们都要不断付诸努力。"),
    ("c45586f13fabc461520d63dd9bac336f", 0, "曾创造四个月蝉联单曲畅销榜冠军"),
]


@pytest.fixture(scope="module")
def valid(shared_data: Path) -> dict:
    return json.loads((shared_data / "fcgec" / "FCGEC_valid.json").read_text(encoding="utf-8"))


def test_the_twelve_operations_are_the_ones_the_upstream_converter_cuts(valid: dict) -> None:
    found = []
    for uid, record in valid.items():
        for index, operation in enumerate(json.loads(record["operation"])):
            listed = any(isinstance(entry["label"], list) for kind in ("Insert", "Modify")
                         for entry in operation.get(kind, []))
            if listed and ("Delete" in operation or "Switch" in operation):
                found.append((uid, index))
    assert sorted(found) == sorted((uid, index) for uid, index, _ in DROPPED)


@pytest.mark.parametrize("uid, index, fragment", DROPPED, ids=[f"{u[:8]}-{i}" for u, i, _ in DROPPED])
def test_each_cut_operation_is_restored(valid: dict, uid: str, index: int, fragment: str) -> None:
    record = valid[uid]
    operations = json.loads(record["operation"])
    fixed = expand(record["sentence"], [operations[index]])
    assert fixed and fragment in fixed[0]
    assert not any(fragment in reference for reference in expand_upstream(record["sentence"], operations))


def test_the_fix_changes_the_references_of_sixteen_valid_sentences(shared_data: Path) -> None:
    paths = {"records": shared_data / "fcgec" / "FCGEC_valid.json"}
    fixed, upstream = load_fcgec(paths), load_fcgec(paths, upstream=True)
    assert fixed.gold and upstream.gold and fixed.gold.references and upstream.gold.references
    changed = [item.id for item, a, b in zip(fixed.items, fixed.gold.references, upstream.gold.references) if a != b]
    assert len(changed) == 16
    assert (fixed.stats["references"], upstream.stats["references"]) == (2543, 2550)


def test_a_position_past_the_sentence_is_one_error_naming_file_record_and_line(tmp_path: Path) -> None:
    records = {"a1": {"sentence": "今天天气好。", "error_flag": 0, "error_type": "*", "operation": "[]"},
               "b2": {"sentence": "今天天气很好。", "error_flag": 1, "error_type": "CR",
                      "operation": json.dumps([{"Delete": [3]}, {"Delete": [12]}])}}
    path = tmp_path / "FCGEC_valid.json"
    path.write_text(json.dumps(records, ensure_ascii=False, indent=4), encoding="utf-8")
    with pytest.raises(HarnessError) as caught:
        load_fcgec({"records": path})
    error = caught.value
    assert error.path == str(path) and error.line == 8
    assert "record b2" in error.message and "Delete position 12 is past the sentence (7 characters)" in error.message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["FCGEC_valid.json"]  # nothing written

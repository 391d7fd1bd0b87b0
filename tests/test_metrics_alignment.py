"""Weighted Levenshtein with transpositions and the enumeration of all cheapest paths
(SCORING.md section 4).

Hand-made tests use constant substitution costs so that every cell can be worked out on paper;
the random tests check the fast `align` + `cheapest_paths` against the cell-by-cell
`align_reference` and an independent depth-first enumeration written here from the spec.
The kernels, bands and bounded memory are tested in test_metrics_alignment_kernels.py.
"""

from __future__ import annotations

import random
from typing import Callable

import pytest

from support import SHARED_DATA
from metrics.alignment import align, align_reference, cheapest_paths
from metrics.cost import SubstitutionCost
from metrics.normalise import TargetNormaliser
from metrics.zh.lexicon import Lexicon
from metrics.zh.tokens import CharTokenizer, Token



def toks(text: str) -> list[Token]:
    return [Token(ch, "unk", (ch,)) for ch in text]


def constant(value: float) -> Callable[[Token, Token], float]:
    return lambda a, b: value


def paths(src: str, tgt: str, cost_fn) -> list[list[tuple]]:
    return list(cheapest_paths(align(toks(src), toks(tgt), cost_fn)))


# --- borders and trivial cases ---------------------------------------------------------------


def test_empty_source_and_target_have_one_empty_path():
    table = align([], [], constant(1.5))
    assert table.costs().tolist() == [[0.0]]
    assert list(cheapest_paths(table)) == [[]]


def test_empty_source_is_all_insertions():
    table = align([], toks("ab"), constant(1.5))
    assert table.costs().tolist() == [[0.0, 1.0, 2.0]]
    assert list(cheapest_paths(table)) == [[("I", 0, 0, 0, 1), ("I", 0, 0, 1, 2)]]


def test_empty_target_is_all_deletions():
    table = align(toks("ab"), [], constant(1.5))
    assert table.costs().tolist() == [[0.0], [1.0], [2.0]]
    assert list(cheapest_paths(table)) == [[("D", 0, 1, 0, 0), ("D", 1, 2, 0, 0)]]


def test_first_row_and_column_count_insertions_and_deletions():
    table = align(toks("abc"), toks("xy"), constant(1.5))
    assert [row[0] for row in table.costs().tolist()] == [0.0, 1.0, 2.0, 3.0]
    assert table.costs().tolist()[0] == [0.0, 1.0, 2.0]
    assert table.ops(0, 2) == ["I"]
    assert table.ops(3, 0) == ["D"]


def test_identical_sequences_align_by_matches_only():
    assert paths("abc", "abc", constant(1.5)) == [
        [("M", 0, 1, 0, 1), ("M", 1, 2, 1, 2), ("M", 2, 3, 2, 3)]]


def test_single_substitution_is_cheaper_than_deletion_plus_insertion():
    # (1,1): del 1+1 = 2, ins 1+1 = 2, sub 0+1.5 = 1.5 -> S only.
    table = align(toks("a"), toks("b"), constant(1.5))
    assert table.cost(1, 1) == 1.5
    assert list(cheapest_paths(table)) == [[("S", 0, 1, 0, 1)]]


def test_matching_cell_offers_only_m_even_when_a_deletion_ties():
    # src "aa", tgt "a". Cell (2,1): s[1] == t[0] -> C = C[1][0] = 1 with op M only, although
    # deletion C[1][1] + 1 = 0 + 1 = 1 costs the same. So the path deleting the SECOND a
    # (M then D) is never enumerated.
    table = align(toks("aa"), toks("a"), constant(1.5))
    assert table.ops(2, 1) == ["M"]
    assert table.cost(2, 1) == 1.0
    assert list(cheapest_paths(table)) == [[("D", 0, 1, 0, 0), ("M", 1, 2, 0, 1)]]


# --- transpositions --------------------------------------------------------------------------


def test_swapped_pair_is_one_transposition_t2():
    # sub 1.5. (1,1) S = 1.5; (1,2) and (2,1) M = 1; (2,2): del 2, ins 2, sub 1.5+1.5 = 3,
    # trans: k=1, C[1][1]=1.5 != C[0][0]=0 and {a,b} == {b,a} -> C[0][0] + 1 = 1 -> T2 only.
    table = align(toks("ab"), toks("ba"), constant(1.5))
    assert table.cost(2, 2) == 1.0
    assert table.ops(2, 2) == ["T2"]
    assert list(cheapest_paths(table)) == [[("T2", 0, 2, 0, 2)]]


def test_transposition_step_spans_the_whole_window():
    # src "xab", tgt "xba": the T2 step covers source 1..3 and target 1..3.
    assert paths("xab", "xba", constant(1.5)) == [[("M", 0, 1, 0, 1), ("T2", 1, 3, 1, 3)]]


def test_transposition_search_stops_at_a_cost_preserving_diagonal():
    # src "acb", tgt "bca", sub 1.5. Table by hand:
    #        -    b    c    a
    #   -    0    1    2    3
    #   a    1   1.5  2.5   2     (1,3) M
    #   c    2   2.5  1.5   2     (2,2) M; (2,3) T2 = C[0][1] + 1
    #   b    3    2    2    3     (3,1) M; (3,2) T2 = C[1][0] + 1
    # Cell (3,3): the search starts with k=1 and C[2][2] == C[1][1] (the c/c match) stops it
    # at once, so the 3-window {a,c,b} == {b,c,a} (which would cost C[0][0] + 2 = 2) is never
    # reached: del C[2][3]+1 = 3, ins C[3][2]+1 = 3, sub C[2][2]+1.5 = 3 -> [S, I, D].
    table = align(toks("acb"), toks("bca"), constant(1.5))
    assert table.costs().tolist() == [[0.0, 1.0, 2.0, 3.0], [1.0, 1.5, 2.5, 2.0], [2.0, 2.5, 1.5, 2.0],
                                      [3.0, 2.0, 2.0, 3.0]]
    assert table.ops(2, 3) == ["T2"]
    assert table.ops(3, 2) == ["T2"]
    assert table.ops(3, 3) == ["S", "I", "D"]
    assert list(cheapest_paths(table)) == [
        [("S", 0, 1, 0, 1), ("M", 1, 2, 1, 2), ("S", 2, 3, 2, 3)],
        [("D", 0, 1, 0, 0), ("T2", 1, 3, 0, 2), ("I", 3, 3, 2, 3)],
        [("I", 0, 0, 0, 1), ("T2", 0, 2, 1, 3), ("D", 2, 3, 3, 3)],
    ]


def test_three_token_rotation_is_one_transposition_t3():
    # src "abc", tgt "cab", sub 1.9 (close to its maximum 1.999).
    #        -    c    a    b
    #   -    0    1    2    3
    #   a    1   1.9   1    2     (1,2) M
    #   b    2   2.9   2    1     (2,3) M
    #   c    3    2    3    2     (3,1) M
    # (2,2) b/a: del C[1][2]+1 = 2, ins C[2][1]+1 = 3.9, sub C[1][1]+1.9 = 3.8, trans k=1:
    #   C[1][1]=1.9 != C[0][0]; {a,b} vs {c,a} differ; i-2 < 0 stops -> 2 [D].
    # (3,2) c/a: del C[2][2]+1 = 3, ins C[3][1]+1 = 3, sub C[2][1]+1.9 = 4.8, trans k=1:
    #   C[2][1]=2.9 != C[1][0]=1; {b,c} vs {c,a} differ; k=2: j-2 < 0 stops -> 3 [I, D].
    # (3,3) c/b: del C[2][3]+1 = 2, ins C[3][2]+1 = 4, sub C[2][2]+1.9 = 3.9, trans k=1:
    #   C[2][2]=2 != C[1][1]=1.9, {b,c} vs {a,b} differ; k=2: C[1][1]=1.9 != C[0][0]=0,
    #   {a,b,c} == {c,a,b} -> C[0][0] + 2 = 2 -> ties with del: [T3, D].
    table = align(toks("abc"), toks("cab"), constant(1.9))
    assert table.cost(3, 3) == 2.0
    assert table.ops(3, 3) == ["T3", "D"]
    assert list(cheapest_paths(table)) == [
        [("T3", 0, 3, 0, 3)],
        [("I", 0, 0, 0, 1), ("M", 0, 1, 1, 2), ("M", 1, 2, 2, 3), ("D", 2, 3, 3, 3)],
    ]


# --- ties ------------------------------------------------------------------------------------


def test_ops_tying_are_all_kept_in_order_s_i_d():
    # sub 2.0 = ins + del: (1,1) del 2, ins 2, sub 2 -> [S, I, D].
    table = align(toks("a"), toks("b"), constant(2.0))
    assert table.ops(1, 1) == ["S", "I", "D"]


def test_ties_are_enumerated_depth_first_in_op_order():
    assert paths("a", "b", constant(2.0)) == [
        [("S", 0, 1, 0, 1)],
        [("D", 0, 1, 0, 0), ("I", 1, 1, 0, 1)],
        [("I", 0, 0, 0, 1), ("D", 0, 1, 1, 1)],
    ]


def test_transposition_comes_before_substitution_on_a_tie():
    # sub 0.5: (1,1) S = 0.5; (2,2): sub C[1][1] + 0.5 = 1.0, trans C[0][0] + 1 = 1.0,
    # del = ins = C[1][2] + 1 = 2 -> [T2, S].
    table = align(toks("ab"), toks("ba"), constant(0.5))
    assert table.ops(2, 2) == ["T2", "S"]
    assert list(cheapest_paths(table)) == [
        [("T2", 0, 2, 0, 2)],
        [("S", 0, 1, 0, 1), ("S", 1, 2, 1, 2)],
    ]


def test_ties_use_exact_float_equality():
    # src "ab", tgt "cd"; sub(a,c) = 0.8, sub(a,d) = sub(b,c) = 0.4, sub(b,d) = 1.6.
    # (1,1) S = 0.8; (1,2) S = C[0][1] + 0.4 = 1.4; (2,1) S = 1.4.
    # (2,2): del = C[1][2] + 1 = 2.4, ins = C[2][1] + 1 = 2.4, sub = C[1][1] + 1.6 = 0.8 + 1.6,
    # which is 2.4 on paper but 2.4000000000000004 in floats: no tolerance, so S is not kept.
    costs = {("a", "c"): 0.8, ("a", "d"): 0.4, ("b", "c"): 0.4, ("b", "d"): 1.6}
    assert 0.8 + 1.6 != (1.0 + 0.4) + 1
    table = align(toks("ab"), toks("cd"), lambda a, b: costs[(a.text, b.text)])
    assert table.cost(2, 2) == (1.0 + 0.4) + 1
    assert table.ops(2, 2) == ["I", "D"]


# --- length difference -----------------------------------------------------------------------


def test_all_cheapest_paths_when_lengths_differ_by_ten():
    # src "x", tgt 11 y's, sub 1.5: cost 10 + 1.5; the S can pair x with any of the 11 y's
    # (C[1][j] = j + 0.5 with ops [S, I] for j >= 2), so 11 paths.
    found = paths("x", "y" * 11, constant(1.5))
    assert len(found) == 11
    assert len({tuple(p) for p in found}) == 11


def test_only_one_path_when_lengths_differ_by_more_than_ten():
    # 12 y's: |1 - 12| = 11 > 10 -> only the first op of each cell: S at (1,12), then I's.
    found = paths("x", "y" * 12, constant(1.5))
    assert found == [[("I", 0, 0, j, j + 1) for j in range(11)] + [("S", 0, 1, 11, 12)]]


def test_only_one_path_when_target_is_much_shorter():
    # 12 y's -> "x": the same, mirrored: first op at (12,1) is S (then D's).
    found = paths("y" * 12, "x", constant(1.5))
    assert found == [[("D", i, i + 1, 0, 0) for i in range(11)] + [("S", 11, 12, 0, 1)]]


# --- fast table against the reference -------------------------------------------------------


def reference_paths(ops: list[list], n: int, m: int) -> list[list[tuple]]:
    """Depth-first enumeration from (n, m), written from the spec, over the reference ops."""
    first_only = abs(n - m) > 10
    out: list[list[tuple]] = []

    def dfs(a: int, b: int, reversed_path: list[tuple]) -> None:
        if a + b == 0:
            out.append(reversed_path[::-1])
            return
        cell = ops[a][b][:1] if first_only else ops[a][b]
        for op in cell:
            if op in ("M", "S"):
                step = (op, a - 1, a, b - 1, b)
            elif op == "D":
                step = (op, a - 1, a, b, b)
            elif op == "I":
                step = (op, a, a, b - 1, b)
            else:
                k = int(op[1:])
                step = (op, a - k, a, b - k, b)
            dfs(step[1], step[3], reversed_path + [step])

    dfs(n, m, [])
    return out


def visited_cells(found: list[list[tuple]], n: int, m: int) -> set[tuple[int, int]]:
    cells = {(n, m)} if n + m else set()
    for path in found:
        for _, s_start, _, t_start, _ in path:
            if s_start + t_start:
                cells.add((s_start, t_start))
    return cells


def check_against_reference(src: list[Token], tgt: list[Token], cost_fn, stats: dict) -> None:
    ref_cost, ref_ops = align_reference(src, tgt, cost_fn)
    label = ("".join(t.text for t in src), "".join(t.text for t in tgt))
    # Filled whole, the fast table may still leave out a common suffix (every cheapest path ends
    # with those forced matches): it must then be the top-left block of the reference table, cut
    # equally on both sides.
    whole = align(src, tgt, cost_fn, band=len(src) + len(tgt)).costs().tolist()
    rows, columns = len(whole), len(whole[0])
    assert len(src) + 1 - rows == len(tgt) + 1 - columns >= 0, label
    assert whole == [row[:columns] for row in ref_cost[:rows]], label
    # As used (in a band when that suffices), every cell a cheapest path visits is exact.
    table = align(src, tgt, cost_fn)
    costs = table.costs().tolist()
    expected_paths = reference_paths(ref_ops, len(src), len(tgt))
    for a, b in visited_cells(expected_paths, len(src), len(tgt)):
        if a < rows and b < columns:
            assert costs[a][b] == ref_cost[a][b], (label, a, b)
            assert table.ops(a, b) == ref_ops[a][b], (label, a, b)
        else:
            assert ref_ops[a][b] == ["M"], (label, a, b)
        stats["ties"] += len(ref_ops[a][b]) > 1
        stats["transpositions"] += any(op.startswith("T") for op in ref_ops[a][b])
    assert list(cheapest_paths(table)) == expected_paths, label


def random_pairs(rng: random.Random, alphabet: str, max_len: int, count: int):
    for _ in range(count):
        src = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, max_len)))
        if rng.random() < 0.5:  # often a shuffled or lightly edited copy: transpositions
            chars = list(src)
            rng.shuffle(chars)
            if chars and rng.random() < 0.5:
                chars[rng.randrange(len(chars))] = rng.choice(alphabet)
            tgt = "".join(chars)
        else:
            tgt = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, max_len)))
        yield src, tgt


def test_fast_alignment_equals_reference_with_constant_costs():
    rng = random.Random(0)
    stats = {"ties": 0, "transpositions": 0}
    for value, alphabet, max_len in [(1.0, "abc", 7), (0.5, "ab", 7), (1.5, "abcd", 8), (2.0, "abc", 5)]:
        for src, tgt in random_pairs(rng, alphabet, max_len, 120):
            check_against_reference(toks(src), toks(tgt), constant(value), stats)
    assert stats["ties"] > 100 and stats["transpositions"] > 100  # the cases were exercised


def test_fast_alignment_equals_reference_with_the_char_cost():
    # A tiny lexicon: 甲乙 share a code, 他她 share a reading, 丙~丁 confusable; punctuation and
    # a Latin letter too, so many distinct cost values and some ties.
    lexicon = Lexicon.from_texts("Aa01A01= 甲 乙\nAb01A01= 丙", "丙 丁\n")
    cost = SubstitutionCost(lexicon)
    tokenizer = CharTokenizer()
    rng = random.Random(0)
    stats = {"ties": 0, "transpositions": 0}
    for src, tgt in random_pairs(rng, "甲乙丙丁他她，a", 8, 300):
        check_against_reference(tokenizer(src), tokenizer(tgt), cost, stats)
    assert stats["transpositions"] > 50


def test_fast_alignment_equals_reference_when_lengths_differ_by_more_than_ten():
    rng = random.Random(0)
    stats = {"ties": 0, "transpositions": 0}
    for _ in range(30):
        short = "".join(rng.choice("ab") for _ in range(rng.randint(0, 3)))
        long = "".join(rng.choice("ab") for _ in range(rng.randint(14, 16)))
        check_against_reference(toks(short), toks(long), constant(1.0), stats)
        check_against_reference(toks(long), toks(short), constant(1.0), stats)
        assert len(list(cheapest_paths(align(toks(short), toks(long), constant(1.0))))) == 1


@pytest.fixture(scope="module")
def real_lines() -> list[str]:
    path = SHARED_DATA / "nacgec" / "nacgec.dev.ref.para"
    if not path.is_file():
        pytest.skip(f"NaCGEC dev references not found at {path} (data mirror absent)")
    return path.read_text(encoding="utf-8").strip().split("\n")


def test_fast_alignment_equals_reference_on_real_sentence_pairs(real_lexicon, real_lines):
    # Long sentences with long common prefixes and suffixes, as in real use.
    cost = SubstitutionCost(real_lexicon)
    tokenizer = CharTokenizer()
    normalise = TargetNormaliser()
    stats = {"ties": 0, "transpositions": 0}
    for line in random.Random(0).sample(real_lines, 15):
        source, *targets = line.split("\t")[1:]
        for target in targets:
            check_against_reference(tokenizer("".join(source.split())), tokenizer(normalise(target)), cost, stats)

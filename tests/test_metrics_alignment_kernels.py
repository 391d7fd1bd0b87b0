"""The fast alignment tables against `align_reference`, kernel by kernel and band by band.

`align` fills a band of diagonals first and keeps, for every cell it stores, either ChERRANT's
exact cost or nothing (inf): the claim tested here is that every stored cost and the ops of
every stored cell equal the reference's, whatever the kernel (Python or numpy), the band
(narrow, automatic, whole) and the path taken (raw windows found by dicts or by numpy, long
blocks, hash collisions), and that the automatic table gives the reference's paths. Inputs are made to be
hard: many ties, zero costs, repeated characters, shuffles and rotations (transpositions),
length differences over 10, empty sides, and the [缺失成分] token. A long pair checks that
memory grows with the band, not with the table.
"""

from __future__ import annotations

import math
import random
import tracemalloc
from typing import Callable, Iterator

import numpy as np
import pytest

import metrics.alignment as alignment
from metrics.alignment import align, align_reference, cheapest_paths
from metrics.cost import SubstitutionCost
from metrics.merger import merge
from metrics.zh.lexicon import Lexicon
from metrics.zh.tokens import CharTokenizer, Token
from test_metrics_alignment import reference_paths

CostFn = Callable[[Token, Token], float]
BANDS = (0, 1, 2, None, 1000)  # fixed widths, automatic, whole


def toks(text: str) -> list[Token]:
    return [Token(ch, "unk", (ch,)) for ch in text]


def costs_from(rng: random.Random, values: tuple[float, ...]) -> CostFn:
    """A cost per ordered pair of texts, drawn once from `values` (zero included: more ties)."""
    drawn: dict[tuple[str, str], float] = {}

    def cost(a: Token, b: Token) -> float:
        return drawn.setdefault((a.text, b.text), rng.choice(values))

    return cost


def edited(rng: random.Random, text: str, alphabet: str) -> str:
    """A copy with a few substitutions, insertions and deletions."""
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        if op < 0.4 and chars:
            chars[rng.randrange(len(chars))] = rng.choice(alphabet)
        elif op < 0.7:
            chars.insert(rng.randrange(len(chars) + 1), rng.choice(alphabet))
        elif chars:
            del chars[rng.randrange(len(chars))]
    return "".join(chars)


def hard_pairs(rng: random.Random, count: int) -> Iterator[tuple[list[Token], list[Token], CostFn]]:
    """Short pairs of the kinds listed in the module docstring."""
    for _ in range(count):
        alphabet = rng.choice(["a", "ab", "abc", "abcd", "abcdefgh"])
        src = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        kind = rng.random()
        if kind < 0.3:  # shuffled: transpositions of every size
            chars = list(src)
            rng.shuffle(chars)
            tgt = "".join(chars)
        elif kind < 0.45 and src:  # rotated
            shift = rng.randrange(len(src))
            tgt = src[shift:] + src[:shift]
        elif kind < 0.75:
            tgt = edited(rng, src, alphabet)
        elif kind < 0.85:  # lengths differing by more than 10
            tgt = src + "".join(rng.choice(alphabet) for _ in range(rng.randint(11, 14)))
            if rng.random() < 0.5:
                src, tgt = tgt, src
        else:
            tgt = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        constant = rng.choice([0.5, 1.0, 1.5, 2.0])
        cost = costs_from(rng, rng.choice([(constant,), (constant, 0.25, 1.0, 0.0), (0.3, 0.7, 1.999)]))
        yield toks(src), toks(tgt), cost


def char_cost_pairs(rng: random.Random, count: int) -> Iterator[tuple[list[Token], list[Token], CostFn]]:
    """The real char-level cost on a tiny lexicon, with punctuation, a Latin letter and [缺失成分]."""
    cost = SubstitutionCost(Lexicon.from_texts("Aa01A01= 甲 乙\nAb01A01= 丙", "丙 丁\n"))
    tokenizer = CharTokenizer()
    pieces = ["甲", "乙", "丙", "丁", "他", "她", "，", "a", "[缺失成分]"]
    for _ in range(count):
        src = [rng.choice(pieces) for _ in range(rng.randint(0, 10))]
        tgt = list(src)
        if rng.random() < 0.4:
            rng.shuffle(tgt)
        for _ in range(rng.randint(0, 3)):
            tgt.insert(rng.randrange(len(tgt) + 1), rng.choice(pieces))
        yield tokenizer("".join(src)), tokenizer("".join(tgt)), cost


def check_stored_cells(src: list[Token], tgt: list[Token], cost: CostFn, vector: bool, band: int | None) -> bool:
    """Every stored (finite) cost and its cell's ops equal the reference; returns whether the
    final cell is stored, and then checks the paths too."""
    ref_cost, ref_ops = align_reference(src, tgt, cost)
    table = align(src, tgt, cost, vector=vector, band=band)
    costs = table.costs()
    label = ("".join(t.text for t in src), "".join(t.text for t in tgt), vector, band)
    for a, b in zip(*np.nonzero(np.isfinite(costs))):
        assert costs[a, b] == ref_cost[a][b], (label, a, b)
        if a + b:
            assert table.ops(int(a), int(b)) == ref_ops[a][b], (label, a, b)
    final = math.isfinite(costs[-1, -1])
    if final:
        assert list(cheapest_paths(table)) == reference_paths(ref_ops, len(src), len(tgt)), label
    if band is None or band >= len(src) + len(tgt):
        assert final, label  # the automatic and the whole table always get there
    if band is not None and band >= len(src) + len(tgt):
        assert np.isfinite(costs).all(), label
    return final


@pytest.mark.parametrize("vector", [False, True])
@pytest.mark.parametrize("band", BANDS)
def test_stored_cells_equal_reference_on_hard_pairs(vector, band):
    rng = random.Random(2 * BANDS.index(band) + vector)
    finals = sum(check_stored_cells(src, tgt, cost, vector, band) for src, tgt, cost in hard_pairs(rng, 150))
    assert finals > 100


@pytest.mark.parametrize("vector", [False, True])
@pytest.mark.parametrize("band", [1, None])
def test_stored_cells_equal_reference_with_the_char_cost(vector, band):
    rng = random.Random(3)
    for src, tgt, cost in char_cost_pairs(rng, 120):
        check_stored_cells(src, tgt, cost, vector, band)


@pytest.mark.parametrize("vector", [False, True])
def test_raw_windows_found_by_numpy_or_by_dicts_give_the_same_tables(monkeypatch, vector):
    # Small bands find their raw windows with a dict per diagonal, others with numpy sorts.
    rng = random.Random(5)
    for cells in (0, 10**9):
        monkeypatch.setattr(alignment, "PYTHON_WINDOW_MAX_CELLS", cells)
        for src, tgt, cost in hard_pairs(rng, 100):
            for band in (1, None):
                check_stored_cells(src, tgt, cost, vector, band)


def test_long_block_path_keeps_few_rows_as_lists(monkeypatch):
    # Every block counts as long: rows go to the array as they are filled, and the search
    # reads older ones from it; each row's substitution costs are gathered one by one.
    monkeypatch.setattr(alignment, "LONG_BLOCK_SLOTS", 0)
    monkeypatch.setattr(alignment, "LIST_ROWS", 2)
    rng = random.Random(7)
    for src, tgt, cost in hard_pairs(rng, 120):
        for band in (1, None):
            check_stored_cells(src, tgt, cost, False, band)


@pytest.mark.parametrize("vector", [False, True])
def test_hash_collisions_are_caught_by_the_exact_check(monkeypatch, vector):
    # Tokens hash to 1, 2, 3, ... (distinct, as the kernels require): sums of different
    # windows collide all the time ({1, 4} and {2, 3}). In a band the block is then filled again
    # whole; whole, the plain search finds the window.
    monkeypatch.setattr(alignment, "token_hashes", lambda count: tuple(range(1, count + 1)))
    checked = []
    original = alignment._same_multiset
    monkeypatch.setattr(alignment, "_same_multiset", lambda *args: checked.append(original(*args)) or checked[-1])
    rng = random.Random(9)
    for src, tgt, cost in hard_pairs(rng, 120):
        for band in (None, 1000):
            check_stored_cells(src, tgt, cost, vector, band)
    if not vector:  # the numpy kernel checks one-step windows without this function
        assert checked.count(False) > 20 and checked.count(True) > 20


def test_both_kernels_fill_the_same_whole_table():
    rng = random.Random(11)
    for src, tgt, cost in hard_pairs(rng, 150):
        band = len(src) + len(tgt)
        scalar = align(src, tgt, cost, vector=False, band=band)
        vector = align(src, tgt, cost, vector=True, band=band)
        assert np.array_equal(scalar.costs(), vector.costs())
        assert [scalar.ops(a, b) for a in range(scalar.n + 1) for b in range(scalar.m + 1) if a + b] == \
               [vector.ops(a, b) for a in range(vector.n + 1) for b in range(vector.m + 1) if a + b]


def test_compact_paths_merge_to_the_same_edits():
    # The annotator takes the common prefix and suffix as one M step each.
    rng = random.Random(13)
    for src, tgt, cost in list(hard_pairs(rng, 150)) + list(char_cost_pairs(rng, 60)):
        head, tail = toks("xyzxy"[: rng.randint(0, 5)]), toks("zyx"[: rng.randint(0, 3)])
        src, tgt = head + src + tail, head + tgt + tail
        texts = [t.text for t in src], [t.text for t in tgt]
        table = align(src, tgt, cost)
        for granularity in ("char", "word"):
            assert [merge(path, *texts, granularity) for path in cheapest_paths(table, compact=True)] == \
                   [merge(path, *texts, granularity) for path in cheapest_paths(table)]


def test_negative_costs_are_refused():
    # Tainted cells are told apart by their sign: costs must never be negative (ChERRANT's are not).
    with pytest.raises(ValueError, match="negative"):
        align(toks("abcab"), toks("bacba"), lambda a, b: -0.5)


# --- a long pair --------------------------------------------------------------------------


def long_pair(length: int) -> tuple[str, str]:
    """Chinese-like text over 300 characters with an edit every 40 or so (seeded)."""
    rng = random.Random(length)
    alphabet = [chr(0x4E00 + k) for k in range(300)]
    source = "".join(rng.choice(alphabet) for _ in range(length))
    chars = list(source)
    for _ in range(length // 40):
        at = rng.randrange(len(chars) - 1)
        op = rng.choice(["delete", "insert", "swap", "substitute"])
        if op == "delete":
            del chars[at]
        elif op == "insert":
            chars.insert(at, rng.choice(alphabet))
        elif op == "swap":
            chars[at], chars[at + 1] = chars[at + 1], chars[at]
        else:
            chars[at] = rng.choice(alphabet)
    return source, "".join(chars)


def test_long_pair_is_aligned_in_bounded_memory():
    # 2,000 characters, 50 scattered edits: the band, not the 4M-cell table, sets the memory.
    source, target = long_pair(2000)
    tokenizer = CharTokenizer()
    src, tgt = tokenizer(source), tokenizer(target)
    cost = SubstitutionCost(Lexicon())
    tracemalloc.start()
    table = align(src, tgt, cost, cost.unique_matrix)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rows, cells = len(src) - table.prefix - table.suffix, len(src) * len(tgt)
    assert table.block.dtype == np.float64 and table.window.dtype == np.uint16
    assert table.block.shape == table.window.shape and table.block.shape[0] == rows + 1
    stored = table.block.nbytes + table.window.nbytes
    assert stored == 10 * table.block.size
    assert table.block.shape[1] < len(tgt) / 4  # a band of diagonals, not whole rows
    assert stored < 24 * cells / 10
    assert peak < 24 * cells / 4  # everything allocated on the way, temporaries included
    assert math.isfinite(table.cost(table.n, table.m))
    assert len(next(cheapest_paths(table))) >= max(len(src), len(tgt))


def test_raw_windows_are_found_in_chunks_of_bounded_size(monkeypatch):
    # The numpy kernel's window search sorts a few diagonals at a time.
    sizes: list[int] = []
    original = alignment._chunk_windows

    def recorded(ps, pt, offsets, first_row, lengths, lo, flat, stride):
        sizes.append(int(lengths.sum()))
        return original(ps, pt, offsets, first_row, lengths, lo, flat, stride)

    monkeypatch.setattr(alignment, "_chunk_windows", recorded)
    monkeypatch.setattr(alignment, "WINDOW_CHUNK", 5000)
    source, target = long_pair(600)
    src, tgt = toks(source), toks(target)
    table = align(src, tgt, lambda a, b: 0.75, vector=True, band=len(src) + len(tgt))
    assert len(sizes) > 10 and max(sizes) <= 5000 + len(src) + 1
    ref_cost, _ = align_reference(src[:120], tgt[:120], lambda a, b: 0.75)
    assert table.costs()[:121, :121].tolist() == ref_cost

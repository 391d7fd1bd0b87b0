"""The compiled alignment kernel (metrics/_kernel.c) against the pure-Python one, cell by cell.

`fill` must give `_fill_scalar`'s block (every cost, inf where not exact, the sign rules of
tainted cells included), its transposition windows and its verdict on the final cell, for any
band; `char_costs` the char-level substitution matrix of `SubstitutionCost`. Hypothesis draws
the strings over small alphabets (many repeats, ties, transpositions), the costs from sets that
include 0, the band, and the hashes (the real ones, or 1, 2, 3... that collide all the time).
Then whole alignments: `align` with the compiled kernel and with the pure one give the same
tables, ops and paths. The fallback itself: CGEC_PURE_PYTHON and a missing extension both select
the Python kernel, and a build without a compiler does not fail.
"""

from __future__ import annotations

import os
import shutil
import zlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metrics.alignment as alignment
import metrics.cost as cost_module
from metrics.alignment import align, cheapest_paths, unique_costs
from metrics.cost import SubstitutionCost
from metrics.zh.lexicon import Lexicon
from metrics.zh.tokens import CharTokenizer, Token

kernel = pytest.importorskip("metrics._kernel", reason="the compiled kernel is not built (no compiler?)")

REPO = Path(__file__).resolve().parents[1]
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXT = st.sampled_from(["ab", "abc", "abcd", "abcdefgh"]).flatmap(
    lambda alphabet: st.text(alphabet=st.sampled_from(list(alphabet)), max_size=16))
COSTS = st.sampled_from([(1.0,), (0.5,), (2.0,), (0.0, 0.25, 1.0), (0.3, 0.7, 1.999), (0.5, 1.5, 0.0, 2.0)])


def toks(text: str) -> list[Token]:
    return [Token(ch, "unk", (ch,)) for ch in text]


@pytest.fixture(autouse=True, scope="module")
def compiled():
    """The compiled kernel in use even when CGEC_PURE_PYTHON turned it off for this process."""
    saved = alignment.COMPILED, cost_module.COMPILED
    alignment.COMPILED = cost_module.COMPILED = kernel
    yield
    alignment.COMPILED, cost_module.COMPILED = saved


def cost_function(values: tuple[float, ...], seed: int):
    """A cost per ordered pair of texts, drawn from `values` by a seeded checksum (deterministic)."""
    def cost(a: Token, b: Token) -> float:
        return values[zlib.crc32(f"{a.text}|{b.text}|{seed}".encode()) % len(values)] if a.text != b.text else 0.0

    return cost


def both_fills(src_text: str, tgt_text: str, cost, width: int, colliding: bool):
    """(python, compiled) results of one band; 'collision' where a kernel gave up on the band."""
    src, tgt = toks(src_text), toks(tgt_text)
    ids: dict[str, int] = {}
    src_ids = [ids.setdefault(t, len(ids)) for t in src_text]
    tgt_ids = [ids.setdefault(t, len(ids)) for t in tgt_text]
    hashes = tuple(range(1, len(ids) + 1)) if colliding else alignment.token_hashes(len(ids))
    sub_costs = unique_costs(src, tgt, cost)
    n, m = len(src), len(tgt)
    lo, hi = max(-n, min(0, m - n) - width), min(m, max(0, m - n) + width)
    out = []
    for fill in (alignment._fill_scalar, alignment._fill_compiled):
        try:
            out.append(fill(src_ids, tgt_ids, hashes, sub_costs, lo, hi))
        except alignment._Collision:
            out.append("collision")
    return out


@SETTINGS
@given(TEXT, TEXT, COSTS, st.integers(0, 2**16), st.sampled_from([0, 1, 2, 3, 5, 40]), st.booleans())
def test_compiled_fill_equals_python_fill_cell_by_cell(src, tgt, values, seed, width, colliding):
    if not (src and tgt):
        return
    python, compiled = both_fills(src, tgt, cost_function(values, seed), width, colliding)
    if "collision" in (python, compiled):
        assert python == compiled
        return
    (block_p, window_p, exact_p), (block_c, window_c, exact_c) = python, compiled
    assert block_p.shape == block_c.shape and window_p.dtype == window_c.dtype
    assert np.array_equal(block_p, block_c)  # every cost, inf included, bit for bit
    assert np.array_equal(np.signbit(block_p), np.signbit(block_c))
    assert np.array_equal(window_p, window_c)
    assert exact_p == exact_c


def test_the_cases_the_property_tells_apart_do_occur():
    """Colliding hashes in a band, a band whose final cell stays inexact, and an exact one: the
    property above meets each (so it can fail in each), and both kernels agree on them here."""
    cost = cost_function((0.5, 1.5, 0.0, 2.0), 1)
    collided = both_fills("aabbccdd", "abcdabcd", cost, 1, colliding=True)
    inexact = both_fills("abcdefgh" * 2, "hgfedcba" * 2, cost_function((2.0,), 0), 0, colliding=False)
    exact = both_fills("ab", "ba", cost, 1, colliding=True)
    assert collided == ["collision", "collision"]
    assert [result[2] for result in inexact] == [False, False]
    assert [result[2] for result in exact] == [True, True]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT, TEXT, COSTS, st.integers(0, 2**16))
def test_align_gives_the_same_tables_ops_and_paths_with_either_kernel(src, tgt, values, seed):
    cost = cost_function(values, seed)
    tables = []
    try:
        for kernel_module in (kernel, None):
            alignment.COMPILED = kernel_module
            tables.append(align(toks(src), toks(tgt), cost))
    finally:
        alignment.COMPILED = kernel
    compiled, python = tables
    assert np.array_equal(compiled.costs(), python.costs())
    cells = [(a, b) for a in range(compiled.n + 1) for b in range(compiled.m + 1)
             if a + b and np.isfinite(compiled.costs()[a, b])]
    assert [compiled.ops(a, b) for a, b in cells] == [python.ops(a, b) for a, b in cells]
    for compact in (False, True):  # the compiled walk against the Python one, on the same table
        walked = list(cheapest_paths(compiled, compact))
        alignment.COMPILED = None
        try:
            assert walked == list(cheapest_paths(python, compact)) == list(cheapest_paths(compiled, compact))
        finally:
            alignment.COMPILED = kernel


def test_the_compiled_walk_follows_paths_that_leave_the_block_and_gives_way_past_its_limit(monkeypatch):
    # Paths leaving the block on its first row or column, or through the prefix region off its
    # diagonal ("xb" -> "xyay"), are finished in Python; with a limit of one path the whole walk
    # is Python's. Every way gives the pure walk's paths.
    cost = cost_function((0.0, 0.5, 1.0), 3)
    pairs = [("xb", "xyay"), ("aab", "yxab"), ("xaab", "axb"), ("abab", "xbaab"), ("ab" * 8, "ba" * 2)]
    for src, tgt in pairs:
        table = align(toks(src), toks(tgt), cost)
        walks = []
        for kernel_module, limit in ((kernel, 10_000), (kernel, 1), (None, 10_000)):
            monkeypatch.setattr(alignment, "COMPILED", kernel_module)
            monkeypatch.setattr(alignment, "PATHS_LIMIT", limit)
            walks.append(list(cheapest_paths(table)))
        assert walks[0] == walks[1] == walks[2], (src, tgt)
    monkeypatch.setattr(alignment, "COMPILED", kernel)
    segments = alignment._compiled_walk(align(toks("xb"), toks("xyay"), cost), False)
    assert [(a, b) for a, b, _ in segments] == [(1, 3), (1, 2), (1, 1)]  # prefix 1: two leave it off-diagonal


# --- the char-level cost matrix ----------------------------------------------------------------

CILIN = "Aa01A01= 甲 乙\nAa01A02= 丙\nAb01A01= 丁 ，\nBa01A01= 戊\nBa02B01= 己 重\nCd05C01= 庚"
CONFUSION = "甲 庚 辛\n重 中\n"  # one direction only, as in ChERRANT's table
PIECES = list("甲乙丙丁戊己庚辛重中种众，。、a1") + ["[缺失成分]"]  # 重/中/种/众 share readings


def matrices(src_text: str, tgt_text: str) -> tuple[tuple, tuple]:
    lexicon = Lexicon.from_texts(CILIN, CONFUSION)
    tokenizer = CharTokenizer()
    src, tgt = tokenizer(src_text), tokenizer(tgt_text)
    out = []
    try:
        for kernel_module in (kernel, None):
            cost_module.COMPILED = kernel_module  # fixed per instance when it is made
            out.append(SubstitutionCost(lexicon).unique_matrix(src, tgt))
    finally:
        cost_module.COMPILED = kernel
    return out[0], out[1]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=20), st.lists(st.sampled_from(PIECES), min_size=1,
                                                                            max_size=20))
def test_compiled_char_costs_equal_the_python_ones(src, tgt):
    compiled, python = matrices("".join(src), "".join(tgt))
    assert np.array_equal(compiled[0], python[0])
    assert np.array_equal(compiled[1], python[1]) and np.array_equal(compiled[2], python[2])


def test_char_costs_see_confusion_in_either_direction_and_shared_readings():
    (unique, src_index, tgt_index), _ = matrices("庚中", "甲重")
    # 庚 is in 甲's confusion set only (not the reverse): char cost 0 (Cilin codes share nothing)
    assert unique[src_index[0], tgt_index[0]] == 6 / 6.0 + 0.0 + 0.25
    # 中 (not in Cilin) and 重 share the reading zhong
    assert unique[src_index[1], tgt_index[1]] == 4 / 6.0 + 0.0 + 0.25
    # 庚 and 重: neither confusable nor read alike
    assert unique[src_index[0], tgt_index[1]] == 6 / 6.0 + 0.5 + 0.25


def test_the_kernel_refuses_inconsistent_arrays():
    with pytest.raises(ValueError, match="inconsistent"):
        kernel.fill([0, 1], [1, 0], np.array([1, 2], dtype=np.int64), np.zeros((2, 2)), 2, [0, 1], [0, 1], -2, 2,
                    np.empty((3, 5)), np.empty((3, 4), dtype=np.uint16))
    with pytest.raises(ValueError, match="out of range"):
        kernel.fill([0, 5], [1, 0], np.array([1, 2], dtype=np.int64), np.zeros((2, 2)), 2, [0, 1], [0, 1], -2, 2,
                    np.empty((3, 7)), np.empty((3, 7), dtype=np.uint16))
    with pytest.raises(TypeError, match="block"):
        kernel.fill([0, 1], [1, 0], np.array([1, 2], dtype=np.int64), np.zeros((2, 2)), 2, [0, 1], [0, 1], -2, 2,
                    np.empty((3, 7), dtype=np.float32), np.empty((3, 7), dtype=np.uint16))


# --- choosing the kernel -------------------------------------------------------------------------

def kernel_in_subprocess(env_extra: dict[str, str], code: str = "") -> str:
    env = {k: v for k, v in os.environ.items() if k != "CGEC_PURE_PYTHON"}
    env.update(env_extra, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", code + "import metrics.kernel as k; print(k.name())"], env=env,
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_compiled_kernel_is_chosen_unless_turned_off_or_missing():
    assert kernel_in_subprocess({}) == "c"
    assert kernel_in_subprocess({"CGEC_PURE_PYTHON": "1"}) == "python"
    assert kernel_in_subprocess({"CGEC_PURE_PYTHON": "0"}) == "c"
    # an extension that cannot be imported (as when it was never built): the Python kernel
    assert kernel_in_subprocess({}, "import sys; sys.modules['metrics._kernel'] = None; ") == "python"


def test_a_build_without_a_compiler_succeeds_without_the_extension(tmp_path):
    (tmp_path / "metrics").mkdir()
    shutil.copy(REPO / "setup.py", tmp_path / "setup.py")
    shutil.copy(REPO / "metrics" / "_kernel.c", tmp_path / "metrics" / "_kernel.c")
    env = dict(os.environ, CC=str(tmp_path / "no-such-compiler"))
    done = subprocess.run([sys.executable, "setup.py", "build_ext", "--build-lib", "out", "--build-temp", "tmp"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "failed" in done.stdout + done.stderr
    assert not list(tmp_path.rglob("*.so"))


def test_confusion_entries_longer_than_a_character_never_match(monkeypatch):
    # ChERRANT tests `x in confusion[y]` on a list: an entry of two characters ("乙丙", as "坐座"
    # in the real table) or an empty one (a trailing space) never equals a character.
    lexicon = Lexicon.from_texts(CILIN, "甲 乙丙 丁 \n")
    tokenizer = CharTokenizer()
    src, tgt = tokenizer("甲甲"), tokenizer("乙丙丁")
    matrices = []
    for kernel_module in (kernel, None):
        monkeypatch.setattr(cost_module, "COMPILED", kernel_module)
        unique, src_index, tgt_index = SubstitutionCost(lexicon).unique_matrix(src, tgt)
        matrices.append(unique[src_index][:, tgt_index])
    assert np.array_equal(matrices[0], matrices[1])
    # against 甲 (Aa01A01): 乙 the same code, 丙 the same split code, 丁 two of its three parts
    sem = {"乙": 0 / 6.0, "丙": 0 / 6.0, "丁": 2 / 6.0}
    assert matrices[0][0].tolist() == [sem["乙"] + 0.5 + 0.25, sem["丙"] + 0.5 + 0.25, sem["丁"] + 0.0 + 0.25]

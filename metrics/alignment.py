"""All cheapest alignments of two token sequences (ChERRANT's weighted Levenshtein with transpositions).

`align` fills the cumulative cost table; `cheapest_paths` enumerates its cheapest paths in
ChERRANT's depth-first order. Every float operation that decides a cost is ChERRANT's (same
operands, same order), so ties, kept under exact float equality, come out the same.
`align_reference` is a direct cell-by-cell version kept to test the fast one against.

Shortcuts, each leaving the result identical:
- Common suffix: a chain of forced matches ending every cheapest path; cut off, re-attached by
  `cheapest_paths`.
- Common prefix of p tokens: every cell (a, b) with min(a, b) <= p costs exactly |a - b| (the
  insertions or deletions needed, each costing exactly 1) and offers no transposition (the
  search stops at once on its constant diagonal). Only the block of the remaining tokens is
  filled: it is the table of aligning those tokens alone.
- Band: the block is first filled only on the diagonals lo <= b - a <= hi around the main ones.
  A cell outside is known only by the lower bound |b - a| of its cost. A cell is *exact* when
  its smallest candidate computed from exact cells is below every candidate computed from a
  bound (and below a transposition whose validity depends on an inexact cell); it is then
  ChERRANT's value, and so are its ops (a bound candidate cannot tie). Otherwise it is
  *tainted* and keeps a lower bound. When the final cell is exact, so is every cell a cheapest
  path visits (each is the source of an exact candidate); otherwise the band is widened, up to
  the whole block. Costs are never negative, so a bound is at least 1: a tainted cell stores
  minus its bound, and a sign tells the two apart.
- Transpositions: ChERRANT's search at a cell walks back along the cell's diagonal and stops at
  the first cost-preserving step; the window it finds is the nearest earlier node of the
  diagonal with the same multiset hash (sum of random per-token values), found for all cells
  at once (the raw windows), if no cost-preserving node lies in between. Every window is
  verified exactly; a collision falls back to the plain search.
- The ops of a cell are computed only when the backtrace visits it.

Storage is by diagonal: row a of the block holds the diagonals lo - 1 .. hi + 1 (one padding
slot each side), float64 costs (inf where not exact) and uint16 windows (uint32 past 65,535),
10 bytes a slot, so a band costs memory in proportion to its width, and the whole block at most
twice its cells. Narrow bands are filled cell by cell in Python; wide ones with numpy, one
anti-diagonal a + b = t at a time (its cells only read earlier anti-diagonals), their windows
found beforehand in chunks of bounded size.

The compiled kernel (metrics/_kernel.c; metrics/kernel.py says whether it runs) fills every
band as `_fill_scalar` does, cell for cell, and walks the block for `cheapest_paths`; the
Python kernels above are the fallback, and tests/test_kernel_alignment.py compares the two.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

from metrics.kernel import COMPILED
from metrics.zh.tokens import Token

# A step of an alignment: (op, src_start, src_end, tgt_start, tgt_end); op is M, S, I, D or T<k>.
Step = tuple[str, int, int, int, int]
CostFn = Callable[[Token, Token], float]
# Substitution costs between the distinct tokens of each side, and each token's index in them.
UniqueCosts = tuple[np.ndarray, np.ndarray, np.ndarray]
UniqueCostsFn = Callable[[Sequence[Token], Sequence[Token]], UniqueCosts]

# Above this length difference ChERRANT follows only the first op of each cell.
ALL_PATHS_MAX_LENGTH_DIFFERENCE = 10
INF = float("inf")
# The first band tried: this many diagonals on each side of the main ones; then GROWTH times wider.
BAND_WIDTH = 3
BAND_GROWTH = 4
# Blocks of at most this many cells are filled whole at once (a band would not pay), and so
# are blocks whose band would cover more than 1 / BAND_MAX_SHARE of their rows.
BAND_MIN_CELLS = 150
BAND_MAX_SHARE = 2
# Bands at least this wide (and blocks this long) are filled by the numpy kernel.
VECTOR_MIN_WIDTH = 256
# Past this many slots the scalar kernel writes rows to the array as it goes and keeps only the
# last LIST_ROWS as Python lists (about 40 bytes a slot).
LONG_BLOCK_SLOTS = 1 << 16
LIST_ROWS = 8
# Bands up to this many cells find their raw windows in plain Python (numpy's calls cost more).
PYTHON_WINDOW_MAX_CELLS = 400
# Nodes per chunk when looking for raw windows with numpy (bounds its temporaries).
WINDOW_CHUNK = 1 << 17
_HASH_SEED = 20231123
_HASH_BITS = 40  # prefix sums of up to 2**23 tokens stay below 2**63: exact in int64


@dataclass
class AlignmentTable:
    """The cumulative cost table of `src` and `tgt` (both without their common suffix).

    Cells (a, b) with min(a, b) <= `prefix` cost |a - b|. The block of the others is stored by
    diagonal: `block[a', c]` is cell (prefix + a', prefix + b') with b' - a' = low - 1 + c, inf
    where it was not computed exactly; `window` (same shape) holds the window k ChERRANT's
    transposition search finds for the cell (0 if none): its candidate is cost(a-1-k, b-1-k) + k.
    """

    src_tokens: Sequence[Token]
    tgt_tokens: Sequence[Token]
    prefix: int
    suffix: int
    low: int
    block: np.ndarray
    window: np.ndarray
    sub_costs: UniqueCosts  # of the block's tokens
    cost_fn: CostFn  # substitution costs of pairs outside the block (visited cells only)
    ids: tuple[list[int], list[int]] | None = None  # the block's tokens as ids (equal ids: equal texts)

    def __post_init__(self) -> None:
        self.src = [t.text for t in self.src_tokens]
        self.tgt = [t.text for t in self.tgt_tokens]
        self._stride = self.block.shape[1]
        self._costs = memoryview(self.block.reshape(-1))  # fast scalar reads for the backtrace
        self._windows = memoryview(self.window.reshape(-1))

    @property
    def n(self) -> int:
        return len(self.src)

    @property
    def m(self) -> int:
        return len(self.tgt)

    def _slot(self, a: int, b: int) -> int:
        """Flat index of block cell (a, b) (block coordinates), or -1 outside the stored band."""
        column = b - a - self.low + 1
        if 0 <= column < self._stride:
            return a * self._stride + column
        return -1

    def cost(self, a: int, b: int) -> float:
        """Cumulative cost of DP cell (a, b) (inf for a block cell not computed exactly)."""
        p = self.prefix
        if a <= p or b <= p:
            return float(abs(a - b))
        slot = self._slot(a - p, b - p)
        return self._costs[slot] if slot >= 0 else INF

    def costs(self) -> np.ndarray:
        """The whole (n+1) x (m+1) table (for tests and inspection; inf where not computed)."""
        a = np.arange(self.n + 1)[:, None]
        b = np.arange(self.m + 1)[None, :]
        full = np.abs(a - b).astype(np.float64)
        p = self.prefix
        rows = np.arange(self.n - p + 1)[:, None]
        columns = np.arange(self.m - p + 1)[None, :]
        slot = columns - rows - self.low + 1
        inside = (slot >= 0) & (slot < self._stride)
        full[p:, p:] = np.where(inside, self.block[rows, np.clip(slot, 0, self._stride - 1)], INF)
        return full

    def substitution(self, i: int, j: int) -> float:
        p = self.prefix
        if i < p or j < p:
            return self.cost_fn(self.src_tokens[i], self.tgt_tokens[j])
        unique, src_index, tgt_index = self.sub_costs
        return float(unique[src_index[i - p], tgt_index[j - p]])

    def transposition(self, i: int, j: int) -> tuple[float, int]:
        """ChERRANT's transposition candidate for token pair (i, j): (cost, k), cost inf if none."""
        p = self.prefix
        if i < p or j < p:
            return INF, 0
        slot = self._slot(i + 1 - p, j + 1 - p)
        k = self._windows[slot] if slot >= 0 else 0
        if not k:
            return INF, 0
        return self.cost(i - k, j - k) + k, k

    def ops(self, a: int, b: int) -> list[str]:
        """Ops of DP cell (a, b) in ChERRANT's order [T, S, I, D] (M alone on a match)."""
        if a == 0:
            return ["I"]
        if b == 0:
            return ["D"]
        i, j = a - 1, b - 1
        if self.src[i] == self.tgt[j]:
            return ["M"]
        p, stride = self.prefix, self._stride
        column = b - a - self.low + 1
        if i < p or j < p or not 0 < column < stride - 1:
            return self._ops(a, b, self.cost(a, b), self.cost(i, j), self.cost(a, j), self.cost(i, b))
        # A cell of the band (as every cell a cheapest path visits): its neighbours are stored too.
        here = (a - p) * stride + column
        costs = self._costs
        return self._ops(a, b, costs[here], costs[here - stride], costs[here - 1], costs[here - stride + 1])

    def _ops(self, a: int, b: int, value: float, diagonal: float, left: float, upper: float) -> list[str]:
        i, j = a - 1, b - 1
        ops = []
        trans, k = self.transposition(i, j)
        if trans == value:
            ops.append(f"T{k + 1}")
        if diagonal + self.substitution(i, j) == value:
            ops.append("S")
        if left + 1 == value:
            ops.append("I")
        if upper + 1 == value:
            ops.append("D")
        return ops


def common_affixes(src: Sequence[str], tgt: Sequence[str]) -> tuple[int, int]:
    """Lengths of the common prefix and of the common suffix (not overlapping the prefix)."""
    limit = min(len(src), len(tgt))
    prefix = 0
    while prefix < limit and src[prefix] == tgt[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and src[-1 - suffix] == tgt[-1 - suffix]:
        suffix += 1
    return prefix, suffix


def align(src: Sequence[Token], tgt: Sequence[Token], cost_fn: CostFn,
          costs_fn: UniqueCostsFn | None = None, *, vector: bool | None = None,
          band: int | None = None) -> AlignmentTable:
    """Fill the cumulative cost table (see the module docstring for what is stored).

    `costs_fn(src, tgt)` may compute the substitution costs between distinct tokens at once
    (else `cost_fn` is called once per distinct pair). For tests: `vector` forces a kernel and
    `band` one band width (the final cell may then be left inexact: cost inf).
    """
    src_texts = [t.text for t in src]
    tgt_texts = [t.text for t in tgt]
    prefix, suffix = common_affixes(src_texts, tgt_texts)
    src = src[: len(src) - suffix]
    tgt = tgt[: len(tgt) - suffix]
    block_src, block_tgt = src[prefix:], tgt[prefix:]
    n, m = len(block_src), len(block_tgt)
    if not (n and m):
        empty = np.zeros(0, dtype=np.int64)
        block, window = _boundary_block(n, m)
        return AlignmentTable(src, tgt, prefix, suffix, -n, block, window, (np.zeros((n, m)), empty, empty), cost_fn)
    sub_costs = (costs_fn or (lambda a, b: unique_costs(a, b, cost_fn)))(block_src, block_tgt)
    ids: dict[str, int] = {}
    src_ids = [ids.setdefault(t, len(ids)) for t in src_texts[prefix: prefix + n]]
    tgt_ids = [ids.setdefault(t, len(ids)) for t in tgt_texts[prefix: prefix + m]]
    low, block, window = _fill(src_ids, tgt_ids, sub_costs, vector, band)
    return AlignmentTable(src, tgt, prefix, suffix, low, block, window, sub_costs, cost_fn, (src_ids, tgt_ids))


def _boundary_block(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The block of an empty side (all insertions or all deletions), stored by diagonal: row a
    holds cell (a, b) at slot b - a + n + 1."""
    width = n + m + 3
    rows = [[INF] * width for _ in range(n + 1)]
    for b in range(m + 1):
        rows[0][b + n + 1] = float(b)
    for a in range(n + 1):
        rows[a][n + 1 - a] = float(a)
    block = np.array(rows, dtype=np.float64)
    return block, np.zeros(block.shape, dtype=np.uint16)


def _fill(src: list[int], tgt: list[int], sub_costs: UniqueCosts, vector: bool | None,
          band: int | None) -> tuple[int, np.ndarray, np.ndarray]:
    """(low, block, window): bands growing from BAND_WIDTH (or `band` alone) until the final
    cell is exact, then the whole block. Costs must never be negative (see the module
    docstring: the sign of a stored cost tells whether it is exact)."""
    n, m = len(src), len(tgt)
    hashes = token_hashes(max(max(src), max(tgt)) + 1)
    if sub_costs[0].size and not sub_costs[0].min() >= 0:
        raise ValueError("substitution costs must not be negative (nor NaN)")
    width = BAND_WIDTH if band is None else band
    if band is None and n * m <= BAND_MIN_CELLS:
        width = n + m
    while True:
        lo, hi = max(-n, min(0, m - n) - width), min(m, max(0, m - n) + width)
        if band is None and (hi - lo + 1) * BAND_MAX_SHARE > m:  # the band would not pay
            lo, hi = -n, m
        whole = (lo, hi) == (-n, m)
        if vector is None and COMPILED is not None:
            fill = _fill_compiled
        else:
            use_vector = vector if vector is not None else \
                hi - lo >= VECTOR_MIN_WIDTH and min(n, m) >= VECTOR_MIN_WIDTH
            fill = _fill_vector if use_vector else _fill_scalar
        try:
            block, window, exact = fill(src, tgt, hashes, sub_costs, lo, hi)
        except _Collision:
            width = n + m
            continue
        if exact or whole or band is not None:
            return lo, block, window
        width *= BAND_GROWTH


class _Collision(Exception):
    """Two different windows with equal multiset hashes inside a band: fill without a band."""


def unique_costs(src: Sequence[Token], tgt: Sequence[Token], cost_fn: CostFn) -> UniqueCosts:
    """Substitution costs between the distinct tokens of each side, one call per distinct pair."""
    src_unique: dict[Token, int] = {}
    tgt_unique: dict[Token, int] = {}
    src_index = np.array([src_unique.setdefault(t, len(src_unique)) for t in src], dtype=np.int64)
    tgt_index = np.array([tgt_unique.setdefault(t, len(tgt_unique)) for t in tgt], dtype=np.int64)
    unique = np.array([[cost_fn(a, b) for b in tgt_unique] for a in src_unique],
                      dtype=np.float64).reshape(len(src_unique), len(tgt_unique))
    return unique, src_index, tgt_index


def substitution_matrix(src: Sequence[Token], tgt: Sequence[Token], cost_fn: CostFn) -> np.ndarray:
    """Substitution costs of every token pair, computed once per distinct pair."""
    unique, src_index, tgt_index = unique_costs(src, tgt, cost_fn)
    return unique[src_index][:, tgt_index]


def token_hashes(count: int) -> Sequence[int]:
    """Distinct random 40-bit values, at least one per token id: a window's multiset hash is
    their sum. The same values every time (the first ones are made once, at import)."""
    return _HASHES if count <= len(_HASHES) else _make_hashes(count)


def _make_hashes(count: int) -> tuple[int, ...]:
    rng = random.Random(_HASH_SEED)
    out: list[int] = []
    seen: set[int] = set()
    while len(out) < count:
        value = rng.getrandbits(_HASH_BITS) | 1
        if value not in seen:
            seen.add(value)
            out.append(value)
    return tuple(out)


_HASHES = _make_hashes(1024)


def _window_dtype(n: int, m: int) -> type:
    return np.uint16 if min(n, m) <= np.iinfo(np.uint16).max else np.uint32


def _same_multiset(src: Sequence, tgt: Sequence, i: int, j: int, k: int) -> bool:
    """Exact check that src[i-k..i] and tgt[j-k..j] are equal multisets (src[i] != tgt[j])."""
    if k == 1:
        return src[i] == tgt[j - 1] and src[i - 1] == tgt[j]
    return sorted(src[i - k: i + 1]) == sorted(tgt[j - k: j + 1])


def _search_window(cost: Callable[[int, int], float], src: Sequence, tgt: Sequence, i: int, j: int) -> int:
    """ChERRANT's transposition search at token pair (i, j), step by step (after a collision)."""
    k = 1
    while i - k >= 0 and j - k >= 0 and cost(i - k + 1, j - k + 1) != cost(i - k, j - k):
        if sorted(src[i - k: i + 1]) == sorted(tgt[j - k: j + 1]):
            return k
        k += 1
    return 0


def _prefix_sums(ids: Sequence[int], hashes: Sequence[int]) -> list[int]:
    out = [0]
    total = 0
    for token in ids:
        total += hashes[token]
        out.append(total)
    return out


# --------------------------------------------------------------------------------------------
# The compiled kernel


_hash_array: tuple[Sequence[int] | None, np.ndarray] = (None, np.zeros(0, dtype=np.int64))


def _fill_compiled(src: list[int], tgt: list[int], hashes: Sequence[int], sub_costs: UniqueCosts,
                   lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """`_fill_scalar` in C (metrics/_kernel.c): the same block, windows and exactness, cell
    for cell; a hash collision inside a band raises `_Collision` as there."""
    global _hash_array
    if _hash_array[0] is not hashes:  # the same hash values serve every pair: converted once
        _hash_array = (hashes, np.array(hashes, dtype=np.int64))
    n, m = len(src), len(tgt)
    unique, src_index, tgt_index = sub_costs
    unique = np.ascontiguousarray(unique, dtype=np.float64)
    block = np.empty((n + 1, hi - lo + 3), dtype=np.float64)
    window = np.empty(block.shape, dtype=_window_dtype(n, m))
    assert COMPILED is not None
    found = COMPILED.fill(src, tgt, _hash_array[1], unique, unique.shape[1], src_index, tgt_index, lo, hi,
                          block, window)
    if found < 0:
        raise _Collision
    return block, window, bool(found)


# --------------------------------------------------------------------------------------------
# The scalar kernel


def _fill_scalar(src: list[int], tgt: list[int], hashes: Sequence[int], sub_costs: UniqueCosts,
                 lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """The band lo <= b - a <= hi of the block, cell by cell, row by row: (block, inf where
    not exact; windows; whether the final cell is exact). The pure-Python kernel."""
    # long function: the inner loop of the pure-Python kernel, kept in one piece (locals only).
    # Row lists are indexed by diagonal (slot c: b - a = lo - 1 + c), so a cell's diagonal
    # predecessor and upper neighbour are the same and the next slot of the row above, and its
    # raw window (see `_raw_windows`) the same slot of the raw row. Exact costs are stored as
    # they are, tainted ones negated; slots off the band hold -|b - a|, cells not computed -inf.
    # A long block keeps only its last LIST_ROWS rows as lists (the others are read from the
    # array); long texts gather each row's substitution costs when it needs them.
    n, m = len(src), len(tgt)
    width = hi - lo + 3
    unique, src_index, tgt_index = sub_costs
    long = n * width > LONG_BLOCK_SLOTS
    # per distinct source token its costs along tgt, unless that is long too
    gathered = unique[:, tgt_index].tolist() if unique.shape[0] * m <= LONG_BLOCK_SLOTS else None
    block = np.empty((n + 1, width), dtype=np.float64) if long else None
    outside = [-float(abs(lo - 1 + c)) for c in range(width)]
    rows: list = [[float(lo - 1 + c) if 0 <= lo - 1 + c <= m else outside[c] for c in range(width)]]
    if block is not None:
        block[0] = rows[0]
    banded = (lo, hi) != (-n, m)
    search = _WindowSearch(src, tgt, rows, lo, banded)
    raw = _raw_window_rows(src, tgt, hashes, lo, hi, long)
    raw_is_array = isinstance(raw, np.ndarray)
    for i, (sid, (first, last, j0, j1)) in enumerate(zip(src, _row_spans(n, m, lo, hi))):
        a = i + 1
        previous = rows[i]
        row = outside[:first]
        if not j0:
            row[first - 1] = float(a)  # the boundary cell (a, 0)
        left = row[first - 1]
        append = row.append
        costs = gathered[src_index[i]][j0:j1] if gathered is not None else \
            unique[src_index[i], tgt_index[j0:j1]].tolist()
        windows = raw[a, first: last + 1].tolist() if raw_is_array else raw[a][first: last + 1]
        streams = zip(range(j0, j1), previous[first: last + 1], previous[first + 1: last + 2], tgt[j0:j1],
                      costs, windows)
        if not banded:  # nothing can be tainted: the same loop without sign tests
            for j, diagonal, upper, tid, substitution, k in streams:
                if tid == sid:
                    left = diagonal
                else:
                    value = diagonal + substitution
                    candidate = upper + 1
                    if candidate < value:
                        value = candidate
                    candidate = left + 1
                    if candidate < value:
                        value = candidate
                    if k:
                        value = search.lowered(i, j, k, value)
                    left = value
                append(left)
        else:
            for j, diagonal, upper, tid, substitution, k in streams:
                if tid == sid:
                    left = diagonal
                elif diagonal >= 0 and upper >= 0 and left >= 0:
                    value = diagonal + substitution
                    candidate = upper + 1
                    if candidate < value:
                        value = candidate
                    candidate = left + 1
                    if candidate < value:
                        value = candidate
                    if k:
                        value = search.lowered(i, j, k, value)
                    left = value
                else:  # a tainted input: exact candidates against lower bounds (stored negated)
                    if diagonal >= 0:
                        exact, bound = diagonal + substitution, INF
                    else:
                        exact, bound = INF, substitution - diagonal
                    if upper >= 0:
                        candidate = upper + 1
                        if candidate < exact:
                            exact = candidate
                    elif 1 - upper < bound:
                        bound = 1 - upper
                    if left >= 0:
                        candidate = left + 1
                        if candidate < exact:
                            exact = candidate
                    elif 1 - left < bound:
                        bound = 1 - left
                    if k:
                        exact, bound = search.bounded(i, j, k, exact, bound)
                    left = exact if exact < bound else -bound
                append(left)
        row += outside[last + 1:]
        rows.append(row)
        if block is not None:
            block[a] = row
            if a >= LIST_ROWS:
                rows[a - LIST_ROWS] = block[a - LIST_ROWS]
        if banded and not a & 7 and j0 and max(row) < 0:  # a whole row tainted: so is every later cell
            break
    exact = len(rows) == n + 1 and rows[n][m - n - lo + 1] >= 0
    if block is None:
        block = np.array(rows + [[-INF] * width] * (n + 1 - len(rows)), dtype=np.float64)
    elif len(rows) < n + 1:
        block[len(rows):] = -INF
    block[block < 0] = INF
    if raw_is_array:  # the raw windows' array, reused for the windows found
        window = raw
        window[:] = 0
    else:
        window = np.zeros(block.shape, dtype=_window_dtype(n, m))
    if search.windows:
        cells = np.array(list(search.windows), dtype=np.int64)
        window[cells[:, 0] + 1, cells[:, 1] - cells[:, 0] - lo + 1] = list(search.windows.values())
    return block, window, exact


def _row_spans(n: int, m: int, lo: int, hi: int) -> list[tuple[int, int, int, int]]:
    """Per row a = 1..n of a band stored by diagonal: the slots of its first cell with b >= 1
    and of its last with b <= m, and the token columns j0..j1-1 they cover."""
    spans = []
    right = hi - lo + 1
    for a in range(1, n + 1):
        first = 2 - a - lo if a + lo < 1 else 1
        last = m - a - lo + 1 if a + hi > m else right
        j0 = a + lo - 2 + first
        spans.append((first, last, j0, j0 + last - first + 1))
    return spans


class _WindowSearch:
    """ChERRANT's transposition search for the scalar kernel, on the rows filled so far, given
    a cell's raw window k (the nearest equal multiset hash): the search finds it unless a
    cost-preserving node lies within k steps. A tainted node there leaves it unsure (a
    cost-preserving node may hide there): its candidate then only counts as a lower bound.
    Every window is verified exactly; a collision falls back to the plain search (whole
    block) or to filling the block whole (band).
    """

    def __init__(self, src: list[int], tgt: list[int], rows: list, lo: int, banded: bool) -> None:
        self.src, self.tgt, self.rows, self.lo, self.banded = src, tgt, rows, lo, banded
        self.windows: dict[tuple[int, int], int] = {}

    def lowered(self, i: int, j: int, k: int, value: float) -> float:
        """A cell whose other candidates are exact, `value` their minimum: its stored cost."""
        found = self.find(i, j, k)
        if found is None:
            return value
        candidate, exact = found
        if exact:
            return candidate if candidate < value else value
        return value if value < candidate else -candidate

    def bounded(self, i: int, j: int, k: int, exact: float, bound: float) -> tuple[float, float]:
        """A cell with some tainted input: its smallest exact candidate and smallest bound."""
        found = self.find(i, j, k)
        if found is None:
            return exact, bound
        candidate, is_exact = found
        if is_exact:
            return (candidate if candidate < exact else exact), bound
        return exact, (candidate if candidate < bound else bound)

    def find(self, i: int, j: int, k: int) -> tuple[float, bool] | None:
        """The transposition candidate of token pair (i, j) with raw window k: None, (cost,
        True) or (lower bound, False)."""
        rows, slot = self.rows, j - i - self.lo + 1
        unsure = False
        for step in range(1, k + 1):
            node, previous = rows[i - step + 1][slot], rows[i - step][slot]
            if node < 0 or previous < 0:
                unsure = True
            elif node == previous:
                return None
        if not _same_multiset(self.src, self.tgt, i, j, k):
            if self.banded:
                raise _Collision
            k = _search_window(lambda x, y: rows[x][y - x - self.lo + 1], self.src, self.tgt, i, j)
            if not k:
                return None
        start = float(rows[i - k][slot])
        if unsure or start < 0:
            return abs(start) + k, False
        self.windows[i, j] = k
        return start + k, True


# --------------------------------------------------------------------------------------------
# Raw windows: the nearest earlier node of the same diagonal with the same multiset hash


def _raw_window_rows(src: list[int], tgt: list[int], hashes: Sequence[int], lo: int, hi: int,
                     long: bool) -> list[list[int]] | np.ndarray:
    """`_raw_windows` as rows of lists (as an array for a long block); small bands walk each
    diagonal with a dict instead."""
    n, m = len(src), len(tgt)
    if n * (hi - lo + 1) > PYTHON_WINDOW_MAX_CELLS:
        raw = _raw_windows(np.array(src, dtype=np.int64), np.array(tgt, dtype=np.int64),
                           np.array(hashes, dtype=np.int64), lo, hi)
        return raw if long else raw.tolist()
    ps, pt = _prefix_sums(src, hashes), _prefix_sums(tgt, hashes)
    out = [[0] * (hi - lo + 3) for _ in range(n + 1)]
    for offset in range(lo, hi + 1):  # diagonal b - a
        latest: dict[int, int] = {}
        column = offset - lo + 1
        for a in range(max(0, -offset), min(n, m - offset) + 1):
            key = ps[a] - pt[a + offset]
            found = latest.get(key)
            if found is not None and found < a - 1:
                out[a][column] = a - 1 - found
            latest[key] = a
    return out


def _raw_windows(src: np.ndarray, tgt: np.ndarray, hashes: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """For each node (a, b) of the band whose tokens src[a-1] and tgt[b-1] differ: the smallest
    k >= 1 such that src[a-1-k..a-1] and tgt[b-1-k..b-1] have equal multiset hashes (0 if none),
    ignoring cost-preserving steps; stored by diagonal like the block.

    Node (a, b) has hash ps[a] - pt[b]; the window is the latest earlier node of its diagonal
    with the same hash. Diagonals are taken in chunks of about WINDOW_CHUNK nodes, laid out
    diagonal by diagonal and sorted stably by hash, so that within a run of equal hashes each
    diagonal's nodes are consecutive and in row order.
    """
    n, m = len(src), len(tgt)
    ps = np.zeros(n + 1, dtype=np.int64)
    pt = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(hashes[src], out=ps[1:])
    np.cumsum(hashes[tgt], out=pt[1:])
    window = np.zeros((n + 1, hi - lo + 3), dtype=_window_dtype(n, m))
    offsets = np.arange(lo, hi + 1)  # diagonal b - a
    first_row = np.maximum(0, -offsets)
    lengths = np.minimum(n, m - offsets) - first_row + 1
    ends = np.cumsum(lengths)
    start = 0
    while start < len(offsets):
        stop = max(start + 1, int(np.searchsorted(ends, ends[start] - lengths[start] + WINDOW_CHUNK, side="right")))
        _chunk_windows(ps, pt, offsets[start:stop], first_row[start:stop], lengths[start:stop], lo,
                       window.reshape(-1), window.shape[1])
        start = stop
    return window


def _chunk_windows(ps: np.ndarray, pt: np.ndarray, offsets: np.ndarray, first_row: np.ndarray,
                   lengths: np.ndarray, lo: int, flat: np.ndarray, stride: int) -> None:
    """`_raw_windows` for one chunk of consecutive diagonals, written into `flat`."""
    total = int(lengths.sum())
    diagonal = np.repeat(np.arange(len(offsets), dtype=np.int32), lengths)
    row = np.arange(total, dtype=np.int64)
    row -= np.repeat(np.cumsum(lengths) - lengths - first_row, lengths)
    key = ps[row] - pt[row + offsets[diagonal]]
    order = np.argsort(key, kind="stable")
    key = key[order]
    same = key[1:] == key[:-1]
    del key
    ordered_diagonal = diagonal[order]
    same &= ordered_diagonal[1:] == ordered_diagonal[:-1]
    del ordered_diagonal
    later = order[1:][same]
    earlier = order[:-1][same]
    del order, same
    k = row[later] - 1 - row[earlier]
    keep = k >= 1  # k == 0: the tokens match
    later = later[keep]
    flat[row[later] * stride + offsets[diagonal[later]] - lo + 1] = k[keep]


# --------------------------------------------------------------------------------------------
# The numpy kernel


def _fill_vector(src: list[int], tgt: list[int], hashes: Sequence[int], sub_costs: UniqueCosts,
                 lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """The band lo <= b - a <= hi of the block with numpy, one anti-diagonal a + b = t at a
    time (the pure-Python fallback's kernel for wide bands); as `_fill_scalar` returns."""
    # long function: the numpy kernel's sweep over anti-diagonals, kept in one piece.
    # Stored by diagonal as in `_fill_scalar`, so the anti-diagonal is a strided slice (step:
    # the band width) and its neighbours are slices at fixed offsets. Cell values are the scalar
    # kernel's float operations, element-wise. Per diagonal, `cut` holds the row of its last
    # cost-preserving node and `unsure` the row of its last node whose status depends on a
    # tainted cell: a raw window is valid when it starts at or after `cut`, and sure when also
    # at or after `unsure`.
    n, m = len(src), len(tgt)
    stride = hi - lo + 3
    step = stride - 2
    unique, src_index, tgt_index = sub_costs
    src_ids = np.array(src, dtype=np.int64)
    tgt_reversed = np.array(tgt[::-1], dtype=np.int64)
    tgt_index_reversed = np.asarray(tgt_index)[::-1].copy()
    src_index = np.asarray(src_index)
    block = np.full((n + 1, stride), -INF)  # cells not computed (yet) are not exact
    block[:, 0], block[:, -1] = -abs(lo - 1), -abs(hi + 1)  # off the band: the bound |b - a|
    top = np.arange(max(0, lo - 1), min(m, hi + 1) + 1)
    block[0, top - lo + 1] = top
    side = np.arange(max(0, -hi - 1), min(n, 1 - lo) + 1)
    block[side, 1 - side - lo] = side
    window = _raw_windows(src_ids, np.array(tgt, dtype=np.int64), np.array(hashes, dtype=np.int64), lo, hi)
    flat = block.reshape(-1)
    window_flat = window.reshape(-1)
    cut = np.full(stride, -1, dtype=np.int64)
    unsure = np.full(stride, -1, dtype=np.int64)
    rows = np.arange(n + 1, dtype=np.int64)
    context = _Sweep(src, tgt, flat, stride, lo, (lo, hi) != (-n, m))
    tainted_before = False
    for t in range(2, n + m + 1):
        first, last = max(1, t - m, (t - hi + 1) // 2), min(n, t - 1, (t - lo) // 2)
        if first > last:
            continue
        count = last - first + 1
        node = first * stride + t - 2 * first - lo + 1  # flat index of cell (first, t - first)
        span = (count - 1) * step + 1
        diagonal = flat[node - stride: node - stride + span: step]
        upper = flat[node - stride + 1: node - stride + 1 + span: step]
        left = flat[node - 1: node - 1 + span: step]
        r = m - t + first  # position of tgt[t - first - 1] in tgt_reversed
        match = src_ids[first - 1: last] == tgt_reversed[r: r + count]
        exact, bound = _vector_candidates(diagonal, upper, left,
                                          unique[src_index[first - 1: last], tgt_index_reversed[r: r + count]])
        column = t - 2 * first - lo + 1  # slot of cell (first, .); slots fall by 2 along t
        cut_view = cut[column - 2 * (count - 1): column + 1: 2][::-1]
        unsure_view = unsure[column - 2 * (count - 1): column + 1: 2][::-1]
        windows = window_flat[node: node + span: step]
        hits = np.flatnonzero(windows)
        if hits.size:
            context.transpositions(t, first, hits, windows, cut_view, unsure_view, exact, bound)
        value = np.where(exact < bound, exact, -bound)
        np.copyto(value, diagonal, where=match)
        flat[node: node + span: step] = value
        if first > 1 - lo and value.max() < 0:  # no boundary cell, all tainted
            if tainted_before:  # two anti-diagonals tainted: so is every later cell
                block[block < 0] = INF
                return block, window, False
            tainted_before = True
        else:
            tainted_before = False
        sure = ((value >= 0) & (diagonal >= 0)) | match
        np.copyto(cut_view, rows[first: last + 1], where=sure & (value == diagonal))
        np.copyto(unsure_view, rows[first: last + 1], where=~sure)
    exact_final = block[n, m - n - lo + 1] >= 0
    block[block < 0] = INF
    return block, window, bool(exact_final)


def _vector_candidates(diagonal: np.ndarray, upper: np.ndarray, left: np.ndarray,
                       substitution: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smallest exact candidate and smallest bound of each cell of an anti-diagonal, from its
    neighbours (tainted ones stored negated)."""
    candidate = np.abs(diagonal) + substitution
    exact = np.where(diagonal >= 0, candidate, INF)
    bound = np.where(diagonal >= 0, INF, candidate)
    for neighbour in (upper, left):
        candidate = np.abs(neighbour) + 1
        known = neighbour >= 0
        np.minimum(exact, np.where(known, candidate, INF), out=exact)
        np.minimum(bound, np.where(known, INF, candidate), out=bound)
    return exact, bound


@dataclass
class _Sweep:
    """What the numpy kernel's transposition step needs besides the anti-diagonal."""

    src: list[int]
    tgt: list[int]
    flat: np.ndarray
    stride: int
    lo: int
    banded: bool

    def __post_init__(self) -> None:
        self.src_array, self.tgt_array = np.array(self.src, dtype=np.int64), np.array(self.tgt, dtype=np.int64)

    def transpositions(self, t: int, first: int, hits: np.ndarray, windows: np.ndarray, cut: np.ndarray,
                       unsure: np.ndarray, exact: np.ndarray, bound: np.ndarray) -> None:
        """Turn the raw windows `hits` of anti-diagonal t into the ones ChERRANT's search finds
        (valid and exactly verified) and lower `exact` or `bound` by their candidates."""
        k = windows[hits].astype(np.int64)
        a = first + hits
        start = a - 1 - k
        windows[hits] = 0
        alive = cut[hits] <= start  # no cost-preserving node after the window's start
        hits, k, a, start = hits[alive], k[alive], a[alive], start[alive]
        if not hits.size:
            return
        sure = unsure[hits] <= start
        k = self._verified(t, a, k)
        found = k > 0
        hits, k, a, sure = hits[found], k[found], a[found], sure[found]
        start = a - 1 - k
        origin = self.flat[start * self.stride + t - 2 * a - self.lo + 1]
        sure &= origin >= 0
        candidate = np.abs(origin) + k
        exact[hits[sure]] = np.minimum(exact[hits[sure]], candidate[sure])
        bound[hits[~sure]] = np.minimum(bound[hits[~sure]], candidate[~sure])
        windows[hits[sure]] = k[sure]

    def _verified(self, t: int, a: np.ndarray, k: np.ndarray) -> np.ndarray:
        """The windows checked exactly: swapped pairs at once, longer ones one by one; after a
        hash collision, ChERRANT's plain search (the block is whole then)."""
        i, j = a - 1, t - a - 1
        src, tgt = self.src_array, self.tgt_array
        one = k == 1
        ok = np.ones(k.size, dtype=bool)
        ok[one] = (src[i[one]] == tgt[j[one] - 1]) & (src[i[one] - 1] == tgt[j[one]])
        for index in np.flatnonzero(~one).tolist():
            ok[index] = _same_multiset(self.src, self.tgt, int(i[index]), int(j[index]), int(k[index]))
        if ok.all():
            return k
        if self.banded:
            raise _Collision
        k = k.copy()
        flat, stride, lo = self.flat, self.stride, self.lo
        for index in np.flatnonzero(~ok).tolist():
            k[index] = _search_window(lambda x, y: flat[x * stride + y - x - lo + 1], self.src, self.tgt,
                                      int(i[index]), int(j[index]))
        return k


# --------------------------------------------------------------------------------------------
# Paths


def cheapest_paths(table: AlignmentTable, compact: bool = False) -> Iterator[list[Step]]:
    """Every cheapest path from the start, in ChERRANT's depth-first order (ops tried [T, S, I, D]).

    When the lengths differ by more than 10 tokens only the first op of each cell is followed.
    A path reaching the common prefix's diagonal ends with its forced matches. `compact` gives
    the matches of the common prefix and suffix as one M step each (spanning them), which is
    all that merging needs of them. The compiled kernel walks the block (the same walk, in C);
    a path leaving the block elsewhere than on the prefix's diagonal is followed on here.
    """
    n, m, prefix = table.n, table.m, table.prefix
    first_only = abs(n - m) > ALL_PATHS_MAX_LENGTH_DIFFERENCE
    if compact:
        tail = [("M", n, n + table.suffix, m, m + table.suffix)] if table.suffix else []
    else:
        matches = [("M", q, q + 1, q, q + 1) for q in range(prefix)]
        tail = [("M", n + q, n + q + 1, m + q, m + q + 1) for q in range(table.suffix)]

    def finished(a: int, steps: list[Step]) -> list[Step]:
        path = ([("M", 0, a, 0, a)] if a else []) if compact else matches[:a]
        path.extend(steps)
        path.extend(tail)
        return path

    for a, b, steps in _compiled_walk(table, first_only) or [(n, m, [])]:
        if a == b and a <= prefix:
            yield finished(a, steps)
            continue
        rest = None
        for step in reversed(steps):
            rest = (step, rest)
        for end, path in _walk(table, a, b, rest, first_only):
            yield finished(end, path)


PATHS_LIMIT = 10_000  # more cheapest paths than this: walked lazily in Python (as many, slower)


def _compiled_walk(table: AlignmentTable, first_only: bool) -> list | None:
    """The compiled walk's paths: (a, b, steps to the end) where each left the block; None
    when the kernel is off, the table has no block, or there are over PATHS_LIMIT paths."""
    if COMPILED is None or table.ids is None:
        return None
    unique, src_index, tgt_index = table.sub_costs
    unique = np.ascontiguousarray(unique, dtype=np.float64)
    return COMPILED.paths(table.block, table.window, unique, unique.shape[1], src_index, tgt_index, table.ids[0],
                          table.ids[1], table.low, table.prefix, first_only, PATHS_LIMIT)


def _walk(table: AlignmentTable, a: int, b: int, rest: tuple | None,
          first_only: bool) -> Iterator[tuple[int, list[Step]]]:
    """Depth first from cell (a, b), `rest` the steps from there to the end (a linked list of
    (step, rest)): (cell on the prefix's diagonal, steps from it to the end) for each path."""
    prefix = table.prefix
    stack: list[tuple[int, int, tuple | None]] = [(a, b, rest)]
    while stack:
        a, b, rest = stack.pop()
        if a == b and a <= prefix:
            path = []
            while rest is not None:
                step, rest = rest
                path.append(step)
            yield a, path
            continue
        ops = table.ops(a, b)
        if first_only:
            ops = ops[:1]
        for op in reversed(ops):
            if op == "M" or op == "S":
                stack.append((a - 1, b - 1, ((op, a - 1, a, b - 1, b), rest)))
            elif op == "D":
                stack.append((a - 1, b, ((op, a - 1, a, b, b), rest)))
            elif op == "I":
                stack.append((a, b - 1, ((op, a, a, b - 1, b), rest)))
            else:
                k = int(op[1:])
                stack.append((a - k, b - k, ((op, a - k, a, b - k, b), rest)))


def align_reference(src: Sequence[Token], tgt: Sequence[Token], cost_fn: CostFn) -> tuple[list, list]:
    """Cell-by-cell version of the same table, for tests: returns (costs, ops) as nested lists."""
    n, m = len(src), len(tgt)
    cost = [[0.0] * (m + 1) for _ in range(n + 1)]
    ops: list[list] = [[None] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        cost[i][0] = cost[i - 1][0] + 1
        ops[i][0] = ["D"]
    for j in range(1, m + 1):
        cost[0][j] = cost[0][j - 1] + 1
        ops[0][j] = ["I"]
    src_texts = [t.text for t in src]
    tgt_texts = [t.text for t in tgt]
    for i in range(n):
        for j in range(m):
            if src_texts[i] == tgt_texts[j]:
                cost[i + 1][j + 1] = cost[i][j]
                ops[i + 1][j + 1] = ["M"]
                continue
            dele = cost[i][j + 1] + 1
            ins = cost[i + 1][j] + 1
            sub = cost[i][j] + cost_fn(src[i], tgt[j])
            trans = float("inf")
            k = 1
            while i - k >= 0 and j - k >= 0 and cost[i - k + 1][j - k + 1] != cost[i - k][j - k]:
                if sorted(src_texts[i - k : i + 1]) == sorted(tgt_texts[j - k : j + 1]):
                    trans = cost[i - k][j - k] + k
                    break
                k += 1
            costs = [trans, sub, ins, dele]
            best = min(costs)
            cost[i + 1][j + 1] = best
            names = [f"T{k + 1}", "S", "I", "D"]
            ops[i + 1][j + 1] = [name for name, c in zip(names, costs) if c == best]
    return cost, ops

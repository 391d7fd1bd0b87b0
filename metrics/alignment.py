"""All cheapest alignments of two token sequences (ChERRANT's weighted Levenshtein with transpositions).

`align` returns the alignment table; `cheapest_paths` enumerates its cheapest paths in ChERRANT's
depth-first order. The table is filled a row at a time with numpy, doing every float operation
that ChERRANT does in the same order, so ties (kept under exact float equality) come out the same.
`align_reference` is a direct cell-by-cell version kept to test the fast one against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

from metrics.zh.tokens import Token

# A step of an alignment: (op, src_start, src_end, tgt_start, tgt_end); op is M, S, I, D or T<k>.
Step = tuple[str, int, int, int, int]
CostFn = Callable[[Token, Token], float]

# Above this length difference ChERRANT follows only the first op of each cell.
ALL_PATHS_MAX_LENGTH_DIFFERENCE = 10


@dataclass
class AlignmentTable:
    """What the backtrace needs: per token pair, the ops that reach its cell at minimal cost."""

    n: int
    m: int
    cost: np.ndarray  # (n+1, m+1) cumulative costs
    match: np.ndarray  # (n, m) bool: src[i] == tgt[j]
    take_t: np.ndarray  # (n, m) bool, and so on for each op
    take_s: np.ndarray
    take_i: np.ndarray
    take_d: np.ndarray
    window: np.ndarray  # (n, m) int: k of the transposition op T<k+1>

    def ops(self, a: int, b: int) -> list[str]:
        """Ops of DP cell (a, b) in ChERRANT's order [T, S, I, D] (M alone on a match)."""
        if a == 0:
            return ["I"]
        if b == 0:
            return ["D"]
        i, j = a - 1, b - 1
        if self.match[i, j]:
            return ["M"]
        ops = []
        if self.take_t[i, j]:
            ops.append(f"T{int(self.window[i, j]) + 1}")
        if self.take_s[i, j]:
            ops.append("S")
        if self.take_i[i, j]:
            ops.append("I")
        if self.take_d[i, j]:
            ops.append("D")
        return ops


def _transposition_windows(src_ids: np.ndarray, tgt_ids: np.ndarray, n_types: int) -> np.ndarray:
    """For each token pair (i, j): the smallest k >= 1 such that the multisets src[i-k..i] and
    tgt[j-k..j] are equal, else 0. Found for all pairs at once from prefix sums of random
    per-token hashes along each diagonal; callers verify each hit exactly."""
    n, m = len(src_ids), len(tgt_ids)
    rng = np.random.default_rng(20231123)
    hashes = rng.integers(1, 2**62, size=max(n_types, 1), dtype=np.uint64)
    prefix_s = np.zeros(n + 1, dtype=np.uint64)
    prefix_t = np.zeros(m + 1, dtype=np.uint64)
    np.cumsum(hashes[src_ids], dtype=np.uint64, out=prefix_s[1:])
    np.cumsum(hashes[tgt_ids], dtype=np.uint64, out=prefix_t[1:])
    a = np.arange(n + 1)[:, None]
    b = np.arange(m + 1)[None, :]
    span = np.minimum(a, b)
    with np.errstate(over="ignore"):
        q = (prefix_s[a] - prefix_s[a - span]) - (prefix_t[b] - prefix_t[b - span])
    diag = np.broadcast_to(b - a, q.shape).ravel()
    rows = np.broadcast_to(a, q.shape).ravel()
    q = q.ravel()
    order = np.lexsort((rows, q, diag))
    same = np.zeros(order.size, dtype=bool)
    same[1:] = (diag[order[1:]] == diag[order[:-1]]) & (q[order[1:]] == q[order[:-1]])
    previous_row = np.full(order.size, -1, dtype=np.int64)
    previous_row[order[1:][same[1:]]] = rows[order[:-1][same[1:]]]
    previous_row = previous_row.reshape(n + 1, m + 1)
    # Node (i+1, j+1) closes the window that starts at node (i-k, j-k).
    earlier = previous_row[1:, 1:]
    k = np.arange(n)[:, None] - earlier
    return np.where(earlier >= 0, k, 0)


def align(src: Sequence[Token], tgt: Sequence[Token], cost_fn: CostFn) -> AlignmentTable:
    """Fill the cost table and the tied ops of every cell."""
    n, m = len(src), len(tgt)
    src_texts = [t.text for t in src]
    tgt_texts = [t.text for t in tgt]
    ids: dict[str, int] = {}
    src_ids = np.array([ids.setdefault(t, len(ids)) for t in src_texts], dtype=np.int64)
    tgt_ids = np.array([ids.setdefault(t, len(ids)) for t in tgt_texts], dtype=np.int64)
    match = src_ids[:, None] == tgt_ids[None, :]

    # Substitution costs, computed once per distinct (src token, tgt token) pair.
    src_unique: dict[Token, int] = {}
    tgt_unique: dict[Token, int] = {}
    src_index = np.array([src_unique.setdefault(t, len(src_unique)) for t in src], dtype=np.int64)
    tgt_index = np.array([tgt_unique.setdefault(t, len(tgt_unique)) for t in tgt], dtype=np.int64)
    unique_cost = np.array(
        [[cost_fn(a, b) for b in tgt_unique] for a in src_unique], dtype=np.float64
    ).reshape(len(src_unique), len(tgt_unique))
    sub_cost = unique_cost[src_index][:, tgt_index]

    window = _transposition_windows(src_ids, tgt_ids, len(ids))
    window = np.where(match, 0, window)
    _verify_windows(window, src_texts, tgt_texts)

    cost = np.zeros((n + 1, m + 1), dtype=np.float64)
    cost[:, 0] = np.arange(n + 1)
    cost[0, :] = np.arange(m + 1)
    take_t = np.zeros((n, m), dtype=bool)
    take_s = np.zeros((n, m), dtype=bool)
    take_i = np.zeros((n, m), dtype=bool)
    take_d = np.zeros((n, m), dtype=bool)
    # chain[j]: the number of k for which ChERRANT's loop condition
    # C[i-k+1][j-k+1] != C[i-k][j-k] holds in a row before failing (or leaving the table).
    chain = np.ones(m, dtype=np.int64)
    cols = np.arange(m)
    inf = np.float64("inf")
    for i in range(n):
        previous = cost[i]
        if i >= 1:
            differs = np.zeros(m, dtype=bool)
            differs[1:] = previous[1:m] != cost[i - 1, : m - 1]
            shifted = np.ones(m, dtype=np.int64)
            shifted[1:] = chain[:-1] + 1
            chain = np.where(differs, shifted, 1)
        k = window[i]
        usable = (k > 0) & (k < chain)
        trans = np.full(m, inf)
        if usable.any():
            kk = k[usable]
            trans[usable] = cost[i - kk, cols[usable] - kk] + kk
        sub = previous[:m] + sub_cost[i]
        dele = previous[1:] + 1
        best = np.minimum(np.minimum(trans, sub), dele)
        row_match = match[i]
        diagonal = previous[:m]
        row = np.where(row_match, diagonal, best)
        first = float(i + 1)
        while True:  # insertions: row[j] = min(best[j], row[j-1] + 1), to a fixed point
            left = np.empty(m)
            left[0] = first + 1
            left[1:] = row[:-1] + 1
            new_row = np.where(row_match, diagonal, np.minimum(best, left))
            if np.array_equal(new_row, row):
                break
            row = new_row
        cost[i + 1, 1:] = row
        mismatch = ~row_match
        take_t[i] = mismatch & (trans == row)
        take_s[i] = mismatch & (sub == row)
        take_i[i] = mismatch & (left == row)
        take_d[i] = mismatch & (dele == row)
    return AlignmentTable(n, m, cost, match, take_t, take_s, take_i, take_d, window)


def _verify_windows(window: np.ndarray, src: list[str], tgt: list[str]) -> None:
    """Check each hashed transposition window exactly; recompute by brute force on a collision."""
    for i, j in zip(*np.nonzero(window)):
        k = int(window[i, j])
        if sorted(src[i - k : i + 1]) != sorted(tgt[j - k : j + 1]):
            window[i, j] = _smallest_window(src, tgt, int(i), int(j))


def _smallest_window(src: list[str], tgt: list[str], i: int, j: int) -> int:
    k = 1
    while i - k >= 0 and j - k >= 0:
        if sorted(src[i - k : i + 1]) == sorted(tgt[j - k : j + 1]):
            return k
        k += 1
    return 0


def cheapest_paths(table: AlignmentTable) -> Iterator[list[Step]]:
    """Every cheapest path from the start, in ChERRANT's depth-first order (ops tried [T, S, I, D]).

    When the lengths differ by more than 10 tokens only the first op of each cell is followed.
    """
    first_only = abs(table.n - table.m) > ALL_PATHS_MAX_LENGTH_DIFFERENCE
    # Each stack entry: (a, b, reversed path as a linked list of (step, tail)).
    stack: list[tuple[int, int, tuple | None]] = [(table.n, table.m, None)]
    while stack:
        a, b, tail = stack.pop()
        if a + b == 0:
            path: list[Step] = []
            while tail is not None:
                step, tail = tail
                path.append(step)
            yield path
            continue
        ops = table.ops(a, b)
        if first_only:
            ops = ops[:1]
        for op in reversed(ops):
            if op in ("M", "S"):
                step = (op, a - 1, a, b - 1, b)
            elif op == "D":
                step = (op, a - 1, a, b, b)
            elif op == "I":
                step = (op, a, a, b - 1, b)
            else:
                k = int(op[1:])
                step = (op, a - k, a, b - k, b)
            stack.append((step[1], step[3], (step, tail)))


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

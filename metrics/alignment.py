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
INF = float("inf")


@dataclass
class AlignmentTable:
    """The cumulative cost table; the ops of a cell are recomputed when the backtrace visits it,
    with the same float operations that filled it, so only visited cells pay for them."""

    src: list[str]  # the tokens without their common suffix
    tgt: list[str]
    cost: list[list[float]]  # (n+1) x (m+1)
    sub_cost: list[list[float]]  # n x m substitution costs
    window: list[list[int]]  # n x m: smallest k with equal multisets src[i-k..i], tgt[j-k..j]
    suffix: int = 0  # common suffix tokens: every cheapest path ends with these matches

    @property
    def n(self) -> int:
        return len(self.src)

    @property
    def m(self) -> int:
        return len(self.tgt)

    def transposition(self, i: int, j: int) -> tuple[float, int]:
        """ChERRANT's transposition candidate for token pair (i, j): (cost, k), cost inf if none."""
        k = self.window[i][j]
        if not k:
            return INF, 0
        cost = self.cost
        for step in range(1, k + 1):
            if cost[i - step + 1][j - step + 1] == cost[i - step][j - step]:
                return INF, 0
        return cost[i - k][j - k] + k, k

    def ops(self, a: int, b: int) -> list[str]:
        """Ops of DP cell (a, b) in ChERRANT's order [T, S, I, D] (M alone on a match)."""
        if a == 0:
            return ["I"]
        if b == 0:
            return ["D"]
        i, j = a - 1, b - 1
        if self.src[i] == self.tgt[j]:
            return ["M"]
        cost = self.cost
        value = cost[a][b]
        ops = []
        trans, k = self.transposition(i, j)
        if trans == value:
            ops.append(f"T{k + 1}")
        if cost[i][j] + self.sub_cost[i][j] == value:
            ops.append("S")
        if cost[a][j] + 1 == value:
            ops.append("I")
        if cost[i][b] + 1 == value:
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
          matrix_fn: Callable[[Sequence[Token], Sequence[Token]], np.ndarray] | None = None) -> AlignmentTable:
    """Fill the cumulative cost table.

    Two shortcuts keep the result identical while skipping most cells of near-equal sentences:
    a common suffix is a chain of forced matches at the end of every cheapest path, so it is
    cut off and re-attached by `cheapest_paths`; and inside the common prefix block every cost
    is exactly |a - b| (the insertions or deletions needed, each costing exactly 1).
    `matrix_fn(src, tgt)` may compute all substitution costs at once.
    """
    src_all = [t.text for t in src]
    tgt_all = [t.text for t in tgt]
    prefix, suffix = common_affixes(src_all, tgt_all)
    src = src[: len(src) - suffix]
    tgt = tgt[: len(tgt) - suffix]
    n, m = len(src), len(tgt)
    src_texts = src_all[:n]
    tgt_texts = tgt_all[:m]
    if not (n and m):
        return AlignmentTable(src_texts, tgt_texts, [[float(j) for j in range(m + 1)]]
                              + [[float(i + 1)] for i in range(n)], [[] for _ in range(n)],
                              [[] for _ in range(n)], suffix)
    sub_cost = (matrix_fn or (lambda a, b: substitution_matrix(a, b, cost_fn)))(src, tgt)
    sub_rows = sub_cost.tolist()
    ids: dict[str, int] = {}
    src_ids = np.array([ids.setdefault(t, len(ids)) for t in src_texts], dtype=np.int64)
    tgt_ids = np.array([ids.setdefault(t, len(ids)) for t in tgt_texts], dtype=np.int64)
    matches = src_ids[:, None] == tgt_ids[None, :]
    windows = _transposition_windows(src_ids, tgt_ids, len(ids))
    windows[matches] = 0
    _verify_windows(windows, src_texts, tgt_texts)
    window_rows = windows.tolist()
    match_rows = matches.tolist()

    cost: list[list[float]] = [[float(j) for j in range(m + 1)]]
    ramp = [float(abs(x)) for x in range(-prefix, prefix + 1)]  # ramp[prefix + x] == |x|
    for i in range(n):
        previous = cost[i]
        if i < prefix:  # row i+1 of the prefix block: |b - (i+1)| for b <= prefix
            row = ramp[prefix - i - 1 : 2 * prefix - i]
            first = prefix
        else:
            row = [float(i + 1)]
            first = 0
        left = row[-1]
        append = row.append
        # The hot loop: one pass per cell, float operations in ChERRANT's order.
        for j, diagonal, upper, is_match, substitution, k in zip(
                range(first, m), previous[first:], previous[first + 1:], match_rows[i][first:],
                sub_rows[i][first:], window_rows[i][first:]):
            if is_match:
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
                    for step in range(1, k + 1):
                        if cost[i - step + 1][j - step + 1] == cost[i - step][j - step]:
                            break
                    else:
                        candidate = cost[i - k][j - k] + k
                        if candidate < value:
                            value = candidate
                left = value
            append(left)
        cost.append(row)
    return AlignmentTable(src_texts, tgt_texts, cost, sub_rows, window_rows, suffix)


def substitution_matrix(src: Sequence[Token], tgt: Sequence[Token], cost_fn: CostFn) -> np.ndarray:
    """Substitution costs of every token pair, computed once per distinct pair."""
    src_unique: dict[Token, int] = {}
    tgt_unique: dict[Token, int] = {}
    src_index = [src_unique.setdefault(t, len(src_unique)) for t in src]
    tgt_index = [tgt_unique.setdefault(t, len(tgt_unique)) for t in tgt]
    unique_cost = np.array(
        [[cost_fn(a, b) for b in tgt_unique] for a in src_unique], dtype=np.float64
    ).reshape(len(src_unique), len(tgt_unique))
    return unique_cost[np.array(src_index, dtype=np.int64)][:, np.array(tgt_index, dtype=np.int64)]


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
            path.extend(("M", table.n + q, table.n + q + 1, table.m + q, table.m + q + 1)
                        for q in range(table.suffix))
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

"""MaxMatch (M2Scorer) word-level scoring, count for count like nusnlp/m2scorer, but fast.

The NLPCC 2023 word-level metric is M2Scorer run on THULAC-segmented hypotheses. The original
(Python 2, nusnlp/m2scorer commit cb874a7) needs about half an hour for an LLM output with a few
prompt-leakage lines, because it closes the edit lattice with a cubic loop and searches it with
Bellman-Ford. This module computes the same edit sequences, and therefore the same counts, with
a per-vertex dynamic program that reproduces every tie-break of the original (plain Python for
small lattices, numpy over all sources at once for large ones); ../shared/docs/SCORING.md
section 8 describes the method.

Outline for one sentence (source tokens S, hypothesis tokens H):

1. Lattice. Two Levenshtein tables between S and H (insertion and deletion cost 1, substitution
   cost 1, then 2). Every step that lies on a cheapest path of either table is a *base arc*;
   cell (r, c) is a vertex. A base arc found in both tables is listed twice in the original's
   arc list, and that multiplicity changes weights and tie-breaks, so it is kept.
2. Closure. The original adds an arc u -> w for chains of base arcs that hold at most
   `max_unchanged_words` unchanged tokens, visiting intermediate vertices in sorted order
   (Floyd-Warshall style, only on strict improvement). Because the vertex order is topological,
   that loop always extends an already final arc u -> k by one base arc k -> w; the candidate
   k's of w are its (at most three) lattice predecessors, tried in sorted order. We do exactly
   that, for all u at once. Each accepted improvement is one more entry in the arc list, in the
   order (k, u, w); afterwards arcs that are pure copies (all tokens unchanged) are dropped with
   the original's remove-while-iterating quirk: the entry right after a removed one is skipped
   and survives.
3. Weights, per annotator. An arc whose edit equals a gold edit gets -len(arc list); any other
   non-copy arc gets its length plus 0.001 per entry it has in the list. Insertions at one
   position are matched against the gold insertions there from both ends, as the original does.
4. Path. The original runs Bellman-Ford, relaxing the arc list in order, and keeps a
   predecessor only on a strict improvement. Distances are exact multiples of 0.001 up to
   rounding, so we compute them exactly in integer thousandths, in topological order. Among the
   predecessors that reach a vertex's final distance, Bellman-Ford keeps the one whose
   relaxation first produced the final floating-point value; we replay that with "times"
   (pass * list length + position of the arc in the list) and the floating-point values, one
   vertex at a time. That gives the same predecessor as the original, ties and rounding
   included, without running |V| passes over the arc list.
5. Counting and annotator choice as in the original: hypothesis edits are matched in order
   against the annotator's gold list; per sentence the annotator with the higher cumulative F,
   then more correct edits, then fewer proposed + beta^2 * gold edits, is chosen.

No whitespace or case is ignored (the original's default).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from metrics.edit import NOOP, NOT_ANNOTATABLE, Block, read_correction_field

EPSILON = 0.001  # weight added to an arc that is not a gold edit
_SCALE = 1000  # weights in exact thousandths: 1 -> 1000, 1 + EPSILON -> 1001
_FAR = 1 << 62  # distance of a vertex not reached yet, in thousandths
_NO_DIST = 1 << 30  # "no arc yet" during the closure
_EMPTY = np.empty(0, np.int32)
SMALL_LATTICE = 300  # up to this many vertices, plain Python beats numpy's per-call cost


# --------------------------------------------------------------------------- gold M2

@dataclass(frozen=True)
class GoldEdit:
    """One gold edit as M2Scorer reads it: token span, the source text of the span, and the
    acceptable corrections (alternatives `a||b`; `-NONE-` is the empty string)."""

    start: int
    end: int
    original: str
    corrections: tuple[str, ...]


@dataclass(frozen=True)
class GoldSentence:
    """Source tokens and, per annotator, its gold edits (noop edits are already left out).

    `annotator_ids` are the ids of the last M2 field, in the order the original visits them
    (ascending); left empty, they default to 0, 1, 2, ...
    """

    source: tuple[str, ...]
    annotators: tuple[tuple[GoldEdit, ...], ...]
    annotator_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not self.annotator_ids:
            object.__setattr__(self, "annotator_ids", tuple(range(len(self.annotators))))
        if len(self.annotator_ids) != len(self.annotators):
            raise ValueError("annotator_ids and annotators differ in length")


class GoldFormatError(ValueError):
    """An M2 block that M2Scorer's reader would reject."""


def _blocks(text: str) -> list[list[str]]:
    """Blocks separated by lines that are exactly "\\n", each split into lines as M2Scorer
    does (`paragraphs`, then `splitlines`)."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines(True):
        if line == "\n":
            if current:
                blocks.append("".join(current).splitlines())
                current = []
        else:
            current.append(line)
    if current:
        blocks.append("".join(current).splitlines())
    return blocks


def parse_gold_m2(text: str) -> list[GoldSentence]:
    """Read M2Scorer gold (S and A lines; I lines are ignored) exactly as `load_annotation`.

    Offsets of a `noop` edit become -1 and such edits are dropped; an annotator whose only
    line is a noop is kept with no edits; a block without any A line gets one annotator (0)
    with no edits. Corrections are split on `||`, each stripped, `-NONE-` meaning ''.
    """
    sentences: list[GoldSentence] = []
    for block in _blocks(text):
        lines = block
        s_lines = [line[2:].strip() for line in lines if line.startswith("S ")]
        if not s_lines:
            raise GoldFormatError(f"block without an S line: {lines[0]!r}")
        all_tokens = " ".join(s_lines).split()
        per_annotator: dict[int, list[tuple[int, int, str, tuple[str, ...]]]] = {}
        for line in lines[1:]:
            if line.startswith("I ") or line.startswith("S "):
                continue
            if not line.startswith("A "):
                raise GoldFormatError(f"line is neither S, A nor I: {line!r}")
            fields = line[2:].split("|||")
            try:
                span = fields[0].split()
                start, end = int(span[0]), int(span[1])
                kind, annotator = fields[1], int(fields[5])
            except (IndexError, ValueError) as error:
                raise GoldFormatError(f"bad A line: {line!r}") from error
            if kind == "noop":
                start = end = -1
            corrections = tuple("" if c == "-NONE-" else c.strip() for c in fields[2].split("||"))
            original = " ".join(all_tokens[start:end])
            per_annotator.setdefault(annotator, []).append((start, end, original, corrections))
        seen = 0
        for s_line in s_lines:  # several S lines in one block: the original's offset rule
            seen += len(s_line.split())
            ids = sorted(per_annotator)
            kept = tuple(
                tuple(GoldEdit(s, e, o, c) for s, e, o, c in per_annotator[k] if 0 <= s <= seen and 0 <= e <= seen)
                for k in ids
            )
            if not ids:
                ids, kept = [0], ((),)
            sentences.append(GoldSentence(tuple(s_line.split()), kept, tuple(ids)))
    return sentences


def gold_from_blocks(blocks: Iterable[Block]) -> list[GoldSentence]:
    """The gold M2Scorer reads from `maxmatch_gold` of these ChERRANT blocks (the NLPCC 2023
    word gold, see metrics.m2.maxmatch_gold), built without writing and reading M2 text: each
    annotator's first alignment, noop and NA lines giving an annotator without edits."""
    sentences: list[GoldSentence] = []
    for block in blocks:
        source = tuple(" ".join(block.source_tokens).split())
        per_annotator: dict[int, list[GoldEdit]] = {}
        for annotation in block.annotations:
            if annotation.marker is not None:
                per_annotator.setdefault(annotation.annotator, [])
                continue
            for edit in annotation.alignments[0] if annotation.alignments else ():
                kept = per_annotator.setdefault(edit.annotator, [])
                if edit.type in (NOOP, NOT_ANNOTATABLE) or not (0 <= edit.start <= len(source)
                                                                 and 0 <= edit.end <= len(source)):
                    continue
                text = read_correction_field(edit.correction)  # the field as M2Scorer reads it
                corrections = tuple("" if c == "-NONE-" else c.strip() for c in text.split("||"))
                kept.append(GoldEdit(edit.start, edit.end, " ".join(source[edit.start:edit.end]), corrections))
        ids = sorted(per_annotator) or [0]
        sentences.append(GoldSentence(source, tuple(tuple(per_annotator.get(k, ())) for k in ids), tuple(ids)))
    return sentences


# --------------------------------------------------------------------------- results

@dataclass(frozen=True)
class HypothesisEdit:
    """An edit of the chosen hypothesis edit sequence: span of source tokens and texts."""

    start: int
    end: int
    original: str
    correction: str


@dataclass(frozen=True)
class AnnotatorCounts:
    """One sentence scored against one annotator: its counts and the hypothesis edits MaxMatch
    chose against it (M2Scorer's verbose output). `choose_annotators` keeps the one chosen per
    sentence (annotator -1: a sentence with no annotator, counted zero)."""

    annotator: int
    correct: int
    proposed: int
    gold: int
    edits: tuple[HypothesisEdit, ...]


@dataclass(frozen=True)
class MaxMatchResult:
    """Corpus totals (M2Scorer's verbose CORRECT/PROPOSED/GOLD EDITS) and P, R, F_beta as it
    computes them (it prints them with %.4f); `sentences`: the chosen annotator's counts."""

    correct: int
    proposed: int
    gold: int
    precision: float
    recall: float
    f: float
    sentences: tuple[AnnotatorCounts, ...] = field(default=(), repr=False)


# --------------------------------------------------------------------------- lattice

def _cheapest_steps(src: Sequence[str], hyp: Sequence[str]) -> dict[tuple[int, int], int]:
    """Base arcs: {(cell_from, cell_to): number of Levenshtein tables (1 or 2) having it},
    cells numbered r * (len(hyp) + 1) + c.

    The original builds, for each table (insertion and deletion cost 1, substitution cost 1,
    then 2), the steps that reach each cell's minimum and keeps those reachable backwards
    from (n, m). That is the same as keeping a step a -> b when cost(0,0 -> a) + step +
    cost(b -> n,m) equals the table's total, which numpy computes from a forward and a
    backward table (the backward one is the forward one of the reversed sequences).
    """
    n, m = len(src), len(hyp)
    vocabulary: dict[str, int] = {}
    src_ids = np.array([vocabulary.setdefault(t, len(vocabulary)) for t in src], dtype=np.int64)
    hyp_ids = np.array([vocabulary.setdefault(t, len(vocabulary)) for t in hyp], dtype=np.int64)
    equal = src_ids[:, None] == hyp_ids[None, :]  # (n, m)
    # four dynamic programs at once: forward with substitution cost 1 and 2, then backward
    sub = np.array([1, 2], dtype=np.int64)[:, None, None]
    step_cost = np.concatenate((np.where(equal, 0, sub), np.where(equal[::-1, ::-1], 0, sub)))
    across = np.arange(m + 1, dtype=np.int64)
    tables = np.empty((4, n + 1, m + 1), dtype=np.int64)
    tables[:, 0, :] = across
    for r in range(1, n + 1):
        prev = tables[:, r - 1, :]
        row = np.empty((4, m + 1), dtype=np.int64)
        row[:, 0] = r
        if m:
            diag = prev[:, :-1] + step_cost[:, r - 1, :]
            np.minimum(diag, prev[:, 1:] + 1, out=row[:, 1:])
        # insertions along the row: cur[c] = min over c' <= c of row[c'] + (c - c')
        tables[:, r, :] = np.minimum.accumulate(row - across, axis=1) + across
    steps: dict[tuple[int, int], int] = {}
    width = m + 1
    for t in range(2):
        forward = tables[t]
        backward = tables[t + 2][::-1, ::-1]  # cost from (r, c) to (n, m)
        total = forward[n, m]
        kinds = []
        if n and m:
            diag_cost = np.where(equal, 0, t + 1)
            kinds.append((forward[:-1, :-1] + diag_cost + backward[1:, 1:] == total, 1, 1))
        if n:
            kinds.append((forward[:-1, :] + 1 + backward[1:, :] == total, 1, 0))
        if m:
            kinds.append((forward[:, :-1] + 1 + backward[:, 1:] == total, 0, 1))
        for on_path, dr, dc in kinds:
            r, c = np.nonzero(on_path)
            start = r * width + c
            for a, b in zip(start.tolist(), (start + dr * width + dc).tolist()):
                steps[(a, b)] = steps.get((a, b), 0) + 1
    return steps


class _Lattice:
    """The closed edit lattice of one sentence, shared by all its annotators.

    Vertices are the lattice cells on some cheapest path, numbered in sorted (row, column)
    order, which is a topological order. An arc is known by its target w and its index j in
    `sources[w]` (the ascending source vertices of the arcs into w). `weights[w][j]` is its
    default weight in thousandths: length * 1000 for a copy arc (every token unchanged; a noop
    edit), length * 1000 + (its number of entries in the arc list) otherwise. Copies are
    therefore exactly the weights divisible by 1000. `dead` holds the arcs (w, j) that the
    original removed from its list.

    Small lattices (most sentences) keep these columns as Python lists, large ones (a
    hypothesis unrelated to its source has about V^2 / 4 arcs) as numpy arrays; the two
    builders and the two column steps of `best_edits` compute the same thing.
    """

    def __init__(self, src: Sequence[str], hyp: Sequence[str], max_unchanged: int) -> None:
        self.src = tuple(src)
        self.hyp = tuple(hyp)
        width = len(hyp) + 1
        self.width = width
        base = _cheapest_steps(src, hyp)
        cells = sorted({len(src) * width + len(hyp)} | {cell for step in base for cell in step})
        self.index = {cell: i for i, cell in enumerate(cells)}
        self.n_v = len(cells)
        self.rows = [c // width for c in cells]
        self.cols = [c % width for c in cells]
        preds = self._base_arcs(base)
        self.small = self.n_v <= SMALL_LATTICE
        close = self._close_small if self.small else self._close_large
        self.sources, self.weights, self.groups, copies = close(preds, max_unchanged)
        self._list_arcs(preds, copies)

    def _base_arcs(self, base: dict[tuple[int, int], int]) -> list[list[tuple[int, int, int]]]:
        """The base arcs by target vertex, (source, unchanged token?, entries in the list),
        sorted; sets `preds` (their sources) and `slot_of`."""
        src, hyp, width, index = self.src, self.hyp, self.width, self.index
        preds: list[list[tuple[int, int, int]]] = [[] for _ in range(self.n_v)]
        for (a, b), mult in base.items():
            ra, ca = divmod(a, width)
            rb, cb = divmod(b, width)
            copy = 1 if (rb == ra + 1 and cb == ca + 1 and src[ra] == hyp[ca]) else 0
            preds[index[b]].append((index[a], copy, mult))
        for p in preds:
            p.sort()
        self.preds = [[k for k, _, _ in p] for p in preds]
        # slot: number of a base arc k -> w among the (at most three) base arcs out of k, in
        # ascending order of w. The closure's entries for intermediate k are kept as sorted
        # keys u * 4 + slot, which is the original's (u, w) order within k.
        slot_of: dict[tuple[int, int], int] = {}
        out_degree = [0] * self.n_v
        for w in range(self.n_v):
            for k, _, _ in preds[w]:
                slot_of[(k, w)] = out_degree[k]
                out_degree[k] += 1
        self.slot_of = slot_of
        return preds

    def _list_arcs(self, preds: list[list[tuple[int, int, int]]], copies: list[tuple[int, int]]) -> None:
        """The original's arc list: the base arcs sorted (an arc of both tables twice), then
        the closure's entries in (k, u, w) order, less the removed copies."""
        n_v = self.n_v
        self.base_positions: dict[tuple[int, int], list[int]] = {}
        at = 0
        for k, w, mult in sorted((k, w, mult) for w in range(n_v) for k, _, mult in preds[w]):
            self.base_positions[(k, w)] = list(range(at, at + mult))
            at += mult
        self.n_base = at
        self.group_start = [0] * n_v
        total = 0
        for k in range(n_v):
            self.group_start[k] = total
            total += len(self.groups[k])
        self.removed: list[int] = []  # positions, before removal, of the removed copies
        self.dead: set[tuple[int, int]] = set()
        skipped = -1
        for position, u, w in sorted((self._raw_positions(u, w)[0], u, w) for u, w in copies):
            if position == skipped:  # list.remove while iterating skips the next entry
                continue
            self.removed.append(position)
            skipped = position + 1
            self.dead.add((w, bisect_left(self.sources[w], u)))
        self.list_length = self.n_base + total - len(self.removed)  # len(E) of the original

    # --- closure
    #
    # One target vertex w at a time, for all sources u at once: the original extends the
    # final arc u -> k by the base arc k -> w, for the predecessors k of w in sorted order,
    # when that is strictly shorter and keeps <= max_unchanged unchanged tokens. Each such
    # improvement is one more entry (k, u, w) in the arc list. Returns the columns (sources,
    # default weights), the entries grouped by k (sorted keys), and the added copy arcs (u, w)
    # longer than one step (the candidates for removal).

    def _close_small(self, preds: list[list[tuple[int, int, int]]], max_unchanged: int):
        n_v = len(preds)
        slot_of = self.slot_of
        columns: list[list[tuple[int, int, int]]] = [[] for _ in range(n_v)]  # (u, length, same)
        sources: list[list[int]] = [[] for _ in range(n_v)]
        weights: list[list[int]] = [[] for _ in range(n_v)]
        groups: list[list[int]] = [[] for _ in range(n_v)]
        copies: list[tuple[int, int]] = []
        for w in range(n_v):
            pw = preds[w]
            if not pw:
                continue
            state: dict[int, list[int]] = {k: [1, copy, mult] for k, copy, mult in pw}  # length, same, entries
            for k, copy, _ in pw:
                slot_key = slot_of[(k, w)]
                for u, length, same in columns[k]:
                    length += 1
                    same += copy
                    known = state.get(u)
                    if (known is None or length < known[0]) and same <= max_unchanged:
                        if known is None:
                            state[u] = [length, same, 1]
                        else:
                            known[0], known[1] = length, same
                            known[2] += 1
                        groups[k].append(u * 4 + slot_key)
            column = sorted((u, v[0], v[1]) for u, v in state.items())
            columns[w] = column
            sources[w] = [u for u, _, _ in column]
            weights[w] = [length * _SCALE + (0 if length == same else state[u][2]) for u, length, same in column]
            copies.extend((u, w) for u, length, same in column if length == same and length > 1)
        for g in groups:
            g.sort()
        return sources, weights, groups, copies

    def _close_large(self, preds: list[list[tuple[int, int, int]]], max_unchanged: int):
        n_v = len(preds)
        slot_of = self.slot_of
        sources: list[np.ndarray] = [_EMPTY] * n_v
        lengths: list[np.ndarray] = [_EMPTY] * n_v
        unchanged: list[np.ndarray] = [_EMPTY] * n_v
        weights: list[np.ndarray] = [_EMPTY] * n_v
        added: list[list[np.ndarray]] = [[] for _ in range(n_v)]
        copies: list[tuple[int, int]] = []
        for w in range(n_v):
            pw = preds[w]
            if not pw:
                continue
            length = np.full(w, _NO_DIST, np.int32)
            same = np.zeros(w, np.int16)
            entries = np.zeros(w, np.int32)
            for k, copy, mult in pw:
                length[k] = 1
                same[k] = copy
                entries[k] = mult
            for k, copy, _ in pw:
                from_k = sources[k]
                if not from_k.size:
                    continue
                cand = lengths[k] + 1
                cand_same = unchanged[k] + 1 if copy else unchanged[k]
                better = cand < length[from_k]
                if copy or max_unchanged < 1:
                    better &= cand_same <= max_unchanged
                if better.any():
                    chosen = from_k[better]
                    length[chosen] = cand[better]
                    same[chosen] = cand_same[better]
                    entries[chosen] += 1
                    added[k].append(chosen * 4 + slot_of[(k, w)])
            keep = np.flatnonzero(length < _NO_DIST).astype(np.int32)
            kept_length = length[keep]
            kept_same = same[keep]
            is_copy = kept_length == kept_same
            sources[w] = keep
            lengths[w] = kept_length
            unchanged[w] = kept_same
            weights[w] = kept_length * _SCALE + np.where(is_copy, 0, entries[keep])
            for j in np.flatnonzero(is_copy & (kept_length > 1)).tolist():
                copies.append((int(keep[j]), w))
        groups = [_EMPTY if not g else g[0] if len(g) == 1 else np.sort(np.concatenate(g)) for g in added]
        return sources, weights, groups, copies

    # --- arcs

    def find(self, u: int, w: int) -> int:
        """Index of arc u -> w among the arcs into w, -1 if there is none (or it was removed)."""
        col = self.sources[w]
        j = bisect_left(col, u)
        if j < len(col) and col[j] == u and (w, j) not in self.dead:
            return j
        return -1

    def _raw_positions(self, u: int, w: int) -> list[int]:
        """Positions of arc u -> w in the arc list before the copies were removed."""
        base = self.base_positions.get((u, w))
        if base is not None:
            return base
        out = []
        for k in self.preds[w]:
            group = self.groups[k]
            key = u * 4 + self.slot_of[(k, w)]
            i = bisect_left(group, key)
            if i < len(group) and group[i] == key:
                out.append(self.n_base + self.group_start[k] + i)
        return out

    def positions(self, u: int, w: int) -> list[int]:
        """Positions of arc u -> w in the original's final arc list, ascending."""
        raw = self._raw_positions(u, w)
        if not self.removed:
            return raw
        return [p - bisect_left(self.removed, p) for p in raw]

    def float_weight(self, weight: int) -> float:
        """The original's floating-point value of a default weight (length, then + EPSILON
        once per entry, added one at a time)."""
        length, count = divmod(weight, _SCALE)
        value = float(length)
        for _ in range(count):
            value += EPSILON
        return value

    def edit(self, u: int, w: int) -> HypothesisEdit:
        r1, c1, r2, c2 = self.rows[u], self.cols[u], self.rows[w], self.cols[w]
        return HypothesisEdit(r1, r2, " ".join(self.src[r1:r2]), " ".join(self.hyp[c1:c2]))

    # --- per annotator

    def _gold_weights(self, gold: Sequence[GoldEdit]) -> dict[tuple[int, int], tuple[int, float]]:
        """Weights that differ from the defaults for this annotator: {(w, j): (thousandths,
        float)}. A gold edit's arc weighs -len(arc list)."""
        gold_value = -self.list_length
        gold_weight = (gold_value * _SCALE, float(gold_value))
        special: dict[tuple[int, int], tuple[int, float]] = {}
        n = len(self.src)
        insertions: dict[int, list[GoldEdit]] = {}
        for g in gold:
            if g.start == g.end:
                insertions.setdefault(g.start, []).append(g)
                continue
            if not (0 <= g.start < g.end <= n) or g.original != " ".join(self.src[g.start:g.end]):
                continue
            for arc in self._arcs_with_text(g.start, g.end, g.corrections):
                special[arc] = gold_weight
        for row, golds in insertions.items():
            if 0 <= row <= n:
                self._match_insertions(row, golds, gold_weight, special)
        return special

    def _arcs_with_text(self, r1: int, r2: int, texts: Sequence[str]) -> list[tuple[int, int]]:
        """Arcs (w, j) from row r1 to row r2 whose hypothesis text is one of `texts`."""
        found = []
        hyp, index, width = self.hyp, self.index, self.width
        for text in set(texts):
            if text == "":
                spans = [(c, c) for c in range(len(hyp) + 1)]
            else:
                words = text.split(" ")
                if "" in words:
                    continue
                size = len(words)
                spans = [(c, c + size) for c in range(len(hyp) - size + 1) if list(hyp[c:c + size]) == words]
            for c1, c2 in spans:
                u = index.get(r1 * width + c1)
                w = index.get(r2 * width + c2)
                if u is None or w is None:
                    continue
                j = self.find(u, w)
                if j >= 0:
                    found.append((w, j))
        return found

    def _match_insertions(self, row: int, golds: list[GoldEdit], gold_weight: tuple[int, float],
                          special: dict[tuple[int, int], tuple[int, float]]) -> None:
        """The original's two-ended matching of the insertion arcs at one position: arcs
        sorted, each listed once per entry; from the left end, a match jumps to the next arc
        that continues the matched insertion, adding EPSILON to every arc it passes (even
        one already weighted); likewise from the right end."""
        arcs = self._insertion_arcs(row)
        if not arcs:
            return
        listing = [arc for arc in arcs for _ in range(int(self.weights[arc[1]][arc[2]]) % _SCALE)]
        value = {(w, j): [int(self.weights[w][j]) // _SCALE * _SCALE, float(int(self.weights[w][j]) // _SCALE)]
                 for _, w, j in arcs}
        self._walk_insertions(listing, golds, gold_weight, value)
        for arc, (thousandths, flt) in value.items():
            special[arc] = (thousandths, flt)

    def _insertion_arcs(self, row: int) -> list[tuple[int, int, int]]:
        """The live arcs (u, w, j) with u and w both in this row, sorted."""
        first = bisect_left(self.rows, row)
        last = bisect_left(self.rows, row + 1) - 1
        arcs = []
        for w in range(first, last + 1):
            col = self.sources[w]
            for j in range(bisect_left(col, first), len(col)):
                if (w, j) not in self.dead:
                    arcs.append((int(col[j]), w, j))
        arcs.sort()
        return arcs

    def _walk_insertions(self, listing: list[tuple[int, int, int]], golds: list[GoldEdit],
                         gold_weight: tuple[int, float], value: dict[tuple[int, int], list]) -> None:
        """The walk of `_match_insertions` over `listing` from both ends, updating `value`
        ({(w, j): [thousandths, float]}) in place."""

        def bump(arc: tuple[int, int, int]) -> None:
            entry = value[(arc[1], arc[2])]
            entry[0] += 1
            entry[1] += EPSILON

        def matches(arc: tuple[int, int, int], g: GoldEdit) -> bool:
            return g.original == "" and self.edit(arc[0], arc[1]).correction in g.corrections

        left, right, at = 0, len(listing) - 1, 0
        g_left, g_right = 0, len(golds) - 1
        while left <= right:
            arc = listing[at]
            from_left = at == left
            order = range(g_left, g_right + 1) if from_left else range(g_right, g_left - 1, -1)
            hit = next((i for i in order if matches(arc, golds[i])), None)
            if hit is None:
                bump(arc)
                if from_left:
                    left += 1
                    at = right
                else:
                    right -= 1
                    at = left
                continue
            value[(arc[1], arc[2])][:] = gold_weight
            if from_left:
                g_left = hit + 1
                left += 1
                while left < len(listing) and listing[left][0] != arc[1]:
                    bump(listing[left])
                    left += 1
                at = left
            else:
                g_right = hit - 1
                right -= 1
                while right >= 0 and listing[right][1] != arc[0]:
                    bump(listing[right])
                    right -= 1
                at = right

    def best_edits(self, gold: Sequence[GoldEdit]) -> list[HypothesisEdit]:
        """The edit sequence the original's Bellman-Ford returns for this annotator.

        Exact distances (in thousandths) are computed in topological order. For the
        predecessor, history[v] lists (time, float distance) for each time Bellman-Ford
        lowers v to a value within its final exact distance, time being pass * len(list) +
        position of the relaxed arc; the predecessor kept by the original (path[v], set on
        strict improvement only) is the one that produced the last of them.
        """
        n_v = self.n_v
        special = self._gold_weights(gold)
        changed: dict[int, dict[int, int]] = {}  # w -> {j: weight in thousandths}
        for (w, j), (thousandths, _) in special.items():
            changed.setdefault(w, {})[j] = thousandths
        for w, j in self.dead:
            changed.setdefault(w, {})[j] = _FAR
        best: list[int] | np.ndarray = [_FAR] * n_v if self.small else np.full(n_v, _FAR, np.int64)
        best[0] = 0
        history: list[list[tuple[int, float]]] = [[] for _ in range(n_v)]
        history[0] = [(-1, 0.0)]
        via = [-1] * n_v
        for w in range(1, n_v):
            reached = self._tight_arcs(w, best, changed.get(w))
            if reached is None:
                continue
            best[w], tight = reached
            history[w], via[w] = self._replay(w, tight, special, history)
        return self._backtrace(via)

    def _tight_arcs(self, w: int, best: list[int] | np.ndarray, here: dict[int, int] | None
                    ) -> tuple[int, list[int]] | None:
        """w's exact distance and the arcs (their j) into w that reach it; None when w is not
        reached. `here`: this annotator's weights of arcs into w that differ from the defaults."""
        col = self.sources[w]
        if not len(col):
            return None
        weights = self.weights[w]
        if self.small:
            if here:
                weights = [here.get(j, x) for j, x in enumerate(weights)]
            cand = [best[u] + x for u, x in zip(col, weights)]
            low = min(cand)
            tight = [j for j, c in enumerate(cand) if c == low]
        else:
            cand = best[col] + weights
            for j, thousandths in (here or {}).items():
                cand[j] = _FAR if thousandths == _FAR else best[col[j]] + thousandths
            low = int(cand.min())
            tight = np.flatnonzero(cand == low).tolist()
        if low >= _FAR // 2:
            return None
        return low, tight

    def _replay(self, w: int, tight: list[int], special: dict[tuple[int, int], tuple[int, float]],
                history: list[list[tuple[int, float]]]) -> tuple[list[tuple[int, float]], int]:
        """Bellman-Ford's relaxations of the tight arcs into w, in the order the original makes
        them: the (time, float distance) of each strict improvement, and the predecessor kept."""
        col = self.sources[w]
        length = self.list_length
        events = []
        for j in tight:
            u = int(col[j])
            extra = special.get((w, j))
            step = extra[1] if extra is not None else self.float_weight(int(self.weights[w][j]))
            positions = self.positions(u, w)
            for when, dist in history[u]:
                if len(positions) == 1:
                    nxt = when + (positions[0] - when - 1) % length + 1
                else:
                    nxt = min(when + (p - when - 1) % length + 1 for p in positions)
                events.append((nxt, dist + step, u))
        events.sort()
        kept: list[tuple[int, float]] = []
        current = float("inf")
        via = -1
        for when, dist, u in events:
            if dist < current:  # a strict improvement replaces the predecessor
                current = dist
                kept.append((when, dist))
                via = u
        return kept, via

    def _backtrace(self, via: list[int]) -> list[HypothesisEdit]:
        """The path's edits from the first vertex to the last (copy arcs left out)."""
        out = []
        w = self.n_v - 1
        while via[w] >= 0:
            u = via[w]
            if int(self.weights[w][self.find(u, w)]) % _SCALE:  # not a copy
                out.append(self.edit(u, w))
            w = u
        out.reverse()
        return out


def _count_correct(edits: Sequence[HypothesisEdit], gold: Sequence[GoldEdit]) -> int:
    """The original's in-order matching: each edit scans the gold list from after the last
    match, and counts once per gold edit it equals (no break)."""
    correct = 0
    start = 0
    for e in edits:
        for i in range(start, len(gold)):
            g = gold[i]
            if e.start == g.start and e.end == g.end and e.original == g.original and e.correction in g.corrections:
                correct += 1
                start = i + 1
    return correct


def _tokens(hypothesis: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(hypothesis, str):
        return tuple(hypothesis.split())
    return tuple(" ".join(hypothesis).split())


def evaluate_sentence(hypothesis: Sequence[str] | str, gold: GoldSentence,
                      max_unchanged_words: int = 2) -> tuple[AnnotatorCounts, ...]:
    """Counts and chosen edit sequence of one hypothesis against each annotator of `gold`."""
    hyp = _tokens(hypothesis)
    lattice = _Lattice(gold.source, hyp, max_unchanged_words)
    annotators = gold.annotators or ((),)
    ids = gold.annotator_ids or (0,)
    out = []
    for ann_id, edits in zip(ids, annotators):
        seq = lattice.best_edits(edits)
        out.append(AnnotatorCounts(ann_id, _count_correct(seq, edits), len(seq), len(edits), tuple(seq)))
    return tuple(out)


def _f_local(c: float, e: float, g: float, beta: float) -> float:
    try:
        return (1 + beta * beta) * c / (beta * beta * g + e)
    except ZeroDivisionError:
        return 1.0 if c == 0.0 else 0.0


def choose_annotators(candidates: Sequence[Sequence[AnnotatorCounts]], beta: float = 0.5) -> MaxMatchResult:
    """Sentence by sentence, the annotator that maximises the cumulative F (then more correct,
    then fewer proposed + beta^2 * gold), and the corpus P, R, F as M2Scorer prints them."""
    total_c = total_e = total_g = 0.0
    sq = beta * beta
    chosen: list[AnnotatorCounts] = []
    for options in candidates:
        pick: AnnotatorCounts | None = None
        f_max, c_max, e_min, g_min = -1.0, -1.0, float("inf"), float("inf")
        for o in options:
            c, e, g = total_c + o.correct, total_e + o.proposed, total_g + o.gold
            f = _f_local(c, e, g, beta)
            if (f_max < f or (f_max == f and c_max < c)
                    or (f_max == f and c_max == c and e_min + sq * g_min > e + sq * g)):
                pick, f_max, c_max, e_min, g_min = o, f, c, e, g
        if pick is None:
            chosen.append(AnnotatorCounts(-1, 0, 0, 0, ()))
            continue
        total_c += pick.correct
        total_e += pick.proposed
        total_g += pick.gold
        chosen.append(pick)
    p = total_c / total_e if total_e else 1.0
    r = total_c / total_g if total_g else 1.0
    try:
        f = (1.0 + sq) * p * r / (sq * p + r)
    except ZeroDivisionError:
        f = 0.0
    return MaxMatchResult(int(total_c), int(total_e), int(total_g), p, r, f, tuple(chosen))


Evaluate = Callable[[Sequence[tuple[Sequence[str] | str, GoldSentence, int]]], list[tuple[AnnotatorCounts, ...]]]


def evaluate_all(jobs: Sequence[tuple[Sequence[str] | str, GoldSentence, int]]) -> list[tuple[AnnotatorCounts, ...]]:
    """`evaluate_sentence` of each (hypothesis, gold, max_unchanged_words), here and now."""
    return [evaluate_sentence(*job) for job in jobs]


def score(hypotheses: Sequence[Sequence[str]] | Sequence[str], gold: Sequence[GoldSentence],
          beta: float = 0.5, max_unchanged_words: int = 2, evaluate: Evaluate | None = None) -> MaxMatchResult:
    """M2Scorer's corpus score of `hypotheses` against `gold`, one hypothesis per gold
    sentence. A hypothesis is a line of space-separated tokens (split on any whitespace, as
    M2Scorer does) or a token list, read as the line " ".join(tokens). `evaluate` may spread
    the sentences over processes (each is independent; the annotator choice, which depends on
    the running totals, is made here afterwards, in order)."""
    if len(hypotheses) != len(gold):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(gold)} gold sentences")
    jobs = [(h, g, max_unchanged_words) for h, g in zip(hypotheses, gold)]
    return choose_annotators((evaluate or evaluate_all)(jobs), beta)

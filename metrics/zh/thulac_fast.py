"""THULAC 0.2.2's feature scoring (`CBNGramFeature.putValues`) and Viterbi decoder
(`AlphaBeta.dbDecode`), which are pure Python and take nearly all of THULAC's 30 ms a sentence,
in C (metrics/_thulac.c, about 0.1 ms) or, where it was not built or `CGEC_PURE_PYTHON=1`, in
numpy (about 3 ms; metrics/kernel.py chooses, as for the alignment kernel).

Scores are integers, so the arithmetic is exact; ties go, as in the original, to the first
predecessor label in `labelTransPre` order (strict `>`), and to the first allowed label of the
last character (strict `<`). `install(decoder)` swaps the methods on one decoder instance;
tests compare both versions with the original decoder sentence by sentence, and with each other
on random strings.
"""

from __future__ import annotations

import contextlib
import os
import types
from typing import Callable, Iterator

import numpy as np

from metrics.kernel import THULAC

_NONE = np.iinfo(np.int64).min // 4  # below any reachable score


class FastDecoderTables:
    """Per-model arrays built once: transition weights and padded predecessor label lists (and,
    for the C decoder, the trie and feature weights as int32 buffers: no copy when mapped)."""

    def __init__(self, decoder, use_c: bool = False) -> None:
        size = decoder.model.l_size
        self.size = size
        self.transitions = np.asarray(decoder.model.ll_weights, dtype=np.int64).reshape(size, size)
        pre = [[k for k in labels[: labels.index(-1)]] for labels in decoder.labelTransPre]
        width = max(1, max(len(p) for p in pre))
        self.pre = np.full((size, width), -1, dtype=np.int64)
        for j, labels in enumerate(pre):
            self.pre[j, : len(labels)] = labels
        self.pre_valid = self.pre >= 0
        self.pre_index = np.where(self.pre_valid, self.pre, 0)
        # transitions[k, j] for each (j, slot) pair
        self.pre_weights = self.transitions[self.pre_index, np.arange(size)[:, None]]
        self.kernel: types.ModuleType | None = None  # metrics._thulac, set by `install`
        if use_c:
            self.dat = np.ascontiguousarray(decoder.nGramFeature.dat, dtype=np.int32)
            self.weights = np.ascontiguousarray(decoder.model.fl_weights, dtype=np.int32)


def _allowed(labels) -> np.ndarray:
    out = []
    for label in labels:
        if label == -1:
            break
        out.append(label)
    return np.asarray(out, dtype=np.int64)


def fast_dp(self) -> None:
    """Drop-in for CBTaggingDecoder.dp: fills self.result and self.bestScore like the original."""
    if self.allowedLabelLists[0] is None:
        self.allowedLabelLists[0] = self.pocsToTags[9]
    if self.allowedLabelLists[self.len - 1] is None:
        self.allowedLabelLists[self.len - 1] = self.pocsToTags[12]
    tables: FastDecoderTables = self._fast_tables
    size, length = tables.size, self.len
    values = np.asarray(self.values, dtype=np.int64).reshape(length, size)
    score = np.full(size, _NONE, dtype=np.int64)  # alpha score per label of the previous node
    usable = np.zeros(size, dtype=bool)  # present and reachable (nodeId != -2)
    back: list[np.ndarray] = []  # per node: chosen predecessor label per label (-1: none)
    best = (0, -1, 0)
    for i in range(length):
        allowed = _allowed(self.allowedLabelLists[i])
        node_type = self.nodes[i].type
        new_score = np.full(size, _NONE, dtype=np.int64)
        new_usable = np.zeros(size, dtype=bool)
        chosen = np.full(size, -1, dtype=np.int64)
        if allowed.size:
            if i == 0:
                found = np.zeros(allowed.size, dtype=bool)
                base = np.zeros(allowed.size, dtype=np.int64)
                pick = np.zeros(allowed.size, dtype=np.int64)
            else:
                pre = tables.pre_index[allowed]
                valid = tables.pre_valid[allowed] & usable[pre]
                candidates = np.where(valid, score[pre] + tables.pre_weights[allowed], _NONE)
                slot = np.argmax(candidates, axis=1)
                found = valid.any(axis=1)
                rows = np.arange(allowed.size)
                base = np.where(found, candidates[rows, slot], 0)
                pick = np.where(found, pre[rows, slot], 0)
            total = base + values[i, allowed]
            new_score[allowed] = total
            # First node (type 1 or 3): predecessor id -1, usable; otherwise usable iff found.
            new_usable[allowed] = True if node_type in (1, 3) else found
            chosen[allowed] = -1 if node_type in (1, 3) else np.where(found, pick, -1)
            if node_type >= 2:
                position = int(np.argmax(total))
                best = (int(total[position]), i, int(allowed[position]))
        score, usable = new_score, new_usable
        back.append(chosen)
    result: dict[int, int] = {}
    node, label = best[1], best[2]
    while node >= 0:
        result[node] = label
        previous = int(back[node][label])
        if previous < 0:
            break
        node, label = node - 1, previous
    self.result = result
    self.bestScore = best[0]
    self.allowedLabelLists[0] = None
    self.allowedLabelLists[self.len - 1] = None


# (base index into the trie, offset) of the 7 n-gram features of character i, as in putValues:
# unigrams at i+1, i, i+2 and bigrams at i+1, i+2, i, i+3 of the padded base arrays.
_FEATURES = (("uni", 1, 49), ("uni", 0, 50), ("uni", 2, 51), ("bi", 1, 49), ("bi", 2, 50), ("bi", 0, 51), ("bi", 3, 52))


def fast_put_values(self) -> None:
    """Drop-in for CBTaggingDecoder.putValues: node types and the per-label feature scores."""
    if self.len == 0:
        return
    _set_node_types(self)
    feature = self.nGramFeature
    sequence, length, size = self.sequence, self.len, self.model.l_size
    boundary = feature.SENTENCE_BOUNDARY
    find = feature.findBases
    uni = [0] * (length + 2)
    bi = [0] * (length + 4)
    uni[0], bi[0] = find(feature.datSize, boundary, boundary)
    uni[0], bi[1] = find(feature.datSize, boundary, sequence[0])
    for i in range(length - 1):
        uni[i + 1], bi[i + 2] = find(feature.datSize, sequence[i], sequence[i + 1])
    uni[length], bi[length + 1] = find(feature.datSize, sequence[length - 1], boundary)
    uni[length + 1], bi[length + 2] = find(feature.datSize, boundary, boundary)
    dat, dat_size, weights = feature.dat, feature.datSize, self.model.fl_weights
    rows: list[int] = []
    slices: list[tuple] = []
    for i in range(length):
        for kind, shift, offset in _FEATURES:
            base = (uni if kind == "uni" else bi)[i + shift]
            if base == -1:
                continue
            index = dat[2 * base] + offset
            if index >= dat_size or dat[2 * index + 1] != base:
                continue
            start = size * dat[2 * index]
            rows.append(i)
            slices.append(weights[start : start + size])
    values = np.zeros((length, size), dtype=np.int64)
    if rows:
        np.add.at(values, np.asarray(rows), np.asarray(slices, dtype=np.int64))
    self.values = values


def _set_node_types(self) -> None:
    """putValues' side job, which dp reads: 1 marks the first node, 2 the last, 3 both."""
    for i in range(self.len):
        self.nodes[i].type = 0
    self.nodes[0].type += 1
    self.nodes[self.len - 1].type += 2


def compiled_put_values(self) -> None:
    """putValues in C: the same scores, as an int64 memoryview."""
    if self.len == 0:
        return
    _set_node_types(self)
    tables: FastDecoderTables = self._fast_tables
    if self.len >= self.nGramFeature.maxLength:  # THULAC's own limit: it scores nothing
        self.values = memoryview(bytes(8 * self.len * tables.size)).cast("q")
        return
    raw = tables.kernel.values(self.sequence, tables.dat, self.nGramFeature.datSize, tables.weights, tables.size)
    self.values = memoryview(raw).cast("q")


def compiled_dp(self) -> None:
    """dp in C: fills self.result and self.bestScore like the original."""
    if self.allowedLabelLists[0] is None:
        self.allowedLabelLists[0] = self.pocsToTags[9]
    if self.allowedLabelLists[self.len - 1] is None:
        self.allowedLabelLists[self.len - 1] = self.pocsToTags[12]
    tables: FastDecoderTables = self._fast_tables
    node_types = [self.nodes[i].type for i in range(self.len)]
    self.result, self.bestScore = tables.kernel.viterbi(self.values, self.len, tables.size, tables.transitions,
                                                        tables.pre, tables.pre.shape[1], self.allowedLabelLists,
                                                        node_types)
    self.allowedLabelLists[0] = None
    self.allowedLabelLists[self.len - 1] = None


def compiled() -> bool:
    """Whether `install` uses the C decoder by default (built, and CGEC_PURE_PYTHON unset)."""
    return THULAC is not None


def _c_module() -> types.ModuleType:
    """metrics._thulac when asked for explicitly (tests compare it even under CGEC_PURE_PYTHON)."""
    if THULAC is not None:
        return THULAC
    try:
        from metrics import _thulac
    except ImportError as error:
        raise RuntimeError("metrics._thulac is not built (pip install -e . with a C compiler)") from error
    return _thulac


def install(decoder, use_c: bool | None = None) -> None:
    """Replace `decoder.putValues` and `decoder.dp` (a CBTaggingDecoder) with the C versions
    (`use_c`; by default when built and not turned off) or the numpy ones."""
    use_c = compiled() if use_c is None else use_c
    tables = FastDecoderTables(decoder, use_c)
    if use_c:
        tables.kernel = _c_module()
    decoder._fast_tables = tables
    decoder.putValues = types.MethodType(compiled_put_values if use_c else fast_put_values, decoder)
    decoder.dp = types.MethodType(compiled_dp if use_c else fast_dp, decoder)


class MappedModel:
    """THULAC's CBModel read from its file as arrays instead of a tuple of Python ints: the
    feature weights (92M of them for the POS model) are mapped from disk, so loading takes
    milliseconds instead of seconds, and forked workers share one copy through the page cache.
    Only the numpy decoder above reads them."""

    def __init__(self, filename: str) -> None:
        l_size, f_size = (int(v) for v in np.fromfile(filename, dtype="<i4", count=2))
        self.l_size, self.f_size = l_size, f_size
        self.ll_weights = np.fromfile(filename, dtype="<i4", count=l_size * l_size, offset=8)
        self.fl_weights = np.memmap(filename, dtype="<i4", mode="r", offset=8 + 4 * l_size * l_size,
                                    shape=(f_size * l_size,))


class MappedDat:
    """THULAC's double-array trie (Dat) mapped from its file instead of unpacked into a tuple of
    Python ints (0.15 s a process for the tagger's), its look-ups (`getInfo`, `match`: the
    post-processing's place-name, idiom and punctuation dictionaries) in C. Only with the C
    decoder: numpy scalars would slow the numpy one, which indexes the trie an int at a time."""

    def __init__(self, filename: str) -> None:
        self.datSize = os.path.getsize(filename) // 8
        self.dat = np.memmap(filename, dtype="<i4", mode="r", shape=(2 * self.datSize,))
        self._kernel = _c_module()

    def getDatSize(self) -> int:
        return self.datSize

    def getDat(self) -> np.ndarray:
        return self.dat

    def getInfo(self, prefix: str) -> int:
        return self._kernel.dat_info(self.dat, self.datSize, prefix)

    def match(self, word: str) -> int:
        return self._kernel.dat_match(self.dat, self.datSize, word)


def _mapped_dat(original: type) -> Callable[..., object]:
    """THULAC's `Dat(...)` calls: a file becomes a `MappedDat`; a trie built in memory (a user
    dictionary) stays THULAC's."""

    def make(filename: str | None = None, datSize: int | None = None, oldDat=None) -> object:
        if filename:
            return MappedDat(filename)
        return original(filename, datSize, oldDat)

    return make


@contextlib.contextmanager
def mapped_models(dat: bool = False) -> Iterator[None]:
    """While THULAC builds its decoders, have them read their models as `MappedModel`s (and
    their tries, the tagger's and the post-processing's, as `MappedDat`s, with `dat`)."""
    from thulac.character import CBTaggingDecoder
    from thulac.manage import Postprocesser, Punctuation

    modules = (CBTaggingDecoder, Postprocesser, Punctuation)
    original = CBTaggingDecoder.CBModel, [module.Dat for module in modules]
    CBTaggingDecoder.CBModel = MappedModel
    if dat:
        for module in modules:
            module.Dat = _mapped_dat(module.Dat)
    try:
        yield
    finally:
        CBTaggingDecoder.CBModel = original[0]
        for module, kind in zip(modules, original[1]):
            module.Dat = kind

"""Word segmentation for the word level, batched over processes and cached on disk (SQLite).

THULAC itself needs about 30 ms a sentence and seconds to load (metrics.zh.thulac_fast makes
that about 0.3 ms and 0.2 s); every distinct sentence is still segmented once per segmenter
version, ever: references and sources are shared between runs.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from tqdm import tqdm

from metrics.signature import package_version
from metrics.zh.segment import JiebaSegmenter, Segmenter, ThulacSegmenter, WordTokenizer, word_readings
from metrics.zh.tokens import Token

if TYPE_CHECKING:  # an executor is imported by whoever gives one (not on the char path)
    from concurrent.futures import Executor

# By name (the names are declared in metrics.options.SEGMENTERS; a test checks the two agree).
SEGMENTER_TYPES: dict[str, type[Segmenter]] = {kind.name: kind for kind in (ThulacSegmenter, JiebaSegmenter)}
Tagged = list[tuple[str, str]]
EXECUTOR_CHUNK = 64  # sentences a task

_worker_tokenizer: WordTokenizer | None = None  # one per pool worker process


def make_segmenter(name: str) -> Segmenter:
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # THULAC prints "Model loaded succeed"
        return SEGMENTER_TYPES[name]()


def segmenter_version(name: str) -> str:
    return package_version(name)


def _init_worker(name: str) -> None:
    global _worker_tokenizer
    _worker_tokenizer = WordTokenizer(make_segmenter(name))


def _tag(sentence: str) -> Tagged:
    assert _worker_tokenizer is not None
    return _worker_tokenizer.tagged(sentence)


class SegmentationCache:
    """(segmenter, version, sentence) -> tagged words, in one SQLite file (WAL)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(path)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("CREATE TABLE IF NOT EXISTS segments (segmenter TEXT, version TEXT, "
                                 "sentence TEXT, words TEXT, PRIMARY KEY (segmenter, version, sentence))")
            except sqlite3.Error:
                self._db = None  # an unusable cache only costs speed

    def get_many(self, segmenter: str, version: str, sentences: Iterable[str]) -> dict[str, Tagged]:
        found: dict[str, Tagged] = {}
        if self._db is None:
            return found
        query = "SELECT sentence, words FROM segments WHERE segmenter=? AND version=? AND sentence=?"
        for sentence in sentences:
            row = self._db.execute(query, (segmenter, version, sentence)).fetchone()
            if row is not None:
                found[row[0]] = [tuple(pair) for pair in json.loads(row[1])]
        return found

    def put_many(self, segmenter: str, version: str, tagged: dict[str, Tagged]) -> None:
        if self._db is None or not tagged:
            return
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO segments VALUES (?, ?, ?, ?)",
                [(segmenter, version, s, json.dumps(words, ensure_ascii=False)) for s, words in tagged.items()])

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


class _Segmentation:
    """The context of segmentation tasks on an executor: the segmenter's name; the model is
    built in the worker on first use (seconds) and never pickled."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._tokenizer: WordTokenizer | None = None

    def __getstate__(self) -> dict:
        return {"name": self.name}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["name"])  # type: ignore[misc]

    def tag(self, sentences: list[str]) -> list[Tagged]:
        if self._tokenizer is None:
            self._tokenizer = WordTokenizer(make_segmenter(self.name))
        return [self._tokenizer.tagged(sentence) for sentence in sentences]


def _tag_chunk(context: _Segmentation, sentences: list[str]) -> list[Tagged]:
    """A segmentation task (module level, so that any executor's workers can import it)."""
    return context.tag(sentences)


def _segment(missing: list[str], name: str, jobs: int | None, executor: Executor | None,
             bar: tqdm) -> dict[str, Tagged]:
    """Tagged words of `missing`: on `executor`, here, or in `jobs` forked processes."""
    fresh: dict[str, Tagged] = {}
    if executor is not None:
        from harness.scoring.executor import Shipment, run_ordered

        chunks = [missing[k:k + EXECUTOR_CHUNK] for k in range(0, len(missing), EXECUTOR_CHUNK)]
        for chunk, tagged in zip(chunks, run_ordered(executor, Shipment(_Segmentation(name)), _tag_chunk, chunks)):
            fresh.update(zip(chunk, tagged))
            bar.update(len(chunk))
        return fresh
    # Each worker loads the model (seconds): worth it only for a real batch.
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(missing) // 200 or 1))
    if jobs == 1:
        _init_worker(name)
        for sentence in missing:
            fresh[sentence] = _tag(sentence)
            bar.update(1)
        return fresh
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    # Chunks of up to 64 (a sentence takes about 0.3 ms now: fewer round trips), at least 8 a
    # worker so that none idles at the end.
    chunk = max(1, min(EXECUTOR_CHUNK, len(missing) // (jobs * 8)))
    with context.Pool(jobs, initializer=_init_worker, initargs=(name,)) as pool:
        for sentence, words in zip(missing, pool.imap(_tag, missing, chunksize=chunk)):
            fresh[sentence] = words
            bar.update(1)
    return fresh


def segment_all(sentences: Iterable[str], name: str, cache_dir: Path | None, jobs: int | None = None,
                progress: bool = False, executor: Executor | None = None) -> dict[str, Tagged]:
    """Tagged words of every distinct sentence, from the cache or segmented with `jobs` processes
    or on `executor` (a Dask cluster's: the model is loaded by its workers, not here);
    `progress`: a bar on stderr, when it is a terminal."""
    wanted = sorted(set(sentences))
    version = segmenter_version(name)
    cache = SegmentationCache(cache_dir / "segments.sqlite" if cache_dir is not None else None)
    try:
        tagged = cache.get_many(name, version, wanted)
        missing = [s for s in wanted if s not in tagged]
        if missing:
            with tqdm(total=len(missing), desc=f"segmenting ({name})", unit="sentence", leave=False,
                      disable=None if progress else True) as bar:
                fresh = _segment(missing, name, jobs, executor, bar)
            cache.put_many(name, version, fresh)
            tagged.update(fresh)
        return tagged
    finally:
        cache.close()


class PretaggedTokenizer:
    """A word tokenizer for metrics' scorers that looks up segmentations computed beforehand
    (`segment_all`): picklable, no model inside, named like the segmenter that made them."""

    def __init__(self, tagged: dict[str, Tagged], name: str) -> None:
        self._tagged = tagged
        self.name = name
        self.version = segmenter_version(name)

    def tagged(self, sentence: str) -> Tagged:
        return self._tagged[sentence]

    def __call__(self, sentence: str) -> list[Token]:
        return [Token(word, tag, word_readings(word)) for word, tag in self._tagged[sentence]]

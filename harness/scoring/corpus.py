"""The scorer as the harness uses it: `score_corpus` builds metrics' scorers from the resources
of the data manifest, and adds what a pure library should not own: disk caches (reference
M2s, segmentations) and a process pool for extraction. The CLI, the runner and the reports all
go through here.

    from harness import score_corpus
    s = score_corpus(sources, hypotheses, references, level="char")   # references: list of lists
    s.tp, s.fp, s.fn, s.precision, s.recall, s.f05, s.signature, s.per_sentence
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from tqdm import tqdm

from harness.core.atomic import atomic_write_text
from harness.data.manifest import DataSettings, resolve
from harness.core.errors import HarnessError
from harness.scoring.options import ScoringOptions
from harness.scoring.segmentation import PretaggedTokenizer, segment_all
from metrics import maxmatch
from metrics.edit import Block
from metrics.m2 import format_blocks, read_blocks
from metrics.normalise import TargetNormaliser, remove_whitespace
from metrics.options import LEVELS, SEGMENTERS, WORD_SCORERS
from metrics.score import Score
from metrics.scorers import ChERRANT, MaxMatch, Pair
from metrics.zh.charmeta import CharMeta, CharMetaError, LazyCharMeta, parse_char_meta
from metrics.zh.lexicon import Lexicon
from metrics.zh.spelling import SpellingCheck

if TYPE_CHECKING:  # executors are imported when one is given (not on the char path)
    from concurrent.futures import Executor

    from harness.scoring.executor import Shipment

CHAR_META = "resources/char_meta.txt"  # FASPell's character table (word-level S:SPELL)
PARALLEL_MIN_PAIRS = 1500  # below this many pairs a process pool costs more than it saves (measured on 2 cores)
EXECUTOR_CHUNK = 64  # pairs (or MaxMatch sentences) a task, on an executor
# MaxMatch spends ~3 ms a sentence (NaCGEC dev, raw LLM outputs: 1.9 s in one process, 1.0 s in two)
PARALLEL_MIN_SENTENCES_MAXMATCH = 200


@dataclass(frozen=True)
class LexiconTexts:
    """The resource files, read: small, picklable, enough to rebuild a Lexicon anywhere.
    `char_meta` (FASPell's table, its text) is only needed for the word-level S:SPELL label, so
    char-level callers skip reading it, and it is parsed only when a label needs it."""

    cilin: str
    confusion: str
    char_meta: str | None = None
    char_meta_sha256: str | None = None
    char_meta_path: Path | None = None

    @classmethod
    def load(cls, settings: DataSettings, char_meta: bool = True) -> "LexiconTexts":
        cilin = resolve("resources/cilin.txt", settings).read_text(encoding="gbk")
        confusion = resolve("resources/confusion_dict.txt", settings).read_text(encoding="utf-8")
        if not char_meta:
            return cls(cilin, confusion)
        path = resolve(CHAR_META, settings)
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HarnessError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path) from None
        return cls(cilin, confusion, text, hashlib.sha256(data).hexdigest(), path)

    def lexicon(self) -> Lexicon:
        return Lexicon.from_texts(self.cilin, self.confusion)

    def char_meta_table(self) -> dict[str, CharMeta]:
        """FASPell's table, parsed; a malformed line is an error naming the file and line."""
        try:
            return parse_char_meta(self.char_meta or "")
        except CharMetaError as exc:
            raise HarnessError(exc.reason, self.char_meta_path, exc.line) from None

    def spelling(self) -> SpellingCheck:
        """ChERRANT's S:SPELL rule, named by the table's sha256 in signatures and cache keys."""
        if self.char_meta is None:
            return SpellingCheck()
        return SpellingCheck(LazyCharMeta(self.char_meta_table), name=f"faspell-{self.char_meta_sha256[:12]}")


# --------------------------------------------------------------------------------------------
# Extraction in worker processes


_WORKER: dict[str, ChERRANT] = {}  # per worker process: the scorer its initializer received


def _init_worker(scorer: ChERRANT) -> None:
    _WORKER["scorer"] = scorer


def _extract_one(pair: Pair) -> Block:
    return _WORKER["scorer"].extract([pair])[0]


def _evaluate_indexed(item: tuple[int, tuple]) -> tuple[int, tuple]:
    index, job = item
    return index, maxmatch.evaluate_sentence(*job)


def _extract_chunk(scorer: ChERRANT, pairs: Sequence[Pair]) -> list[Block]:
    return scorer.extract(pairs)


def _evaluate_chunk(_: None, jobs: Sequence[tuple]) -> list[tuple]:
    return [maxmatch.evaluate_sentence(*job) for job in jobs]


class Workers:
    """An `extract` for metrics' scorers that spreads the pairs over `jobs` processes (forked,
    so the scorer is inherited, not pickled; a table it parses on first use is parsed in each
    worker, in parallel), and MaxMatch's `evaluate`. The pool starts on the first batch big
    enough to pay for it and serves every later one (references, hypotheses, matching);
    smaller batches stay in this process. Use it as a context manager. `progress` shows a bar
    on stderr (on a terminal).

    With an `executor` (any `concurrent.futures.Executor`: a Dask cluster's, see
    harness.scoring.executor) every batch goes to it instead, in chunks of EXECUTOR_CHUNK, the
    scorer shipped once per worker; the caller owns the executor and shuts it down."""

    def __init__(self, scorer: ChERRANT, jobs: int | None, progress: bool = False,
                 min_pairs: int = PARALLEL_MIN_PAIRS, executor: Executor | None = None) -> None:
        self.scorer = scorer
        self.jobs = jobs or os.cpu_count() or 1
        self.progress = progress
        self.min_pairs = min_pairs
        self.executor = executor
        self._pool = None
        self._shipments: dict[str, Shipment] = {}

    def __enter__(self) -> "Workers":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def __call__(self, pairs: Sequence[Pair]) -> list[Block]:
        bar = tqdm(total=len(pairs), desc=f"aligning ({self.scorer.recipe.level})", unit="pair", leave=False,
                   disable=None if self.progress and len(pairs) >= PARALLEL_MIN_PAIRS else True)
        with bar:
            if self.executor is not None:
                return self._remote("scorer", _extract_chunk, pairs, bar)
            if self.jobs <= 1 or len(pairs) < self.min_pairs:
                return [_counted(bar, self.scorer.extract([pair])[0]) for pair in pairs]
            chunk = max(1, min(32, len(pairs) // (self.jobs * 4)))
            return [_counted(bar, block) for block in self._started().imap(_extract_one, pairs, chunksize=chunk)]

    def evaluate(self, jobs: Sequence[tuple]) -> list[tuple]:
        """MaxMatch's per-sentence matching (`maxmatch.Evaluate`), one sentence per task: a
        few long hypotheses cost as much as hundreds of short ones."""
        bar = tqdm(total=len(jobs), desc="matching (word)", unit="sentence", leave=False,
                   disable=None if self.progress and len(jobs) >= PARALLEL_MIN_SENTENCES_MAXMATCH else True)
        with bar:
            if self.executor is not None:
                return self._remote("none", _evaluate_chunk, jobs, bar)
            if self.jobs <= 1 or len(jobs) < PARALLEL_MIN_SENTENCES_MAXMATCH:
                return [_counted(bar, maxmatch.evaluate_sentence(*job)) for job in jobs]
            # longest first, so that no worker is left with a long one at the end; small chunks
            # (a task per sentence costs more in messages than the matching of a short one)
            order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i][1].source) * len(jobs[i][0]))
            chunk = max(1, min(16, len(jobs) // (self.jobs * 32)))
            out: list = [None] * len(jobs)
            for index, counts in self._started().imap_unordered(_evaluate_indexed, [(i, jobs[i]) for i in order],
                                                                 chunksize=chunk):
                out[index] = _counted(bar, counts)
            return out

    def _remote(self, context: str, function, items: Sequence, bar: tqdm) -> list:
        """`function(context, chunk)` over the items' chunks on the executor, in order."""
        from harness.scoring.executor import Shipment, run_ordered

        assert self.executor is not None
        if context not in self._shipments:
            self._shipments[context] = Shipment(self.scorer if context == "scorer" else None)
        chunks = [items[start: start + EXECUTOR_CHUNK] for start in range(0, len(items), EXECUTOR_CHUNK)]
        out: list = []
        for results in run_ordered(self.executor, self._shipments[context], function, chunks):
            out.extend(results)
            bar.update(len(results))
        return out

    def _started(self):
        if self._pool is None:
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            self._pool = context.Pool(self.jobs, initializer=_init_worker, initargs=(self.scorer,))
        return self._pool


def _counted(bar: tqdm, value):
    bar.update(1)
    return value


# --------------------------------------------------------------------------------------------
# The reference cache


def cached_reference_blocks(scorer: ChERRANT, sources: Sequence[str], references: Sequence[Sequence[str]],
                            cache_dir: Path | None, extract: Workers) -> list[Block]:
    """The references' blocks, from the cache when this recipe has seen these references
    before (stored as M2 text, keyed by the recipe's extraction key and the references)."""
    path = None
    if cache_dir is not None:
        digest = hashlib.sha256(scorer.recipe.extraction_key().encode())
        for source, targets in zip(sources, references):
            digest.update(("\t".join((source, *targets)) + "\n").encode())
        path = cache_dir / "m2" / f"{digest.hexdigest()}.{scorer.recipe.name}.m2"
        if path.is_file():
            return read_blocks(path.read_text(encoding="utf-8"))
    blocks = scorer.reference_blocks(sources, references, extract)
    if path is not None:
        try:
            atomic_write_text(path, format_blocks(blocks))
        except OSError:
            pass  # a read-only cache only costs speed
    return blocks


# --------------------------------------------------------------------------------------------
# Scoring


def build_scorers(options: ScoringOptions, settings: DataSettings, sentences: Iterable[str] = (),
                  cache_dir: Path | None = None, jobs: int | None = None, progress: bool = False,
                  executor: Executor | None = None) -> dict[str, ChERRANT | MaxMatch]:
    """The scorer of each of `options.levels`, resources loaded once. `sentences`: everything
    the word level will tokenise (sources, references, hypotheses), segmented now in one
    cached, parallel batch (on `executor` when given)."""
    levels = options.levels
    texts = LexiconTexts.load(settings, char_meta="word" in levels)
    lexicon = texts.lexicon()
    settings_of = {"t2s": options.t2s, "beta": options.beta, "mode": options.eval, "selection": options.selection}
    scorers: dict[str, ChERRANT | MaxMatch] = {}
    if "char" in levels:
        scorers["char"] = ChERRANT(lexicon, **settings_of)
    if "word" in levels:
        tagged = segment_all((s for s in sentences if s), options.segmenter, cache_dir, jobs, progress,
                             executor)
        words = ChERRANT(lexicon, PretaggedTokenizer(tagged, options.segmenter), texts.spelling(), **settings_of)
        scorers["word"] = (MaxMatch(words, options.beta, options.max_unchanged_words)
                           if options.word_scorer == "maxmatch" else words)
    return scorers


def word_sentences(sources: Sequence[str], hypotheses: Sequence[str],
                   references: Sequence[Sequence[str]] | None, t2s: bool = True) -> set[str]:
    """What the word level tokenises: sources, references and hypotheses as ChERRANT normalises
    them (whitespace removed, t2s), and hypotheses as MaxMatch reads them (whitespace removed)."""
    normalise = TargetNormaliser(t2s)
    out = {remove_whitespace(s) for s in sources}
    out.update(normalise(t) for targets in references or () for t in targets)
    out.update(normalise(h) for h in hypotheses)
    out.update(remove_whitespace(h) for h in hypotheses)
    return out


def score_with(scorer: ChERRANT | MaxMatch, sources: Sequence[str], hypotheses: Sequence[str] | None,
               references: Sequence[Sequence[str]] | None, reference_sources: Sequence[str] | None = None,
               reference_blocks: Sequence[Block] | None = None, hypothesis_blocks: Sequence[Block] | None = None,
               cache_dir: Path | None = None, jobs: int | None = None, progress: bool = False,
               executor: Executor | None = None) -> Score:
    """One scorer's score, references taken from the cache and extraction done in the pool
    (or on `executor`). The references are aligned with their own sources
    (`reference_sources`, by default the hypotheses' `sources`), each hypothesis with its own."""
    with Workers(scorer.aligner, jobs, progress, executor=executor) as extract:
        if reference_blocks is None:
            if references is None:
                raise HarnessError("scoring needs references: lists of corrections, or the blocks of an M2 file")
            reference_blocks = cached_reference_blocks(scorer.aligner, reference_sources or sources, references,
                                                       cache_dir, extract)
        if isinstance(scorer, MaxMatch):
            score = scorer.corpus_score(sources, hypotheses, references, reference_blocks, extract, hypothesis_blocks,
                                        evaluate=extract.evaluate)
        else:
            score = scorer.corpus_score(sources, hypotheses, references, reference_blocks, extract, hypothesis_blocks)
    # The denominator of FP per 100 source characters (metrics.json's over-correction figures).
    return replace(score, source_chars=sum(len(remove_whitespace(s)) for s in sources))


def score_corpus(sources: Sequence[str], hypotheses: Sequence[str], references: Sequence[Sequence[str]],
                 level: str = LEVELS[0], word_scorer: str = WORD_SCORERS[0], segmenter: str = SEGMENTERS[0], *,
                 settings: DataSettings | None = None, jobs: int | None = None, use_cache: bool = True,
                 executor: Executor | None = None, **options: Any) -> Score:
    """Score hypotheses against references (a list of corrections per sentence) at one level:
    `char` (ChERRANT), or `word` with `word_scorer` maxmatch (the NLPCC 2023 protocol with
    `segmenter` thulac) or cherrant. `options`: any other scoring option by the name
    `ScoringOptions` gives it (`eval="dt"`, `beta=1.0`, `edits="single"`, `filter="W"`,
    `t2s=False`, `max_unchanged_words=0`). Resources come from the data mirror or cache
    (`CGEC_DATA_DIR`, `CGEC_CACHE_DIR`, or `settings`). `executor`: any
    `concurrent.futures.Executor` to extract on (a Dask cluster's), in place of `jobs` processes."""
    if level not in LEVELS:
        raise HarnessError(f"level: expected one of {', '.join(LEVELS)}, got {level!r}")
    chosen = ScoringOptions.from_mapping({"levels": (level,), "word_scorer": word_scorer, "segmenter": segmenter,
                                          **options})
    settings = settings or DataSettings.from_env()
    references = [tuple(r) for r in references]
    if not (len(sources) == len(hypotheses) == len(references)):
        raise HarnessError(f"{len(sources)} sources, {len(hypotheses)} hypotheses and {len(references)} "
                           "reference lists: expected one of each per sentence")
    return score_levels(sources, hypotheses, references, settings, chosen, jobs=jobs, use_cache=use_cache,
                        executor=executor).scores[level]


@dataclass(frozen=True)
class ScoreSet:
    """The scores of one hypothesis set at the requested levels."""

    scores: dict[str, Score]

    @property
    def nlpcc2023(self) -> float | None:
        """Mean of word and char F0.5: only under the official protocol (MaxMatch on THULAC)."""
        char, word = self.scores.get("char"), self.scores.get("word")
        if char is None or word is None or word.recipe.protocol != "official-nlpcc2023" or not char.recipe.defaults:
            return None
        return (char.f + word.f) / 2

    def as_json(self) -> dict:
        payload: dict = {level: score.as_json() for level, score in self.scores.items()}
        if self.nlpcc2023 is not None:
            payload["nlpcc2023"] = round(self.nlpcc2023, 4)
        return payload

    def per_sentence(self) -> list[dict]:
        """Per sentence, each level's counts and the reference chosen for it (and ChERRANT's
        per-type counts), so that reports resample sentences without rescoring."""
        rows: list[dict] = []
        for level, score in self.scores.items():
            for index, entry in enumerate(score.sentences_json()):
                if index == len(rows):
                    rows.append({})
                rows[index][level] = entry
        return rows


def score_with_gold(hypotheses: Sequence[str], gold_path: Path, settings: DataSettings,
                    options: ScoringOptions = ScoringOptions(), *, jobs: int | None = None, use_cache: bool = True,
                    hypotheses_path: Path | None = None, executor: Executor | None = None) -> Score:
    """MaxMatch against a word-level gold M2 file, as M2Scorer is used: hypotheses segmented
    here (with `options.segmenter`), gold read as given (its signature names the file by its
    sha256; unofficial)."""
    from harness.core.textfile import read_text

    text = read_text(gold_path)
    try:
        gold = maxmatch.parse_gold_m2(text)
    except maxmatch.GoldFormatError as error:
        raise HarnessError(f"not an M2Scorer gold file: {error}", gold_path) from None
    if len(gold) != len(hypotheses):
        raise HarnessError(f"{len(hypotheses)} hypothesis lines but {len(gold)} gold sentences in {gold_path}",
                           hypotheses_path, min(len(hypotheses), len(gold)) + 1)
    cache_dir = settings.cache_dir if use_cache else None
    sentences = {remove_whitespace(h) for h in hypotheses}
    word = replace(options, levels=("word",), word_scorer="maxmatch")
    scorer = build_scorers(word, settings, sentences, cache_dir, jobs, executor=executor)["word"]
    sources = ["".join(g.source) for g in gold]
    with Workers(scorer.aligner, jobs, executor=executor) as pool:
        score = scorer.corpus_score(sources, hypotheses, None, gold=gold,
                                    gold_name=f"m2-{hashlib.sha256(text.encode()).hexdigest()[:12]}",
                                    evaluate=pool.evaluate)
    return replace(score, source_chars=sum(len(remove_whitespace(s)) for s in sources))


def score_levels(sources: Sequence[str], hypotheses: Sequence[str] | None,
                 references: Sequence[Sequence[str]] | None, settings: DataSettings,
                 options: ScoringOptions = ScoringOptions(), *, reference_sources: Sequence[str] | None = None,
                 reference_blocks: Sequence[Block] | None = None, hypothesis_blocks: Sequence[Block] | None = None,
                 jobs: int | None = None, use_cache: bool = True, progress: bool = False,
                 executor: Executor | None = None) -> ScoreSet:
    """Every level of `options`, resources loaded and sentences segmented once. References
    are lists of corrections, or (char level) the blocks of an M2 file, aligned with
    `reference_sources` when given (else `sources`); hypotheses are sentences, or (char level)
    the blocks of an M2 file. `jobs` (or `executor`), `use_cache` and `progress` change how
    fast, never what."""
    cache_dir = settings.cache_dir if use_cache else None
    levels = options.levels
    if "word" in levels and (references is None or hypotheses is None):
        raise HarnessError("word-level scoring needs sentences to segment: para references and hypotheses, "
                           "not M2 files")
    sentences: set[str] = set()
    if "word" in levels:
        sentences = word_sentences([*sources, *(reference_sources or ())], hypotheses, references, options.t2s)
    scorers = build_scorers(options, settings, sentences, cache_dir, jobs, progress, executor)
    return ScoreSet({level: score_with(scorer, sources, hypotheses, references, reference_sources,
                                       reference_blocks if level == "char" else None,
                                       hypothesis_blocks if level == "char" else None, cache_dir, jobs, progress,
                                       executor)
                     for level, scorer in scorers.items()})

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
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from tqdm import tqdm

from harness.core.atomic import atomic_write_text
from harness.data.manifest import DataSettings, resolve
from harness.core.errors import HarnessError
from harness.scoring.segmentation import PretaggedTokenizer, segment_all
from metrics import maxmatch
from metrics.edit import Block
from metrics.m2 import format_blocks, read_blocks
from metrics.normalise import TargetNormaliser, remove_whitespace
from metrics.compare import EditFilter
from metrics.score import DEFAULT_BETA, Score
from metrics.scorers import ChERRANT, MaxMatch, Pair
from metrics.zh.charmeta import CharMeta, CharMetaError, LazyCharMeta, parse_char_meta
from metrics.zh.lexicon import Lexicon
from metrics.zh.spelling import SpellingCheck

CHAR_META = "resources/char_meta.txt"  # FASPell's character table (word-level S:SPELL)
PARALLEL_MIN_PAIRS = 1500  # below this many pairs a process pool costs more than it saves (measured on 2 cores)
# MaxMatch spends ~3 ms a sentence (NaCGEC dev, raw LLM outputs: 1.9 s in one process, 1.0 s in two)
PARALLEL_MIN_SENTENCES_MAXMATCH = 200
LEVELS = ("char", "word")
WORD_SCORERS = ("maxmatch", "cherrant")
SEGMENTERS = ("thulac", "jieba")


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


class Workers:
    """An `extract` for metrics' scorers that spreads the pairs over `jobs` processes (forked,
    so the scorer is inherited, not pickled; a table it parses on first use is parsed in each
    worker, in parallel), and MaxMatch's `evaluate`. The pool starts on the first batch big
    enough to pay for it and serves every later one (references, hypotheses, matching);
    smaller batches stay in this process. Use it as a context manager. `progress` shows a bar
    on stderr (on a terminal)."""

    def __init__(self, scorer: ChERRANT, jobs: int | None, progress: bool = False,
                 min_pairs: int = PARALLEL_MIN_PAIRS) -> None:
        self.scorer = scorer
        self.jobs = jobs or os.cpu_count() or 1
        self.progress = progress
        self.min_pairs = min_pairs
        self._pool = None

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
            if self.jobs <= 1 or len(jobs) < PARALLEL_MIN_SENTENCES_MAXMATCH:
                return [_counted(bar, maxmatch.evaluate_sentence(*job)) for job in jobs]
            # longest first, so that no worker is left with a long one at the end
            order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i][1].source) * len(jobs[i][0]))
            out: list = [None] * len(jobs)
            for index, counts in self._started().imap_unordered(_evaluate_indexed, [(i, jobs[i]) for i in order]):
                out[index] = _counted(bar, counts)
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


@dataclass(frozen=True)
class ScoringOptions:
    """The evaluation settings of ChERRANT (`mode`, `selection`) and M2Scorer (`max_unchanged`),
    `beta` and the t2s conversion of references: defaults are the published protocols."""

    mode: str = "cs"
    selection: EditFilter = EditFilter()
    beta: float = DEFAULT_BETA
    t2s: bool = True
    max_unchanged: int = 2


def build_scorers(levels: Sequence[str], word_scorer: str, segmenter: str, settings: DataSettings,
                  sentences: Iterable[str] = (), cache_dir: Path | None = None, jobs: int | None = None,
                  options: ScoringOptions = ScoringOptions(), progress: bool = False) -> dict[str, ChERRANT | MaxMatch]:
    """The scorer of each level, resources loaded once. `sentences`: everything the word level
    will tokenise (sources, references, hypotheses), segmented now in one cached, parallel batch."""
    if not set(levels) <= set(LEVELS) or not levels:
        raise HarnessError(f"levels: expected some of {', '.join(LEVELS)}, got {', '.join(levels) or 'none'}")
    if word_scorer not in WORD_SCORERS:
        raise HarnessError(f"word_scorer: expected one of {', '.join(WORD_SCORERS)}, got {word_scorer!r}")
    if segmenter not in SEGMENTERS:
        raise HarnessError(f"segmenter: expected one of {', '.join(SEGMENTERS)}, got {segmenter!r}")
    texts = LexiconTexts.load(settings, char_meta="word" in levels)
    lexicon = texts.lexicon()
    settings_of = {"t2s": options.t2s, "beta": options.beta, "mode": options.mode, "selection": options.selection}
    scorers: dict[str, ChERRANT | MaxMatch] = {}
    if "char" in levels:
        scorers["char"] = ChERRANT(lexicon, **settings_of)
    if "word" in levels:
        tagged = segment_all((s for s in sentences if s), segmenter, cache_dir, jobs, progress)
        words = ChERRANT(lexicon, PretaggedTokenizer(tagged, segmenter), texts.spelling(), **settings_of)
        scorers["word"] = (MaxMatch(words, options.beta, options.max_unchanged) if word_scorer == "maxmatch"
                           else words)
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
               cache_dir: Path | None = None, jobs: int | None = None, progress: bool = False) -> Score:
    """One scorer's score, references taken from the cache and extraction done in the pool.
    The references are aligned with their own sources (`reference_sources`, by default the
    hypotheses' `sources`), each hypothesis with its own."""
    with Workers(scorer.aligner, jobs, progress) as extract:
        if reference_blocks is None:
            if references is None:
                raise HarnessError("scoring needs references: lists of corrections, or the blocks of an M2 file")
            reference_blocks = cached_reference_blocks(scorer.aligner, reference_sources or sources, references,
                                                       cache_dir, extract)
        if isinstance(scorer, MaxMatch):
            return scorer.corpus_score(sources, hypotheses, references, reference_blocks, extract, hypothesis_blocks,
                                       evaluate=extract.evaluate)
        return scorer.corpus_score(sources, hypotheses, references, reference_blocks, extract, hypothesis_blocks)


def score_corpus(sources: Sequence[str], hypotheses: Sequence[str], references: Sequence[Sequence[str]],
                 level: str = "char", word_scorer: str = "maxmatch", segmenter: str = "thulac", *,
                 settings: DataSettings | None = None, jobs: int | None = None, use_cache: bool = True,
                 options: ScoringOptions = ScoringOptions()) -> Score:
    """Score hypotheses against references (a list of corrections per sentence) at one level:
    `char` (ChERRANT), or `word` with `word_scorer` maxmatch (the NLPCC 2023 protocol with
    `segmenter` thulac) or cherrant. Resources come from the data mirror or cache
    (`CGEC_DATA_DIR`, `CGEC_CACHE_DIR`, or `settings`)."""
    settings = settings or DataSettings.from_env()
    references = [tuple(r) for r in references]
    if not (len(sources) == len(hypotheses) == len(references)):
        raise HarnessError(f"{len(sources)} sources, {len(hypotheses)} hypotheses and {len(references)} "
                           "reference lists: expected one of each per sentence")
    cache_dir = settings.cache_dir if use_cache else None
    sentences = word_sentences(sources, hypotheses, references, options.t2s) if level == "word" else ()
    scorer = build_scorers((level,), word_scorer, segmenter, settings, sentences, cache_dir, jobs, options)[level]
    return score_with(scorer, sources, hypotheses, references, cache_dir=cache_dir, jobs=jobs)


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
            for index, sentence in enumerate(score.per_sentence):
                if index == len(rows):
                    rows.append({})
                entry = {"tp": sentence.tp, "fp": sentence.fp, "fn": sentence.fn, "ref": sentence.ref}
                if score.method == "cherrant":
                    entry["types"] = {name: list(values) for name, values in sentence.types.items()}
                rows[index][level] = entry
        return rows


def score_with_gold(hypotheses: Sequence[str], gold_path: Path, segmenter: str, settings: DataSettings,
                    jobs: int | None = None, use_cache: bool = True, options: ScoringOptions = ScoringOptions(),
                    hypotheses_path: Path | None = None) -> Score:
    """MaxMatch against a word-level gold M2 file, as M2Scorer is used: hypotheses segmented
    here, gold read as given (its signature names the file by its sha256; unofficial)."""
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
    scorer = build_scorers(("word",), "maxmatch", segmenter, settings, sentences, cache_dir, jobs, options)["word"]
    with Workers(scorer.aligner, jobs) as pool:
        return scorer.corpus_score(["".join(g.source) for g in gold], hypotheses, None, gold=gold,
                                   gold_name=f"m2-{hashlib.sha256(text.encode()).hexdigest()[:12]}",
                                   evaluate=pool.evaluate)


def score_levels(sources: Sequence[str], hypotheses: Sequence[str] | None,
                 references: Sequence[Sequence[str]] | None, settings: DataSettings, levels: Sequence[str] = LEVELS,
                 word_scorer: str = "maxmatch", segmenter: str = "thulac", jobs: int | None = None,
                 use_cache: bool = True, reference_sources: Sequence[str] | None = None,
                 reference_blocks: Sequence[Block] | None = None,
                 hypothesis_blocks: Sequence[Block] | None = None,
                 options: ScoringOptions = ScoringOptions(), progress: bool = False) -> ScoreSet:
    """Several levels at once, resources loaded and sentences segmented once. References are
    lists of corrections, or (char level) the blocks of an M2 file; hypotheses are sentences,
    or (char level) the blocks of an M2 file."""
    cache_dir = settings.cache_dir if use_cache else None
    if "word" in levels and (references is None or hypotheses is None):
        raise HarnessError("word-level scoring needs sentences to segment: para references and hypotheses, "
                           "not M2 files")
    sentences: set[str] = set()
    if "word" in levels:
        sentences = word_sentences([*sources, *(reference_sources or ())], hypotheses, references, options.t2s)
    scorers = build_scorers(levels, word_scorer, segmenter, settings, sentences, cache_dir, jobs, options, progress)
    return ScoreSet({level: score_with(scorer, sources, hypotheses, references, reference_sources,
                                       reference_blocks if level == "char" else None,
                                       hypothesis_blocks if level == "char" else None, cache_dir, jobs, progress)
                     for level, scorer in scorers.items()})

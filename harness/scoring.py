"""`harness score`: extract edits (in parallel, references cached), compare, report as JSON."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from harness import __version__
from harness.data import DataSettings, resolve
from harness.errors import HarnessError
from harness.inputs import References
from harness.atomic import atomic_write_text
from harness.segmentation import PretaggedTokenizer, segment_all
from harness.signature import char_signature, package_version, word_signature
from metrics.compare import (
    Counts, EditDict, SentenceChoice, choose_references, edit_dict, prf, sentence_pairs, total_counts, type_counts,
)
from metrics.extract import Extractor
from metrics.m2 import annotator_block, format_block, maxmatch_gold, read_m2, split_blocks
from metrics.normalise import TargetNormaliser, remove_whitespace
from metrics.zh.charmeta import CharMeta, CharMetaError, parse_char_meta
from metrics.zh.lexicon import Lexicon
from metrics.zh.spelling import SpellingCheck

# Bump when a change to extraction changes M2 output, so cached reference M2s are not reused.
EXTRACTION_REVISION = 1
# FASPell's character table (word-level S:SPELL).
CHAR_META = "resources/char_meta.txt"
# Below this many sentences a process pool costs more than it saves.
PARALLEL_MIN_SENTENCES = 64


@dataclass(frozen=True)
class LexiconTexts:
    """The resource files as text: small, picklable, enough to rebuild a Lexicon anywhere.
    `char_meta` (FASPell's table, parsed) is only needed for the word-level S:SPELL label, so
    char-level callers skip loading it."""

    cilin: str
    confusion: str
    char_meta: dict[str, CharMeta] | None = None
    char_meta_sha256: str | None = None

    @classmethod
    def load(cls, settings: DataSettings, char_meta: bool = True) -> "LexiconTexts":
        cilin = resolve("resources/cilin.txt", settings).read_text(encoding="gbk")
        confusion = resolve("resources/confusion_dict.txt", settings).read_text(encoding="utf-8")
        if not char_meta:
            return cls(cilin, confusion)
        path = resolve(CHAR_META, settings)
        data = path.read_bytes()
        try:
            table = parse_char_meta(data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise HarnessError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path) from None
        except CharMetaError as exc:
            raise HarnessError(exc.reason, path, exc.line) from None
        return cls(cilin, confusion, table, hashlib.sha256(data).hexdigest())

    @property
    def spelling(self) -> str:
        """How S:SPELL is decided, for signatures and cache keys."""
        return f"faspell-{self.char_meta_sha256[:12]}" if self.char_meta_sha256 else "readings"

    def spelling_check(self) -> SpellingCheck:
        return SpellingCheck(self.char_meta)


Pair = tuple[str, tuple[str, ...]]  # (source, targets)


@dataclass(frozen=True)
class Recipe:
    """How edits are extracted: char level, or word level with a segmenter whose output for
    every sentence involved has been computed beforehand (`tagged`)."""

    level: str = "char"
    segmenter: str | None = None
    tagged: dict | None = None

    @property
    def name(self) -> str:
        return self.level if self.segmenter is None else f"{self.level}-{self.segmenter}"

    def extractor(self, texts: LexiconTexts) -> Extractor:
        lexicon = Lexicon.from_texts(texts.cilin, texts.confusion)
        if self.level == "char":
            return Extractor(lexicon, "char")
        return Extractor(lexicon, "word", PretaggedTokenizer(self.tagged or {}), spelling=texts.spelling_check())


_worker_extractor: Extractor | None = None  # one per pool worker process, set by its initializer


def _init_worker(texts: LexiconTexts, recipe: Recipe) -> None:
    global _worker_extractor
    _worker_extractor = recipe.extractor(texts)


def _extract(pair: Pair) -> str:
    assert _worker_extractor is not None
    return format_block(_worker_extractor.block(*pair))


def extract_m2_blocks(pairs: Sequence[Pair], texts: LexiconTexts, recipe: Recipe = Recipe(),
                      jobs: int | None = None) -> list[str]:
    """The M2 block of every (source, targets) pair, in order, using `jobs` processes.
    Workers send back text: cheaper to pass between processes than edit objects."""
    jobs = jobs or os.cpu_count() or 1
    if jobs <= 1 or len(pairs) < PARALLEL_MIN_SENTENCES:
        _init_worker(texts, recipe)
        return [_extract(pair) for pair in pairs]
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    chunk = max(1, min(32, len(pairs) // (jobs * 4)))
    with context.Pool(jobs, initializer=_init_worker, initargs=(texts, recipe)) as pool:
        return list(pool.imap(_extract, pairs, chunksize=chunk))


def reference_cache_key(references: References, recipe: Recipe, texts: LexiconTexts) -> str:
    from harness.segmentation import segmenter_version

    segmenter = f"{recipe.segmenter}-{segmenter_version(recipe.segmenter)}" if recipe.segmenter else "none"
    spelling = texts.spelling if recipe.level == "word" else "none"
    key = "|".join([f"level:{recipe.level}", f"segmenter:{segmenter}", f"spell:{spelling}",
                    f"revision:{EXTRACTION_REVISION}",
                    f"harness:{__version__}", f"pypinyin:{package_version('pypinyin')}",
                    f"opencc:{package_version('opencc')}"])
    digest = hashlib.sha256(key.encode())
    for source, targets in zip(references.sources, references.targets or ()):
        digest.update(("\t".join((source, *targets)) + "\n").encode())
    return digest.hexdigest()


def reference_m2(references: References, texts: LexiconTexts, recipe: Recipe, cache_dir: Path | None,
                 jobs: int | None) -> str:
    """The references' M2 text: given, cached by content hash, or extracted (and cached)."""
    if references.m2_text is not None:
        return references.m2_text
    cache_path = None
    if cache_dir is not None:
        cache_path = cache_dir / "m2" / f"{reference_cache_key(references, recipe, texts)}.{recipe.name}.m2"
        if cache_path.is_file():
            return cache_path.read_text(encoding="utf-8")
    assert references.targets is not None
    text = "".join(extract_m2_blocks(list(zip(references.sources, references.targets)), texts, recipe, jobs))
    if cache_path is not None:
        try:
            atomic_write_text(cache_path, text)
        except OSError:
            pass  # a read-only cache only costs speed
    return text


@dataclass(frozen=True)
class LevelScore:
    """Everything `score` reports for one level."""

    counts: Counts
    choices: list[SentenceChoice]
    by_type: dict[str, Counts]
    signature: str
    reference_m2: str
    hypothesis_m2: str
    by_type_fine: dict[str, Counts] = field(default_factory=dict)

    def as_json(self, beta: float = 0.5) -> dict:
        p, r, f = prf(self.counts, beta)
        return {
            "tp": self.counts.tp, "fp": self.counts.fp, "fn": self.counts.fn,
            "precision": round(p, 4), "recall": round(r, 4), "f0.5": round(f, 4),
            "by_type": {name: counts_json(c, beta) for name, c in self.by_type.items()},
            **({"by_type_fine": {name: counts_json(c, beta) for name, c in self.by_type_fine.items()}}
               if self.by_type_fine else {}),
            "signature": self.signature,
        }


def counts_json(counts: Counts, beta: float = 0.5) -> dict:
    p, r, f = prf(counts, beta)
    return {"tp": counts.tp, "fp": counts.fp, "fn": counts.fn,
            "precision": round(p, 4), "recall": round(r, 4), "f0.5": round(f, 4)}


def hypothesis_m2(references: References, hypotheses: Sequence[str], reference_blocks: Sequence[str],
                  texts: LexiconTexts, recipe: Recipe, jobs: int | None) -> str:
    """The hypotheses' M2 text. A hypothesis equal (after normalisation) to one of its sentence's
    references has that reference's edits: they are copied from the reference M2 and relabelled,
    the rest are extracted."""
    normalise = TargetNormaliser()
    blocks: list[str | None] = [None] * len(hypotheses)
    todo: list[int] = []
    for index, hypothesis in enumerate(hypotheses):
        known = None
        if references.targets is not None:
            target = normalise(hypothesis)
            for annotator, reference in enumerate(references.targets[index]):
                if normalise(reference) == target:
                    known = annotator_block(reference_blocks[index], annotator)
                    break
        if known is None:
            todo.append(index)
        blocks[index] = known
    extracted = extract_m2_blocks([(references.sources[i], (hypotheses[i],)) for i in todo], texts, recipe, jobs)
    for index, block in zip(todo, extracted):
        blocks[index] = block
    return "".join(block or "" for block in blocks)


def score_cherrant(references: References, hypotheses: Sequence[str], settings: DataSettings,
                   recipe: Recipe = Recipe(), jobs: int | None = None, use_cache: bool = True) -> LevelScore:
    """ChERRANT at char level, or on words when `recipe` carries a segmenter."""
    texts = LexiconTexts.load(settings, char_meta=recipe.level == "word")
    cache_dir = settings.cache_dir if use_cache else None
    if recipe.segmenter is not None and recipe.tagged is None:
        normalise = TargetNormaliser()
        recipe = word_recipe(references, recipe.segmenter, [normalise(h) for h in hypotheses], cache_dir, jobs)
    ref_text = reference_m2(references, texts, recipe, cache_dir, jobs)
    ref_dicts: list[EditDict] = [edit_dict(s.edits) for s in read_m2(ref_text)]
    hyp_text = hypothesis_m2(references, hypotheses, split_blocks(ref_text), texts, recipe, jobs)
    hyp_dicts = [edit_dict(s.edits) for s in read_m2(hyp_text)]
    choices = choose_references([sentence_pairs(h, r) for h, r in zip(hyp_dicts, ref_dicts)])
    if recipe.segmenter is None:
        signature = char_signature(references.reference_counts)
    else:
        signature = word_signature(references.reference_counts, "cherrant", recipe.segmenter, spelling=texts.spelling)
    return LevelScore(
        counts=total_counts(choices),
        choices=choices,
        by_type=type_counts(choices, tier=1),
        signature=signature,
        reference_m2=ref_text,
        hypothesis_m2=hyp_text,
        by_type_fine=type_counts(choices, tier=3) if recipe.segmenter is not None else {},
    )


def word_recipe(references: References, segmenter: str, extra_sentences: Iterable[str],
                cache_dir: Path | None, jobs: int | None) -> Recipe:
    """Word-level recipe with every sentence segmented: sources, normalised references, and
    `extra_sentences` (hypotheses, normalised as the caller needs), in one batch."""
    if references.targets is None:
        raise HarnessError("word-level scoring needs a para reference file (sentences to segment), "
                           "not an M2 file", references.path)
    normalise = TargetNormaliser()
    sentences = set(references.sources)
    sentences.update(normalise(t) for targets in references.targets for t in targets)
    sentences.update(extra_sentences)
    sentences.discard("")
    return Recipe("word", segmenter, segment_all(sentences, segmenter, cache_dir, jobs))


def score_char(references: References, hypotheses: Sequence[str], settings: DataSettings,
               jobs: int | None = None, use_cache: bool = True) -> LevelScore:
    return score_cherrant(references, hypotheses, settings, Recipe(), jobs, use_cache)


@dataclass(frozen=True)
class MaxMatchScore:
    """Word level the NLPCC 2023 way: segmented hypotheses scored by MaxMatch against the gold
    rebuilt from the references' word-level ChERRANT M2."""

    correct: int
    proposed: int
    gold: int
    precision: float
    recall: float
    f: float
    segmenter: str
    signature: str
    gold_m2: str
    segmented_hypotheses: list[str]
    sentences: tuple = ()  # metrics.maxmatch.SentenceResult per sentence

    @property
    def counts(self) -> Counts:
        return Counts(self.correct, self.proposed - self.correct, self.gold - self.correct)

    def as_json(self) -> dict:
        return {
            "tp": self.correct, "fp": self.proposed - self.correct, "fn": self.gold - self.correct,
            "precision": round(self.precision, 4), "recall": round(self.recall, 4), "f0.5": round(self.f, 4),
            "scorer": "maxmatch", "segmenter": self.segmenter, "signature": self.signature,
        }


def score_maxmatch(references: References, hypotheses: Sequence[str], settings: DataSettings,
                   segmenter: str = "thulac", jobs: int | None = None, use_cache: bool = True,
                   reference_word_m2: str | None = None) -> MaxMatchScore:
    from metrics import maxmatch

    cache_dir = settings.cache_dir if use_cache else None
    cleaned = [remove_whitespace(h) for h in hypotheses]  # MaxMatch hypotheses: no t2s conversion
    recipe = word_recipe(references, segmenter, cleaned, cache_dir, jobs)
    if reference_word_m2 is None:
        reference_word_m2 = reference_m2(references, LexiconTexts.load(settings), recipe, cache_dir, jobs)
    gold_text = maxmatch_gold(reference_word_m2)
    assert recipe.tagged is not None
    segmented = [[word for word, _ in recipe.tagged[h]] if h else [] for h in cleaned]
    result = maxmatch.score(segmented, maxmatch.parse_gold_m2(gold_text))
    return MaxMatchScore(
        correct=result.correct, proposed=result.proposed, gold=result.gold,
        precision=result.precision, recall=result.recall, f=result.f, segmenter=segmenter,
        signature=word_signature(references.reference_counts, "maxmatch", segmenter),
        gold_m2=gold_text, segmented_hypotheses=[" ".join(words) for words in segmented],
        sentences=tuple(result.sentences),
    )


@dataclass(frozen=True)
class ScoreSet:
    """The scores of one hypothesis set at the requested levels, and how to report them."""

    scores: dict[str, LevelScore | MaxMatchScore]
    word_scorer: str = "maxmatch"
    segmenter: str = "thulac"

    @property
    def nlpcc2023(self) -> float | None:
        """Mean of word and char F0.5: only under the official protocol (MaxMatch on THULAC)."""
        if (self.word_scorer, self.segmenter) != ("maxmatch", "thulac") or not {"char", "word"} <= self.scores.keys():
            return None
        char, word = self.scores["char"], self.scores["word"]
        assert isinstance(char, LevelScore) and isinstance(word, MaxMatchScore)
        return (prf(char.counts)[2] + word.f) / 2

    def as_json(self) -> dict:
        payload: dict = {}
        for level, score in self.scores.items():
            payload[level] = score.as_json()
            if level == "word" and isinstance(score, LevelScore):
                payload[level].update(scorer=self.word_scorer, segmenter=self.segmenter)
        if self.nlpcc2023 is not None:
            payload["nlpcc2023"] = round(self.nlpcc2023, 4)
        return payload


def score_levels(references: References, hypotheses: Sequence[str], settings: DataSettings,
                 levels: Sequence[str] = ("char", "word"), word_scorer: str = "maxmatch", segmenter: str = "thulac",
                 jobs: int | None = None, use_cache: bool = True) -> ScoreSet:
    scores: dict[str, LevelScore | MaxMatchScore] = {}
    if "char" in levels:
        scores["char"] = score_char(references, hypotheses, settings, jobs=jobs, use_cache=use_cache)
    if "word" in levels:
        if word_scorer == "maxmatch":
            scores["word"] = score_maxmatch(references, hypotheses, settings, segmenter, jobs, use_cache)
        else:
            scores["word"] = score_cherrant(references, hypotheses, settings, Recipe("word", segmenter), jobs, use_cache)
    return ScoreSet(scores, word_scorer, segmenter)


def per_sentence(score_set: ScoreSet) -> list[dict]:
    """Per-sentence counts of each level, with the reference (annotator) chosen for it, so that
    reports can resample sentences without rescoring. For MaxMatch, tp/fp/fn are derived from
    correct/proposed/gold as at corpus level."""
    rows: list[dict] = []
    for level, score in score_set.scores.items():
        if isinstance(score, MaxMatchScore):
            entries = [{"tp": s.correct, "fp": s.proposed - s.correct, "fn": s.gold - s.correct, "ref": s.annotator}
                       for s in score.sentences]
        else:
            entries = [{"tp": c.counts.tp, "fp": c.counts.fp, "fn": c.counts.fn, "ref": c.ref,
                        "types": {t: list(v) for t, v in sorted(c.by_type.items())}} for c in score.choices]
        for index, entry in enumerate(entries):
            if index == len(rows):
                rows.append({})
            rows[index][level] = entry
    return rows

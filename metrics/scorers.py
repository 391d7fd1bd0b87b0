"""The scorers, in the manner of sacreBLEU's metrics: an object built from its resources and
options, whose `corpus_score(sources, hypotheses, references)` returns one `Score`.

- `ChERRANT`: MuCGEC's method, char level (no tokenizer) or word level (a word tokenizer).
- `MaxMatch`: M2Scorer's method on segmented hypotheses against the gold rebuilt from
  word-level ChERRANT reference blocks (the NLPCC 2023 Task 1 word metric).

Everything works on parsed objects (blocks, edits); M2 text is only an output (`Score.texts`).
Extraction is the slow step: `extract` lets a caller run it elsewhere (a process pool), and
`reference_blocks` lets it pass references extracted before (a cache).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Protocol, Sequence

from metrics import maxmatch
from metrics.compare import (
    EditDict, EditFilter, PairCounts, block_edits, choose_references, edit_dict, prf, sentence_pairs, total_counts,
)
from metrics.edit import NOOP, Annotation, Block
from metrics.extract import Extractor
from metrics.m2 import format_blocks, maxmatch_gold
from metrics.normalise import TargetNormaliser, remove_whitespace
from metrics.options import DEFAULT_BETA, DEFAULT_MAX_UNCHANGED, EDIT_SELECTIONS, EVAL_MODES
from metrics.score import Score, SentenceScore
from metrics.signature import Recipe
from metrics.zh.lexicon import Lexicon
from metrics.zh.spelling import SpellingCheck
from metrics.zh.tokens import Token

Pair = tuple[str, tuple[str, ...]]  # (source, targets)
Extract = Callable[[Sequence[Pair]], list[Block]]


class WordTokenizer(Protocol):
    """Words of a sentence with LTP tags (`tagged`), as tokens with readings (`__call__`)."""

    name: str

    @property
    def version(self) -> str: ...

    def tagged(self, sentence: str) -> list[tuple[str, str]]: ...

    def __call__(self, sentence: str) -> list[Token]: ...


def _check_lengths(sources: Sequence[str], hypotheses: Sequence | None, references: Sequence | None) -> None:
    if hypotheses is not None and len(hypotheses) != len(sources):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(sources)} sources")
    if references is not None and len(references) != len(sources):
        raise ValueError(f"{len(references)} reference lists for {len(sources)} sources")


class ChERRANT:
    """ChERRANT (MuCGEC, NAACL 2022): extract the edits of hypothesis and references with the
    same aligner, count TP/FP/FN against each reference, keep the best reference per sentence."""

    def __init__(self, lexicon: Lexicon, tokenizer: WordTokenizer | None = None,
                 spelling: SpellingCheck | None = None, t2s: bool = True, beta: float = DEFAULT_BETA,
                 mode: str = EVAL_MODES[0], selection: EditFilter = EditFilter()) -> None:
        """`mode`, `selection` and `beta` are ChERRANT's evaluation options (-cs/-cse/-ds/-dt,
        -single/-multi/-filt, -b); the reference chosen per sentence follows them, as there."""
        if mode not in EVAL_MODES:
            raise ValueError(f"mode: expected one of {', '.join(EVAL_MODES)}, got {mode!r}")
        if selection.single and selection.multi:
            raise ValueError("single and multi exclude each other")
        self.lexicon = lexicon
        self.tokenizer = tokenizer
        self.spelling = spelling or SpellingCheck()
        self.mode = mode
        self.selection = selection
        word = tokenizer is not None
        self.recipe = Recipe("word" if word else "char", "cherrant",
                             f"{tokenizer.name}-{tokenizer.version}-pos" if word else "char", t2s,
                             self.spelling.name if word else None, beta=beta, mode=mode,
                             edits=EDIT_SELECTIONS[1] if selection.single else EDIT_SELECTIONS[2] if selection.multi
                             else EDIT_SELECTIONS[0],
                             filt=tuple(sorted(selection.types)))
        self._extractor: Extractor | None = None

    @property
    def aligner(self) -> "ChERRANT":
        """The scorer that extracts this scorer's reference blocks: itself."""
        return self

    def extractor(self) -> Extractor:
        if self._extractor is None:
            if self.tokenizer is None:
                self._extractor = Extractor(self.lexicon, "char", convert_t2s=self.recipe.t2s)
            else:
                self._extractor = Extractor(self.lexicon, "word", self.tokenizer, self.recipe.t2s, self.spelling)
        return self._extractor

    def extract(self, pairs: Sequence[Pair]) -> list[Block]:
        """The block of each (source, targets) pair, here and now (see `extract=` below)."""
        extractor = self.extractor()
        return [extractor.block(source, targets) for source, targets in pairs]

    def reference_blocks(self, sources: Sequence[str], references: Sequence[Sequence[str]],
                         extract: Extract | None = None) -> list[Block]:
        return (extract or self.extract)([(s, tuple(r)) for s, r in zip(sources, references)])

    def hypothesis_blocks(self, sources: Sequence[str], hypotheses: Sequence[str], reference_blocks: Sequence[Block],
                          references: Sequence[Sequence[str]] | None = None,
                          extract: Extract | None = None) -> list[Block]:
        """A hypothesis equal (after normalisation) to one of its sentence's references, over the
        same source, gets that reference's annotation relabelled as annotator 0: exactly what
        extracting it again would give. The others are extracted."""
        normalise = TargetNormaliser(self.recipe.t2s)
        blocks: list[Block | None] = [None] * len(hypotheses)
        todo: list[int] = []
        for index, hypothesis in enumerate(hypotheses):
            known = None
            if references is not None and \
                    "".join(reference_blocks[index].source_tokens) == remove_whitespace(sources[index]):
                target = normalise(hypothesis)
                for annotator, reference in enumerate(references[index]):
                    if normalise(reference) == target:
                        known = _relabelled(reference_blocks[index], annotator)
                        break
            if known is None:
                todo.append(index)
            blocks[index] = known
        for index, block in zip(todo, (extract or self.extract)([(sources[i], (hypotheses[i],)) for i in todo])):
            blocks[index] = block
        return [block for block in blocks if block is not None]

    def corpus_score(self, sources: Sequence[str], hypotheses: Sequence[str] | None,
                     references: Sequence[Sequence[str]] | None, reference_blocks: Sequence[Block] | None = None,
                     extract: Extract | None = None, hypothesis_blocks: Sequence[Block] | None = None) -> Score:
        """`references`: per sentence, the list of its reference corrections (None when
        `reference_blocks` come from an M2 file). Each hypothesis is aligned with its own
        source, as ChERRANT does; `hypothesis_blocks` (a hypothesis M2 file) skip that step."""
        _check_lengths(sources, hypotheses if hypothesis_blocks is None else hypothesis_blocks, references)
        if reference_blocks is None:
            if references is None:
                raise ValueError("give references or reference_blocks")
            reference_blocks = self.reference_blocks(sources, references, extract)
        if len(reference_blocks) != len(sources):
            raise ValueError(f"{len(reference_blocks)} reference blocks for {len(sources)} sources")
        if hypothesis_blocks is not None:
            hyp_blocks = list(hypothesis_blocks)
        elif hypotheses is None:
            raise ValueError("give hypotheses or hypothesis_blocks")
        else:
            hyp_blocks = self.hypothesis_blocks(sources, hypotheses, reference_blocks, references, extract)
        hyp_dicts = [edit_dict(block_edits(h), self.mode, self.selection) for h in hyp_blocks]
        ref_dicts = [edit_dict(block_edits(r), self.mode, self.selection) for r in reference_blocks]
        choices = choose_references([sentence_pairs(h, r) for h, r in zip(hyp_dicts, ref_dicts)], self.recipe.beta)
        counts = total_counts(choices)
        p, r, f = prf(counts, self.recipe.beta)
        ref_blocks = tuple(reference_blocks)
        return Score(
            method="cherrant", level=self.recipe.level, tp=counts.tp, fp=counts.fp, fn=counts.fn,
            precision=p, recall=r, f=f, recipe=self.recipe,
            signature_fields=self.recipe.signature(reference_counts(ref_blocks)),
            per_sentence=tuple(_sentence(choice, hyp, ref) for choice, hyp, ref in zip(choices, hyp_dicts, ref_dicts)),
            texts=lambda: {f"ref.{self.recipe.name}.m2": format_blocks(ref_blocks),
                           f"hyp.{self.recipe.name}.m2": format_blocks(hyp_blocks)},
        )


class MaxMatch:
    """M2Scorer's MaxMatch on word-segmented hypotheses (no t2s conversion, as NLPCC 2023
    scored them), against the gold made from `references`' word-level blocks: each
    annotator's first alignment."""

    def __init__(self, aligner: ChERRANT, beta: float = DEFAULT_BETA,
                 max_unchanged: int = DEFAULT_MAX_UNCHANGED) -> None:
        if aligner.tokenizer is None:
            raise ValueError("MaxMatch needs a word-level ChERRANT for its gold")
        self.aligner = aligner  # extracts the reference blocks the gold is made from
        self.recipe = Recipe("word", "maxmatch", aligner.recipe.tok, aligner.recipe.t2s,
                             max_unchanged=max_unchanged, beta=beta)

    def segment(self, hypotheses: Sequence[str]) -> list[list[str]]:
        assert self.aligner.tokenizer is not None
        tagged = self.aligner.tokenizer.tagged
        return [[word for word, _ in tagged(h)] if h else [] for h in map(remove_whitespace, hypotheses)]

    def corpus_score(self, sources: Sequence[str], hypotheses: Sequence[str],
                     references: Sequence[Sequence[str]] | None, reference_blocks: Sequence[Block] | None = None,
                     extract: Extract | None = None, hypothesis_blocks: Sequence[Block] | None = None,
                     gold: Sequence[maxmatch.GoldSentence] | None = None, gold_name: str | None = None,
                     evaluate: maxmatch.Evaluate | None = None) -> Score:
        """`gold`: an M2Scorer gold read from a file (named `gold_name` in the signature) in
        place of the one made from the references. `evaluate`: how the sentences are matched
        (`maxmatch.evaluate_all` by default; the harness passes a process pool)."""
        if hypothesis_blocks is not None:
            raise ValueError("MaxMatch segments the hypotheses itself: give sentences, not blocks")
        _check_lengths(sources, hypotheses, references)
        recipe = self.recipe if gold is None else replace(self.recipe, gold=gold_name or "given")
        ref_blocks: tuple[Block, ...] = ()
        if gold is None:
            if reference_blocks is None:
                if references is None:
                    raise ValueError("give references, reference_blocks or gold")
                reference_blocks = self.aligner.reference_blocks(sources, references, extract)
            ref_blocks = tuple(reference_blocks)
            gold = maxmatch.gold_from_blocks(ref_blocks)
        segmented = self.segment(hypotheses)
        result = maxmatch.score(segmented, gold, recipe.beta, recipe.max_unchanged, evaluate)
        return Score(
            method="maxmatch", level="word", tp=result.correct, fp=result.proposed - result.correct,
            fn=result.gold - result.correct, precision=result.precision, recall=result.recall, f=result.f,
            recipe=recipe, signature_fields=recipe.signature([len(g.annotators) or 1 for g in gold]),
            per_sentence=tuple(_maxmatch_sentence(s, g) for s, g in zip(result.sentences, gold)),
            texts=lambda: {**({f"gold.{recipe.name}.maxmatch.m2": maxmatch_gold(format_blocks(ref_blocks))}
                              if ref_blocks else {}),
                           f"hyp.{recipe.segmenter}.txt": "".join(" ".join(w) + "\n" for w in segmented)},
        )


def _maxmatch_sentence(result: maxmatch.AnnotatorCounts, gold: maxmatch.GoldSentence) -> SentenceScore:
    chosen = dict(zip(gold.annotator_ids, gold.annotators)).get(result.annotator, ())
    return SentenceScore(result.annotator if result.annotator >= 0 else None, result.correct,
                         result.proposed - result.correct, result.gold - result.correct, {},
                         tuple(f"{e.start} {e.end} {e.original or '-NONE-'} -> {e.correction or '-NONE-'}"
                               for e in result.edits),
                         tuple(f"{e.start} {e.end} {e.original or '-NONE-'} -> {'||'.join(e.corrections) or '-NONE-'}"
                               for e in chosen))


def reference_counts(blocks: Sequence[Block]) -> tuple[int, ...]:
    """References per sentence (annotators of its block; at least one)."""
    return tuple(len(block.annotations) or 1 for block in blocks)


def _relabelled(block: Block, annotator: int) -> Block | None:
    """The block as if `annotator` were its only annotator, renumbered 0."""
    for annotation in block.annotations:
        if annotation.annotator == annotator:
            alignments = tuple(tuple(replace(edit, annotator=0) for edit in alignment)
                               for alignment in annotation.alignments)
            return Block(block.source_tokens, (Annotation(0, annotation.target_tokens, alignments,
                                                          annotation.marker),))
    return None


def _sentence(choice: PairCounts, hyp: EditDict, ref: EditDict) -> SentenceScore:
    return SentenceScore(choice.ref, choice.counts.tp, choice.counts.fp, choice.counts.fn,
                         {name: tuple(values) for name, values in sorted(choice.by_type.items())},
                         _edit_texts(hyp.get(choice.hyp, {})),
                         _edit_texts(ref.get(choice.ref, {}) if choice.ref is not None else {}))


def _edit_texts(edits: dict) -> tuple[str, ...]:
    """Compared edits as text: key fields and types (`3 3 了 M`), noop left out."""
    return tuple(" ".join(str(part) for part in key) + " " + "/".join(types)
                 for key, types in sorted(edits.items(), key=lambda item: tuple(map(str, item[0])))
                 if types[0] != NOOP)

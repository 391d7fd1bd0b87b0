"""`harness show RUN --id N`: one sentence of a run, for error analysis: source, references, raw
output, prediction, its outcome at each level (docs/outcomes.md), and the char-level edits of
the hypothesis and of each reference, marked as matched or not.

The sentence and its references come from `harness.reports.references` (a benchmark run's from
its benchmark, as its protocol scored them); the edits are compared on those very texts."""

from __future__ import annotations

from pathlib import Path

from harness.core.errors import HarnessError
from harness.data.manifest import DataSettings
from harness.record.models import LEVELS, PREDICTIONS, PredictionLine, RunRecord, SentenceLine
from harness.record.store import read_record
from harness.reports.references import RunSentences, run_sentences
from harness.scoring.corpus import LexiconTexts
from metrics.compare import block_edits, edit_dict, sentence_pairs
from metrics.csc import csc_scores
from metrics.edit import NO_ERROR_TEXT, NOOP, NOT_ANNOTATABLE_TEXT, Block, Edit
from metrics.outcomes import MEANINGS, classify
from metrics.scorers import ChERRANT

MARKER_NOTES = {NO_ERROR_TEXT: " (没有错误: the sentence is correct)",
                NOT_ANNOTATABLE_TEXT: ""}  # the shown text says it already


def _edit_text(edit: Edit, source_tokens: tuple[str, ...]) -> str:
    before = "".join(source_tokens[edit.start:edit.end]) or "∅"
    after = "".join(edit.correction) or "∅"
    return f"{edit.type:<3} [{edit.start},{edit.end}) {before} → {after}"


def outcome_lines(row: SentenceLine) -> list[str]:
    """The sentence's outcome at each level the run scored, read from its recorded counts
    against the reference the scorer chose (as metrics.json counts them)."""
    lines = []
    for level in LEVELS:
        counts = getattr(row, level)
        if counts is not None:
            outcome = classify(counts.ref, counts.tp, counts.fp, counts.fn)
            lines.append(f"outcome     {level}: {outcome} ({MEANINGS[outcome]}; "
                         f"TP {counts.tp} FP {counts.fp} FN {counts.fn})")
    return lines


def show(run_dir: Path, item_id: str, settings: DataSettings) -> str:
    run = read_record(run_dir)
    predictions = run.require_predictions()
    index = next((i for i, p in enumerate(predictions) if p.id == item_id), None)
    if index is None:
        raise HarnessError(f"no sentence with id {item_id} in this run", run_dir / PREDICTIONS)
    record = predictions[index]
    sentences = run_sentences(run, settings)
    position = sentences.positions([item_id], run_dir / PREDICTIONS)[0]
    output = record.prediction if record.prediction is not None else sentences.items[position]
    hypothesis = sentences.hypotheses([position], [output])[0]
    lines = _header(run, sentences, position, record, output, hypothesis)
    lines += outcome_lines(run.rows[index])
    if sentences.task == "csc":
        lines.append(_csc_line(sentences, position, output, run))
    if not sentences.has_references:
        return "\n".join(lines + ["", "no references here: nothing to compare the output with"])
    extractor = ChERRANT(LexiconTexts.load(settings, char_meta=False).lexicon()).extractor()
    source = sentences.sources[position]
    ref_block = sentences.blocks[position] if sentences.blocks is not None else \
        extractor.block(source, sentences.references[position])  # type: ignore[index]
    hyp_block = extractor.block(source, (hypothesis,))
    char = run.rows[index].char
    return "\n".join(lines + _edit_lines(sentences, position, ref_block, hyp_block,
                                         char.ref if char is not None else None))


def _header(run: RunRecord, sentences: RunSentences, position: int, record: PredictionLine, output: str,
            hypothesis: str) -> list[str]:
    """Source, references (as sentences), raw output, prediction, and what the scorer compared
    when the protocol prepared them (FCGEC's punctuation removed, NLPCC 2018's gold sentence)."""
    lines = [f"run {run.name} · sentence {record.id} of {sentences.dataset}", "",
             f"source      {sentences.items[position]}"]
    source = sentences.sources[position]
    if source != sentences.items[position]:
        lines.append(f"scored as   {source}")
    shown = sentences.shown[position]
    lines += [f"reference {k + 1}  {text}{MARKER_NOTES.get(sentences.marker(position, k) or '', '')}"
              for k, text in enumerate(shown)]
    if not shown:
        lines.append("references  (none here)")
    lines += [f"raw output  {record.raw!r}", f"prediction  {output}"]
    if hypothesis != output:
        lines.append(f"scored as   {hypothesis}")
    if record.cleaning:
        lines.append(f"cleaning    {', '.join(record.cleaning)}")
    if record.error:
        lines.append(f"error       {record.error}")
    lines += [f"note        {note}" for note in sentences.notes]
    return lines


def _csc_line(sentences: RunSentences, position: int, output: str, run: RunRecord) -> str:
    """The sentence as the spelling-check protocol counts it (sentence level, metrics.csc)."""
    target = sentences.references[position][0]  # type: ignore[index]
    result = csc_scores([sentences.sources[position]], [target], [output])
    erroneous = "erroneous" if result.sentence_detection.gold else "correct"
    if result.length_mismatch:
        verdict = "output of another length: a changed sentence, never right"
    elif not result.sentence_detection.predicted:
        verdict = "output unchanged"
    else:
        verdict = (f"output changed: detection {'right' if result.sentence_detection.right else 'wrong'}, "
                   f"correction {'right' if result.sentence_correction.right else 'wrong'}")
    protocol = run.metrics.benchmark.protocol if run.metrics.benchmark is not None else "csc"
    return f"outcome     csc ({protocol}, sentence level): {erroneous} sentence, {verdict}"


def _edit_lines(sentences: RunSentences, position: int, ref_block: Block, hyp_block: Block,
                chosen: int | None) -> list[str]:
    """The hypothesis' char-level edits, marked ✓ when in the chosen reference, then each
    reference's, marked ✓ when the hypothesis proposes it."""
    ref_edits = edit_dict(block_edits(ref_block))
    hyp_edits = edit_dict(block_edits(hyp_block))
    pairs = sentence_pairs(hyp_edits, ref_edits) or []
    # The reference the run's scorer chose (it depends on the corpus so far), else the best pair.
    best = next((p for p in pairs if p.ref == chosen), None) or max(
        pairs, key=lambda p: (p.counts.tp, -p.counts.fp, -p.counts.fn), default=None)
    tokens = hyp_block.source_tokens
    hyp_list = [e for e in block_edits(hyp_block) if e.type != NOOP]
    if not sentences.counted[position]:
        return ["", "hypothesis edits (char level; the protocol leaves this sentence out: unscored):"] + \
            ([f"  · {_edit_text(e, tokens)}" for e in _unique(hyp_list)] or ["  (none)"])
    reference_keys = set(ref_edits.get(best.ref, {})) if best is not None else set()
    view = "ChERRANT at char level, a view the CSC protocol does not count" if sentences.task == "csc" else \
        "char level"
    lines = ["", f"hypothesis edits ({view}; ✓ = in the chosen reference):"]
    lines += [f"  {'✓' if e.key in reference_keys else '✗'} {_edit_text(e, tokens)}" for e in _unique(hyp_list)] \
        or ["  (none)"]
    hypothesis_keys = {e.key for e in hyp_list}
    for k in range(len(ref_block.annotations)):
        tag = " (chosen)" if best is not None and best.ref == k else ""
        lines.append(f"reference {k + 1} edits{tag} (✓ = proposed by the hypothesis):")
        edits = [e for e in block_edits(ref_block) if e.annotator == k and e.type not in (NOOP, "NA")]
        empty = "  (none: 无法标注)" if sentences.marker(position, k) == NOT_ANNOTATABLE_TEXT else \
            "  (none: the reference is the source)"
        lines += [f"  {'✓' if e.key in hypothesis_keys else '·'} {_edit_text(e, tokens)}" for e in _unique(edits)] \
            or [empty]
    if best is not None:
        lines += ["", f"counts against reference {best.ref + 1}: TP {best.counts.tp}  FP {best.counts.fp}  "
                      f"FN {best.counts.fn}"]
    return lines


def _unique(edits: list[Edit]) -> list[Edit]:
    """Edits of all alignments, each key once, in order."""
    seen: set = set()
    out = []
    for edit in edits:
        if edit.key not in seen:
            seen.add(edit.key)
            out.append(edit)
    return out

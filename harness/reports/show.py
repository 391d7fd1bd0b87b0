"""`harness show RUN --id N`: one sentence of a run, for error analysis: source, references, raw
output, prediction, its outcome at each level (docs/outcomes.md), and the char-level edits of
the hypothesis and of each reference, marked as matched or not."""

from __future__ import annotations

from pathlib import Path

from harness.data.manifest import DataSettings
from harness.data.datasets import load_run_dataset
from harness.core.errors import HarnessError
from harness.record.models import LEVELS, PREDICTIONS, SentenceLine
from harness.record.store import read_record
from harness.scoring.corpus import LexiconTexts
from metrics.compare import block_edits, edit_dict, sentence_pairs
from metrics.edit import NOOP, Edit
from metrics.outcomes import MEANINGS, classify
from metrics.scorers import ChERRANT


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
    dataset = load_run_dataset(run.dataset, settings)
    position = next(i for i, item in enumerate(dataset.items) if item.id == item_id)
    source = dataset.references.sources[position]
    targets = dataset.references.targets[position]
    prediction = record.prediction if record.prediction is not None else source

    extractor = ChERRANT(LexiconTexts.load(settings, char_meta=False).lexicon()).extractor()
    ref_block = extractor.block(source, targets)
    hyp_block = extractor.block(source, (prediction,))
    ref_edits = edit_dict(block_edits(ref_block))
    hyp_edits = edit_dict(block_edits(hyp_block))
    pairs = sentence_pairs(hyp_edits, ref_edits) or []
    # The reference the run's scorer chose (it depends on the corpus so far), else the best pair.
    char = run.rows[index].char
    chosen = char.ref if char is not None else None
    best = next((p for p in pairs if p.ref == chosen), None) or max(
        pairs, key=lambda p: (p.counts.tp, -p.counts.fp, -p.counts.fn), default=None)

    lines = [f"run {run.name} · sentence {item_id} of {dataset.name}", "",
             f"source      {source}"]
    lines += [f"reference {k + 1}  {t}" for k, t in enumerate(targets)]
    lines += [f"raw output  {record.raw!r}", f"prediction  {prediction}"]
    if record.cleaning:
        lines.append(f"cleaning    {', '.join(record.cleaning)}")
    if record.error:
        lines.append(f"error       {record.error}")
    lines += outcome_lines(run.rows[index])
    tokens = hyp_block.source_tokens
    reference_keys = set(ref_edits.get(best.ref, {})) if best is not None else set()
    lines += ["", "hypothesis edits (char level; ✓ = in the chosen reference):"]
    hyp_list = [e for e in block_edits(hyp_block) if e.type != NOOP]
    lines += [f"  {'✓' if e.key in reference_keys else '✗'} {_edit_text(e, tokens)}" for e in _unique(hyp_list)] \
        or ["  (none)"]
    hypothesis_keys = {e.key for e in hyp_list}
    for k in range(len(targets)):
        chosen = " (chosen)" if best is not None and best.ref == k else ""
        lines.append(f"reference {k + 1} edits{chosen} (✓ = proposed by the hypothesis):")
        edits = [e for e in block_edits(ref_block) if e.annotator == k and e.type not in (NOOP, "NA")]
        lines += [f"  {'✓' if e.key in hypothesis_keys else '·'} {_edit_text(e, tokens)}" for e in _unique(edits)] \
            or ["  (none: the reference is the source)"]
    if best is not None:
        lines += ["", f"counts against reference {best.ref + 1}: TP {best.counts.tp}  FP {best.counts.fp}  FN {best.counts.fn}"]
    return "\n".join(lines)


def _unique(edits: list[Edit]) -> list[Edit]:
    """Edits of all alignments, each key once, in order."""
    seen: set = set()
    out = []
    for edit in edits:
        if edit.key not in seen:
            seen.add(edit.key)
            out.append(edit)
    return out

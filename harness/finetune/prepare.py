"""Training examples as chat JSONL, rendered with the SAME prompt as a run config, so that the
prompt a model is trained on is the prompt it is tested with."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from harness.config.schema import RunConfig
from harness.data.manifest import DataSettings, load_manifest, resolve
from harness.data.datasets import load_dataset
from harness.core.errors import HarnessError
from harness.run.prompt import render
from harness.core.textfile import read_lines, read_text
from metrics.normalise import remove_whitespace

NEAR_DUPLICATE_JACCARD = 0.8  # token-set overlap at or above which a training source is "the same sentence"


@dataclass(frozen=True)
class Pair:
    source: str
    target: str
    line: int  # where it came from in the input file (1-based; record index for JSON lists)


@dataclass
class PrepareReport:
    input: str
    examples: int = 0
    read: int = 0
    stripped: int = 0
    identity: int = 0
    identity_dropped: int = 0
    duplicates: int = 0
    duplicates_dropped: int = 0
    exact_overlap: list[str] = field(default_factory=list)
    near_overlap: list[tuple[str, str, float]] = field(default_factory=list)


def _input_path(spec: str, settings: DataSettings) -> Path:
    path = Path(spec)
    if path.is_file():
        return path
    manifest = load_manifest()
    if spec in manifest.files:
        return resolve(spec, settings, manifest)
    raise HarnessError("no such training file, and not a file of data/manifest.yaml", path)


def read_pairs(path: Path, prompt_user: str) -> list[Pair]:
    """(source, target) pairs from GrammarGPT's instruction.json, a para file, or chat JSONL."""
    text = read_text(path)
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as error:
            raise HarnessError(f"invalid JSON: {error.msg}", path, error.lineno) from None
        pairs = []
        for index, record in enumerate(records, 1):
            if not isinstance(record, dict) or not isinstance(record.get("input"), str) \
                    or not isinstance(record.get("output"), str):
                raise HarnessError(f"record {index}: expected {{instruction, input, output}} strings", path)
            pairs.append(Pair(record["input"], record["output"], index))
        return pairs
    if stripped.startswith("{"):
        return _chat_pairs(path, prompt_user)
    pairs = []
    for number, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 3:
            raise HarnessError("para line needs id<TAB>source<TAB>target", path, number)
        pairs.append(Pair(fields[1], fields[2], number))
    return pairs


def _chat_pairs(path: Path, prompt_user: str) -> list[Pair]:
    """The last user turn (less the template's fixed text, when it matches) and the assistant turn."""
    before, _, after = prompt_user.partition("{source}")
    pairs = []
    for number, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        try:
            messages = json.loads(line)["messages"]
            user = [m["content"] for m in messages if m["role"] == "user"][-1]
            assistant = [m["content"] for m in messages if m["role"] == "assistant"][-1]
        except (json.JSONDecodeError, KeyError, IndexError, TypeError):
            raise HarnessError("expected {\"messages\": [... user ..., ... assistant ...]}", path, number) from None
        for prefix in (before, "检测这个句子的语法错误："):  # the seed's training template
            if prefix and user.startswith(prefix):
                user = user[len(prefix):]
                break
        if after and user.endswith(after):
            user = user[: -len(after)]
        pairs.append(Pair(user, assistant, number))
    return pairs


def _tokens(sentence: str) -> frozenset[str]:
    import jieba

    return frozenset(jieba.lcut(sentence, HMM=False))


def overlap(pairs: list[Pair], evaluation_sources: list[str]) -> tuple[list[str], list[tuple[str, str, float]]]:
    """Training sources equal to an evaluation source, and near-duplicates (jieba token sets
    with Jaccard >= NEAR_DUPLICATE_JACCARD)."""
    import jieba

    jieba.setLogLevel(60)
    evaluation = {remove_whitespace(s) for s in evaluation_sources}
    exact = sorted({p.source for p in pairs if remove_whitespace(p.source) in evaluation})
    eval_tokens = [(s, _tokens(s)) for s in sorted(evaluation)]
    index: dict[str, list[int]] = {}
    for position, (_, tokens) in enumerate(eval_tokens):
        for token in tokens:
            index.setdefault(token, []).append(position)
    near = []
    for pair in pairs:
        source = remove_whitespace(pair.source)
        if source in evaluation:
            continue
        tokens = _tokens(source)
        shared: dict[int, int] = {}
        for token in tokens:
            for position in index.get(token, ()):
                shared[position] = shared.get(position, 0) + 1
        for position, common in shared.items():
            other = eval_tokens[position][1]
            jaccard = common / len(tokens | other)
            if jaccard >= NEAR_DUPLICATE_JACCARD:
                near.append((source, eval_tokens[position][0], round(jaccard, 3)))
    return exact, sorted(near)


def prepare(train: str, config: RunConfig, settings: DataSettings, out: Path, validation: str | None = None,
            drop_identity: bool = False, drop_duplicates: bool = False, force: bool = False) -> list[PrepareReport]:
    evaluation = load_dataset(config.dataset, settings, config.path)
    reports = []
    for split, spec in (("train", train), ("validation", validation)):
        if spec is None:
            continue
        path = _input_path(spec, settings)
        raw_pairs = read_pairs(path, config.prompt.user)
        report = PrepareReport(str(path), read=len(raw_pairs))
        pairs = []
        seen: set[tuple[str, str]] = set()
        for pair in raw_pairs:
            source, target = pair.source.strip(), pair.target.strip()
            report.stripped += (source, target) != (pair.source, pair.target)
            if source == target:
                report.identity += 1
                if drop_identity:
                    report.identity_dropped += 1
                    continue
            if (source, target) in seen:
                report.duplicates += 1
                if drop_duplicates:
                    report.duplicates_dropped += 1
                    continue
            seen.add((source, target))
            pairs.append(Pair(source, target, pair.line))
        report.exact_overlap, report.near_overlap = overlap(pairs, list(evaluation.references.sources))
        if (report.exact_overlap or report.near_overlap) and not force:
            first = (report.exact_overlap or [n[0] for n in report.near_overlap])[0]
            raise HarnessError(f"{len(report.exact_overlap)} training sources equal and {len(report.near_overlap)} "
                               f"nearly equal an evaluation source of {evaluation.name} (first: {first}); "
                               "use --force to train on them anyway", path)
        lines = [json.dumps({"messages": render(config.prompt, p.source) + [{"role": "assistant", "content": p.target}]},
                            ensure_ascii=False) for p in pairs]
        from harness.core.atomic import atomic_write_text

        atomic_write_text(out / f"{split}.jsonl", "".join(line + "\n" for line in lines))
        report.examples = len(lines)
        reports.append(report)
    return reports

"""Run configs (`configs/*.yaml`), validated by a pydantic schema: strict types and ranges, the
defaults in one place (the fields below), and one-line errors that name the key and its line.

`${NAME}` and `${NAME:-default}` in any string are read from the environment first.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import json
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Sequence

import yaml
from pydantic import (
    AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, Strict, StringConstraints,
    ValidationError, field_serializer, field_validator, model_serializer, model_validator,
)

from harness.config import cleaning_words as words
from harness.core.errors import HarnessError
from harness.core.yamlpos import line_of
from metrics.options import (  # the scoring vocabulary, declared once (a leaf module: no harness, no numpy)
    DEFAULT_BETA, DEFAULT_MAX_UNCHANGED, EDIT_SELECTIONS, EVAL_MODES, LEVELS, SEGMENTERS, WORD_SCORERS,
)

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
GENERATION_KEYS = ("temperature", "max_tokens", "seed", "top_p", "stop", "frequency_penalty", "presence_penalty")


def _number(value: Any) -> Any:
    """A YAML number (int or float), never a string or a boolean."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, got {type(value).__name__} {value!r}")
    return value


def _scalar_text(value: Any) -> Any:
    """Report labels may be written as numbers (`train_data: 1061`): kept as text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


Int = Annotated[int, Strict()]
Text = Annotated[str, Strict()]
Number = Annotated[float, BeforeValidator(_number)]
Label = Annotated[str, BeforeValidator(_scalar_text), Strict()]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetSpec(_Spec):
    """A manifest dataset name, or a para file path."""

    name: Text | None = None
    path: Text | None = None
    format: Literal["para"] = "para"

    @model_validator(mode="after")
    def _one_source(self) -> "DatasetSpec":
        if (self.name is None) == (self.path is None):
            raise ValueError("give exactly one of name or path")
        return self


class GenerationParams(_Spec):
    """The generation parameters a run may send (checked; the config keeps what was written)."""

    temperature: Annotated[Number, Field(ge=0, le=2)] | None = None
    max_tokens: Annotated[Int, Field(ge=1)] | None = None
    seed: Int | None = None
    top_p: Annotated[Number, Field(gt=0, le=1)] | None = None
    stop: Text | list[Text] | None = None
    frequency_penalty: Annotated[Number, Field(ge=-2, le=2)] | None = None
    presence_penalty: Annotated[Number, Field(ge=-2, le=2)] | None = None


def _backends() -> Any:
    """harness.backends.registry, looked up when a config is checked: it names the backends and
    says what each needs. Found by name, as a plugin is: the config layer imports no backend."""
    return importlib.import_module("harness.backends.registry")


class ModelSpec(_Spec):
    backend: Annotated[Text, AfterValidator(lambda name: _backends().check_name(name))]
    model: Text | None = None
    base_url: Text | None = None
    api_key_env: Text | None = "OPENAI_API_KEY"
    params: dict[str, Any] = Field(default_factory=dict)
    extra_body: dict[str, Any] = Field(default_factory=dict)
    timeout: Annotated[Number, Field(gt=0)] = 60.0
    retries: Annotated[Int, Field(ge=0)] = 6
    retry_after_cap: Annotated[Number, Field(ge=0)] = 60.0  # longest Retry-After obeyed, in seconds
    backoff_budget: Annotated[Number, Field(ge=0)] = 600.0  # total waiting per item before it fails
    predictions: Text | dict[Text, Text] | None = None  # stored: output name or path (run --benchmarks: by benchmark)
    format: Literal["auto", "lines", "jsonl", "para"] = "auto"  # stored
    poll_interval: Annotated[Number, Field(gt=0)] = 30.0  # openai-batch: seconds between status checks
    max_batch_requests: Annotated[Int, Field(ge=1)] = 50_000  # openai-batch: the API's per-batch limit
    batch_metadata: dict[Text, Text] = Field(default_factory=dict)  # openai-batch: metadata of each batch
    # The outputs are words separated by single spaces (segmented by PKUNLP, as NLPCC 2018's gold is):
    # they are scored as given, not cleaned, and M2Scorer scores them against the gold officially.
    segmented: Annotated[bool, Strict()] = False

    @model_serializer(mode="wrap")
    def _without_unset_segmented(self, handler: Any) -> dict[str, Any]:
        """`segmented` only when a config sets it: a config that leaves it alone keeps its hash."""
        data = handler(self)
        if "segmented" not in self.model_fields_set:
            data.pop("segmented", None)
        return data

    @field_validator("params")
    @classmethod
    def _params(cls, value: dict[str, Any]) -> dict[str, Any]:
        GenerationParams.model_validate(value)
        return dict(value)

    @model_validator(mode="after")
    def _backend_fields(self) -> "ModelSpec":
        _backends().check_spec(self)  # what the named backend needs of the other keys (ValueError)
        return self


def _few_shot(value: Any) -> Any:
    """`[{source, target}, ...]` as (source, target) pairs."""
    if not isinstance(value, list):
        return value
    pairs = []
    for index, pair in enumerate(value):
        if not isinstance(pair, dict) or set(pair) != {"source", "target"}:
            raise ValueError(f"item {index}: expected {{source: ..., target: ...}}")
        pairs.append((pair["source"], pair["target"]))
    return tuple(pairs)


class PromptSpec(_Spec):
    system: Text | None = None
    user: Text = "{source}"
    few_shot: Annotated[tuple[tuple[Text, Text], ...], BeforeValidator(_few_shot)] = ()

    @field_validator("user")
    @classmethod
    def _has_slot(cls, value: str) -> str:
        if "{source}" not in value:
            raise ValueError("must contain {source}")
        return value


# The prompt of each task family for `run --benchmarks` (a config's `prompts:` overrides them).
# GEC: the instruction of the shipped chat configs; a config that writes `prompt:` keeps it for
# GEC benchmarks too (a fine-tuned model is asked as it was trained). CSC: spelling only, same length.
GEC_PROMPT = PromptSpec(system="你是一个汉语语法纠错器。请直接输出修改后的句子；如果句子没有错误，原样输出。",
                        user="检测这个句子的语法错误：{source}")
CSC_PROMPT = PromptSpec(system="你是一个中文拼写纠错器。只改正句子中的错别字，每个错字换成正确的字；不增删任何字，"
                               "不改动标点、语序和用词，输出与原句等长。请直接输出改正后的句子；如果没有错别字，原样输出。",
                        user="改正这个句子中的错别字：{source}")


class FamilyPrompts(_Spec):
    """`prompts: {gec: {...}, csc: {...}}`: the prompt of each task family's benchmarks in
    `run --benchmarks` (each as `prompt:` is written); a family left out takes its default."""

    gec: PromptSpec | None = None
    csc: PromptSpec | None = None

    @model_serializer(mode="wrap")
    def _as_written(self, handler: Any) -> dict[str, Any]:
        """Only the families the config names."""
        return {key: value for key, value in handler(self).items() if value is not None}


class LimitsSpec(_Spec):
    concurrency: Annotated[Int, Field(ge=1)] = 8
    requests_per_minute: Annotated[Number, Field(gt=0)] | None = None
    tokens_per_minute: Annotated[Number, Field(gt=0)] | None = None


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


class ScoringSpec(_Spec):
    """How a run scores its outputs: the options of `harness score` that decide the numbers,
    under the names and with the defaults of harness.scoring.options.ScoringOptions (which the
    run builds from this section); the allowed values are metrics.options'. The file-reading
    options (max_chars, strict_sources) and the display's cat are the CLI's: a run scores its
    dataset's own sources and prints totals."""

    levels: Annotated[tuple[Literal[LEVELS], ...], BeforeValidator(_tuple), Field(min_length=1)] = LEVELS
    word_scorer: Literal[WORD_SCORERS] = WORD_SCORERS[0]
    segmenter: Literal[SEGMENTERS] = SEGMENTERS[0]
    eval: Literal[EVAL_MODES] = EVAL_MODES[0]
    edits: Literal[EDIT_SELECTIONS] = EDIT_SELECTIONS[0]
    filter: Annotated[tuple[Text, ...], BeforeValidator(_tuple)] = ()
    t2s: Annotated[bool, Strict()] = True
    beta: Annotated[Number, Field(gt=0)] = DEFAULT_BETA
    max_unchanged_words: Annotated[Int, Field(ge=0)] = DEFAULT_MAX_UNCHANGED

    @model_serializer(mode="wrap")
    def _as_written(self, handler: Any) -> dict[str, Any]:
        """levels, word_scorer and segmenter always (every recorded config has them), the other
        options only when the config sets them: a config that leaves them alone keeps its hash."""
        return {key: value for key, value in handler(self).items()
                if key in ("levels", "word_scorer", "segmenter") or key in self.model_fields_set}


class ReportSpec(_Spec):
    """How a run appears in `harness table`: the row of data/reported/ it reproduces, if any."""

    label: Label | None = None
    params: Label | None = None
    train_data: Label | None = None


def _dataset(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


def _word_list(value: Any) -> Any:
    """A YAML list of words (a single string is refused, not read as a list of characters)."""
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"expected a list of words, got {type(value).__name__} {value!r}")
    return tuple(value)


Switch = Annotated[bool, Strict()]
Words = Annotated[tuple[Annotated[str, Strict(), StringConstraints(strip_whitespace=True, min_length=1)], ...],
                  BeforeValidator(_word_list)]


class CleaningSpec(_Spec):
    """How `run` cleans a chat reply before scoring (harness.cleaning; docs/cleaning.md lists each rule
    with its flag). Every default is here; a word list given in a config replaces the default list.
    Line ends and whitespace are always normalised."""

    enabled: Switch = Field(True, description="false: change nothing but line ends and whitespace (for a "
                            "system that writes sentences, not chat); the other keys are then ignored")
    prefixes: Words = Field(words.PREFIXES, description="labels of the answer, written without their colon "
                            "(`修改后的句子` matches `修改后的句子：`, `修改后的句子为:`, `**修改后的句子**：`, "
                            "`【修改后的句子】`): removed")
    original_labels: Words = Field(words.ORIGINAL_LABELS, description="labels of the restated input (`原句：`): "
                                   "removed too, and the answer of a reply wins over what they label")
    explanation_labels: Words = Field(words.EXPLANATION_LABELS, description="labels that start an explanation "
                                      "(`解释：`): cut with what follows, up to the next answer label")
    leadin_cues: Words = Field(words.LEADIN_CUES, description="words that make a short text before a colon a "
                               "lead-in (`以下是我修改后的句子：`): removed")
    strip_quotes: Switch = Field(True, description="remove quotes around the whole sentence")
    strip_code_fences: Switch = Field(True, description="remove Markdown code fences and wrapping backticks")
    strip_markdown: Switch = Field(True, description="remove Markdown emphasis, heading, blockquote and list "
                                   "markers, and tags such as `<answer>`")
    take_sentence_from_explanation: Switch = Field(
        True, description="look at every line and sentence of the reply and keep the answer: drop explanation "
        "lines, labelled and bracketed notes, sentences with an explanation cue that mostly do not come from "
        "the source, English remarks on a Chinese source, repetitions, `<think>` blocks; take B of `A -> B`")
    explanation_cues: Words = Field(words.EXPLANATION_CUES, description="words of an unlabelled sentence that "
                                    "comments on the correction (`这句话`, `改为`)")
    detect_echo: Switch = Field(True, description="drop sentences that echo the prompt (an echo marker, or a "
                                "copy of a prompt text that was sent)")
    echo_markers: Words = Field(words.ECHO_MARKERS, description="parts of instructions and few-shot blocks")
    detect_refusal: Switch = Field(True, description="drop refusals, apologies and questions back")
    refusal_markers: Words = Field(words.REFUSAL_MARKERS, description="words of a refusal (`抱歉`, `请提供`)")
    detect_no_error: Switch = Field(True, description="drop statements that the sentence has no error")
    no_error_markers: Words = Field(words.NO_ERROR_MARKERS, description="words of such a statement (`没有语病`)")
    fallback_on_empty: Switch = Field(True, description="an empty result falls back to the source (no edit)")
    strip_residue: Switch = Field(True, description="remove a stray leading `：` or `，` and a short run of "
                                  "characters after the final `。` that occur nowhere in the source")
    strip_tails: Switch = Field(True, description="cut a clause invented after the sentence: the reply starts "
                                "as the source (or a plausible correction of it), ends as the source ends, and "
                                "goes on")
    # Dice coefficient of the letter/digit multisets of the prediction and the source. On NaCGEC dev the 20
    # prompt-leakage lines of the GoodGap outputs score 0.00-0.17 and every other line 0.59 or more; 200,000
    # random pairs of unrelated NaCGEC test sentences score 0.10 (median), 0.28 (99.9th percentile), 0.35
    # (99.99th). 0.35 rejects unrelated text while a prediction that keeps a quarter of the source (Dice
    # 0.4) or rewrites it heavily still passes.
    min_similarity: Annotated[Number, Field(ge=0, le=1)] = Field(
        0.35, description="a result whose similarity with the source (Dice coefficient of their letters and "
        "digits) is below this falls back to the source; 0 turns the check off")


def _cleaning(value: Any) -> Any:
    """`cleaning: null` (or no key) keeps the defaults."""
    if value is None:
        return {}
    if not isinstance(value, (dict, CleaningSpec)):
        raise ValueError(f"expected a mapping of rules (`enabled: false` turns cleaning off), got {value!r}")
    return value


class RunConfig(_Spec):
    name: Text
    dataset: Annotated[DatasetSpec, BeforeValidator(_dataset)]
    model: ModelSpec
    prompt: PromptSpec = PromptSpec()
    prompts: FamilyPrompts = FamilyPrompts()  # run --benchmarks: a prompt per task family
    cleaning: Annotated[CleaningSpec, BeforeValidator(_cleaning)] = CleaningSpec()  # null: the defaults
    limits: LimitsSpec = LimitsSpec()
    scoring: ScoringSpec = ScoringSpec()
    report: ReportSpec = ReportSpec()
    _path: str | None = PrivateAttr(default=None)

    @property
    def path(self) -> str | None:
        """Where the config was read from (not part of it: moving a file changes nothing)."""
        return self._path

    @field_validator("name")
    @classmethod
    def _folder_name(cls, value: str) -> str:
        if not _RUN_NAME.fullmatch(value):
            raise ValueError("use letters, digits, '.', '_' and '-' only (it names the results folder)")
        return value

    @field_serializer("cleaning")
    def _cleaning_as_written(self, cleaning: CleaningSpec) -> dict[str, Any] | None:
        """The cleaning keys the config wrote (null for none), not the long default word lists: a
        record's config stays what was written, and so does its hash."""
        return cleaning.model_dump(mode="json", exclude_unset=True) or None

    @model_serializer(mode="wrap")
    def _without_unset_prompts(self, handler: Any) -> dict[str, Any]:
        """`prompts` only when the config writes it: a config without it keeps its hash."""
        data = handler(self)
        if not data.get("prompts"):
            data.pop("prompts", None)
        return data

    def prompt_for(self, task: str) -> PromptSpec:
        """The prompt of a benchmark of task family `task` (`gec` or `csc`): `prompts.<task>`, else
        for GEC the config's own `prompt:` when it writes one, else the family's default."""
        chosen = getattr(self.prompts, task)
        if chosen is not None:
            return chosen
        if task == "gec":
            return self.prompt if "prompt" in self.model_fields_set else GEC_PROMPT
        return CSC_PROMPT

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @property
    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True, ensure_ascii=False).encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# Reading


def _expand(value: Any, key: str, where: str, strict_env: bool) -> Any:
    """`${NAME}` and `${NAME:-default}` in every string of the tree, from the environment."""
    if isinstance(value, dict):
        return {k: _expand(v, f"{key}.{k}" if key else str(k), where, strict_env) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, f"{key}[{i}]", where, strict_env) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        found = os.environ.get(name)
        if found:
            return found
        if default is not None:
            return default
        if not strict_env:
            return match.group(0)
        raise HarnessError(f"{key}: environment variable {name} is not set", where)

    return _ENV.sub(substitute, value)


def _key(location: tuple) -> str:
    """A pydantic error location as the dotted key a user wrote (`prompt.few_shot[0]`)."""
    out = ""
    for part in location:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _allowed(location: tuple) -> str:
    """The keys allowed where an unknown key was found."""
    model: type[BaseModel] | None = RunConfig
    for part in location[:-1]:
        field = model.model_fields.get(part) if model is not None else None
        annotation = field.annotation if field is not None else None
        model = next((t for t in getattr(annotation, "__args__", ()) + (annotation,)
                      if isinstance(t, type) and issubclass(t, BaseModel)), None)
        if model is GenerationParams or part == "params":
            model = GenerationParams
    fields = model.model_fields if model is not None else {}
    return ", ".join(name for name in fields if name != "path")


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str], where: str) -> dict[str, Any]:
    """`key.sub=value` settings from the command line (values read as YAML: `0`, `[a, b]`, `null`)."""
    raw = copy.deepcopy(raw)
    for override in overrides:
        key, equals, text = override.partition("=")
        if not equals or not key.strip():
            raise HarnessError(f"--set {override!r}: expected KEY=VALUE, e.g. model.params.temperature=0")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise HarnessError(f"--set {key}: the value {text!r} is not a YAML value") from None
        node = raw
        *parents, last = key.strip().split(".")
        for part in parents:
            child = node.get(part)
            if child is None or isinstance(child, str) and part == "dataset":
                child = node[part] = {"name": child} if isinstance(child, str) else {}
            if not isinstance(child, dict):
                raise HarnessError(f"--set {key}: {part} is not a mapping in {where}")
            node = child
        node[last] = value
    return raw


def parse_config(raw: Any, where: str, strict_env: bool = True, node: yaml.Node | None = None,
                 overrides: Sequence[str] = ()) -> RunConfig:
    if not isinstance(raw, dict):
        raise HarnessError(f"expected a mapping of config keys, got {type(raw).__name__}", where)
    raw = _expand(apply_overrides(raw, overrides, where), "", where, strict_env)
    try:
        config = RunConfig.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        location = tuple(p for p in first["loc"] if not str(p).startswith(("function-", "json-or-python")))
        key = _key(location)
        if first["type"] == "extra_forbidden":
            message = f"unknown key (allowed: {_allowed(location)})"
        elif first["type"] == "missing":
            message = "is required"
        else:
            message = first["msg"].removeprefix("Value error, ")
            if first["type"] != "value_error" and not isinstance(first.get("input"), (dict, list)):
                message += f", got {first.get('input')!r}"
        overridden = any(key == o.split("=", 1)[0] or key.startswith(o.split("=", 1)[0] + ".") for o in overrides)
        if overridden:
            message += " (set by --set)"
        raise HarnessError(f"{key}: {message}" if key else message, where,
                           None if overridden else line_of(node, location)) from None
    config._path = where
    return config


def load_config(path: str | Path, strict_env: bool = True, overrides: Sequence[str] = ()) -> RunConfig:
    """`strict_env=False` leaves unset `${VAR}`s as they are: for uses that need only the
    prompt and dataset (preparing training data), not the model."""
    path = Path(path)
    if path.is_dir():
        raise HarnessError("is a folder, not a config file", path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HarnessError("no such config file", path) from None
    except UnicodeDecodeError as error:
        raise HarnessError(f"not UTF-8 text (byte {error.start})", path) from None
    except OSError as error:
        raise HarnessError(f"cannot read: {error.strerror}", path) from None
    try:
        raw = yaml.safe_load(text)
        node = yaml.compose(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise HarnessError(f"invalid YAML: {getattr(error, 'problem', error)}", path,
                           mark.line + 1 if mark else None) from None
    return parse_config(raw, str(path), strict_env, node, overrides)

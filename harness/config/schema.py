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
    AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, Strict, ValidationError, field_validator,
    model_validator,
)

from harness.core.errors import HarnessError

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
    predictions: Text | None = None  # stored: manifest output name or path
    format: Literal["auto", "lines", "jsonl", "para"] = "auto"  # stored
    poll_interval: Annotated[Number, Field(gt=0)] = 30.0  # openai-batch: seconds between status checks
    max_batch_requests: Annotated[Int, Field(ge=1)] = 50_000  # openai-batch: the API's per-batch limit
    batch_metadata: dict[Text, Text] = Field(default_factory=dict)  # openai-batch: metadata of each batch

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


class LimitsSpec(_Spec):
    concurrency: Annotated[Int, Field(ge=1)] = 8
    requests_per_minute: Annotated[Number, Field(gt=0)] | None = None
    tokens_per_minute: Annotated[Number, Field(gt=0)] | None = None


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


class ScoringSpec(_Spec):
    levels: Annotated[tuple[Literal["char", "word"], ...], BeforeValidator(_tuple), Field(min_length=1)] = \
        ("char", "word")
    word_scorer: Literal["maxmatch", "cherrant"] = "maxmatch"
    segmenter: Literal["thulac", "jieba"] = "thulac"


class ReportSpec(_Spec):
    """How a run appears in `harness table`: the row of data/reported/ it reproduces, if any."""

    label: Label | None = None
    params: Label | None = None
    train_data: Label | None = None


def _dataset(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


class RunConfig(_Spec):
    name: Text
    dataset: Annotated[DatasetSpec, BeforeValidator(_dataset)]
    model: ModelSpec
    prompt: PromptSpec = PromptSpec()
    cleaning: dict[str, Any] | None = None  # None: the default rules; {"enabled": False}: off
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


def _line(node: yaml.Node | None, location: tuple) -> int | None:
    """The YAML line of the value (or key) at `location`, when the file was YAML."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in location:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == part), None)
            if match is None:
                break
            node = match[1]
            line = match[0].start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


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
                           None if overridden else _line(node, location)) from None
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

"""Run configs (`configs/*.yaml`): parsed and validated once, with errors that name the key."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import HarnessError

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
GENERATION_KEYS = ("temperature", "max_tokens", "seed", "top_p", "stop", "frequency_penalty", "presence_penalty")


@dataclass(frozen=True)
class DatasetSpec:
    """A manifest dataset name, or a para file path."""

    name: str | None = None
    path: str | None = None
    format: str = "para"


@dataclass(frozen=True)
class ModelSpec:
    backend: str  # openai | stored
    model: str | None = None
    base_url: str | None = None
    api_key_env: str | None = "OPENAI_API_KEY"
    params: dict[str, Any] = field(default_factory=dict)
    extra_body: dict[str, Any] = field(default_factory=dict)
    timeout: float = 60.0
    retries: int = 6
    predictions: str | None = None  # stored: manifest output name or path
    format: str = "auto"  # stored: lines | jsonl | para | auto
    poll_interval: float = 30.0  # openai-batch: seconds between status checks
    max_batch_requests: int = 50_000  # openai-batch: the API's per-batch limit
    batch_metadata: dict[str, str] = field(default_factory=dict)  # openai-batch: metadata of each batch


@dataclass(frozen=True)
class PromptSpec:
    system: str | None = None
    user: str = "{source}"
    few_shot: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class LimitsSpec:
    concurrency: int = 8
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None


@dataclass(frozen=True)
class ScoringSpec:
    levels: tuple[str, ...] = ("char", "word")
    word_scorer: str = "maxmatch"
    segmenter: str = "thulac"


@dataclass(frozen=True)
class ReportSpec:
    """How a run appears in `harness table`: the row of data/reported/ it reproduces, if any."""

    label: str | None = None
    params: str | None = None
    train_data: str | None = None


@dataclass(frozen=True)
class RunConfig:
    name: str
    dataset: DatasetSpec
    model: ModelSpec
    prompt: PromptSpec = PromptSpec()
    cleaning: dict[str, Any] | None = None  # None: the default rules; {"enabled": False}: off
    limits: LimitsSpec = LimitsSpec()
    scoring: ScoringSpec = ScoringSpec()
    report: ReportSpec = ReportSpec()
    path: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("path")
        return data

    @property
    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class _Reader:
    """Walks a mapping, remembering the dotted key, so every error says which key is wrong."""

    def __init__(self, path: str, strict_env: bool = True) -> None:
        self.path = path
        self.strict_env = strict_env

    def fail(self, key: str, message: str) -> HarnessError:
        return HarnessError(f"{key}: {message}", self.path)

    def mapping(self, value: Any, key: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping, got {type(value).__name__}")
        for name in value:
            if name not in allowed:
                raise self.fail(f"{key}.{name}" if key else str(name),
                                f"unknown key (allowed: {', '.join(allowed)})")
        return value

    def string(self, value: Any, key: str, required: bool = False) -> str | None:
        if value is None:
            if required:
                raise self.fail(key, "is required")
            return None
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {type(value).__name__}")
        return self.expand(value, key)

    def number(self, value: Any, key: str, default: float | None, minimum: float = 0) -> float | None:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
            raise self.fail(key, f"expected a number >= {minimum}, got {value!r}")
        return value

    def choice(self, value: Any, key: str, options: tuple[str, ...], default: str) -> str:
        if value is None:
            return default
        if value not in options:
            raise self.fail(key, f"expected one of {', '.join(options)}, got {value!r}")
        return value

    def expand(self, text: str, key: str) -> str:
        """`${NAME}` and `${NAME:-default}` from the environment."""

        def substitute(match: re.Match) -> str:
            name, default = match.group(1), match.group(2)
            value = os.environ.get(name)
            if value:
                return value
            if default is not None:
                return default
            if not self.strict_env:
                return match.group(0)
            raise self.fail(key, f"environment variable {name} is not set")

        return _ENV.sub(substitute, text)


def load_config(path: str | Path, strict_env: bool = True) -> RunConfig:
    """`strict_env=False` leaves unset `${VAR}`s as they are: for uses that need only the
    prompt and dataset (preparing training data), not the model."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HarnessError("no such config file", path) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise HarnessError(f"invalid YAML: {getattr(error, 'problem', error)}", path,
                           mark.line + 1 if mark else None) from None
    return parse_config(raw, str(path), strict_env)


def parse_config(raw: Any, where: str, strict_env: bool = True) -> RunConfig:
    r = _Reader(where, strict_env)
    top = r.mapping(raw, "", ("name", "dataset", "model", "prompt", "cleaning", "limits", "scoring", "report"))
    name = r.string(top.get("name"), "name", required=True)
    if not _RUN_NAME.match(name or ""):
        raise r.fail("name", "use letters, digits, '.', '_' and '-' only (it names the results folder)")

    dataset_raw = top.get("dataset")
    if isinstance(dataset_raw, str):
        dataset = DatasetSpec(name=r.expand(dataset_raw, "dataset"))
    else:
        d = r.mapping(dataset_raw, "dataset", ("name", "path", "format"))
        if not d:
            raise r.fail("dataset", "is required (a manifest name such as nacgec-dev, or {path: FILE})")
        dataset = DatasetSpec(r.string(d.get("name"), "dataset.name"), r.string(d.get("path"), "dataset.path"),
                              r.choice(d.get("format"), "dataset.format", ("para",), "para"))
        if (dataset.name is None) == (dataset.path is None):
            raise r.fail("dataset", "give exactly one of name or path")

    m = r.mapping(top.get("model"), "model", ("backend", "model", "base_url", "api_key_env", "params",
                                                 "extra_body", "timeout", "retries", "predictions", "format",
                                                 "poll_interval", "max_batch_requests", "batch_metadata"))
    if not m:
        raise r.fail("model", "is required")
    backend = r.choice(m.get("backend"), "model.backend", ("openai", "openai-batch", "stored"), "")
    if not backend:
        raise r.fail("model.backend", "is required (openai, openai-batch or stored)")
    params = r.mapping(m.get("params"), "model.params", GENERATION_KEYS)
    extra_body = m.get("extra_body") or {}
    if not isinstance(extra_body, dict):
        raise r.fail("model.extra_body", "expected a mapping")
    api_key_env = m.get("api_key_env", "OPENAI_API_KEY")
    if api_key_env is not None and not isinstance(api_key_env, str):
        raise r.fail("model.api_key_env", "expected the NAME of an environment variable, or null")
    model = ModelSpec(
        backend=backend,
        model=r.string(m.get("model"), "model.model", required=backend != "stored"),
        base_url=r.string(m.get("base_url"), "model.base_url"),
        api_key_env=api_key_env,
        params=dict(params),
        extra_body=dict(extra_body),
        timeout=float(r.number(m.get("timeout"), "model.timeout", 60.0, minimum=0.001)),
        retries=int(r.number(m.get("retries"), "model.retries", 6)),
        predictions=r.string(m.get("predictions"), "model.predictions", required=backend == "stored"),
        format=r.choice(m.get("format"), "model.format", ("auto", "lines", "jsonl", "para"), "auto"),
        poll_interval=float(r.number(m.get("poll_interval"), "model.poll_interval", 30.0, minimum=0.01)),
        max_batch_requests=int(r.number(m.get("max_batch_requests"), "model.max_batch_requests", 50_000, minimum=1)),
        batch_metadata={str(k): str(v) for k, v in (m.get("batch_metadata") or {}).items()},
    )
    if backend == "stored" and (m.get("model") or m.get("base_url") or params):
        raise r.fail("model", "a stored backend takes predictions and format only")

    p = r.mapping(top.get("prompt"), "prompt", ("system", "user", "few_shot"))
    user = r.string(p.get("user"), "prompt.user") or "{source}"
    if "{source}" not in user:
        raise r.fail("prompt.user", "must contain {source}")
    few_shot_raw = p.get("few_shot") or []
    if not isinstance(few_shot_raw, list):
        raise r.fail("prompt.few_shot", "expected a list of {source, target}")
    few_shot = []
    for index, pair in enumerate(few_shot_raw):
        pair = r.mapping(pair, f"prompt.few_shot[{index}]", ("source", "target"))
        few_shot.append((r.string(pair.get("source"), f"prompt.few_shot[{index}].source", required=True),
                         r.string(pair.get("target"), f"prompt.few_shot[{index}].target", required=True)))
    prompt = PromptSpec(r.string(p.get("system"), "prompt.system"), user, tuple(few_shot))

    cleaning = top.get("cleaning")
    if cleaning is not None and not isinstance(cleaning, dict):
        raise r.fail("cleaning", "expected a mapping")

    lim = r.mapping(top.get("limits"), "limits", ("concurrency", "requests_per_minute", "tokens_per_minute"))
    limits = LimitsSpec(int(r.number(lim.get("concurrency"), "limits.concurrency", 8, minimum=1)),
                        r.number(lim.get("requests_per_minute"), "limits.requests_per_minute", None, 0.001),
                        r.number(lim.get("tokens_per_minute"), "limits.tokens_per_minute", None, 0.001))

    s = r.mapping(top.get("scoring"), "scoring", ("levels", "word_scorer", "segmenter"))
    levels = s.get("levels", ["char", "word"])
    if not isinstance(levels, list) or not levels or any(level not in ("char", "word") for level in levels):
        raise r.fail("scoring.levels", "expected a list drawn from char, word")
    scoring = ScoringSpec(tuple(levels), r.choice(s.get("word_scorer"), "scoring.word_scorer",
                                                  ("maxmatch", "cherrant"), "maxmatch"),
                          r.choice(s.get("segmenter"), "scoring.segmenter", ("thulac", "jieba"), "thulac"))
    rep = r.mapping(top.get("report"), "report", ("label", "params", "train_data"))
    report = ReportSpec(*(None if rep.get(key) is None else str(rep[key]) for key in ("label", "params", "train_data")))
    return RunConfig(name, dataset, model, prompt, cleaning, limits, scoring, report, where)

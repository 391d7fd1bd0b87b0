"""The benchmark registry, `data/benchmarks.yaml`: read once, validated with pydantic, every
error one `HarnessError` naming the file, the key and its line. A benchmark is data (files of
the manifest, a loader name, its protocol, terms, BibTeX, published rows): adding one is an
entry here plus, at most, a loader."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.benchmarks.loaders import LOADER_ROLES
from harness.core.errors import HarnessError
from harness.core.yamlpos import line_of
from harness.core.resources import packaged
from harness.data.manifest import Manifest, load_manifest
from metrics.options import DEFAULT_BETA, DEFAULT_MAX_UNCHANGED, SEGMENTERS

DEFAULT_REGISTRY_PATH = packaged("benchmarks.yaml")

Scorer = Literal["cherrant-char", "maxmatch-word", "m2scorer-gold", "exact-match", "detection", "csc"]
Step = Literal["whitespace", "bom", "gold-punctuation", "remove-chars"]

# The metric keys each scorer produces (fractions; counts end in tp/fp/fn). `headline` must be one.
METRIC_KEYS: dict[str, tuple[str, ...]] = {
    "cherrant-char": ("char.p", "char.r", "char.f05"),
    "maxmatch-word": ("word.p", "word.r", "word.f05", "nlpcc2023"),
    "m2scorer-gold": ("word.p", "word.r", "word.f05"),
    "exact-match": ("exact_match",),
    "detection": ("detection.p", "detection.r", "detection.f1", "detection.accuracy", "detection.macro_f1"),
    "csc": tuple(f"{level}.{kind}.{figure}" for level in ("sentence", "char")
                 for kind in ("detection", "correction") for figure in ("p", "r", "f1")),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProtocolOptions(_Strict):
    """Scorer settings as plain data; `harness/benchmarks/options.py` maps them onto the scorer."""

    beta: float = Field(DEFAULT_BETA, gt=0)
    t2s: bool = True
    max_unchanged: int = Field(DEFAULT_MAX_UNCHANGED, ge=0)
    segmenter: str | None = None

    @field_validator("segmenter")
    @classmethod
    def _known_segmenter(cls, value: str | None) -> str | None:
        if value is not None and value not in SEGMENTERS:
            raise ValueError(f"expected one of {', '.join(SEGMENTERS)}")
        return value


class ProtocolSpec(_Strict):
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    scorers: tuple[Scorer, ...] = Field(min_length=1)
    options: ProtocolOptions = ProtocolOptions()
    preprocessing: tuple[Step, ...] = ()
    remove_chars: str | None = None
    sentences: Literal["all", "erroneous"] = "all"
    headline: str

    @model_validator(mode="after")
    def _consistent(self) -> "ProtocolSpec":
        if ("remove-chars" in self.preprocessing) != bool(self.remove_chars):
            raise ValueError("remove_chars is needed exactly when preprocessing lists remove-chars")
        keys = [key for scorer in self.scorers for key in METRIC_KEYS[scorer]]
        if self.headline not in keys:
            raise ValueError(f"headline {self.headline!r} is not a metric of these scorers ({', '.join(keys)})")
        if "maxmatch-word" in self.scorers or "m2scorer-gold" in self.scorers:
            if self.options.segmenter is None:
                raise ValueError("a word-level scorer needs options.segmenter")
        return self


class ReportedSpec(_Strict):
    file: str = Field(pattern=r"^reported/[A-Za-z0-9._-]+\.csv$")
    format: Literal["rows", "seed-table"]


class SubmissionSpec(_Strict):
    file_name: str = Field(min_length=1)
    format: Literal["id-source-prediction"]


class BenchmarkSpec(_Strict):
    title: str = Field(min_length=1)
    task: Literal["gec", "csc"]
    split: str = Field(min_length=1)
    loader: str
    files: dict[str, str]
    protocol: ProtocolSpec
    terms: str = Field(min_length=1)
    citation: str
    reported: ReportedSpec | None = None
    submission: SubmissionSpec | None = None

    @field_validator("loader")
    @classmethod
    def _known_loader(cls, value: str) -> str:
        if value not in LOADER_ROLES:
            raise ValueError(f"unknown loader {value!r} (known: {', '.join(sorted(LOADER_ROLES))})")
        return value

    @field_validator("citation")
    @classmethod
    def _bibtex(cls, value: str) -> str:
        text = value.strip()
        if not (text.startswith("@") and "{" in text and text.count("{") == text.count("}")):
            raise ValueError("expected one BibTeX entry (@kind{key, ...} with balanced braces)")
        return text + "\n"

    @model_validator(mode="after")
    def _roles_and_task(self) -> "BenchmarkSpec":
        needed = set(LOADER_ROLES[self.loader])
        if set(self.files) != needed:
            raise ValueError(f"loader {self.loader} reads the files {', '.join(sorted(needed))}; "
                             f"got {', '.join(sorted(self.files)) or 'none'}")
        if (self.task == "csc") != (self.protocol.scorers == ("csc",)):
            raise ValueError("task csc goes with the csc scorer alone, and only with it")
        return self


class Registry(_Strict):
    benchmarks: dict[str, BenchmarkSpec] = Field(min_length=1)

    def get(self, name: str) -> BenchmarkSpec:
        """The benchmark called `name`; an error listing the known ones otherwise."""
        if name not in self.benchmarks:
            raise HarnessError(f"unknown benchmark {name!r} (known: {', '.join(self.benchmarks)})")
        return self.benchmarks[name]


def _validated(raw: Any, node: yaml.Node, where: Path) -> Registry:
    try:
        return Registry.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        location = tuple(part for part in first["loc"] if not str(part).startswith(("function-", "literal[")))
        key = ".".join(str(part) for part in location)
        message = {"extra_forbidden": "unknown key", "missing": "is required"}.get(
            first["type"], first["msg"].removeprefix("Value error, "))
        raise HarnessError(f"{key}: {message}" if key else message, where, line_of(node, location)) from None


def _check_files(registry: Registry, manifest: Manifest, node: yaml.Node, where: Path) -> None:
    """Every file is pinned in the manifest; every reported file exists beside the registry."""
    for name, spec in registry.benchmarks.items():
        for role, relpath in spec.files.items():
            if relpath not in manifest.files:
                raise HarnessError(f"benchmarks.{name}.files.{role}: {relpath!r} is not a file of data/manifest.yaml",
                                   where, line_of(node, ("benchmarks", name, "files", role)))
        if spec.reported is not None and not (where.parent / spec.reported.file).is_file():
            raise HarnessError(f"benchmarks.{name}.reported.file: no such file {spec.reported.file}", where,
                               line_of(node, ("benchmarks", name, "reported", "file")))


def load_registry(path: Path | None = None, manifest: Manifest | None = None) -> Registry:
    """Read and validate the registry (default: the packaged `data/benchmarks.yaml`, read once
    per process)."""
    return _default_registry() if path is None else _read(Path(path), manifest)


@lru_cache(maxsize=1)
def _default_registry() -> Registry:
    return _read(DEFAULT_REGISTRY_PATH, None)


def _read(where: Path, manifest: Manifest | None) -> Registry:
    try:
        text = where.read_text(encoding="utf-8")
        raw, node = yaml.safe_load(text), yaml.compose(text)
    except OSError as error:
        raise HarnessError(f"cannot read the benchmark registry: {error.strerror}", where) from None
    except UnicodeDecodeError as error:
        raise HarnessError(f"not UTF-8 text (byte {error.start})", where) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise HarnessError(f"invalid YAML: {getattr(error, 'problem', error)}", where,
                           mark.line + 1 if mark else None) from None
    if not isinstance(raw, dict):
        raise HarnessError("expected a top-level 'benchmarks:' mapping", where)
    registry = _validated(raw, node, where)
    _check_files(registry, manifest or load_manifest(), node, where)
    return registry


def listing_rows(registry: Registry) -> list[list[str]]:
    """A row per benchmark for `harness list`: name, task, split, protocol, headline, files."""
    return [[name, spec.task, spec.split, spec.protocol.name, spec.protocol.headline,
             ", ".join(sorted(spec.files.values()))] for name, spec in registry.benchmarks.items()]


def benchmark_names(text: str, registry: Registry | None = None) -> tuple[str, ...]:
    """`--benchmarks a,b,c` as names of the registry, in the order given (an unknown name is an
    error listing the known ones)."""
    names = tuple(name.strip() for name in text.split(","))
    if not all(names):
        raise HarnessError(f"--benchmarks {text!r}: expected names separated by commas, e.g. nacgec-dev,mucgec-dev")
    twice = next((name for name in names if names.count(name) > 1), None)
    if twice is not None:
        raise HarnessError(f"--benchmarks: {twice} is named twice")
    known = registry or load_registry()
    for name in names:
        known.get(name)
    return names

"""Find corpora and resources without committing them: local mirror, then user cache, then a verified download."""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from harness.core.errors import HarnessError
from harness.core.resources import packaged

#: The manifest shipped with the package (``data/manifest.yaml`` of the checkout).
DEFAULT_MANIFEST_PATH = packaged("manifest.yaml")

DOWNLOAD_TIMEOUT_S = 60
_CHUNK = 1 << 16

_REQUIRED_FILE_KEYS = ("url", "sha256", "size", "licence", "citation", "description")
_OPTIONAL_FILE_KEYS = ("encoding", "line_endings")
_DATASET_FILE_KEYS = ("references", "error_types", "sources")
_OUTPUT_FILE_KEYS = ("file",)


@dataclass(frozen=True)
class DataSettings:
    """Where to look for data files.

    ``data_dir`` is a local mirror with the manifest's relative layout (read only, never
    written); ``cache_dir`` receives downloads; ``base_url``, when set, replaces each
    manifest URL by ``f"{base_url}/{relpath}"`` (a mirror served over HTTP, or a test server).
    """

    data_dir: Path | None
    cache_dir: Path
    base_url: str | None = None

    @classmethod
    def from_env(
        cls,
        data_dir: str | Path | None = None,
        cache_dir: str | Path | None = None,
        base_url: str | None = None,
    ) -> DataSettings:
        """Settings from explicit arguments, else ``CGEC_DATA_DIR``, ``CGEC_CACHE_DIR``,
        ``CGEC_DATA_BASE_URL``; the cache defaults to ``$XDG_CACHE_HOME/cgec-harness`` or
        ``~/.cache/cgec-harness``. Empty environment values count as unset."""
        env = os.environ
        if data_dir is None:
            data_dir = env.get("CGEC_DATA_DIR") or None
        if cache_dir is None:
            cache_dir = env.get("CGEC_CACHE_DIR") or None
        if cache_dir is None:
            xdg = env.get("XDG_CACHE_HOME")
            root = Path(xdg) if xdg else Path.home() / ".cache"
            cache_dir = root / "cgec-harness"
        if base_url is None:
            base_url = env.get("CGEC_DATA_BASE_URL") or None
        settings = cls(
            data_dir=Path(data_dir).expanduser() if data_dir is not None else None,
            cache_dir=Path(cache_dir).expanduser(),
            base_url=base_url,
        )
        for name, folder in (("the data mirror (CGEC_DATA_DIR)", settings.data_dir),
                             ("the cache (CGEC_CACHE_DIR)", settings.cache_dir)):
            if folder is not None and folder.exists() and not folder.is_dir():
                raise HarnessError(f"{name} is not a folder", folder)
        return settings


@dataclass(frozen=True)
class FileEntry:
    """One file of the manifest: where it comes from, what it must hash to, whose it is."""

    relpath: str
    url: str
    sha256: str
    size: int
    licence: str
    citation: str
    description: str
    encoding: str = "utf-8"
    line_endings: str = "lf"


@dataclass(frozen=True)
class Manifest:
    """The parsed ``data/manifest.yaml``: files by relative path, named datasets and outputs."""

    files: dict[str, FileEntry]
    datasets: dict[str, dict[str, Any]]
    outputs: dict[str, dict[str, Any]]

    def entry(self, relpath: str) -> FileEntry:
        """The entry for ``relpath``; a ``HarnessError`` listing the known files otherwise."""
        try:
            return self.files[relpath]
        except KeyError:
            known = ", ".join(sorted(self.files))
            raise HarnessError(
                f"unknown data file {relpath!r}: not in the manifest (known: {known})"
            ) from None


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_relpath(relpath: Any, where: Path) -> str:
    if not isinstance(relpath, str) or not relpath:
        raise HarnessError(f"file key {relpath!r} is not a non-empty string", path=where)
    pure = PurePosixPath(relpath)
    if pure.is_absolute() or ".." in pure.parts or "\\" in relpath:
        raise HarnessError(
            f"file key {relpath!r} must be a relative POSIX path without '..'", path=where
        )
    return relpath


def _parse_file_entry(relpath: str, raw: Any, where: Path) -> FileEntry:
    if not isinstance(raw, dict):
        raise HarnessError(f"files.{relpath}: expected a mapping", path=where)
    missing = [k for k in _REQUIRED_FILE_KEYS if k not in raw]
    if missing:
        raise HarnessError(f"files.{relpath}: missing key(s) {', '.join(missing)}", path=where)
    unknown = sorted(set(raw) - set(_REQUIRED_FILE_KEYS) - set(_OPTIONAL_FILE_KEYS))
    if unknown:
        raise HarnessError(f"files.{relpath}: unknown key(s) {', '.join(unknown)}", path=where)
    sha = raw["sha256"]
    if not (isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)):
        raise HarnessError(f"files.{relpath}: sha256 must be 64 lowercase hex digits", path=where)
    size = raw["size"]
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise HarnessError(f"files.{relpath}: size must be a non-negative integer", path=where)
    strings = {}
    for key in ("url", "licence", "citation", "description", *_OPTIONAL_FILE_KEYS):
        if key in raw:
            if not isinstance(raw[key], str) or not raw[key].strip():
                raise HarnessError(f"files.{relpath}: {key} must be a non-empty string", path=where)
            strings[key] = raw[key].strip()
    if not strings["url"].startswith(("https://", "http://")):
        raise HarnessError(f"files.{relpath}: url must be http(s)", path=where)
    if strings.get("line_endings", "lf") not in ("lf", "crlf"):
        raise HarnessError(f"files.{relpath}: line_endings must be lf or crlf", path=where)
    return FileEntry(relpath=relpath, sha256=sha, size=size, **strings)


def _parse_named(
    section: str, raw: Any, file_keys: tuple[str, ...], files: dict[str, FileEntry], where: Path
) -> dict[str, dict[str, Any]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise HarnessError(f"{section}: expected a mapping of names", path=where)
    out: dict[str, dict[str, Any]] = {}
    for name, spec in raw.items():
        if not isinstance(spec, dict):
            raise HarnessError(f"{section}.{name}: expected a mapping", path=where)
        for key in file_keys:
            if key in spec and spec[key] not in files:
                raise HarnessError(
                    f"{section}.{name}.{key}: {spec[key]!r} is not listed under files", path=where
                )
        out[str(name)] = dict(spec)
    return out


def load_manifest(path: Path | None = None) -> Manifest:
    """Read and validate the data manifest (default: ``data/manifest.yaml`` of the checkout)."""
    where = Path(path) if path is not None else DEFAULT_MANIFEST_PATH
    if not where.is_file():
        raise HarnessError(
            "data manifest not found (it ships with the package as harness/_data/manifest.yaml)",
            path=where,
        )
    import yaml  # here, not at import: a run that never reads the manifest does not pay for it

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it: 5x faster
    try:
        raw = yaml.load(where.read_text(encoding="utf-8"), Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise HarnessError(f"invalid YAML: {exc}", path=where, line=line) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("files"), dict) or not raw["files"]:
        raise HarnessError("expected a top-level 'files:' mapping", path=where)
    unknown = sorted(set(raw) - {"files", "datasets", "outputs"})
    if unknown:
        raise HarnessError(f"unknown top-level key(s) {', '.join(unknown)}", path=where)
    files: dict[str, FileEntry] = {}
    for relpath, spec in raw["files"].items():
        relpath = _check_relpath(relpath, where)
        files[relpath] = _parse_file_entry(relpath, spec, where)
    datasets = _parse_named("datasets", raw.get("datasets"), _DATASET_FILE_KEYS, files, where)
    outputs = _parse_named("outputs", raw.get("outputs"), _OUTPUT_FILE_KEYS, files, where)
    for name, spec in outputs.items():
        if "dataset" in spec and spec["dataset"] not in datasets:
            raise HarnessError(
                f"outputs.{name}.dataset: {spec['dataset']!r} is not listed under datasets",
                path=where,
            )
    return Manifest(files=files, datasets=datasets, outputs=outputs)


def download_url(entry: FileEntry, settings: DataSettings) -> str:
    """The URL ``resolve`` downloads ``entry`` from under ``settings``."""
    if settings.base_url:
        return f"{settings.base_url.rstrip('/')}/{entry.relpath}"
    return entry.url


def resolve(
    relpath: str,
    settings: DataSettings,
    manifest: Manifest | None = None,
    progress: bool = True,
    on_download: Callable[[FileEntry], None] | None = None,
) -> Path:
    """Path of a verified copy of ``relpath``: the mirror's, the cache's, or a fresh download.

    A mirror file that does not hash to the manifest's sha256 is an error (the mirror is never
    written to); a stale cached file is deleted and downloaded again. After a download,
    ``on_download(entry)`` runs (default: the file's terms and citation on stderr), so a user
    reads them once, when the file first arrives.
    """
    manifest = manifest if manifest is not None else load_manifest()
    entry = manifest.entry(relpath)

    if settings.data_dir is not None:
        mirrored = Path(settings.data_dir) / relpath
        if mirrored.is_file():
            actual = sha256_file(mirrored)
            if actual != entry.sha256:
                raise HarnessError(
                    f"sha256 mismatch for {relpath} in the data mirror: expected "
                    f"{entry.sha256}, got {actual} (the mirror copy differs from the manifest)",
                    path=mirrored,
                )
            return mirrored

    cached = Path(settings.cache_dir) / relpath
    if cached.is_file():
        if sha256_file(cached) == entry.sha256:
            return cached
        cached.unlink()

    _download(entry, download_url(entry, settings), cached, progress)
    (on_download or announce_download)(entry)
    return cached


def announce_download(entry: FileEntry) -> None:
    """A freshly downloaded file's terms of use and citation, on stderr."""
    print(f"downloaded {entry.relpath}\n  terms: {entry.licence}\n  cite: {entry.citation}", file=sys.stderr)


def _download(entry: FileEntry, url: str, dest: Path, progress: bool) -> None:
    """Stream ``url`` into a temp file beside ``dest``, check sha256, then rename atomically."""
    import urllib.error  # only a download needs them (with http.client and ssl: 20 ms of import)
    import urllib.request

    from tqdm import tqdm

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.NamedTemporaryFile(
        dir=dest.parent, prefix=f".{dest.name}.", suffix=".part", delete=False
    )
    tmp_path = Path(tmp.name)
    try:
        digest = hashlib.sha256()
        with tmp:
            try:
                with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
                    length = response.headers.get("Content-Length")
                    total = int(length) if length and length.isdigit() else entry.size
                    with tqdm(
                        total=total,
                        unit="B",
                        unit_scale=True,
                        desc=entry.relpath,
                        disable=not progress,
                        leave=False,
                    ) as bar:
                        for chunk in iter(lambda: response.read(_CHUNK), b""):
                            tmp.write(chunk)
                            digest.update(chunk)
                            bar.update(len(chunk))
            except (urllib.error.URLError, OSError, ValueError) as exc:
                reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
                if isinstance(exc, urllib.error.HTTPError):
                    reason = f"HTTP {exc.code} {exc.reason}"
                raise HarnessError(
                    f"could not download {entry.relpath} from {url}: {reason}. "
                    "Without network access, point CGEC_DATA_DIR (or the data_dir setting) "
                    "at a local mirror with the same layout, e.g. CGEC_DATA_DIR=../shared/data"
                ) from None
        actual = digest.hexdigest()
        if actual != entry.sha256:
            raise HarnessError(
                f"sha256 mismatch for {entry.relpath} downloaded from {url}: expected "
                f"{entry.sha256}, got {actual}; nothing was kept"
            )
        os.replace(tmp_path, dest)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def resolve_input(spec: str | Path, settings: DataSettings, kind: str) -> Path:
    """A user-given input: an existing path, or a manifest name (`kind` "references": a dataset
    such as ``nacgec-dev``; "outputs": stored outputs such as ``llm-goodgap``) resolved and verified."""
    path = Path(spec)
    if path.exists():
        return path
    manifest = load_manifest()
    named = manifest.datasets if kind == "references" else manifest.outputs
    key = "references" if kind == "references" else "file"
    if str(spec) in named and key in named[str(spec)]:
        return resolve(named[str(spec)][key], settings, manifest)
    known = ", ".join(sorted(named)) or "none"
    what = "dataset" if kind == "references" else "stored-output"
    raise HarnessError(f"no such file, and not a {what} name of data/manifest.yaml (known: {known})", path)

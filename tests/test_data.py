"""Data resolution: the manifest describes the shared mirror exactly; files come from the
mirror, then the cache, else a verified download from a real server on 127.0.0.1."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.data.manifest import DataSettings, load_manifest, resolve, sha256_file
from harness.core.errors import HarnessError

SERVER_SCRIPT = Path(__file__).resolve().parent / "servers" / "static_server.py"
SMALL_FILES = ("outputs/llm-goodgap.nacgec-dev.txt", "nacgec/nacgec.dev.ref.para")

Server = tuple[str, Path]  # (base_url, request log)


@pytest.fixture(scope="session")
def manifest():
    return load_manifest()


@pytest.fixture
def served_root(tmp_path: Path, shared_data: Path) -> Path:
    """A temporary copy of a couple of small mirror files (never copied into the repo)."""
    root = tmp_path / "served"
    for relpath in SMALL_FILES:
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared_data / relpath, root / relpath)
    return root


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start static_server.py as a separate process; every process is terminated on teardown."""
    procs: list[subprocess.Popen[str]] = []

    def start(root: Path, corrupt: tuple[str, ...] = (), fail: tuple[str, ...] = ()) -> Server:
        log = tmp_path / f"requests-{len(procs)}.log"
        log.touch()
        cmd = [sys.executable, str(SERVER_SCRIPT), str(root), "--log", str(log)]
        for relpath in corrupt:
            cmd += ["--corrupt", relpath]
        for relpath in fail:
            cmd += ["--fail", relpath]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        assert port.isdigit(), f"server did not report a port (exit code {proc.poll()})"
        return f"http://127.0.0.1:{port}", log

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def requests_in(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").splitlines()


def leftovers(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


def test_manifest_lists_exactly_the_files_of_the_mirror_table(shared_data: Path, manifest) -> None:
    table_files = set()
    for line in (shared_data / "MANIFEST.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] not in ("file", "") and not set(cells[0]) <= {"-"}:
            table_files.add(cells[0])
    assert len(table_files) == 24
    assert set(manifest.files) == table_files


def test_every_manifest_entry_matches_its_mirror_file(shared_data: Path, manifest) -> None:
    for relpath, entry in manifest.files.items():
        path = shared_data / relpath
        assert path.stat().st_size == entry.size, relpath
        assert sha256_file(path) == entry.sha256, relpath


def test_manifest_records_special_encodings_and_line_endings(manifest) -> None:
    assert manifest.files["resources/cilin.txt"].encoding == "gbk"
    assert manifest.files["outputs/llm-goodgap.nacgec-dev.txt"].line_endings == "crlf"
    assert manifest.datasets["nacgec-dev"]["references"] == "nacgec/nacgec.dev.ref.para"
    assert manifest.outputs["llm-goodgap"]["dataset"] == "nacgec-dev"


def test_resolve_returns_the_mirror_file_in_place(shared_data: Path, manifest, tmp_path: Path) -> None:
    settings = DataSettings(data_dir=shared_data, cache_dir=tmp_path / "cache")
    path = resolve("nacgec/nacgec.dev.ref.para", settings, manifest, progress=False)
    assert path == shared_data / "nacgec/nacgec.dev.ref.para"
    assert leftovers(tmp_path / "cache") == []


def test_mirror_file_with_wrong_content_is_an_error(shared_data: Path, manifest, tmp_path: Path) -> None:
    relpath = "outputs/llm-goodgap.nacgec-dev.txt"
    mirror = tmp_path / "mirror"
    (mirror / relpath).parent.mkdir(parents=True)
    (mirror / relpath).write_bytes(b"tampered\r\n" + (shared_data / relpath).read_bytes())
    settings = DataSettings(data_dir=mirror, cache_dir=tmp_path / "cache")
    with pytest.raises(HarnessError) as err:
        resolve(relpath, settings, manifest, progress=False)
    message = str(err.value)
    assert relpath in message and "sha256" in message
    assert manifest.files[relpath].sha256 in message
    assert sha256_file(mirror / relpath) in message


def test_unknown_relpath_is_an_error(manifest, tmp_path: Path) -> None:
    settings = DataSettings(data_dir=None, cache_dir=tmp_path / "cache")
    with pytest.raises(HarnessError, match="not in the manifest"):
        resolve("nacgec/no-such-file.txt", settings, manifest, progress=False)


def test_download_fills_the_cache_with_the_verified_file(
    manifest, served_root: Path, start_server, tmp_path: Path
) -> None:
    base_url, log = start_server(served_root)
    cache = tmp_path / "cache"
    settings = DataSettings(data_dir=tmp_path / "empty-mirror", cache_dir=cache, base_url=base_url)
    relpath = "outputs/llm-goodgap.nacgec-dev.txt"
    path = resolve(relpath, settings, manifest, progress=True)
    assert path == cache / relpath
    assert sha256_file(path) == manifest.files[relpath].sha256
    assert requests_in(log) == [f"GET /{relpath} 200"]
    assert leftovers(cache) == [path]


def test_second_resolve_uses_the_cache_without_a_request(
    manifest, served_root: Path, start_server, tmp_path: Path
) -> None:
    base_url, log = start_server(served_root)
    settings = DataSettings(data_dir=None, cache_dir=tmp_path / "cache", base_url=base_url)
    relpath = "nacgec/nacgec.dev.ref.para"
    first = resolve(relpath, settings, manifest, progress=False)
    second = resolve(relpath, settings, manifest, progress=False)
    assert first == second
    assert len(requests_in(log)) == 1


def test_stale_cached_file_is_downloaded_again(
    manifest, served_root: Path, start_server, tmp_path: Path
) -> None:
    base_url, log = start_server(served_root)
    relpath = "nacgec/nacgec.dev.ref.para"
    cache = tmp_path / "cache"
    (cache / relpath).parent.mkdir(parents=True)
    (cache / relpath).write_bytes(b"stale")
    settings = DataSettings(data_dir=None, cache_dir=cache, base_url=base_url)
    path = resolve(relpath, settings, manifest, progress=False)
    assert sha256_file(path) == manifest.files[relpath].sha256
    assert len(requests_in(log)) == 1


def test_corrupt_download_is_an_error_and_leaves_nothing(
    manifest, served_root: Path, start_server, tmp_path: Path
) -> None:
    relpath = "outputs/llm-goodgap.nacgec-dev.txt"
    base_url, log = start_server(served_root, corrupt=(relpath,))
    cache = tmp_path / "cache"
    settings = DataSettings(data_dir=None, cache_dir=cache, base_url=base_url)
    with pytest.raises(HarnessError) as err:
        resolve(relpath, settings, manifest, progress=False)
    message = str(err.value)
    assert "sha256" in message and relpath in message and base_url in message
    assert manifest.files[relpath].sha256 in message
    assert requests_in(log) == [f"GET /{relpath} 200"]
    assert leftovers(cache) == []


def test_server_error_is_an_error_and_leaves_nothing(
    manifest, served_root: Path, start_server, tmp_path: Path
) -> None:
    relpath = "outputs/llm-goodgap.nacgec-dev.txt"
    base_url, log = start_server(served_root, fail=(relpath,))
    cache = tmp_path / "cache"
    settings = DataSettings(data_dir=None, cache_dir=cache, base_url=base_url)
    with pytest.raises(HarnessError) as err:
        resolve(relpath, settings, manifest, progress=False)
    message = str(err.value)
    assert "500" in message and relpath in message and "CGEC_DATA_DIR" in message
    assert requests_in(log) == [f"GET /{relpath} 500"]
    assert leftovers(cache) == []


def test_settings_read_the_environment_and_explicit_arguments_win(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CGEC_DATA_DIR", str(tmp_path / "env-mirror"))
    monkeypatch.setenv("CGEC_CACHE_DIR", str(tmp_path / "env-cache"))
    monkeypatch.setenv("CGEC_DATA_BASE_URL", "http://127.0.0.1:1")
    from_env = DataSettings.from_env()
    assert from_env == DataSettings(tmp_path / "env-mirror", tmp_path / "env-cache", "http://127.0.0.1:1")
    explicit = DataSettings.from_env(data_dir=tmp_path / "mine", cache_dir=str(tmp_path / "c"))
    assert explicit.data_dir == tmp_path / "mine" and explicit.cache_dir == tmp_path / "c"


def test_default_cache_is_under_xdg_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("CGEC_DATA_DIR", "CGEC_CACHE_DIR", "CGEC_DATA_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    settings = DataSettings.from_env()
    assert settings == DataSettings(None, tmp_path / "xdg" / "cgec-harness", None)


def test_manifest_problems_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "manifest.yaml"
    bad.write_text("files:\n  a.txt:\n    url: https://example.org/a.txt\n", encoding="utf-8")
    with pytest.raises(HarnessError, match="missing key") as err:
        load_manifest(bad)
    assert err.value.path == str(bad)
    with pytest.raises(HarnessError) as missing:
        load_manifest(tmp_path / "absent.yaml")
    assert missing.value.path == str(tmp_path / "absent.yaml")


def test_unknown_manifest_sections_are_refused(tmp_path: Path) -> None:
    """The former `unpinned:` section is gone: every file the harness reads has a checksum."""
    entry = ("    url: https://example.org/a.txt\n    sha256: " + "a" * 64 + "\n    size: 1\n"
             "    licence: x\n    citation: x\n    description: x\n")
    bad = tmp_path / "manifest.yaml"
    bad.write_text("files:\n  a.txt:\n" + entry + "unpinned:\n  b.txt: {}\n", encoding="utf-8")
    with pytest.raises(HarnessError, match="unknown top-level key.*unpinned") as err:
        load_manifest(bad)
    assert err.value.path == str(bad)

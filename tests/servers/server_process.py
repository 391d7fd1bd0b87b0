"""Run tests/servers/openai_server.py in its own process for the length of a `with` block.

    with ServerProcess("--latency-ms", "200", log=tmp_path / "requests.jsonl") as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="sk-test-not-a-real-key")
        ...
        srv.requests()   # the server's log, one dict per request
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

SERVER_SCRIPT = Path(__file__).resolve().with_name("openai_server.py")
START_TIMEOUT_S = 10.0


class ServerProcess:
    """Starts the server on construction (port 0, so the OS picks a free port); `.close()`, or
    leaving the `with` block, terminates it (then kills it if it does not exit)."""

    def __init__(self, *args: str, log: Path | None = None, start_timeout: float = START_TIMEOUT_S) -> None:
        self.log = Path(log) if log is not None else None
        cmd = [sys.executable, str(SERVER_SCRIPT), "--port", "0", *args]
        if self.log is not None:
            cmd += ["--log", str(self.log)]
        self.cmd = cmd
        # stderr goes to a file, not a pipe nobody reads, so a chatty server can never block on it.
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr, stdin=subprocess.DEVNULL,
                                     text=True, encoding="utf-8")
        self._closed = False
        try:
            self.port = self._read_port(start_timeout)
        except BaseException:
            self.close()
            raise
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def _read_port(self, timeout: float) -> int:
        lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stdout is not None
        stdout = self.proc.stdout
        threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"test server printed no PORT line within {timeout:g} s: {self.cmd}\n"
                               f"stderr:\n{self._stderr_now()}") from None
        if not line.startswith("PORT "):
            self.proc.poll()
            raise RuntimeError(f"test server did not start (first stdout line {line!r}, exit code "
                               f"{self.proc.returncode}): {self.cmd}\nstderr:\n{self._stderr_now()}")
        return int(line.split()[1])

    def _stderr_now(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.seek(0)
        return self._stderr.read()

    @property
    def stderr(self) -> str:
        """What the server wrote on stderr so far (tracebacks of unexpected errors)."""
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()

    def url(self, path: str) -> str:
        """Absolute URL of a server path such as `/v1/models`."""
        return f"http://127.0.0.1:{self.port}{path}"

    def requests(self) -> list[dict[str, Any]]:
        """The server's request log so far, one parsed JSON object per request, in file order
        (sort by `seq` for arrival order). A line still being written is left out."""
        if self.log is None:
            raise RuntimeError("ServerProcess(..., log=PATH) is needed to read the request log")
        if not self.log.exists():
            return []
        text = self.log.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines(keepends=True) if line.endswith("\n")]

    def chat_requests(self) -> list[dict[str, Any]]:
        """The logged POST /v1/chat/completions requests (a run also lists the models first)."""
        return [r for r in self.requests() if r["path"].endswith("/chat/completions")]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # a forgotten server must not outlive the test run
        try:
            self.close()
        except Exception:
            pass

"""A local OpenAI-compatible HTTP server for tests, run in its own process on 127.0.0.1.

Usage:
  openai_server.py [--port 0] [--latency-ms 0] [--seed 0] [--fault-rate 0.0] [--faults 429,500]
                   [--fail-first 0] [--max-faults-per-body 3] [--retry-after-ms 50] [--hang-s 5]
                   [--log FILE] [--platform] [--file-processing-s 0] [--ft-step-s 0.2]
                   [--batch-step-s 0.2]

Prints `PORT <n>` as its first stdout line (flushed) and nothing else on stdout.

Routes (see ROUTES; add more there):
  POST /v1/chat/completions   a deterministic "model": replies with the last line (stripped) of
                              the last user message. A model name containing `echo-prompt`
                              replies with the whole user content; one containing `prefix`
                              replies `修改后的句子：` + the last line.
  GET  /v1/models             a short list of models.
  POST /v1/_admin/shutdown    stops the server.

With --platform (off by default, so that those paths stay unknown-URL 404s), in-memory Files,
Fine-tuning and Batch APIs, kept per server process and driven by the time elapsed since each
object was created (no background threads: every request computes the state it sees):
  POST /v1/files (multipart: file, purpose), GET /v1/files [?purpose&order&limit&after],
  GET /v1/files/{id}, GET /v1/files/{id}/content, DELETE /v1/files/{id}
      an upload is "uploaded" for --file-processing-s, then "processed"; jobs and batches refuse a
      file that is not processed yet.
  POST /v1/fine_tuning/jobs, GET /v1/fine_tuning/jobs [?limit&after], GET .../{id},
  POST .../{id}/cancel, GET .../{id}/events [?limit&after], GET .../{id}/checkpoints [?limit&after]
      the training file (and validation file) must exist (else 404), have purpose fine-tune, and
      be JSONL whose lines are objects with a `messages` list (else 400). Each --ft-step-s:
      validating_files -> queued -> running -> succeeded, with events (newest first), metrics
      events "Step k/N: training loss=x.xx", checkpoints for the last (up to) 3 epochs, a result
      file (purpose fine-tune-results, step_metrics.csv base64-encoded as OpenAI serves it) and
      fine_tuned_model `ft:<model>:test-org:<suffix or custom>:<8 chars of the id>`. A suffix
      containing `fail` fails halfway through running with error {code: "scripted_failure"}.
      Cancel moves a job that has not finished to cancelled at once.
  POST /v1/batches, GET /v1/batches [?limit&after], GET .../{id}, POST .../{id}/cancel
      endpoint /v1/chat/completions only, completion_window 24h, an input file with purpose batch.
      Each --batch-step-s: validating -> in_progress -> finalizing -> completed. Every request
      body is answered exactly as POST /v1/chat/completions would (no faults, no latency; only
      `id` and `created` differ), in an output file (purpose batch_output) whose lines are in an
      order shuffled by --seed (never the input order when there are 2+ lines); bodies it would
      reject go to an error file with response {status_code: 400, ...} and error {code, message}.
      A malformed input line (not JSON, no custom_id, duplicate custom_id, method not POST, url not
      the endpoint) fails the whole batch at validation, with errors.data [{code, line, message}].
      metadata {"test_outcome": "failed"} fails the batch after validating; "expired" expires it
      after in_progress with the first half (rounded down) of the requests done and the rest in
      the error file with error code batch_expired. Cancel: cancelling for one step, then
      cancelled, keeping what was done (the rest in the error file with code batch_cancelled).

Faults (only on routes marked `model_call`) are decided per request body (canonical JSON:
sorted keys, compact separators, UTF-8) and the attempt number of that body, so a retry of the
same body can succeed:
  --fail-first K     attempts 1..K of every distinct body fail, kinds cycling through --faults;
  --fault-rate F     otherwise an attempt fails with probability F, drawn from a random.Random
                     seeded by (seed, body sha256, attempt), as long as the body has failed fewer
                     than --max-faults-per-body times so far (fail-first faults included).
Fault kinds: 429, 500, timeout (hang --hang-s, then answer normally), malformed (200 with a body
that is not JSON), empty (200 with content ""), disconnect (close the socket, no response).

--log FILE appends one JSON line per request, after its outcome is decided and before the
response is sent: seq, t, method, path, body, body_sha256, attempt, outcome, status,
auth_sha256 (the sha256 of the Authorization header, never the header itself). A multipart
request (a file upload) is logged with body null, its body_sha256 over the raw bytes, and
`filename`: the name of its file part.
"""

from __future__ import annotations

import argparse
import base64
import email.message
import hashlib
import math
import http.server
import json
import random
import socket
import sys
import threading
import time
import traceback
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

FAULT_KINDS = ("429", "500", "timeout", "malformed", "empty", "disconnect")
CORRECTION_PREFIX = "修改后的句子："
MODELS = ("test-model", "test-model-prefix", "test-model-echo-prompt")


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Config:
    port: int = 0
    latency_ms: float = 0.0
    seed: int = 0
    fault_rate: float = 0.0
    faults: tuple[str, ...] = ("429", "500")
    fail_first: int = 0
    max_faults_per_body: int = 3
    retry_after_ms: int = 50
    hang_s: float = 5.0
    log: Path | None = None
    platform: bool = False
    file_processing_s: float = 0.0
    ft_step_s: float = 0.2
    batch_step_s: float = 0.2


def parse_faults(text: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in FAULT_KINDS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown fault kind(s) {unknown}; known: {','.join(FAULT_KINDS)}")
    if not kinds:
        raise argparse.ArgumentTypeError("--faults needs at least one kind")
    return kinds


def parse_args(argv: list[str] | None) -> Config:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--latency-ms", type=float, default=0.0, help="sleep before answering each model call")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fault-rate", type=float, default=0.0)
    p.add_argument("--faults", type=parse_faults, default=("429", "500"), help="comma-separated kinds")
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--max-faults-per-body", type=int, default=3)
    p.add_argument("--retry-after-ms", type=int, default=50)
    p.add_argument("--hang-s", type=float, default=5.0)
    p.add_argument("--log", type=Path, default=None, metavar="FILE")
    p.add_argument("--platform", action="store_true",
                   help="serve /v1/files, /v1/fine_tuning/jobs and /v1/batches (otherwise unknown URLs)")
    p.add_argument("--file-processing-s", type=float, default=0.0,
                   help="an uploaded file is 'uploaded' this long, then 'processed'")
    p.add_argument("--ft-step-s", type=float, default=0.2, help="seconds per fine-tuning job state")
    p.add_argument("--batch-step-s", type=float, default=0.2, help="seconds per batch state")
    a = p.parse_args(argv)
    if not 0.0 <= a.fault_rate <= 1.0:
        p.error("--fault-rate must be within [0, 1]")
    for name in ("file_processing_s", "ft_step_s", "batch_step_s"):
        if getattr(a, name) < 0:
            p.error(f"--{name.replace('_', '-')} must be >= 0")
    return Config(port=a.port, latency_ms=a.latency_ms, seed=a.seed, fault_rate=a.fault_rate,
                  faults=a.faults, fail_first=a.fail_first, max_faults_per_body=a.max_faults_per_body,
                  retry_after_ms=a.retry_after_ms, hang_s=a.hang_s, log=a.log, platform=a.platform,
                  file_processing_s=a.file_processing_s, ft_step_s=a.ft_step_s, batch_step_s=a.batch_step_s)


# --------------------------------------------------------------------------- shared state


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class State:
    """Everything shared between handler threads. Locks are held only for counters and log writes,
    never while sleeping. New routes may keep their own stores here (e.g. uploaded files)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._seq = 0
        self._attempts: dict[str, int] = {}
        self._faults: dict[str, int] = {}
        self._log_lock = threading.Lock()
        self._log_fh = open(config.log, "a", encoding="utf-8") if config.log else None
        self.server: http.server.ThreadingHTTPServer | None = None
        self.platform = Platform(config)

    def decide(self, body_sha: str, model_call: bool) -> tuple[int, int, str]:
        """Return (seq, attempt, outcome) for a request that just arrived."""
        with self._lock:
            self._seq += 1
            seq = self._seq
            attempt = self._attempts.get(body_sha, 0) + 1
            self._attempts[body_sha] = attempt
            outcome = self._fault_for(body_sha, attempt) if model_call else "ok"
            if outcome != "ok":
                self._faults[body_sha] = self._faults.get(body_sha, 0) + 1
        return seq, attempt, outcome

    def _fault_for(self, body_sha: str, attempt: int) -> str:
        c = self.config
        if attempt <= c.fail_first:
            return c.faults[(attempt - 1) % len(c.faults)]
        if c.fault_rate > 0 and self._faults.get(body_sha, 0) < c.max_faults_per_body:
            digest = hashlib.sha256(f"{c.seed}:{body_sha}:{attempt}".encode()).digest()
            rng = random.Random(int.from_bytes(digest[:8], "big"))
            if rng.random() < c.fault_rate:
                return rng.choice(c.faults)
        return "ok"

    def write_log(self, record: dict[str, Any]) -> None:
        if self._log_fh is None:
            return
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._log_lock:
            self._log_fh.write(line)
            self._log_fh.flush()

    def close(self) -> None:
        if self._log_fh is not None:
            with self._log_lock:
                self._log_fh.close()
                self._log_fh = None


# --------------------------------------------------------------------------- requests, responses, routes


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]          # path parameters from `{name}` segments
    query: dict[str, list[str]]
    headers: Any                    # http.client.HTTPMessage
    raw_body: bytes
    body: Any                       # parsed JSON, or None
    seq: int
    attempt: int
    outcome: str                    # "ok" or the fault kind decided for this attempt
    state: State
    form: dict[str, FormPart] | None = None   # a multipart/form-data body, by field name


@dataclass
class Response:
    status: int
    body: Any = None                # JSON-serialisable object, or bytes sent as is
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def error_response(status: int, message: str, type_: str, code: str | None = None,
                   param: str | None = None, headers: dict[str, str] | None = None) -> Response:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return Response(status, body, headers or {})


def message_text(content: Any) -> str:
    """Text of a message content: a string, or a list of parts with `text`."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def fake_model_reply(model: str, messages: list[Any]) -> str:
    user = ""
    for m in reversed(messages):
        if isinstance(m, dict) and m.get("role") == "user":
            user = message_text(m.get("content"))
            break
    lines = user.strip().splitlines()
    last_line = lines[-1].strip() if lines else ""
    if "echo-prompt" in model:
        return user
    if "prefix" in model:
        return CORRECTION_PREFIX + last_line
    return last_line


def chat_completions(req: Request) -> Response:
    return chat_completion(req.body, req.outcome, f"chatcmpl-test-{req.seq}")


def chat_completion(body: Any, outcome: str, completion_id: str) -> Response:
    """The answer of POST /v1/chat/completions to `body` (also used for the requests of a batch)."""
    if not isinstance(body, dict):
        return error_response(400, "We could not parse the JSON body of your request.", "invalid_request_error")
    messages = body.get("messages")
    model = body.get("model")
    if not isinstance(messages, list) or not messages:
        return error_response(400, "'messages' must be a non-empty array.", "invalid_request_error",
                              param="messages")
    if not isinstance(model, str) or not model:
        return error_response(400, "you must provide a model parameter", "invalid_request_error", param="model")
    if body.get("n", 1) not in (1, None):
        return error_response(400, "this test server supports only n=1", "invalid_request_error", param="n")
    if body.get("stream"):
        return error_response(400, "this test server does not stream", "invalid_request_error", param="stream")
    content = "" if outcome == "empty" else fake_model_reply(model, messages)
    prompt_chars = sum(len(message_text(m.get("content"))) for m in messages if isinstance(m, dict))
    return Response(200, {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_test",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }],
        "usage": {"prompt_tokens": prompt_chars, "completion_tokens": len(content),
                  "total_tokens": prompt_chars + len(content)},
    })


def list_models(req: Request) -> Response:
    return Response(200, {"object": "list", "data": [
        {"id": m, "object": "model", "created": 0, "owned_by": "cgec-test"} for m in MODELS]})


def admin_shutdown(req: Request) -> Response:
    server = req.state.server
    if server is not None:
        # shutdown() waits for serve_forever() to return: call it off this handler thread, and
        # shortly after, so the response below goes out first.
        threading.Timer(0.05, server.shutdown).start()
    return Response(200, {"ok": True})


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str                                  # e.g. "/v1/files/{file_id}/content"
    handler: Callable[[Request], Response]
    model_call: bool = False                      # gets --latency-ms and the faults
    platform: bool = False                        # served only with --platform

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        want, got = self.pattern.strip("/").split("/"), path.strip("/").split("/")
        if len(want) != len(got):
            return None
        params: dict[str, str] = {}
        for w, g in zip(want, got):
            if w.startswith("{") and w.endswith("}"):
                params[w[1:-1]] = g
            elif w != g:
                return None
        return params


# To grow: add Route("POST", "/v1/...", handler); a handler may raise ApiError.
ROUTES: list[Route] = [
    Route("POST", "/v1/chat/completions", chat_completions, model_call=True),
    Route("GET", "/v1/models", list_models),
    Route("POST", "/v1/_admin/shutdown", admin_shutdown),
    Route("POST", "/v1/files", upload_file, platform=True),
    Route("GET", "/v1/files", list_files, platform=True),
    Route("GET", "/v1/files/{file_id}", retrieve_file, platform=True),
    Route("DELETE", "/v1/files/{file_id}", delete_file, platform=True),
    Route("GET", "/v1/files/{file_id}/content", file_content, platform=True),
    Route("POST", "/v1/fine_tuning/jobs", create_ft_job, platform=True),
    Route("GET", "/v1/fine_tuning/jobs", list_ft_jobs, platform=True),
    Route("GET", "/v1/fine_tuning/jobs/{job_id}", retrieve_ft_job, platform=True),
    Route("POST", "/v1/fine_tuning/jobs/{job_id}/cancel", cancel_ft_job, platform=True),
    Route("GET", "/v1/fine_tuning/jobs/{job_id}/events", list_ft_events, platform=True),
    Route("GET", "/v1/fine_tuning/jobs/{job_id}/checkpoints", list_ft_checkpoints, platform=True),
    Route("POST", "/v1/batches", create_batch, platform=True),
    Route("GET", "/v1/batches", list_batches, platform=True),
    Route("GET", "/v1/batches/{batch_id}", retrieve_batch, platform=True),
    Route("POST", "/v1/batches/{batch_id}/cancel", cancel_batch, platform=True),
]


def find_route(method: str, path: str, platform: bool = False) -> tuple[Route | None, dict[str, str], bool]:
    """(route, path params, whether some route has this path with another method). Routes marked
    `platform` count only when `platform` is true."""
    other_method = False
    for route in ROUTES:
        if route.platform and not platform:
            continue
        params = route.match(method, path)
        if params is not None:
            return route, params, False
        if route.match(route.method, path) is not None:
            other_method = True
    return None, {}, other_method


# --------------------------------------------------------------------------- HTTP handler


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cgec-test-openai/1"
    disable_nagle_algorithm = True
    timeout = 300                     # an idle keep-alive connection's thread ends after this
    state: State                      # set on the configured subclass

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        state = self.state
        config = state.config
        arrived = time.time()
        raw = self._read_body()
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                body = None
        form: dict[str, FormPart] | None = None
        content_type = self.headers.get("Content-Type", "")
        if content_type.lower().startswith("multipart/form-data"):
            try:
                form = parse_multipart(raw, content_type)
            except ValueError:
                form = None           # the route answers 400 for a form it cannot read
        body_sha = hashlib.sha256(canonical_json(body) if body is not None else raw).hexdigest()
        split = urllib.parse.urlsplit(self.path)
        route, params, other_method = find_route(self.command, split.path, platform=config.platform)
        seq, attempt, outcome = state.decide(body_sha, model_call=bool(route and route.model_call))
        req = Request(self.command, split.path, params, urllib.parse.parse_qs(split.query), self.headers,
                      raw, body, seq, attempt, outcome, state, form)

        if route is None:
            resp = (error_response(405, f"Method {self.command} not allowed on {split.path}", "invalid_request_error")
                    if other_method else
                    error_response(404, f"Unknown request URL: {self.command} {split.path}", "invalid_request_error",
                                   code="unknown_url"))
        elif outcome == "429":
            ms = config.retry_after_ms
            resp = error_response(429, "Rate limit reached (fault injected by the test server).", "requests",
                                  code="rate_limit_exceeded",
                                  headers={"retry-after-ms": str(ms), "Retry-After": f"{ms / 1000:g}"})
        elif outcome == "500":
            resp = error_response(500, "The server had an error while processing your request "
                                       "(fault injected by the test server).", "server_error")
        elif outcome == "malformed":
            resp = Response(200, b'{"id": "chatcmpl-malformed", "object": "chat.completion", "choices": [{"ind')
        elif outcome == "disconnect":
            resp = Response(0)
        else:  # ok, empty, timeout: a normal answer (empty blanks the content)
            try:
                resp = route.handler(req)
            except ApiError as exc:
                resp = exc.response()
            except Exception as exc:  # a bug in a route: say so instead of dropping the connection
                traceback.print_exc(file=sys.stderr)
                resp = error_response(500, f"test server bug in {route.pattern}: {exc!r}", "test_server_bug")

        auth = self.headers.get("Authorization")
        record = {
            "seq": seq, "t": arrived, "method": self.command, "path": split.path, "body": body,
            "body_sha256": body_sha, "attempt": attempt, "outcome": outcome,
            "status": resp.status or None,
            "auth_sha256": hashlib.sha256(auth.encode("utf-8")).hexdigest() if auth is not None else None,
        }
        if form is not None:
            record["filename"] = next((part.filename for part in form.values() if part.filename is not None), None)
        state.write_log(record)

        if route is not None and route.model_call:
            delay = config.latency_ms / 1000 + (config.hang_s if outcome == "timeout" else 0.0)
            if delay > 0:
                time.sleep(delay)
        if outcome == "disconnect":
            self._drop_connection()
            return
        self._send(resp, seq)

    def _send(self, resp: Response, seq: int) -> None:
        data = resp.body if isinstance(resp.body, bytes) else json.dumps(resp.body, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(resp.status)
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-request-id", f"req_test_{seq}")
            for name, value in resp.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client went away (e.g. it timed out during a `timeout` fault)
            self.close_connection = True

    def _drop_connection(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 512          # listen backlog: bursts of new connections must not be dropped

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return                    # clients that hang up are expected here
        super().handle_error(request, client_address)


def make_server(config: Config) -> Server:
    state = State(config)
    handler = type("ConfiguredHandler", (Handler,), {"state": state})
    server = Server(("127.0.0.1", config.port), handler)
    state.server = server
    return server


def main(argv: list[str] | None = None) -> None:
    config = parse_args(argv)
    server = make_server(config)
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.RequestHandlerClass.state.close()


if __name__ == "__main__":
    main(sys.argv[1:])

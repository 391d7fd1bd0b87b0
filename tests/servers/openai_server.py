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
                              replies `修改后的句子：` + the last line; one containing
                              `separators` adds U+2028, U+0085 and U+2029 to the last line.
  GET  /v1/models             a short list of models.
  --served-model NAME makes the server one model, as llama.cpp and vLLM are: it lists only NAME,
  answers every request as NAME would (whatever model is asked for) and says so in `model`;
  --fingerprint FP sets `system_fingerprint` (default fp_test).
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
that is not JSON), empty (200 with content ""), disconnect (close the socket, no response), 401
(OpenAI's invalid-key answer, which echoes the key it was given).

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

FAULT_KINDS = ("429", "500", "timeout", "malformed", "empty", "disconnect", "401")
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
    served_model: str | None = None
    fingerprint: str = "fp_test"
    fail_batch_create: int = 0
    fail_downloads: int = 0
    token_ms: float = 0.0


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
    p.add_argument("--served-model", default=None, help="serve this one model, whatever is asked for")
    p.add_argument("--fail-batch-create", type=int, default=0, metavar="N",
                   help="the N-th POST /v1/batches fails with a 500 (0: none)")
    p.add_argument("--token-ms", type=float, default=0.0,
                   help="milliseconds per completion token, one request at a time (a single-slot model server)")
    p.add_argument("--fail-downloads", type=int, default=0, metavar="N",
                   help="the first N GET /v1/files/{id}/content fail with a 500")
    p.add_argument("--fingerprint", default="fp_test", help="system_fingerprint of every answer")
    a = p.parse_args(argv)
    if not 0.0 <= a.fault_rate <= 1.0:
        p.error("--fault-rate must be within [0, 1]")
    for name in ("file_processing_s", "ft_step_s", "batch_step_s"):
        if getattr(a, name) < 0:
            p.error(f"--{name.replace('_', '-')} must be >= 0")
    return Config(port=a.port, latency_ms=a.latency_ms, seed=a.seed, fault_rate=a.fault_rate,
                  faults=a.faults, fail_first=a.fail_first, max_faults_per_body=a.max_faults_per_body,
                  retry_after_ms=a.retry_after_ms, hang_s=a.hang_s, log=a.log, platform=a.platform,
                  file_processing_s=a.file_processing_s, ft_step_s=a.ft_step_s, batch_step_s=a.batch_step_s,
                  served_model=a.served_model, fingerprint=a.fingerprint, fail_batch_create=a.fail_batch_create,
                  fail_downloads=a.fail_downloads, token_ms=a.token_ms)


# --------------------------------------------------------------------------- shared state


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class State:
    """Everything shared between handler threads. Locks are held only for counters and log writes,
    never while sleeping (but for `generation`, which --token-ms holds while "generating"). New routes may keep their own stores here (e.g. uploaded files)."""

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
        self.generation = threading.Lock()  # --token-ms: the one "model" that generates

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
    if "separators" in model:  # Unicode line and paragraph separators inside a reply
        return last_line + "\u2028" + "\u0085" + "\u2029"
    if "prefix" in model:
        return CORRECTION_PREFIX + last_line
    return last_line


def chat_completions(req: Request) -> Response:
    return chat_completion(req.body, req.outcome, f"chatcmpl-test-{req.seq}", req.state.config)


def chat_completion(body: Any, outcome: str, completion_id: str, config: Config) -> Response:
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
    model = config.served_model or model
    content = "" if outcome == "empty" else fake_model_reply(model, messages)
    prompt_chars = sum(len(message_text(m.get("content"))) for m in messages if isinstance(m, dict))
    return Response(200, {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": config.fingerprint,
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
        {"id": m, "object": "model", "created": int(time.time()), "owned_by": "cgec-test"}
        for m in ((req.state.config.served_model,) if req.state.config.served_model else MODELS)]})


def admin_shutdown(req: Request) -> Response:
    server = req.state.server
    if server is not None:
        # shutdown() waits for serve_forever() to return: call it off this handler thread, and
        # shortly after, so the response below goes out first.
        threading.Timer(0.05, server.shutdown).start()
    return Response(200, {"ok": True})


# --------------------------------------------------------------------------- platform: files, fine-tuning jobs, batches
#
# Everything lives in one Platform per server process, behind one lock (never held while sleeping).
# Jobs and batches keep their creation time (time.monotonic()) and every request computes what it
# sees from it, always as `now >= created + offset`, so that a job, its events and its files agree.
# The files a job or a batch makes are stored when it is created (or cancelled), each with the time
# from which it is listed and served.

FT_ORG = "test-org"
FT_ORGANIZATION_ID = "org-test"
FT_DEFAULT_EPOCHS = 3
FT_METRIC_EVENTS = 20             # at most this many "Step k/N" events per job
FT_KEPT_CHECKPOINTS = 3           # checkpoints of the last epochs, as OpenAI keeps them
FT_FAIL_CODE = "scripted_failure"
FT_FAIL_MESSAGE = "Fine-tuning failed (scripted by the test server: the job's suffix contains 'fail')."
BATCH_ENDPOINTS = ("/v1/chat/completions",)
BATCH_WINDOWS = ("24h",)
BATCH_TEST_OUTCOMES = ("completed", "failed", "expired")
BATCH_FAIL_MESSAGE = "Batch failed (scripted by the test server: metadata test_outcome=failed)."
BATCH_EXPIRED = ("batch_expired", "This request could not be executed before the completion window expired.")
BATCH_CANCELLED = ("batch_cancelled", "This request was not executed because the batch was cancelled.")
FILE_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")


class ApiError(Exception):
    """Raised by a route to answer with an OpenAI-style error."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None,
                 type_: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.type = status, message, param, code, type_

    def response(self) -> Response:
        return error_response(self.status, self.message, self.type, code=self.code, param=self.param)


@dataclass
class FormPart:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


def parse_multipart(raw: bytes, content_type: str) -> dict[str, FormPart]:
    """The fields of a multipart/form-data body, by name; ValueError if it is not one."""
    header = email.message.Message()
    header["Content-Type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise ValueError("multipart/form-data without a boundary")
    chunks = (b"\r\n" + raw).split(b"\r\n--" + boundary.encode("latin-1"))
    parts: dict[str, FormPart] = {}
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            return parts
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("a multipart part without a blank line after its headers")
        part_headers = email.message.Message()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                part_headers[name.strip()] = value.strip()
        field_name = part_headers.get_param("name", header="content-disposition")
        if not isinstance(field_name, str):
            raise ValueError("a multipart part without a name")
        parts[field_name] = FormPart(field_name, part_headers.get_filename(), part_headers.get("Content-Type"), data)
    raise ValueError("a multipart body without its closing delimiter")


def hashed_id(prefix: str, *parts: object, length: int = 24) -> str:
    return prefix + hashlib.sha256(":".join(map(str, parts)).encode("utf-8")).hexdigest()[:length]


def seeded_rng(*parts: object) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode("utf-8")).digest()[:8], "big"))


def query_value(req: Request, name: str) -> str | None:
    values = req.query.get(name)
    return values[-1] if values else None


def cursor_page(req: Request, objects: list[dict[str, Any]], default_limit: int, max_limit: int) -> Response:
    """One page of `objects` (already in the list's order) for ?limit and ?after (an object id)."""
    text = query_value(req, "limit")
    limit = default_limit
    if text is not None:
        try:
            limit = int(text)
        except ValueError:
            raise ApiError(400, f"Invalid 'limit': {text!r} is not an integer.", param="limit") from None
        if not 1 <= limit <= max_limit:
            raise ApiError(400, f"Invalid 'limit': {limit} is not between 1 and {max_limit}.", param="limit")
    after = query_value(req, "after")
    if after is not None:
        ids = [o["id"] for o in objects]
        objects = objects[ids.index(after) + 1:] if after in ids else []
    data = objects[:limit]
    return Response(200, {"object": "list", "data": data, "has_more": len(objects) > limit,
                          "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None})


def json_object_body(req: Request) -> dict[str, Any]:
    if not isinstance(req.body, dict):
        raise ApiError(400, "We could not parse the JSON body of your request (a JSON object is expected).")
    return req.body


def shuffled(lines: list[Any], *seed_parts: object) -> list[Any]:
    """`lines` in a seeded random order, never the given order when there are 2 or more."""
    order = list(range(len(lines)))
    seeded_rng(*seed_parts).shuffle(order)
    if len(order) > 1 and order == sorted(order):
        order = order[1:] + order[:1]
    return [lines[i] for i in order]


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    data: bytes
    created: float                # time.monotonic() from which it is listed and served
    processed: float              # "uploaded" before, "processed" from then on


@dataclass
class FtEvent:
    id: str
    offset: float                 # seconds after the job's creation
    level: str
    message: str
    type: str = "message"
    data: dict[str, Any] | None = None


@dataclass
class FtJob:
    id: str
    created: float                # time.monotonic()
    step: float                   # --ft-step-s
    model: str
    training_file: str
    validation_file: str | None
    suffix: str | None
    seed: int
    hyperparameters: dict[str, Any]
    metadata: Any
    n_epochs: int
    steps_per_epoch: int
    tokens_per_epoch: int
    fails: bool
    result_file_id: str | None = None
    events: list[FtEvent] = field(default_factory=list)            # oldest first
    checkpoints: list[dict[str, Any]] = field(default_factory=list)  # oldest first, shown once succeeded
    cancelled: float | None = None

    @property
    def total_steps(self) -> int:
        return self.n_epochs * self.steps_per_epoch

    @property
    def end(self) -> float:       # seconds after creation at which it succeeds or fails
        return self.step * (2.5 if self.fails else 3.0)

    @property
    def fine_tuned_model(self) -> str:
        return f"ft:{self.model}:{FT_ORG}:{self.suffix or 'custom'}:{self.id.removeprefix('ftjob-')[:8]}"

    def status(self, now: float) -> str:
        if self.cancelled is not None and now >= self.cancelled:
            return "cancelled"
        if now >= self.created + self.end:
            return "failed" if self.fails else "succeeded"
        if now >= self.created + 2 * self.step:
            return "running"
        if now >= self.created + self.step:
            return "queued"
        return "validating_files"


@dataclass
class BatchRequest:
    custom_id: str
    line_id: str                  # the `id` of its output line
    request_id: str
    status_code: int
    body: Any                     # the chat.completion, or the error body

    def result_line(self) -> dict[str, Any]:
        response = {"status_code": self.status_code, "request_id": self.request_id, "body": self.body}
        error = None
        if self.status_code != 200:
            err = self.body.get("error", {}) if isinstance(self.body, dict) else {}
            error = {"code": err.get("code") or "invalid_request", "message": err.get("message", "")}
        return {"id": self.line_id, "custom_id": self.custom_id, "response": response, "error": error}

    def unexecuted_line(self, code: str, message: str) -> dict[str, Any]:
        return {"id": self.line_id, "custom_id": self.custom_id, "response": None,
                "error": {"code": code, "message": message}}


@dataclass
class Batch:
    id: str
    created: float                # time.monotonic()
    step: float                   # --batch-step-s
    endpoint: str
    completion_window: str
    input_file_id: str
    metadata: Any
    model: str | None
    requests: list[BatchRequest]
    outcome: str                  # completed | failed | expired: where it goes unless cancelled
    errors: list[dict[str, Any]]  # the errors.data of a failed batch
    output_file_id: str | None = None
    error_file_id: str | None = None
    cancelled: float | None = None

    def status(self, now: float) -> str:
        if self.cancelled is not None and now >= self.cancelled:
            return "cancelled" if now >= self.cancelled + self.step else "cancelling"
        if now < self.created + self.step:
            return "validating"
        if self.outcome == "failed":
            return "failed"
        if now < self.created + 2 * self.step:
            return "in_progress"
        if self.outcome == "expired":
            return "expired"
        return "finalizing" if now < self.created + 3 * self.step else "completed"

    def reached(self, now: float, offset_steps: float) -> bool:
        """Whether the batch got `offset_steps` steps past creation before now (and before a cancel)."""
        at = now if self.cancelled is None else min(now, self.cancelled)
        return at >= self.created + offset_steps * self.step

    def processed(self, now: float) -> int:
        """How many requests (the first ones, in input order) are done by now."""
        if self.outcome == "failed" or not self.reached(now, 1):
            return 0
        limit = len(self.requests) // 2 if self.outcome == "expired" else len(self.requests)
        if self.reached(now, 2):
            return limit
        at = now if self.cancelled is None else min(now, self.cancelled)
        return min(limit, int(limit * (at - self.created - self.step) / self.step))


class Platform:
    """The in-memory Files, Fine-tuning and Batch APIs of one server process."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._counter = 0
        self._wall0, self._mono0 = time.time(), time.monotonic()
        self.files: dict[str, StoredFile] = {}
        self.jobs: dict[str, FtJob] = {}
        self.batches: dict[str, Batch] = {}
        self._batch_creates = 0  # for --fail-batch-create
        self._downloads = 0  # for --fail-downloads

    def unix(self, mono: float) -> int:
        return int(self._wall0 + (mono - self._mono0))

    def _new_id(self, prefix: str, kind: str) -> str:
        self._counter += 1
        return hashed_id(prefix, self.config.seed, kind, self._counter)

    # ----------------------------------------------------------------- files

    def file_json(self, f: StoredFile, now: float) -> dict[str, Any]:
        return {"id": f.id, "object": "file", "bytes": len(f.data), "created_at": self.unix(f.created),
                "filename": f.filename, "purpose": f.purpose,
                "status": "processed" if now >= f.processed else "uploaded",
                "status_details": None, "expires_at": None}

    def _file(self, file_id: str, now: float, param: str = "file_id") -> StoredFile:
        f = self.files.get(file_id)
        if f is None or now < f.created:
            raise ApiError(404, f"No such File object: {file_id}", param=param, code="file_not_found")
        return f

    def _usable_file(self, file_id: Any, param: str, purpose: str, use: str, now: float) -> StoredFile:
        if not isinstance(file_id, str) or not file_id:
            raise ApiError(400, f"Missing required parameter: '{param}'.", param=param,
                           code="missing_required_parameter")
        f = self._file(file_id, now, param)
        if f.purpose != purpose:
            raise ApiError(400, f"File {file_id} has purpose '{f.purpose}', but {use} needs a file with purpose "
                                f"'{purpose}'.", param=param, code="invalid_file_purpose")
        if now < f.processed:
            raise ApiError(400, f"File {file_id} is still being processed and is not ready to be used for {use}. "
                                "Please try again later.", param=param, code="file_not_ready")
        return f

    def _add_made_file(self, file_id: str, filename: str, purpose: str, data: bytes, at: float) -> None:
        self.files[file_id] = StoredFile(file_id, filename, purpose, data, created=at, processed=at)

    def upload_file(self, req: Request) -> Response:
        form = req.form
        if form is None:
            raise ApiError(400, "Expected a multipart/form-data body with the fields 'file' and 'purpose'.")
        part, purpose_part = form.get("file"), form.get("purpose")
        if part is None or part.filename is None:
            raise ApiError(400, "Missing required parameter: 'file' (a file part).", param="file",
                           code="missing_required_parameter")
        purpose = purpose_part.data.decode("utf-8", "replace") if purpose_part is not None else ""
        if purpose not in FILE_PURPOSES:
            raise ApiError(400, f"Invalid value for 'purpose': {purpose!r}; expected one of "
                                f"{', '.join(FILE_PURPOSES)}.", param="purpose")
        with self._lock:
            now = time.monotonic()
            f = StoredFile(self._new_id("file-", "file"), part.filename, purpose, part.data, created=now,
                           processed=now + self.config.file_processing_s)
            self.files[f.id] = f
            return Response(200, self.file_json(f, now))

    def list_files(self, req: Request) -> Response:
        purpose, order = query_value(req, "purpose"), query_value(req, "order") or "desc"
        if order not in ("asc", "desc"):
            raise ApiError(400, f"Invalid 'order': {order!r}; expected 'asc' or 'desc'.", param="order")
        with self._lock:
            now = time.monotonic()
            files = sorted((f for f in self.files.values() if now >= f.created and purpose in (None, f.purpose)),
                           key=lambda f: f.created, reverse=order == "desc")
            objects = [self.file_json(f, now) for f in files]
        return cursor_page(req, objects, default_limit=10000, max_limit=10000)

    def retrieve_file(self, req: Request) -> Response:
        with self._lock:
            now = time.monotonic()
            return Response(200, self.file_json(self._file(req.params["file_id"], now), now))

    def delete_file(self, req: Request) -> Response:
        with self._lock:
            f = self._file(req.params["file_id"], time.monotonic())
            del self.files[f.id]
        return Response(200, {"id": f.id, "object": "file", "deleted": True})

    def file_content(self, req: Request) -> Response:
        with self._lock:
            self._downloads += 1
            if self._downloads <= self.config.fail_downloads:
                raise ApiError(500, "download failed (fault injected by the test server)", type_="server_error")
            f = self._file(req.params["file_id"], time.monotonic())
        return Response(200, f.data, content_type="application/octet-stream")

    # ----------------------------------------------------------------- fine-tuning jobs

    @staticmethod
    def _chat_examples(f: StoredFile, param: str) -> tuple[int, int]:
        """(examples, characters of message contents) of a chat fine-tuning file, or ApiError 400."""
        def bad(why: str) -> ApiError:
            return ApiError(400, f"Invalid file format for {param} {f.id}: {why}", param=param,
                            code="invalid_file_format")
        try:
            text = f.data.decode("utf-8")
        except UnicodeDecodeError:
            raise bad("it is not UTF-8 text.") from None
        examples = chars = 0
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                raise bad(f"line {lineno} is not valid JSON.") from None
            if not isinstance(obj, dict) or not isinstance(obj.get("messages"), list) or not obj["messages"]:
                raise bad(f"line {lineno} is not a JSON object with a non-empty 'messages' list.")
            examples += 1
            chars += sum(len(message_text(m.get("content"))) for m in obj["messages"] if isinstance(m, dict))
        if examples == 0:
            raise bad("it has no examples.")
        return examples, chars

    @staticmethod
    def _hyperparameters(body: dict[str, Any]) -> dict[str, Any]:
        hp = body.get("hyperparameters") or {}
        if not isinstance(hp, dict):
            raise ApiError(400, "'hyperparameters' must be an object.", param="hyperparameters")
        method = body.get("method")
        if method is not None:
            if not isinstance(method, dict) or method.get("type", "supervised") != "supervised":
                raise ApiError(400, "This test server supports only method type 'supervised'.", param="method")
            supervised = method.get("supervised") or {}
            method_hp = supervised.get("hyperparameters") or {} if isinstance(supervised, dict) else None
            if not isinstance(method_hp, dict):
                raise ApiError(400, "'method.supervised.hyperparameters' must be an object.", param="method")
            hp = {**hp, **method_hp}

        def number(name: str, default: Any, kind: type, low: float, high: float) -> Any:
            value = hp.get(name, "auto")
            if value in ("auto", None):
                return default
            if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int) \
                    or not low <= value <= high:
                raise ApiError(400, f"Invalid value for 'hyperparameters.{name}': {value!r} (expected 'auto' or a "
                                    f"number in [{low:g}, {high:g}]).", param=f"hyperparameters.{name}")
            return value

        return {"n_epochs": number("n_epochs", FT_DEFAULT_EPOCHS, int, 1, 50),
                "batch_size": number("batch_size", 1, int, 1, 256),
                "learning_rate_multiplier": number("learning_rate_multiplier", 2.0, float, 1e-9, 100)}

    def _ft_metrics(self, job: FtJob, step: int) -> dict[str, Any]:
        rng = seeded_rng(self.config.seed, job.id, "loss", step)
        train = 0.35 + 1.8 * math.exp(-4.0 * step / job.total_steps) + rng.uniform(-0.05, 0.05)
        metrics: dict[str, Any] = {"step": step, "train_loss": round(train, 4),
                                   "train_mean_token_accuracy": round(min(0.99, max(0.0, 1 - train / 2.5)), 4)}
        if job.validation_file is not None:
            valid = train + 0.08 + rng.uniform(-0.03, 0.03)
            metrics["valid_loss"] = round(valid, 4)
            metrics["valid_mean_token_accuracy"] = round(min(0.99, max(0.0, 1 - valid / 2.5)), 4)
        return metrics

    def _ft_timeline(self, job: FtJob) -> None:
        """Fill the events (and the checkpoints, shown once the job has succeeded) of a new job."""
        s, total = job.step, job.total_steps

        def add(offset: float, message: str, level: str = "info", type_: str = "message",
                data: dict[str, Any] | None = None) -> None:
            event_id = hashed_id("ftevent-", self.config.seed, job.id, len(job.events))
            job.events.append(FtEvent(event_id, offset, level, message, type_, data))

        add(0, f"Created fine-tuning job: {job.id}")
        validating = f"Validating training file: {job.training_file}"
        if job.validation_file is not None:
            validating += f" and validation file: {job.validation_file}"
        add(0, validating)
        add(s, "Files validated, moving job to queued state")
        add(2 * s, "Fine-tuning job started")
        steps = sorted({max(1, round(total * i / FT_METRIC_EVENTS)) for i in range(1, FT_METRIC_EVENTS + 1)}) \
            if total > FT_METRIC_EVENTS else list(range(1, total + 1))
        for step in steps:
            offset = 2 * s + s * step / total
            if job.fails and offset >= job.end:
                break
            m = self._ft_metrics(job, step)
            message = f"Step {step}/{total}: training loss={m['train_loss']:.2f}"
            if "valid_loss" in m:
                message += f", validation loss={m['valid_loss']:.2f}"
            add(offset, message, type_="metrics", data={**m, "total_steps": total})
        if job.fails:
            add(job.end, f"Fine-tuning job failed: {FT_FAIL_MESSAGE}", level="error")
            return
        add(job.end, "New fine-tuned model created")
        for epoch in range(max(1, job.n_epochs - FT_KEPT_CHECKPOINTS + 1), job.n_epochs + 1):
            step = epoch * job.steps_per_epoch
            m = self._ft_metrics(job, step)
            if "valid_loss" in m:
                m["full_valid_loss"] = m["valid_loss"]
                m["full_valid_mean_token_accuracy"] = m["valid_mean_token_accuracy"]
            job.checkpoints.append({
                "object": "fine_tuning.job.checkpoint", "id": hashed_id("ftckpt_", self.config.seed, job.id, step),
                "created_at": self.unix(job.created + job.end), "fine_tuning_job_id": job.id, "step_number": step,
                "fine_tuned_model_checkpoint": f"{job.fine_tuned_model}:ckpt-step-{step}", "metrics": m})
            add(job.end, f"Checkpoint created at step {step}")
        add(job.end, "The job has successfully completed")

    def _ft_result_csv(self, job: FtJob) -> bytes:
        rows = ["step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"]
        for step in range(1, job.total_steps + 1):
            m = self._ft_metrics(job, step)
            rows.append(f"{step},{m['train_loss']},{m['train_mean_token_accuracy']},"
                        f"{m.get('valid_loss', '')},{m.get('valid_mean_token_accuracy', '')}")
        return base64.b64encode(("\n".join(rows) + "\n").encode("utf-8"))   # OpenAI serves it base64-encoded

    def ft_job_json(self, job: FtJob, now: float) -> dict[str, Any]:
        status = job.status(now)
        finished = status in ("succeeded", "failed")
        succeeded = status == "succeeded"
        return {
            "object": "fine_tuning.job", "id": job.id, "model": job.model, "created_at": self.unix(job.created),
            "finished_at": self.unix(job.created + job.end) if finished else None,
            "fine_tuned_model": job.fine_tuned_model if succeeded else None,
            "organization_id": FT_ORGANIZATION_ID,
            "result_files": [job.result_file_id] if succeeded and job.result_file_id else [],
            "status": status, "training_file": job.training_file, "validation_file": job.validation_file,
            "hyperparameters": dict(job.hyperparameters),
            "method": {"type": "supervised", "supervised": {"hyperparameters": dict(job.hyperparameters)}},
            "trained_tokens": job.tokens_per_epoch * job.n_epochs if succeeded else None,
            "error": {"code": FT_FAIL_CODE, "message": FT_FAIL_MESSAGE, "param": None} if status == "failed" else None,
            "seed": job.seed,
            "estimated_finish": self.unix(job.created + job.end) if status in ("queued", "running") else None,
            "integrations": [], "metadata": job.metadata, "user_provided_suffix": job.suffix,
        }

    def _job(self, job_id: str) -> FtJob:
        job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(404, f"No such fine-tuning job: {job_id}", param="fine_tuning_job_id", code="not_found")
        return job

    def create_ft_job(self, req: Request) -> Response:
        body = json_object_body(req)
        model, suffix, seed = body.get("model"), body.get("suffix"), body.get("seed")
        if not isinstance(model, str) or not model:
            raise ApiError(400, "Missing required parameter: 'model'.", param="model",
                           code="missing_required_parameter")
        if suffix is not None and (not isinstance(suffix, str) or len(suffix) > 64):
            raise ApiError(400, "'suffix' must be a string of at most 64 characters.", param="suffix")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ApiError(400, "'seed' must be an integer.", param="seed")
        hp = self._hyperparameters(body)
        with self._lock:
            now = time.monotonic()
            training = self._usable_file(body.get("training_file"), "training_file", "fine-tune", "fine-tuning", now)
            examples, chars = self._chat_examples(training, "training_file")
            validation_id = body.get("validation_file")
            if validation_id is not None:
                self._chat_examples(self._usable_file(validation_id, "validation_file", "fine-tune", "fine-tuning",
                                                      now), "validation_file")
            job_id = self._new_id("ftjob-", "ftjob")
            job = FtJob(
                id=job_id, created=now, step=self.config.ft_step_s, model=model, training_file=training.id,
                validation_file=validation_id, suffix=suffix,
                seed=seed if seed is not None else seeded_rng(self.config.seed, job_id).randrange(2 ** 31),
                hyperparameters=hp, metadata=body.get("metadata"), n_epochs=hp["n_epochs"],
                steps_per_epoch=math.ceil(examples / hp["batch_size"]), tokens_per_epoch=chars,
                fails="fail" in (suffix or ""))
            self._ft_timeline(job)
            if not job.fails:
                job.result_file_id = hashed_id("file-", self.config.seed, job.id, "result")
                self._add_made_file(job.result_file_id, "step_metrics.csv", "fine-tune-results",
                                    self._ft_result_csv(job), now + job.end)
            self.jobs[job.id] = job
            return Response(200, self.ft_job_json(job, now))

    def list_ft_jobs(self, req: Request) -> Response:
        with self._lock:
            now = time.monotonic()
            objects = [self.ft_job_json(job, now) for job in reversed(list(self.jobs.values()))]
        return cursor_page(req, objects, default_limit=20, max_limit=100)

    def retrieve_ft_job(self, req: Request) -> Response:
        with self._lock:
            now = time.monotonic()
            return Response(200, self.ft_job_json(self._job(req.params["job_id"]), now))

    def cancel_ft_job(self, req: Request) -> Response:
        with self._lock:
            now = time.monotonic()
            job = self._job(req.params["job_id"])
            status = job.status(now)
            if status in ("succeeded", "failed", "cancelled"):
                raise ApiError(400, f"Job {job.id} has already finished (status '{status}') and cannot be cancelled.",
                               param="fine_tuning_job_id", code="invalid_job_status")
            job.cancelled = now
            job.events = [e for e in job.events if now >= job.created + e.offset]
            job.events.append(FtEvent(hashed_id("ftevent-", self.config.seed, job.id, "cancelled"), now - job.created,
                                      "info", "Fine-tuning job cancelled"))
            job.checkpoints = []
            if job.result_file_id is not None:
                self.files.pop(job.result_file_id, None)
                job.result_file_id = None
            return Response(200, self.ft_job_json(job, now))

    def list_ft_events(self, req: Request) -> Response:
        with self._lock:
            now = time.monotonic()
            job = self._job(req.params["job_id"])
            objects = [{"object": "fine_tuning.job.event", "id": e.id, "created_at": self.unix(job.created + e.offset),
                        "level": e.level, "message": e.message, "type": e.type, "data": e.data}
                       for e in reversed(job.events) if now >= job.created + e.offset]
        return cursor_page(req, objects, default_limit=20, max_limit=1000)

    def list_ft_checkpoints(self, req: Request) -> Response:
        with self._lock:
            now = time.monotonic()
            job = self._job(req.params["job_id"])
            objects = list(reversed(job.checkpoints)) if job.status(now) == "succeeded" else []
        return cursor_page(req, objects, default_limit=10, max_limit=100)

    # ----------------------------------------------------------------- batches

    def _batch_requests(self, batch_id: str, data: bytes, endpoint: str) -> tuple[list[BatchRequest], list[dict]]:
        """The requests of a batch input file, answered now; or the errors that fail the batch."""
        seed = self.config.seed
        requests: list[BatchRequest] = []
        errors: list[dict[str, Any]] = []
        seen: set[str] = set()

        def error(code: str, lineno: int, message: str, param: str | None = None) -> None:
            errors.append({"code": code, "line": lineno, "message": message, "param": param})

        for lineno, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                error("invalid_json_line", lineno, f"Line {lineno} is not valid JSON.")
                continue
            if not isinstance(obj, dict):
                error("invalid_json_line", lineno, f"Line {lineno} is not a JSON object.")
                continue
            custom_id = obj.get("custom_id")
            if not isinstance(custom_id, str) or not custom_id:
                error("missing_required_parameter", lineno, f"Line {lineno} has no 'custom_id'.", "custom_id")
                continue
            if custom_id in seen:
                error("duplicate_custom_id", lineno, f"The custom_id {custom_id!r} on line {lineno} is not unique.",
                      "custom_id")
                continue
            seen.add(custom_id)
            if obj.get("method") != "POST":
                error("invalid_method", lineno, f"Line {lineno}: 'method' must be 'POST'.", "method")
                continue
            if obj.get("url") != endpoint:
                error("mismatched_url", lineno, f"Line {lineno}: 'url' {obj.get('url')!r} does not match the batch's "
                                                f"endpoint {endpoint!r}.", "url")
                continue
            index = len(requests)
            answer = chat_completion(obj.get("body"), "ok", f"chatcmpl-test-{batch_id}-{index}", self.config)
            requests.append(BatchRequest(custom_id, hashed_id("batch_req_", seed, batch_id, index),
                                         hashed_id("", seed, batch_id, "request", index, length=32),
                                         answer.status, answer.body))
        if not requests and not errors:
            errors.append({"code": "empty_file", "line": None, "message": "The input file has no requests.",
                           "param": None})
        return requests, errors

    def _store_batch_results(self, batch: Batch, done: int, unexecuted: tuple[str, str] | None, at: float) -> None:
        """Make the output and error files of `batch` (its first `done` requests executed), shown from `at`."""
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id is not None:
                self.files.pop(file_id, None)
        executed, rest = batch.requests[:done], batch.requests[done:]
        output = [r.result_line() for r in executed if r.status_code == 200]
        errors = [r.result_line() for r in executed if r.status_code != 200]
        if unexecuted is not None:
            errors += [r.unexecuted_line(*unexecuted) for r in rest]
        seed = self.config.seed
        batch.output_file_id = batch.error_file_id = None
        for kind, lines in (("output", output), ("error", errors)):
            if not lines:
                continue
            text = "".join(json.dumps(line, ensure_ascii=False) + "\n"
                           for line in shuffled(lines, seed, batch.id, kind))
            file_id = hashed_id("file-", seed, batch.id, kind)
            self._add_made_file(file_id, f"{batch.id}_{kind}.jsonl", "batch_output", text.encode("utf-8"), at)
            if kind == "output":
                batch.output_file_id = file_id
            else:
                batch.error_file_id = file_id

    def batch_json(self, b: Batch, now: float) -> dict[str, Any]:
        status = b.status(now)
        final = status in ("completed", "expired", "cancelled", "failed")
        done = b.requests[:b.processed(now)]
        ok = [r for r in done if r.status_code == 200]
        started = b.outcome != "failed" and b.reached(now, 1)
        prompt = sum(r.body["usage"]["prompt_tokens"] for r in ok)
        completion = sum(r.body["usage"]["completion_tokens"] for r in ok)

        def at(condition: bool, mono: float) -> int | None:
            return self.unix(mono) if condition else None

        return {
            "id": b.id, "object": "batch", "endpoint": b.endpoint,
            "errors": {"object": "list", "data": b.errors} if status == "failed" else None,
            "input_file_id": b.input_file_id, "completion_window": b.completion_window, "status": status,
            "output_file_id": b.output_file_id if final else None,
            "error_file_id": b.error_file_id if final else None,
            "created_at": self.unix(b.created),
            "in_progress_at": at(started, b.created + b.step),
            "expires_at": self.unix(b.created) + 24 * 3600,
            "finalizing_at": at(b.outcome == "completed" and b.reached(now, 2), b.created + 2 * b.step),
            "completed_at": at(status == "completed", b.created + 3 * b.step),
            "failed_at": at(status == "failed", b.created + b.step),
            "expired_at": at(status == "expired", b.created + 2 * b.step),
            "cancelling_at": at(b.cancelled is not None, b.cancelled or 0.0),
            "cancelled_at": at(status == "cancelled", (b.cancelled or 0.0) + b.step),
            "request_counts": {"total": len(b.requests) if started else 0, "completed": len(ok),
                               "failed": len(done) - len(ok)},
            "metadata": b.metadata, "model": b.model,
            "usage": {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens": completion, "output_tokens_details": {"reasoning_tokens": 0},
                      "total_tokens": prompt + completion},
        }

    def _batch(self, batch_id: str) -> Batch:
        b = self.batches.get(batch_id)
        if b is None:
            raise ApiError(404, f"No such Batch object: {batch_id}", param="batch_id", code="not_found")
        return b

    def create_batch(self, req: Request) -> Response:
        with self._lock:
            self._batch_creates += 1
            if self._batch_creates == self.config.fail_batch_create:
                raise ApiError(500, "batch creation failed (fault injected by the test server)", type_="server_error")
        body = json_object_body(req)
        endpoint, window, metadata = body.get("endpoint"), body.get("completion_window"), body.get("metadata")
        if endpoint not in BATCH_ENDPOINTS:
            raise ApiError(400, f"Invalid 'endpoint': {endpoint!r}; this test server batches only "
                                f"{', '.join(BATCH_ENDPOINTS)}.", param="endpoint")
        if window not in BATCH_WINDOWS:
            raise ApiError(400, f"Invalid 'completion_window': {window!r}; expected '24h'.", param="completion_window")
        if metadata is not None and (not isinstance(metadata, dict)
                                     or not all(isinstance(v, str) for v in metadata.values())):
            raise ApiError(400, "'metadata' must be an object of string values.", param="metadata")
        outcome = (metadata or {}).get("test_outcome", "completed")
        if outcome not in BATCH_TEST_OUTCOMES:
            raise ApiError(400, f"Invalid metadata test_outcome {outcome!r}; expected one of "
                                f"{', '.join(BATCH_TEST_OUTCOMES)}.", param="metadata")
        with self._lock:
            f = self._usable_file(body.get("input_file_id"), "input_file_id", "batch", "a batch", time.monotonic())
            batch_id = self._new_id("batch_", "batch")
        requests, line_errors = self._batch_requests(batch_id, f.data, endpoint)   # outside the lock: may be long
        if line_errors:
            outcome, errors = "failed", line_errors
        elif outcome == "failed":
            errors = [{"code": "scripted_failure", "line": None, "message": BATCH_FAIL_MESSAGE, "param": None}]
        else:
            errors = []
        model = next((r.body["model"] for r in requests if r.status_code == 200), None)
        with self._lock:
            now = time.monotonic()
            b = Batch(batch_id, now, self.config.batch_step_s, endpoint, window, f.id, metadata, model,
                      requests, outcome, errors)
            if outcome == "completed":
                self._store_batch_results(b, len(requests), None, now + 3 * b.step)
            elif outcome == "expired":
                self._store_batch_results(b, len(requests) // 2, BATCH_EXPIRED, now + 2 * b.step)
            self.batches[b.id] = b
            return Response(200, self.batch_json(b, now))

    def list_batches(self, req: Request) -> Response:
        with self._lock:
            now = time.monotonic()
            objects = [self.batch_json(b, now) for b in reversed(list(self.batches.values()))]
        return cursor_page(req, objects, default_limit=20, max_limit=100)

    def retrieve_batch(self, req: Request) -> Response:
        with self._lock:
            now = time.monotonic()
            return Response(200, self.batch_json(self._batch(req.params["batch_id"]), now))

    def cancel_batch(self, req: Request) -> Response:
        with self._lock:
            now = time.monotonic()
            b = self._batch(req.params["batch_id"])
            status = b.status(now)
            if status not in ("validating", "in_progress", "finalizing"):
                raise ApiError(400, f"Batch {b.id} cannot be cancelled: its status is '{status}'.",
                               param="batch_id", code="invalid_batch_status")
            done = b.processed(now)
            b.cancelled = now
            self._store_batch_results(b, done, BATCH_CANCELLED, now + b.step)
            return Response(200, self.batch_json(b, now))


def _platform_route(method_name: str) -> Callable[[Request], Response]:
    def handler(req: Request) -> Response:
        return getattr(req.state.platform, method_name)(req)
    handler.__name__ = method_name
    return handler


upload_file = _platform_route("upload_file")
list_files = _platform_route("list_files")
retrieve_file = _platform_route("retrieve_file")
delete_file = _platform_route("delete_file")
file_content = _platform_route("file_content")
create_ft_job = _platform_route("create_ft_job")
list_ft_jobs = _platform_route("list_ft_jobs")
retrieve_ft_job = _platform_route("retrieve_ft_job")
cancel_ft_job = _platform_route("cancel_ft_job")
list_ft_events = _platform_route("list_ft_events")
list_ft_checkpoints = _platform_route("list_ft_checkpoints")
create_batch = _platform_route("create_batch")
list_batches = _platform_route("list_batches")
retrieve_batch = _platform_route("retrieve_batch")
cancel_batch = _platform_route("cancel_batch")


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
        elif outcome == "401":
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            resp = error_response(401, f"Incorrect API key provided: {token}. You can find your API key at "
                                       "https://platform.openai.com/account/api-keys.", "invalid_request_error",
                                  code="invalid_api_key")
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
            if config.token_ms and isinstance(resp.body, dict) and "usage" in resp.body:
                with state.generation:  # one request generates at a time, as on a single-slot server
                    time.sleep(config.token_ms * resp.body["usage"]["completion_tokens"] / 1000)
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

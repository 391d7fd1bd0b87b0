"""OpenAI's Batch API behind the same interface as the chat backend (batching hidden inside the
backend, as inspect_ai does): half the price, no rate limits to juggle.

`answer` queues a request; once the runner has queued all it has (nothing new for
`GATHER_S`) or a batch is full, the queue goes out as one batch (custom_id = item id), and each
caller gets its own answer when the batch ends. The runner does what it does for every backend:
the cache, retries, failures. A batch is written to a state file the moment it exists, with the
request key of each of its items; a request whose key a recorded batch covers waits for that
batch (polling it, or downloading its output again) instead of paying a second time, whatever
that batch's status and whichever run recorded it.
"""

from __future__ import annotations

import asyncio
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai

from harness.core.atomic import write_json
from harness.backends.base import BackendContext, BackendError, BaseBackend, Response
from harness.backends.openai_chat import OpenAIChatBackend, api_key_for, chat_identity, request_error, response_from
from harness.cache.responses import request_key
from harness.config.schema import ModelSpec
from harness.core.errors import HarnessError
from harness.core.redact import secret_values

FINAL = {"completed", "failed", "expired", "cancelled"}
RETRYABLE_END = {"expired", "cancelled"}  # the requests were fine; the batch ran out of time
ENDPOINT = "/v1/chat/completions"
GATHER_S = 1.0  # a batch goes out once no request has been queued for this long


@dataclass
class _Queued:
    item_id: str
    key: str
    body: dict[str, Any]
    answer: asyncio.Future


@dataclass
class BatchState:
    """The batches this run folder has paid for: id, input file, and item -> request key."""

    path: Path
    batches: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> "BatchState":
        if not path.is_file():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            batches = data["batches"]
            if not all(isinstance(b, dict) and isinstance(b.get("keys"), dict) and isinstance(b.get("id"), str)
                       for b in batches):
                raise ValueError("a batch without id or keys")
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise HarnessError(f"unreadable batch state ({error}); it names batches already paid for: "
                               "repair it or move it away deliberately", path) from None
        return cls(path, batches)

    def covering(self, item_id: str, key: str, exclude: set[str]) -> str | None:
        """The latest recorded batch that asked exactly this request, unless it ended without
        answering it (then the request is asked again)."""
        for batch in reversed(self.batches):
            if batch["keys"].get(item_id) == key and batch["id"] not in exclude \
                    and item_id not in batch.get("unanswered", ()):
                return batch["id"]
        return None

    def ended(self, batch_id: str, status: str, answered: set[str]) -> None:
        for entry in self.batches:
            if entry["id"] == batch_id:
                entry.update(status=status, unanswered=sorted(set(entry["keys"]) - answered))
        self.save()

    def add(self, batch: dict[str, Any]) -> None:
        self.batches.append(batch)
        self.save()

    def save(self) -> None:
        write_json(self.path, {"batches": self.batches})


class OpenAIBatchBackend(BaseBackend):
    name = "openai-batch"
    queues = True  # requests wait in the backend's own queue: the runner hands over all of them at once
    batch_pricing = True

    @classmethod
    def create(cls, spec: ModelSpec, context: BackendContext) -> "OpenAIBatchBackend":
        return cls(spec, context.config_path, context.identities, context.state_path)

    def __init__(self, spec: ModelSpec, config_path: str | None, identities: Path | None, state_path: Path) -> None:
        self.spec = spec
        key = api_key_for(spec, config_path)
        # No SDK retries: the runner's policy is the only one, as for the chat backend.
        self._client = openai.AsyncOpenAI(api_key=key, base_url=spec.base_url, max_retries=0, timeout=spec.timeout)
        # The same identity as the chat backend: a batch answer is the same completion.
        self._identity = chat_identity(OpenAIChatBackend.name, spec, key, identities)
        self._secrets = [key, *secret_values()]
        del key
        self.state = BatchState.load(state_path)
        self._queue: list[_Queued] = []
        self._flusher: asyncio.TimerHandle | None = None
        self._results: dict[str, asyncio.Task] = {}  # batch id -> its answers, fetched once per process
        self._failed: dict[str, set[str]] = {}  # item id -> batches that gave it no answer

    def identity(self) -> dict[str, Any]:
        return self._identity

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.spec.model, "base_url": str(self._client.base_url),
                "api_key_env": self.spec.api_key_env, "params": self.spec.params,
                "max_batch_requests": self.spec.max_batch_requests, "state": str(self.state.path)}

    async def answer(self, item_id: str, messages: list[dict[str, str]]) -> Response:
        key = request_key(self._identity, messages)
        recorded = self.state.covering(item_id, key, self._failed.get(item_id, set()))
        if recorded is not None:
            return await self._answer(recorded, item_id)
        body = {"model": self.spec.model, "messages": messages, **self.spec.params, **self.spec.extra_body}
        queued = _Queued(item_id, key, body, asyncio.get_running_loop().create_future())
        self._queue.append(queued)
        self._schedule()
        return await queued.answer

    def _schedule(self) -> None:
        loop = asyncio.get_running_loop()
        if self._flusher is not None:
            self._flusher.cancel()
        delay = 0.0 if len(self._queue) >= self.spec.max_batch_requests else GATHER_S
        self._flusher = loop.call_later(delay, lambda: loop.create_task(self._flush()))

    async def _flush(self) -> None:
        self._flusher = None
        while self._queue:
            chunk = self._queue[: self.spec.max_batch_requests]
            del self._queue[: len(chunk)]
            try:
                batch_id = await self._create(chunk)
            except Exception as error:  # nobody may wait forever: every caller gets the error
                for queued in chunk:
                    if not queued.answer.done():
                        queued.answer.set_exception(error)
                continue
            for queued in chunk:
                task = asyncio.ensure_future(self._answer(batch_id, queued.item_id))
                task.add_done_callback(lambda t, q=queued: _settle(q.answer, t))

    async def _create(self, chunk: list[_Queued]) -> str:
        lines = [json.dumps({"custom_id": q.item_id, "method": "POST", "url": ENDPOINT, "body": q.body},
                            ensure_ascii=False) for q in chunk]
        payload = ("\n".join(lines) + "\n").encode("utf-8")
        upload = await self._call(self._client.files.create(file=("batch-input.jsonl", io.BytesIO(payload)),
                                                            purpose="batch"), "uploading the batch input")
        extra = {"metadata": dict(self.spec.batch_metadata)} if self.spec.batch_metadata else {}
        batch = await self._call(self._client.batches.create(input_file_id=upload.id, endpoint=ENDPOINT,
                                                             completion_window="24h", **extra),
                                 "creating the batch")
        self.state.add({"id": batch.id, "input_file_id": upload.id, "status": batch.status,
                        "keys": {q.item_id: q.key for q in chunk}})
        return batch.id

    async def _answer(self, batch_id: str, item_id: str) -> Response:
        task = self._results.get(batch_id)
        if task is None:
            task = self._results[batch_id] = asyncio.ensure_future(self._fetch(batch_id))
        try:
            answers = await asyncio.shield(task)
        except BackendError:
            if self._results.get(batch_id) is task:
                del self._results[batch_id]  # a failed download is tried again, not the batch
            raise
        status, found = answers
        if found is None or item_id not in found:
            self._failed.setdefault(item_id, set()).add(batch_id)
            raise BackendError(f"batch {batch_id} {status}: no answer", status in RETRYABLE_END)
        kind, value = found[item_id]
        if kind == "error":
            self._failed.setdefault(item_id, set()).add(batch_id)
            raise BackendError(f"batch {batch_id}: {value}", status in RETRYABLE_END)
        try:
            return response_from(value, 0.0)
        except BackendError:
            self._failed.setdefault(item_id, set()).add(batch_id)
            raise

    async def _fetch(self, batch_id: str) -> tuple[str, dict[str, tuple[str, Any]] | None]:
        """Poll until the batch ends, then its answers by custom_id: ("ok", body) or ("error", text)."""
        while True:
            batch = await self._call(self._client.batches.retrieve(batch_id), f"reading batch {batch_id}")
            self._record_status(batch_id, batch.status)
            if batch.status in FINAL:
                break
            await asyncio.sleep(self.spec.poll_interval)
        found: dict[str, tuple[str, Any]] = {}
        for line in await self._lines(batch.error_file_id):
            error = line.get("error") or (line.get("response") or {}).get("body", {}).get("error") or {}
            found[str(line.get("custom_id"))] = ("error", error.get("message") or error.get("code") or "failed")
        for line in await self._lines(batch.output_file_id):
            response = line.get("response") or {}
            if response.get("status_code", 200) >= 400:
                error = (response.get("body") or {}).get("error") or {}
                found[str(line.get("custom_id"))] = ("error", f"HTTP {response.get('status_code')}: "
                                                              f"{error.get('message') or 'failed'}")
            else:
                found[str(line.get("custom_id"))] = ("ok", response.get("body"))
        self.state.ended(batch_id, batch.status, {k for k, (kind, _) in found.items() if kind == "ok"})
        if batch.status == "failed" and not found:
            reasons = "; ".join(e.message for e in (batch.errors.data or [])) if batch.errors else ""
            return f"failed{': ' + reasons if reasons else ''}", None
        return batch.status, found

    def _record_status(self, batch_id: str, status: str) -> None:
        for entry in self.state.batches:
            if entry["id"] == batch_id and entry.get("status") != status:
                entry["status"] = status
                self.state.save()

    async def _lines(self, file_id: str | None) -> list[dict]:
        if not file_id:
            return []
        content = await self._call(self._client.files.content(file_id), f"downloading {file_id}")
        lines = []
        for text in content.text.split("\n"):
            if text.strip():
                try:
                    lines.append(json.loads(text))
                except json.JSONDecodeError:
                    raise BackendError(f"{file_id}: a line that is not JSON", True) from None
        return lines

    async def _call(self, call, what: str) -> Any:
        try:
            return await call
        except (openai.OpenAIError, ValueError, TypeError) as error:
            raise request_error(error, what, self._client.base_url, self.spec, self._secrets) from None

    async def close(self) -> None:
        await self._client.close()


def _settle(answer: asyncio.Future, task: asyncio.Task) -> None:
    if answer.done():
        return
    if task.cancelled():
        answer.cancel()
    elif task.exception() is not None:
        answer.set_exception(task.exception())
    else:
        answer.set_result(task.result())

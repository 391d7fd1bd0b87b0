"""OpenAI's Batch API for a whole run: half the price, no rate limits to juggle.

Writes the batch input (custom_id = item id), uploads it, creates batches within the per-batch
request limit, polls them, downloads output and error files, joins on custom_id (the output is
unordered) and feeds the same response cache as the chat backend, so a later run of the same
requests is free. The batch ids are kept in the run directory: a re-run resumes polling.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import openai
from tqdm import tqdm

from harness.api import api_call
from harness.backends.openai_chat import api_key_for, chat_identity
from harness.cache import CachedResponse, ResponseCache, request_key
from harness.config import ModelSpec
from harness.datasets import Item
from harness.atomic import write_json
from harness.runner import ItemResult, RunStats

FINAL = {"completed", "failed", "expired", "cancelled"}
ENDPOINT = "/v1/chat/completions"


class OpenAIBatchBackend:
    name = "openai-batch"
    cacheable = True
    chat = True

    def __init__(self, spec: ModelSpec, config_path: str | None = None, identities: Path | None = None) -> None:
        self.spec = spec
        key = api_key_for(spec, config_path)
        self._client = openai.OpenAI(api_key=key, base_url=spec.base_url, max_retries=3, timeout=spec.timeout)
        # The same identity as the chat backend: a batch answer is the same completion.
        self._identity = chat_identity("openai", spec, key, identities)
        del key

    def identity(self) -> dict[str, Any]:
        return self._identity

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.spec.model, "base_url": str(self._client.base_url),
                "api_key_env": self.spec.api_key_env, "params": self.spec.params,
                "max_batch_requests": self.spec.max_batch_requests}

    def run(self, items: Sequence[Item], messages: Callable[[Item], list[dict[str, str]]],
            cache: ResponseCache | None, state_path: Path, progress: bool = True) -> tuple[list[ItemResult], RunStats]:
        stats = RunStats()
        results = {item.id: ItemResult(item.id, item.source) for item in items}
        identity = self.identity()
        keys = {}
        pending: list[Item] = []
        for item in items:
            keys[item.id] = request_key(identity, messages(item))
            hit = cache.get(keys[item.id]) if cache is not None else None
            if hit is not None:
                result = results[item.id]
                result.raw, result.finish_reason, result.usage = hit.text, hit.finish_reason, hit.usage
                result.system_fingerprint, result.cached, result.model = hit.system_fingerprint, True, hit.model
                stats.cached += 1
            else:
                pending.append(item)
        state = self._load_state(state_path, [item.id for item in pending])
        if pending and not state["batches"]:
            for start in range(0, len(pending), self.spec.max_batch_requests):
                chunk = pending[start : start + self.spec.max_batch_requests]
                state["batches"].append(self._create(chunk, messages))
                write_json(state_path, state)
        self._poll(state, state_path, progress)
        for batch in state["batches"]:
            self._collect(batch, results, keys, cache, stats)
        write_json(state_path, state)
        return [results[item.id] for item in items], stats

    def _load_state(self, path: Path, pending_ids: list[str]) -> dict:
        """Resume the batches of an interrupted run when they cover exactly what is pending."""
        if path.is_file():
            state = json.loads(path.read_text(encoding="utf-8"))
            covered = sorted(i for batch in state.get("batches", []) for i in batch["custom_ids"])
            unfinished = [b for b in state.get("batches", []) if b.get("status") not in FINAL]
            if unfinished and covered == sorted(pending_ids):
                return state
        return {"batches": []}

    def _create(self, chunk: Sequence[Item], messages: Callable[[Item], list[dict[str, str]]]) -> dict:
        lines = []
        for item in chunk:
            body = {"model": self.spec.model, "messages": messages(item), **self.spec.params, **self.spec.extra_body}
            lines.append(json.dumps({"custom_id": item.id, "method": "POST", "url": ENDPOINT, "body": body},
                                    ensure_ascii=False))
        payload = ("\n".join(lines) + "\n").encode("utf-8")
        upload = api_call(lambda: self._client.files.create(file=("batch-input.jsonl", io.BytesIO(payload)),
                                                             purpose="batch"), "batch: uploading the input")
        extra = {"metadata": self.spec.batch_metadata} if self.spec.batch_metadata else {}
        batch = api_call(lambda: self._client.batches.create(input_file_id=upload.id, endpoint=ENDPOINT,
                                                              completion_window="24h", **extra), "batch: creating")
        return {"id": batch.id, "input_file_id": upload.id, "custom_ids": [item.id for item in chunk],
                "status": batch.status, "output_file_id": None, "error_file_id": None, "errors": None}

    def _poll(self, state: dict, state_path: Path, progress: bool) -> None:
        total = sum(len(b["custom_ids"]) for b in state["batches"])
        bar = tqdm(total=total, disable=not progress or not total, unit="req", desc="batch", dynamic_ncols=True)
        try:
            while True:
                done = 0
                for entry in state["batches"]:
                    if entry["status"] not in FINAL:
                        batch = api_call(lambda: self._client.batches.retrieve(entry["id"]), f"reading {entry['id']}")
                        entry.update(status=batch.status, output_file_id=batch.output_file_id,
                                     error_file_id=batch.error_file_id,
                                     errors=[e.message for e in (batch.errors.data or [])] if batch.errors else None)
                        counts = batch.request_counts
                        entry["completed"] = (counts.completed + counts.failed) if counts else 0
                    done += entry.get("completed", 0) if entry["status"] not in FINAL else len(entry["custom_ids"])
                write_json(state_path, state)
                bar.n = done
                bar.set_postfix(status=",".join(sorted({b["status"] for b in state["batches"]})), refresh=True)
                if all(b["status"] in FINAL for b in state["batches"]):
                    return
                time.sleep(self.spec.poll_interval)
        finally:
            bar.close()

    def _lines(self, file_id: str | None) -> list[dict]:
        if not file_id:
            return []
        content = api_call(lambda: self._client.files.content(file_id), f"downloading {file_id}")
        return [json.loads(line) for line in content.text.splitlines() if line.strip()]

    def _collect(self, batch: dict, results: dict[str, ItemResult], keys: dict[str, str],
                 cache: ResponseCache | None, stats: RunStats) -> None:
        answered: set[str] = set()
        for line in self._lines(batch.get("output_file_id")):
            item_id = line.get("custom_id")
            response = line.get("response") or {}
            result = results.get(item_id)
            if result is None:
                continue
            answered.add(item_id)
            body = response.get("body") or {}
            try:
                choice = body["choices"][0]
                text = choice["message"]["content"]
            except (KeyError, IndexError, TypeError):
                result.error = f"batch {batch['id']}: malformed response (status {response.get('status_code')})"
                stats.failed += 1
                continue
            if not isinstance(text, str) or not text.strip():
                result.error = f"batch {batch['id']}: empty content"
                stats.failed += 1
                continue
            usage = {k: int((body.get("usage") or {}).get(k) or 0)
                     for k in ("prompt_tokens", "completion_tokens", "total_tokens")}
            result.raw, result.finish_reason, result.usage = text, choice.get("finish_reason"), usage
            result.system_fingerprint = body.get("system_fingerprint")
            result.model = body.get("model") if isinstance(body.get("model"), str) else None
            if cache is not None:
                cache.put(keys[item_id], CachedResponse(text, result.finish_reason, usage, result.system_fingerprint,
                                                        0.0, time.time(), result.model))
            stats.sent += 1
        errors = {line.get("custom_id"): line.get("error") or {} for line in self._lines(batch.get("error_file_id"))}
        for item_id in batch["custom_ids"]:
            if item_id in answered:
                continue
            result = results[item_id]
            detail = errors.get(item_id, {}).get("message") or errors.get(item_id, {}).get("code")
            if detail is None:
                detail = "; ".join(batch.get("errors") or []) or "no answer"
            result.error = f"batch {batch['id']} {batch['status']}: {detail}"
            stats.failed += 1

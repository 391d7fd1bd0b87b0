"""Any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp server, Ollama) via the
official SDK. The SDK's own retries are off: the runner retries, honouring Retry-After."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import openai

from harness.backends import served
from harness.backends.base import BackendContext, BackendError, BaseBackend, Response, Usage
from harness.config.schema import ModelSpec
from harness.core.errors import HarnessError
from harness.core.redact import redact, secret_values

LOCAL_PLACEHOLDER_KEY = "not-needed"


def _retry_after(response: Any) -> float | None:
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                continue
    return None


class OpenAIChatBackend(BaseBackend):
    name = "openai"

    @classmethod
    def create(cls, spec: ModelSpec, context: BackendContext) -> "OpenAIChatBackend":
        return cls(spec, context.config_path, context.identities)

    def __init__(self, spec: ModelSpec, config_path: str | None = None, identities: Path | None = None) -> None:
        self.spec = spec
        api_key = api_key_for(spec, config_path)
        self._client = openai.AsyncOpenAI(api_key=api_key, base_url=spec.base_url, max_retries=0,
                                          timeout=spec.timeout)
        self._identity = chat_identity(self.name, spec, api_key, identities)
        self._secrets = [api_key, *secret_values()]
        del api_key

    def identity(self) -> dict[str, Any]:
        return self._identity

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.spec.model, "base_url": str(self._client.base_url),
                "api_key_env": self.spec.api_key_env, "params": self.spec.params, "extra_body": self.spec.extra_body,
                "timeout": self.spec.timeout, "retries": self.spec.retries}

    async def answer(self, item_id: str, messages: list[dict[str, str]]) -> Response:
        body: dict[str, Any] = {"model": self.spec.model, "messages": messages, **self.spec.params,
                                **self.spec.extra_body}
        start = time.perf_counter()
        try:
            # The SDK's own client (auth, headers, timeouts, error types), without its typed
            # layer: `chat.completions.create` spends about 2 ms of CPU a request transforming
            # parameters and building models, a third of what 50 concurrent requests can afford.
            response = await self._client.post("/chat/completions", body=body, cast_to=object)
        except (openai.OpenAIError, ValueError, TypeError) as error:  # ValueError: a body that is not JSON
            raise request_error(error, None, self._client.base_url, self.spec, self._secrets) from None
        return response_from(response, time.perf_counter() - start)

    async def close(self) -> None:
        await self._client.close()


def request_error(error: Exception, what: str | None, base_url: Any, spec: ModelSpec,
                  secrets: list[str]) -> BackendError:
    """The one mapping of SDK errors to BackendError (chat requests and Batch API calls alike):
    what to retry and how long to wait, what stops the run, and no secret in any reason."""
    prefix = f"{what}: " if what else ""
    if isinstance(error, openai.RateLimitError):
        return BackendError(f"{prefix}rate limited (429)", True, _retry_after(error.response))
    if isinstance(error, openai.APITimeoutError):
        return BackendError(f"{prefix}timed out after {spec.timeout:g} s", True)
    if isinstance(error, openai.APIConnectionError):
        return BackendError(f"{prefix}cannot connect to {base_url} ({type(error).__name__})", True, connection=True)
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        message = redact(_short(error.message), secrets)
        if status in (401, 403):
            return BackendError(f"{prefix}HTTP {status} from {base_url}: {message} (the key in {spec.api_key_env} "
                                "was refused)", False, fatal=True)
        return BackendError(f"{prefix}HTTP {status}: {message}", status >= 500 or status in (408, 409),
                            _retry_after(error.response))
    if isinstance(error, openai.APIResponseValidationError):
        return BackendError(f"{prefix}malformed response: {redact(_short(str(error)), secrets)}", True)
    if isinstance(error, (ValueError, TypeError)):
        return BackendError(f"{prefix}malformed response: {type(error).__name__}", True)
    return BackendError(f"{prefix}{type(error).__name__}: {redact(_short(str(error)), secrets)}", True)


def response_from(body: Any, latency: float) -> Response:
    """A chat completion body (a chat response, or a line of a batch's output) as a Response."""
    try:
        choice = body["choices"][0]
        text = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise BackendError("malformed response: no choices[0].message.content", True) from None
    if not isinstance(text, str):
        raise BackendError("malformed response: message content is not text", True)
    if not text.strip():
        raise BackendError("empty content", False)
    try:
        usage = body.get("usage") or {}
        return Response(text=text, finish_reason=_text_or_none(choice.get("finish_reason")),
                        usage=Usage(**{k: int(usage.get(k) or 0) for k in ("prompt_tokens", "completion_tokens",
                                                                            "total_tokens")}),
                        system_fingerprint=_text_or_none(body.get("system_fingerprint")), latency=latency,
                        model=_text_or_none(body.get("model")))
    except (ValueError, TypeError, AttributeError) as error:  # pydantic's ValidationError is a ValueError
        raise BackendError(f"malformed response: {type(error).__name__} in its fields", True) from None


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def api_key_for(spec: ModelSpec, config_path: str | None) -> str:
    """The key from the environment variable the config names; local servers need none."""
    if spec.api_key_env is None:
        return LOCAL_PLACEHOLDER_KEY  # local servers ignore the key, the SDK wants one
    api_key = os.environ.get(spec.api_key_env, "")
    if not api_key:
        raise HarnessError(f"model.api_key_env: environment variable {spec.api_key_env} is not set "
                           "(it must hold the API key; set api_key_env: null for a local server)", config_path)
    return api_key


def chat_identity(backend: str, spec: ModelSpec, api_key: str, identities: Path | None) -> dict[str, Any]:
    """The cache-key identity of a chat endpoint: where, what was asked for, with which
    parameters, and what the server says it serves (asked now, before any request)."""
    with openai.OpenAI(api_key=api_key, base_url=spec.base_url, max_retries=2, timeout=min(spec.timeout, 30)) as client:
        probed = served.probe(client, spec.model, identities)
        base_url = str(client.base_url)
    return {"backend": backend, "base_url": base_url, "requested": spec.model,
            "params": {**spec.params, "extra_body": spec.extra_body}, **probed}


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

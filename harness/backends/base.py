"""The one small interface every backend implements, and what it returns or raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    system_fingerprint: str | None = None
    latency: float = 0.0
    model: str | None = None  # the model the response says answered


class BackendError(Exception):
    """A failed request. `retryable` errors (429, 5xx, timeouts, connection errors) are retried
    by the runner, waiting `retry_after` seconds when the server said so; `connection` errors
    (nothing answered) for longer, since a local server may be restarting; `fatal` ones (the
    key refused) stop the run. `reason` never holds a secret (see harness.core.redact)."""

    def __init__(self, reason: str, retryable: bool, retry_after: float | None = None, fatal: bool = False,
                 connection: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after
        self.fatal = fatal
        self.connection = connection


class Backend(Protocol):
    name: str
    cacheable: bool  # responses worth caching (a paid or slow model), keyed by `identity()`
    chat: bool  # needs rendered messages
    queues: bool  # keeps its own queue (Batch API): the runner hands it every request at once, unthrottled

    def identity(self) -> dict[str, Any]:
        """What identifies a response besides the messages: base_url, the model asked for,
        parameters, and what the server says it serves (asked once, before any request).
        Part of every cache key and of the run record."""
        ...

    def describe(self) -> dict[str, Any]:
        """For the run manifest (never includes a secret)."""
        ...

    async def generate(self, item_id: str, messages: list[dict[str, str]]) -> Completion: ...

    async def aclose(self) -> None: ...

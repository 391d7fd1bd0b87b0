"""The one small protocol every backend implements, what it answers (harness.core.response.Response)
or raises, what it is built from, and `BaseBackend`, the defaults a backend of a served model
takes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from harness.backends import SERVE_LOCAL_DIR
from harness.core.response import Response, Usage

if TYPE_CHECKING:
    from harness.config.schema import ModelSpec
    from harness.data.manifest import DataSettings

__all__ = ["Backend", "BackendContext", "BackendError", "BaseBackend", "Response", "Usage"]


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


@dataclass(frozen=True)
class BackendContext:
    """What a backend may need besides its config section (`model:`)."""

    settings: DataSettings  # the data mirror and cache (stored outputs; serve-local identities)
    item_ids: tuple[str, ...]  # the dataset's ids, in order (stored outputs are checked against them)
    state_path: Path  # beside the run folder: state a backend keeps across runs (the Batch API's batches)
    config_path: str | None = None  # where the config was read, for errors

    @property
    def identities(self) -> Path:
        """Where `harness serve-local` publishes what the model it serves is."""
        return self.settings.cache_dir / SERVE_LOCAL_DIR


class Backend(Protocol):
    """A backend: built from its config section, it says what it is (`identity`, part of every
    cache key and of the run record), answers requests, and closes. Its class says what the
    runner and the record should do with it."""

    name: ClassVar[str]  # its registered name (`model.backend` in a config)
    cacheable: ClassVar[bool]  # responses worth caching (a paid or slow model), keyed by `identity()`
    chat: ClassVar[bool]  # needs rendered messages (False: nothing is sent; a dry run has no request to show)
    queues: ClassVar[bool]  # keeps its own queue (Batch API): the runner hands it every request at once, unthrottled
    generates: ClassVar[bool]  # a model generates during the run: the manifest records speed and estimated cost
    batch_pricing: ClassVar[bool]  # priced at data/prices.yaml's Batch API rates

    @classmethod
    def check_spec(cls, spec: ModelSpec) -> None:
        """Raise ValueError saying what the config's `model:` section lacks for this backend
        (called by the config schema, so the error names the key and its line)."""
        ...

    @classmethod
    def create(cls, spec: ModelSpec, context: BackendContext) -> Backend:
        """Build and check the backend before any paid request (a chat backend asks its server
        what it serves); raise HarnessError on what stops the run."""
        ...

    @classmethod
    def describe_dry_run(cls, spec: ModelSpec, items: int) -> str | None:
        """What `run --dry-run` prints for a backend that sends no request (None: the first
        request and the estimated cost)."""
        ...

    def identity(self) -> dict[str, Any]:
        """What identifies a response besides the messages: base_url, the model asked for,
        parameters, and what the server says it serves (asked once, before any request).
        Part of every cache key and of the run record."""
        ...

    def describe(self) -> dict[str, Any]:
        """For the run manifest (never a secret); `backend` is its name."""
        ...

    async def answer(self, item_id: str, messages: list[dict[str, str]]) -> Response:
        """The model's response to one request; raise BackendError when there is none."""
        ...

    async def close(self) -> None: ...


class BaseBackend:
    """Defaults for a backend of a served model: cached, chat, priced at the usual rates, one
    request at a time through the runner's limits; the config must name the model."""

    name: ClassVar[str]
    cacheable: ClassVar[bool] = True
    chat: ClassVar[bool] = True
    queues: ClassVar[bool] = False
    generates: ClassVar[bool] = True
    batch_pricing: ClassVar[bool] = False

    @classmethod
    def check_spec(cls, spec: ModelSpec) -> None:
        if spec.model is None:
            raise ValueError(f"the {spec.backend} backend needs model (the model name to ask for)")
        if spec.api_key_env is None and spec.base_url is None:
            raise ValueError("api_key_env: null (no key) is for local servers: set base_url too, or requests "
                             "would go to api.openai.com without a key")

    @classmethod
    def describe_dry_run(cls, spec: ModelSpec, items: int) -> str | None:
        return None

    async def close(self) -> None:
        return None

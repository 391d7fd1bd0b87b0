"""Model backends: each turns an item (and its rendered messages) into a completion.

The runner owns concurrency, limits, retries, the cache and progress; a backend only talks to
its model. A new backend is one module implementing `Backend`.
"""

from __future__ import annotations

from pathlib import Path

from harness.backends.base import Backend, BackendError, Completion
from harness.config.schema import RunConfig
from harness.data.manifest import DataSettings

# Under the cache directory: the identity files `harness serve-local` publishes.
SERVE_LOCAL_DIR = "serve-local"


def make_backend(config: RunConfig, settings: DataSettings, item_ids: list[str], batch_state: Path) -> Backend:
    """Build (and validate) the configured backend before any request is sent. `batch_state`:
    where the Batch API backend records the batches it pays for."""
    if config.model.backend == "openai":
        from harness.backends.openai_chat import OpenAIChatBackend

        return OpenAIChatBackend(config.model, config.path, settings.cache_dir / SERVE_LOCAL_DIR)
    if config.model.backend == "openai-batch":
        from harness.backends.openai_batch import OpenAIBatchBackend

        return OpenAIBatchBackend(config.model, config.path, settings.cache_dir / SERVE_LOCAL_DIR, batch_state)
    from harness.backends.stored import StoredBackend

    return StoredBackend(config.model, settings, item_ids, config.path)


__all__ = ["Backend", "BackendError", "Completion", "make_backend"]

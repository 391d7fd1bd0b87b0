"""One place that turns OpenAI SDK errors of platform calls (files, jobs, batches) into
user-facing errors; chat requests have their own retry-aware mapping in the backend."""

from __future__ import annotations

from typing import Any, Callable

import openai

from harness.core.errors import HarnessError
from harness.core.redact import redact


def api_call(call: Callable[[], Any], what: str) -> Any:
    try:
        return call()
    except openai.APIStatusError as error:
        raise HarnessError(f"{what} failed: HTTP {error.status_code}: {redact(str(error.message))}") from None
    except openai.APIConnectionError as error:
        raise HarnessError(f"{what} failed: cannot reach the API ({type(error).__name__})") from None

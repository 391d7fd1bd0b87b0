"""What model actually answers behind an OpenAI-compatible URL, asked before the first request.

The config's `model:` string is only what the harness asks for: a local server restarted with
another GGUF or chat template answers to the same URL and name. So every run asks the server
(`GET /models`) which model it serves, keeps the fields that stay put between restarts (vLLM
stamps `created` with the time of the request), and makes that entry part of every cache key
and of the run record. `harness serve-local` publishes the GGUF's sha256, chat template and
llama-cpp-python version in the id it serves, so a swap there is always a cache miss.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai

from harness.core.errors import HarnessError

# Fields of a /models entry that identify a model and do not change from one request to the next.
STABLE_FIELDS = ("id", "owned_by", "root", "parent", "max_model_len", "meta")
# `harness serve-local` serves ids of the form `<file name>@<digest>` (see serve_local.py).
IDENTITY_MARK = "@"


def stable_entry(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: entry[key] for key in STABLE_FIELDS if entry.get(key) is not None}


def probe(client: openai.OpenAI, model: str | None, identities: Path | None = None) -> dict[str, Any]:
    """The server's entry for `model` (or its only model), with the serve-local identity the id
    names when one is on record in `identities`. An endpoint without a model list is recorded
    as such; an endpoint that cannot be reached at all stops the run before it starts."""
    where = str(client.base_url)
    try:
        listing = client.get("/models", cast_to=object)
    except openai.APIStatusError as error:
        if error.status_code in (401, 403):
            raise HarnessError(f"{where}: the API key was refused (HTTP {error.status_code}) when listing "
                               "models; check the variable named by model.api_key_env") from None
        return {"served": None, "probe": f"GET /models: HTTP {error.status_code}"}
    except (openai.APIConnectionError, openai.APITimeoutError) as error:
        raise HarnessError(f"cannot reach the model server at {where} ({type(error).__name__}); "
                           "is it running?") from None
    except (ValueError, TypeError):
        return {"served": None, "probe": "GET /models: not JSON"}
    data = listing.get("data") if isinstance(listing, dict) else None
    entries = [e for e in data if isinstance(e, dict) and isinstance(e.get("id"), str)] if isinstance(data, list) else []
    chosen = next((e for e in entries if e["id"] == model), None)
    if chosen is None and len(entries) == 1:
        chosen = entries[0]  # llama.cpp and vLLM serve one model whatever name is asked for
    if chosen is None:
        return {"served": None, "probe": f"GET /models: {model!r} not among the {len(entries)} models listed"}
    served = stable_entry(chosen)
    local = local_identity(served["id"], identities)
    return {"served": served, **({"local_server": local} if local is not None else {})}


def local_identity(served_id: str, identities: Path | None) -> dict[str, Any] | None:
    """The identity file `harness serve-local` wrote for the digest in `served_id`, if any."""
    if identities is None or IDENTITY_MARK not in served_id:
        return None
    digest = served_id.rsplit(IDENTITY_MARK, 1)[1]
    if not digest.isalnum():
        return None
    path = identities / f"{digest}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None

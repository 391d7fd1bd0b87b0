"""The model's response: the one type a reply has from the backend that receives it, through the
response cache and the runner, to its line in the run record (`predictions.jsonl`).

It lives in `core` because every package on that path may import `core` and nothing else of
each other (backends never import the record; the cache stands alone)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict

Count = Annotated[int, Strict(), Field(ge=0)]


class Usage(BaseModel):
    """Tokens of a request as the server counted them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt_tokens: Count = 0
    completion_tokens: Count = 0
    total_tokens: Count = 0

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(prompt_tokens=self.prompt_tokens + other.prompt_tokens,
                     completion_tokens=self.completion_tokens + other.completion_tokens,
                     total_tokens=self.total_tokens + other.total_tokens)


class Response(BaseModel):
    """A model's reply to one request. `usage` is None when nothing was counted (stored
    outputs); `model` and `system_fingerprint` are what the response says answered; `latency`
    is the seconds the request took (0 for stored outputs and Batch API answers)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: Annotated[str, Strict()]
    finish_reason: str | None = None
    usage: Usage | None = None
    system_fingerprint: str | None = None
    latency: Annotated[float, Field(ge=0)] = 0.0
    model: str | None = None

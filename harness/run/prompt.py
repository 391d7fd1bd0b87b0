"""Chat messages for one source sentence. Built from the source alone, by construction."""

from __future__ import annotations

from harness.config.schema import PromptSpec


def user_turn(template: str, source: str) -> str:
    # str.replace, not str.format: sources may contain braces.
    return template.replace("{source}", source)


def render(prompt: PromptSpec, source: str) -> list[dict[str, str]]:
    messages: list[dict[str, str]] = []
    if prompt.system:
        messages.append({"role": "system", "content": prompt.system})
    for example_source, example_target in prompt.few_shot:
        messages.append({"role": "user", "content": user_turn(prompt.user, example_source)})
        messages.append({"role": "assistant", "content": example_target})
    messages.append({"role": "user", "content": user_turn(prompt.user, source)})
    return messages

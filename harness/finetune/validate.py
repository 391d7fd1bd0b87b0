"""The checks of OpenAI's fine-tuning data-preparation guide, each problem with its line, plus
token counts and a training cost estimate (tokens are estimated: no tokenizer download here)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from harness.core.errors import HarnessError
from harness.run.pricing import load_prices
from harness.run.runner import estimate_tokens

KNOWN_ROLES = {"system", "user", "assistant", "tool", "function"}
KNOWN_MESSAGE_KEYS = {"role", "content", "name", "weight", "function_call", "tool_calls", "tool_call_id"}
MIN_EXAMPLES = 10
MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_EXAMPLE_TOKENS = {"gpt-3.5-turbo": 16_385, "gpt-4o-mini": 65_536, "gpt-4o": 65_536}
DEFAULT_EPOCHS = 3


@dataclass
class Validation:
    path: str
    examples: int = 0
    problems: list[tuple[int | None, str]] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    model: str = "gpt-3.5-turbo"
    epochs: int = DEFAULT_EPOCHS

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def total_tokens(self) -> int:
        return sum(self.tokens)

    def cost(self) -> float | None:
        price = load_prices().get("training", {})
        matches = [key for key in price if self.model.startswith(key)]
        if not matches:
            return None
        return round(self.total_tokens * self.epochs * price[max(matches, key=len)] / 1e6, 4)

    def report(self) -> str:
        lines = [f"{self.path}: {self.examples} examples"]
        lines += [f"{self.path}:{line}: {message}" if line else f"{self.path}: {message}"
                  for line, message in self.problems]
        if self.tokens:
            ordered = sorted(self.tokens)
            cost = self.cost()
            lines.append(f"estimated tokens: {self.total_tokens} in all; per example min {ordered[0]}, "
                         f"median {ordered[len(ordered) // 2]}, max {ordered[-1]}")
            lines.append(f"estimated training cost for {self.epochs} epochs on {self.model}: "
                         + (f"${cost:.2f}" if cost is not None else "unknown (not in data/prices.yaml)"))
        lines.append("OK" if self.ok else f"{len(self.problems)} problem(s)")
        return "\n".join(lines)


def validate(path: str | Path, model: str = "gpt-3.5-turbo", epochs: int = DEFAULT_EPOCHS) -> Validation:
    """Every problem of a chat fine-tuning file, each with its line (OpenAI's data-preparation
    checks), and the token counts the cost estimate needs."""
    path = Path(path)
    result = Validation(str(path), model=model, epochs=epochs)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise HarnessError(f"cannot read: {error.strerror}", path) from None
    if len(data) > MAX_FILE_BYTES:
        result.problems.append((None, f"file is {len(data)} bytes, over the {MAX_FILE_BYTES}-byte limit"))
    if not data.strip():
        result.problems.append((None, "empty file: no examples"))
        return result
    limit = next((v for k, v in MAX_EXAMPLE_TOKENS.items() if model.startswith(k) or k in model), 16_385)
    for number, raw in enumerate(data.split(b"\n"), 1):
        if raw.strip():
            result.examples += 1
            _check_line(number, raw, model, limit, result)
    if result.examples < MIN_EXAMPLES:
        result.problems.append((None, f"{result.examples} examples: at least {MIN_EXAMPLES} are required"))
    return result


def _check_line(number: int, raw: bytes, model: str, limit: int, result: Validation) -> None:
    """One example: valid JSON, well-formed messages, an assistant turn, within the token limit."""
    try:
        example = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        result.problems.append((number, f"not valid JSON ({type(error).__name__})"))
        return
    messages = example.get("messages") if isinstance(example, dict) else None
    if not isinstance(messages, list) or not messages:
        result.problems.append((number, "missing 'messages' list"))
        return
    problems = [problem for position, message in enumerate(messages)
                for problem in _message_problems(position, message)]
    result.problems.extend((number, problem) for problem in problems)
    if problems:
        return
    if not any(m["role"] == "assistant" for m in messages):
        result.problems.append((number, "no assistant message"))
        return
    tokens = estimate_tokens(messages, 0) + 3
    result.tokens.append(tokens)
    if tokens > limit:
        result.problems.append((number, f"about {tokens} tokens, over the {limit}-token limit of {model}"))


def _message_problems(position: int, message: object) -> list[str]:
    """What is wrong with one message of an example, in the order OpenAI's guide checks it."""
    if not isinstance(message, dict):
        return [f"message {position} is not an object"]
    problems = []
    unknown = sorted(set(message) - KNOWN_MESSAGE_KEYS)
    if unknown:
        problems.append(f"message {position}: unknown key(s) {', '.join(unknown)}")
    if message.get("role") not in KNOWN_ROLES:
        problems.append(f"message {position}: unknown role {message.get('role')!r}")
    if not isinstance(message.get("content"), str):
        problems.append(f"message {position}: content is not a string")
    elif message.get("role") == "assistant" and not message["content"].strip():
        problems.append(f"message {position}: empty assistant message (nothing to learn)")
    if "weight" in message and (message["weight"] not in (0, 1) or isinstance(message["weight"], bool)):
        problems.append(f"message {position}: weight must be 0 or 1, got {message['weight']!r}")
    return problems

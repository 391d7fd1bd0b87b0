"""Backends by name: the one place where a backend's name means something.

A config's `model.backend` is looked up here; everything else asks the backend's class what to
do (`chat`, `queues`, `generates`, `batch_pricing`, `check_spec`, `describe_dry_run`: see
`harness.backends.base.Backend`), never its name. A backend is registered by one line below (or
by `register` from anywhere, a test for instance), as its class or as "module:Class", imported
when first used so that reading a config does not load every SDK.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from harness.backends.base import Backend, BackendContext
    from harness.config.schema import ModelSpec

_BACKENDS: dict[str, Union[str, "type[Backend]"]] = {}


def register(name: str, backend: Union[str, "type[Backend]"]) -> None:
    """Make `name` a backend a config may name: `backend` is the class, or "module:Class"."""
    _BACKENDS[name] = backend


def unregister(name: str) -> None:
    _BACKENDS.pop(name, None)


def names() -> tuple[str, ...]:
    return tuple(_BACKENDS)


def check_name(name: str) -> str:
    """`name` when a backend is registered by it (the config schema's check), else ValueError."""
    if name not in _BACKENDS:
        raise ValueError(f"unknown backend {name!r} (registered: {', '.join(_BACKENDS)})")
    return name


def backend_class(name: str) -> "type[Backend]":
    target = _BACKENDS.get(check_name(name))
    if isinstance(target, str):
        module, _, attribute = target.partition(":")
        target = _BACKENDS[name] = getattr(import_module(module), attribute)
    own = getattr(target, "name", None)
    if own != name:
        raise TypeError(f"backend {name!r} is registered as {target!r}, whose name is {own!r}")
    return target


def check_spec(spec: "ModelSpec") -> None:
    """What the named backend needs of the rest of the config's `model:` section (ValueError)."""
    backend_class(spec.backend).check_spec(spec)


def create(spec: "ModelSpec", context: "BackendContext") -> "Backend":
    """The configured backend, built and checked before any paid request is sent."""
    return backend_class(spec.backend).create(spec, context)


register("openai", "harness.backends.openai_chat:OpenAIChatBackend")
register("openai-batch", "harness.backends.openai_batch:OpenAIBatchBackend")
register("stored", "harness.backends.stored:StoredBackend")

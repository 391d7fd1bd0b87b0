"""Work spread over any `concurrent.futures.Executor`: a process pool here, or a Dask cluster
(`distributed.Client(address).get_executor()`, see `dask_executor`).

A task needs a context (a scorer, an annotator's resources) that is large to send and slow to
build. `Shipment` pickles it once here; tasks carry only its key, and a worker that has not
seen the key answers `_Missing` at once, so the task is sent again with the payload, once per
worker (the worker keeps the last few contexts it received). `run_ordered` keeps at most
`window` tasks in flight and yields results in submission order: memory stays bounded however
long the stream, and the output is the same whatever the executor.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
from collections import OrderedDict, deque
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, TypeVar

from harness.core.errors import HarnessError

Item = TypeVar("Item")
Result = TypeVar("Result")
KEPT_CONTEXTS = 2  # contexts a worker process keeps (a long-lived Dask worker serves many runs)
_RECEIVED: "OrderedDict[str, tuple[Any, threading.Lock]]" = OrderedDict()  # in a worker: contexts by key
_RECEIVING = threading.Lock()


class _Missing:
    """A worker's answer when it lacks the task's context: send it the payload."""


def dumps(obj: Any) -> bytes:
    """`obj` pickled (the t2s converter pickles as its class: metrics.zh.t2s)."""
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


class Shipment:
    """A context pickled once, named by the digest of its pickle."""

    def __init__(self, context: Any) -> None:
        self.payload = dumps(context)
        self.key = hashlib.sha256(self.payload).hexdigest()


def _run(key: str, payload: bytes | None, function: Callable[[Any, Any], Any], item: Any) -> Any:
    """In the worker: `function(context, item)`, the context looked up by key (or unpickled).
    One task at a time per context: a Dask worker may run tasks in threads, and the contexts
    (memoising scorers) are not made to be shared between threads."""
    with _RECEIVING:
        entry = _RECEIVED.get(key)
        if entry is None:
            if payload is None:
                return _Missing()
            entry = _RECEIVED[key] = (pickle.loads(payload), threading.Lock())
            while len(_RECEIVED) > KEPT_CONTEXTS:
                _RECEIVED.popitem(last=False)
        else:
            _RECEIVED.move_to_end(key)
    context, lock = entry
    with lock:
        return function(context, item)


def run_ordered(executor: Executor, shipment: Shipment, function: Callable[[Any, Item], Result],
                items: Iterable[Item], window: int = 8) -> Iterator[Result]:
    """`function(context, item)` for every item on `executor`, results in the items' order, at
    most `window` tasks submitted and not yet consumed. `function` must be importable by the
    workers (a module-level function)."""
    pending: deque[list] = deque()  # [item, future]
    iterator = iter(items)
    exhausted = False
    while True:
        while not exhausted and len(pending) < window:
            item = next(iterator, _END)
            if item is _END:
                exhausted = True
            else:
                pending.append([item, executor.submit(_run, shipment.key, None, function, item)])
        if not pending:
            return
        result = pending[0][1].result()
        if isinstance(result, _Missing):
            _resend(executor, shipment, function, pending)
            continue
        pending.popleft()
        yield result


def _resend(executor: Executor, shipment: Shipment, function: Callable, pending: deque) -> None:
    """Every pending task already answered `_Missing`, submitted again with the payload."""
    for entry in pending:
        future = entry[1]
        if future.done() and future.exception() is None and isinstance(future.result(), _Missing):
            entry[1] = executor.submit(_run, shipment.key, shipment.payload, function, entry[0])


_END: Any = object()


@contextmanager
def dask_executor(address: str, timeout: float = 30.0) -> Iterator[Executor]:
    """The executor of a Dask cluster (its scheduler's address, e.g. tcp://SCHEDULER-HOST:8786)."""
    try:
        from distributed import Client
    except ImportError:
        raise HarnessError("--dask needs Dask: pip install 'cgec-harness[dask]'") from None
    try:
        client = Client(address, timeout=f"{timeout}s")
    except (OSError, TimeoutError) as error:
        raise HarnessError(f"cannot reach the Dask scheduler at {address}: {error}") from None
    try:
        yield client.get_executor()
    finally:
        client.close()

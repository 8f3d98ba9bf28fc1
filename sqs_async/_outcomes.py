"""What a handler can say about its message, and the middleware that runs around it.

Layer: below the consumer, above the fetcher; no I/O. The consumer owns the meaning of each
outcome (SPEC §6, issue 9):

* returning: the message is deleted (batched);
* ``raise Retry(delay=s)``: the message is visible again after exactly ``s`` seconds, counted
  as a failure, with no backoff on top;
* ``raise Reject(reason)``: not retried; sent to the dead-letter queue, then deleted;
* anything else: the consumer's backoff.

Middleware wraps every handler call, in the task that runs the handler and in a context of
that call's own, so context variables it sets are visible inside the handler and in no other
call (tracing spans, request ids, database sessions). The tracing and metrics of the worker
runner hang on it (issue 10).
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from ._config import MAX_VISIBILITY_TIMEOUT

if TYPE_CHECKING:
    from ._message import Message
    from ._queue import Queue

__all__ = [
    "FailureLog",
    "HandlerCall",
    "Middleware",
    "Reject",
    "Retry",
    "add_middleware",
    "global_middleware",
    "is_async_handler",
    "remove_middleware",
    "run_chain",
]

log = logging.getLogger("sqs_async")


class Retry(Exception):
    """Raised by a handler: make the message visible again after exactly ``delay`` seconds.

    It counts as a failure, and no backoff is applied on top of the delay.

    Args:
        delay: Seconds until the message is visible again (0 to 43,200).

    Raises:
        ValueError: ``delay`` is outside 0 to 43,200 seconds.
    """

    def __init__(self, delay: float = 0.0) -> None:
        if not 0 <= delay <= MAX_VISIBILITY_TIMEOUT:
            raise ValueError(
                f"Retry delay is {delay!r}; it must be between 0 and {MAX_VISIBILITY_TIMEOUT}"
            )
        super().__init__(f"retry in {delay:g} s")
        self.delay = float(delay)


class Reject(Exception):
    """Raised by a handler: the message is poison; do not retry it.

    The consumer sends it to the dead-letter queue (the queue's ``RedrivePolicy``, or the
    consumer's ``dead_letter_queue``) with its body, message attributes and FIFO group, and
    then deletes it.

    Args:
        reason: Why, for the logs and the dead-letter copy.
    """

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class HandlerCall:
    """What a middleware is told about the call it wraps.

    Attributes:
        queue: The queue being consumed.
        messages: The message (``consume()``: exactly one) or the batch (``consume_batches()``).
        batch: Whether the handler is a batch handler.
    """

    queue: Queue
    messages: Sequence[Message]
    batch: bool


#: ``async def middleware(call, call_next)``: runs in the handler's task and context, outermost
#: first.
#: ``await call_next()`` runs the next middleware (and, innermost, the handler) and returns the
#: handler's result (``None``, or a batch handler's failed messages); the handler's exceptions
#: (``Retry``, ``Reject`` and the rest) propagate through it. What the middleware returns or
#: raises is the outcome of the call.
Middleware: TypeAlias = Callable[[HandlerCall, Callable[[], Awaitable[Any]]], Awaitable[Any]]

_GLOBAL: list[Middleware] = []


def add_middleware(middleware: Middleware) -> None:
    """Wrap every consumer started from now on (outside its own middleware); idempotent."""
    if middleware not in _GLOBAL:
        _GLOBAL.append(middleware)


def remove_middleware(middleware: Middleware) -> None:
    """Undo :func:`add_middleware`; a middleware never added is ignored."""
    if middleware in _GLOBAL:
        _GLOBAL.remove(middleware)


def global_middleware() -> tuple[Middleware, ...]:
    """The process-wide middleware, outermost first (read by consumers when they start)."""
    return tuple(_GLOBAL)


async def run_chain(
    chain: Sequence[Middleware], call: HandlerCall, handler: Callable[[], Awaitable[Any]]
) -> Any:
    """Run ``handler`` inside ``chain`` (outermost first); return what the outermost returns."""

    async def call_next_at(index: int) -> Any:
        if index == len(chain):
            return await handler()
        return await chain[index](call, functools.partial(call_next_at, index + 1))

    return await call_next_at(0)


def is_async_handler(handler: object) -> bool:
    """Whether ``handler`` is an ``async def`` function (or an object whose ``__call__`` is).

    Raises:
        TypeError: It is not callable at all.
    """
    if not callable(handler):
        raise TypeError(f"the handler must be callable, not {type(handler).__name__}")
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004 - an object with async __call__
    )


class FailureLog:
    """Logs handler failures at WARNING with their traceback, rate-limited per exception type.

    The first failure of a type is logged at once; after that at most one record per type
    every ``interval`` seconds, which says how many like it were left out meanwhile, so a
    flood of poison messages cannot drown the log. Each record carries ``message_id``,
    ``message_ids`` and ``queue`` in its ``extra``.
    """

    def __init__(self, interval: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._next: dict[type[BaseException], float] = {}
        self._left_out: dict[type[BaseException], int] = {}

    def failed(self, queue: Queue, messages: Sequence[Message], error: BaseException) -> None:
        """Log (or count) one failed handler call."""
        kind = type(error)
        now = self._clock()
        if now < self._next.get(kind, -1.0):
            self._left_out[kind] = self._left_out.get(kind, 0) + 1
            return
        self._next[kind] = now + self.interval
        left_out = self._left_out.pop(kind, 0)
        ids = [m.id for m in messages]
        what = f"message {ids[0]}" if len(ids) == 1 else f"a batch of {len(ids)} messages"
        more = f" ({left_out} more {kind.__name__} failures not logged)" if left_out else ""
        log.warning(
            "handler failed on %s from %s: %r%s",
            what,
            queue.name,
            error,
            more,
            exc_info=error,
            extra={"message_id": ids[0], "message_ids": ids, "queue": queue.name},
        )

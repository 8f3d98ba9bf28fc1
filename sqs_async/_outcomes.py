"""What a handler can say about its message, and the middleware that runs around it.

Layer: below the consumer, above the fetcher; no I/O. The consumer owns the meaning of each
outcome (SPEC §6, issue 9):

* returning: the message is deleted (batched);
* ``raise Retry(delay=s)``: the message is visible again after exactly ``s`` seconds, counted
  as a failure, with no backoff on top;
* ``raise Reject(reason)``: not retried; sent to the dead-letter queue, then deleted;
* anything else: the consumer's backoff.

Middleware wraps every handler call, in the handler's own task, so context variables it sets
are visible inside the handler (tracing spans, request ids, database sessions). The tracing
and metrics of the worker runner hang on it (issue 10).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from ._config import MAX_VISIBILITY_TIMEOUT

if TYPE_CHECKING:
    from ._message import Message
    from ._queue import Queue

__all__ = [
    "HandlerCall",
    "Middleware",
    "Reject",
    "Retry",
    "add_middleware",
    "global_middleware",
    "remove_middleware",
]


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


#: ``async def middleware(call, call_next)``: runs in the handler's own task, outermost first.
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

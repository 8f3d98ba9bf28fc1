"""The send path's instrumentation slot: empty unless ``sqs_async.otel.instrument()`` fills it.

Layer: near the bottom; imports nothing at run time (and never OpenTelemetry). The three send
paths (``Queue.write``, ``Queue.write_batch``, ``BatchWriter.write``) and the entry builder
they share read :data:`sends` once per call: while it is ``None`` that one module attribute
read is all instrumentation costs (issue 10).

A filled slot sees each send twice: ``send()`` wraps the whole call (the span is current
while it runs, and the call re-enters the same method, which then sees ``wrapping()`` and
goes on as usual), and ``entry()`` sees each message's wire entry while it is built, before
its size is checked, so injected trace context counts toward the limits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from ._queue import Queue

__all__ = ["SendObserver", "sends"]

T = TypeVar("T")


class SendObserver(Protocol):
    """What watches sends (``sqs_async.otel``'s producer side)."""

    def wrapping(self) -> bool:
        """Whether this call is already inside :meth:`send` (the re-entered call)."""
        ...

    def send(self, queue: Queue, operation: str, call: Callable[[], Awaitable[T]]) -> Awaitable[T]:
        """Run ``call`` (the same send, re-entered) inside whatever the observer opens."""
        ...

    def entry(self, queue: Queue, entry: dict[str, Any]) -> None:
        """See one message's wire entry as it is built (before its size is checked)."""
        ...


#: The observer, or ``None`` (the default: no cost beyond reading this attribute).
sends: SendObserver | None = None

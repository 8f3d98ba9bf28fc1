"""What a consumer tells the outside: :class:`ConsumerHooks` callbacks for metrics and
tracing, and the :class:`ConsumerStatistics` snapshot.

Layer: below the fetcher (which calls most hooks) and the consumer. No I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._message import Message

__all__ = ["ConsumerHooks", "ConsumerStatistics", "call_hook", "overridden"]

log = logging.getLogger("sqs_async")


class ConsumerHooks:
    """Callbacks for metrics and tracing; subclass and override what you need.

    They run on the event loop and must not block. Exceptions they raise are logged and
    otherwise ignored.
    """

    def on_received(self, messages: Sequence[Message]) -> None:
        """A receive returned these messages."""

    def on_handled(self, message: Message, seconds: float) -> None:
        """A handler succeeded after ``seconds``."""

    def on_failed(self, message: Message, error: BaseException) -> None:
        """A handler raised (``Retry`` and ``Reject`` included)."""

    def on_rejected(self, message: Message, reason: str) -> None:
        """A handler rejected a message, which was sent to the dead-letter queue."""

    def on_deleted(self, message: Message) -> None:
        """A message was deleted."""

    def on_released(self, messages: Sequence[Message]) -> None:
        """Messages were made visible again without being handled."""

    def on_lease_lost(self, message: Message) -> None:
        """A message's lease could not be renewed."""


@dataclass(frozen=True, slots=True)
class ConsumerStatistics:
    """A snapshot of a consumer's counters.

    Attributes:
        received: Messages received from SQS.
        handled: Handlers that succeeded.
        deleted: Messages deleted.
        failed: Handlers that raised (``Retry`` and ``Reject`` included).
        released: Messages made visible again without being handled.
        in_flight: Messages being handled now.
        buffered: Messages received and waiting for a handler.
        oldest_buffer_age: Seconds the oldest buffered message has waited.
        lease_headroom: Seconds until the earliest held lease runs out (``None``: none).
        leases_lost: Leases that could not be renewed.
        receive_errors: Receives that failed (and were retried).
        pollers: Poll loops configured.
        pollers_alive: Poll loops running now (not ended by an error that cannot heal).
        abandoned_polls: Long polls given up on at shutdown (see the lifecycle guide).
        retried: Messages whose handler raised ``Retry``.
        rejected: Messages a handler rejected that went to the dead-letter queue.
    """

    received: int
    handled: int
    deleted: int
    failed: int
    released: int
    in_flight: int
    buffered: int
    oldest_buffer_age: float
    lease_headroom: float | None
    leases_lost: int
    receive_errors: int
    pollers: int = 0
    pollers_alive: int = 0
    abandoned_polls: int = 0
    retried: int = 0
    rejected: int = 0


def call_hook(hook: Callable[..., object], *args: Any) -> None:
    """Call a metrics or tracing callback; what it raises is logged and otherwise ignored."""
    try:
        hook(*args)
    except Exception:
        log.exception("consumer hook %s failed", getattr(hook, "__name__", hook))


def overridden(hooks: ConsumerHooks, name: str) -> Callable[..., object] | None:
    """The hook ``name`` of ``hooks``, or ``None`` where it is the base class's no-op (per
    message paths then skip the call, and whatever they would compute for it)."""
    hook: Callable[..., object] = getattr(hooks, name)
    return None if getattr(hook, "__func__", None) is getattr(ConsumerHooks, name) else hook

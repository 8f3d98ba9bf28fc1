"""Settling a handler's messages when it did not simply succeed: SPEC §6's outcomes.

Layer: below the consumers, above the fetcher, the outcomes and the dead letters. A
:class:`Settler` applies what a handler call said about its messages:

* ``raise Retry(delay=s)``: visible again after exactly ``s`` seconds;
* ``raise Reject(reason)``: sent to the dead-letter queue, then deleted (retried after the
  backoff when there is no dead-letter queue, or sending fails);
* anything else: visible again after the backoff, ``retry_backoff`` doubled per receive up
  to ``max_retry_backoff``;
* a message received more than ``max_receives`` times: left to the redrive policy.

It keeps the counters of those outcomes and when the last backoff it set runs out, so that
``stop_when_empty`` waits for the messages to come back. A delete or visibility change that
fails is logged; the message then comes back (at least once).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ._deadletter import DeadLetters
from ._hooks import call_hook
from ._outcomes import FailureLog, Reject, Retry
from .errors import SQSError

if TYPE_CHECKING:
    from ._fetcher import Fetcher
    from ._hooks import ConsumerHooks
    from ._message import Message
    from ._queue import Queue

__all__ = ["BACKOFF_MARGIN", "Settler"]

log = logging.getLogger("sqs_async")

BACKOFF_MARGIN = 1.0  # stop_when_empty: servers apply visibility on a timer (LocalStack: 1 s)


class Settler:
    """Applies handler outcomes to messages held by ``fetcher``.

    Args:
        queue: The queue the messages came from.
        fetcher: What holds them (deletes and visibility changes go through it).
        hooks: ``on_failed`` and ``on_rejected`` are called from here.
        dead_letter_queue: Where ``Reject`` sends messages (default: the target of the
            queue's ``RedrivePolicy``).
        retry_backoff: The first backoff, in seconds; doubles with each receive.
        max_retry_backoff: The longest backoff, in seconds.
        max_receives: Leave messages received more often than this to the redrive policy.
    """

    def __init__(
        self,
        queue: Queue,
        fetcher: Fetcher,
        hooks: ConsumerHooks,
        *,
        dead_letter_queue: Queue | str | None,
        retry_backoff: float,
        max_retry_backoff: float,
        max_receives: int | None,
    ) -> None:
        self.queue = queue
        self._fetcher = fetcher
        self.hooks = hooks
        self.retry_backoff = retry_backoff
        self.max_retry_backoff = max_retry_backoff
        self.max_receives = max_receives
        self._dead_letters = DeadLetters(queue, dead_letter_queue)
        self._failures = FailureLog()
        self.backoff_until = 0.0  # monotonic time the last backoff we set runs out
        self.failed = 0
        self.retried = 0
        self.rejected = 0

    async def fail(self, messages: list[Message], error: Exception) -> bool:
        """Apply a handler's exception to its messages; return whether they are gone
        (rejected into the dead-letter queue and deleted)."""
        for message in messages:
            self._fetcher.finish(message)
            call_hook(self.hooks.on_failed, message, error)
        self.failed += len(messages)
        if isinstance(error, Retry):
            self.retried += len(messages)
            delay = math.ceil(error.delay)
            await _each(messages, lambda m: self.set_backoff(m, delay))
            return False
        if isinstance(error, Reject):
            return await self._reject(messages, error.reason)
        self._failures.failed(self.queue, messages, error)
        await _each(messages, self.backoff)
        return False

    def received_too_often(self, message: Message) -> bool:
        """Whether ``message`` was received more than ``max_receives`` times (logged)."""
        if self.max_receives is None:
            return False
        count = int(message.attributes.get("ApproximateReceiveCount", "1"))
        if count <= self.max_receives:
            return False
        log.warning(
            "message %s was received %d times (max_receives=%d): left to the queue's"
            " redrive policy",
            message.id,
            count,
            self.max_receives,
            extra={"message_id": message.id, "queue": self.queue.name},
        )
        return True

    async def delete(self, message: Message) -> bool:
        """Delete a message; a failure is logged (the message comes back) and is ``False``."""
        try:
            await self._fetcher.delete(message)
        except SQSError as exc:
            log.warning(
                "could not delete message %s from %s: %s",
                message.id,
                self.queue.name,
                exc,
                extra={"message_id": message.id, "queue": self.queue.name},
            )
            return False
        return True

    async def backoff(self, message: Message, *, ours: bool = True) -> None:
        """Hide a failed message for its backoff (see :meth:`set_backoff`)."""
        count = int(message.attributes.get("ApproximateReceiveCount", "1"))
        delay = min(self.max_retry_backoff, self.retry_backoff * 2 ** max(0, count - 1))
        await self.set_backoff(message, math.ceil(delay), ours=ours)

    async def set_backoff(self, message: Message, seconds: int, *, ours: bool = True) -> None:
        """Hide a failed message for ``seconds``; ``ours``: ``stop_when_empty`` waits for
        it to come back (not for a message left to the redrive policy)."""
        try:
            await self._fetcher.change_visibility(message, seconds)
            if ours:  # counted from the answer (the service's clock started before it)
                until = time.monotonic() + seconds + BACKOFF_MARGIN
                self.backoff_until = max(self.backoff_until, until)
        except SQSError as exc:
            log.warning(
                "could not set the retry backoff of %s: %s",
                message.id,
                exc,
                extra={"message_id": message.id, "queue": self.queue.name},
            )

    async def _reject(self, messages: list[Message], reason: str) -> bool:
        try:
            target = await self._dead_letters.target()
            if target is None:
                log.error(
                    "handler rejected %d message(s) from %s (%s) but the queue has no"
                    " dead-letter queue (no RedrivePolicy, no dead_letter_queue=): they"
                    " are retried after the backoff instead",
                    len(messages),
                    self.queue.name,
                    reason,
                    extra={"message_id": messages[0].id, "queue": self.queue.name},
                )
            else:
                for message in messages:
                    await self._dead_letters.send(target, message, reason)
                    if await self.delete(message):
                        self.rejected += 1
                        call_hook(self.hooks.on_rejected, message, reason)
                return True
        except SQSError as exc:
            log.error(  # noqa: TRY400 - the service's answer says it all; no traceback
                "could not dead-letter rejected message(s) from %s: %s; they are retried"
                " after the backoff instead",
                self.queue.name,
                exc,
                extra={"message_id": messages[0].id, "queue": self.queue.name},
            )
        await _each(messages, self.backoff)
        return False


async def _each(messages: list[Message], action: Callable[[Message], Awaitable[None]]) -> None:
    """Apply ``action`` to every message (one message: awaited in the handler's own task)."""
    if len(messages) == 1:
        await action(messages[0])
    else:
        await asyncio.gather(*(action(m) for m in messages))

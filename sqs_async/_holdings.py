"""What a fetcher holds, and how it lets go: deletes, visibility changes, releases.

Layer: below the fetcher (which owns one), above the leases, the batchers and the handled
deletes. :class:`Holdings` is the ``MessageOwner`` of every message a fetcher received, so
``message.delete()`` and ``message.change_visibility()`` come here: while it is open they
are batched (DeleteMessageBatch, ChangeMessageVisibilityBatch) and the message's lease ends;
once it is closing they are made directly. A release makes messages visible again at once
(best effort: a failure is logged, and they come back after their timeout anyway).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ._batching import DeleteBatcher, VisibilityBatcher
from ._config import MAX_VISIBILITY_TIMEOUT
from ._handled import HandledDeletes
from ._hooks import call_hook, overridden
from ._leases import Lease, LeaseManager
from ._protocol.validate import check_range
from .errors import SQSError, ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ._hooks import ConsumerHooks
    from ._message import Message
    from ._queue import Queue

__all__ = ["Holdings"]

log = logging.getLogger("sqs_async")


class Holdings:
    """The messages a fetcher holds (leases) and the batched calls that let go of them.

    Args:
        queue: The queue they came from.
        hooks: ``on_deleted`` and ``on_released`` are called from here.
    """

    def __init__(self, queue: Queue, hooks: ConsumerHooks) -> None:
        self.queue = queue
        self.hooks = hooks
        self._on_deleted = overridden(hooks, "on_deleted")  # None: skipped per message
        self.leases: LeaseManager | None = None
        self.handled: HandledDeletes | None = None  # the consumers' deletes (once open)
        self._deletes: DeleteBatcher | None = None
        self._visibility: VisibilityBatcher | None = None
        self.closing = False
        self.deleted = 0
        self.released = 0

    def open(self, visibility_timeout: int, lease_lost: Callable[[Lease], None]) -> LeaseManager:
        """Start batching; return the lease manager (its ``run()`` is the caller's task)."""
        self._deletes = DeleteBatcher(self.queue)
        self._visibility = VisibilityBatcher(self.queue)
        self.leases = LeaseManager(self._visibility, visibility_timeout, lease_lost)
        self.handled = HandledDeletes(
            self.queue, self.leases, done=self._delete_done, all_done=self._deleted_all
        )
        return self.leases

    def close(self) -> None:
        """From now on, deletes and visibility changes are made directly (synchronous)."""
        self.closing = True
        if self.handled is not None:
            self.handled.closed = True

    async def flush(self) -> None:
        """Send every pending delete and visibility change, and wait for them."""
        if self.handled is not None:
            await self.handled.flush()
        for batcher in (self._deletes, self._visibility):
            if batcher is not None:
                await batcher.aclose()

    def finish(self, message: Message) -> Lease | None:
        """Stop renewing a message's lease (the message stays held by its handler)."""
        return self.leases.remove(message) if self.leases is not None else None

    async def delete(self, message: Message) -> bool:
        """Delete a message, batched with other deletes (directly once closing)."""
        if self.leases is not None:
            self.leases.remove(message)
        handle = message.receipt_handle
        if not handle:
            raise ValidationError("the message has no receipt handle: it was not received")
        if self.closing or self._deletes is None:
            await self.queue.delete_message(message)
        else:
            await self._deletes.submit_nowait(handle)
        self.deleted += 1
        if self._on_deleted is not None:
            call_hook(self._on_deleted, message)
        return True

    async def change_visibility(self, message: Message, visibility_timeout: int) -> bool:
        """Change a message's visibility, batched; 0 releases it from our hold."""
        check_range("visibility_timeout", visibility_timeout, 0, MAX_VISIBILITY_TIMEOUT)
        if not message.receipt_handle:
            raise ValidationError("the message has no receipt handle: it was not received")
        if self.leases is not None:
            if visibility_timeout == 0:
                self.leases.remove(message)
            else:
                self.leases.extend(message, visibility_timeout)
        if self._visibility is None or self.closing:
            return await self.queue.change_message_visibility(message, visibility_timeout)
        await self._visibility.submit((message.receipt_handle or "", visibility_timeout))
        return True

    async def release(self, messages: Sequence[Message]) -> None:
        """Make messages visible again at once (best effort), and stop holding them."""
        if not messages:
            return
        if self.leases is not None:
            for message in messages:
                self.leases.remove(message)
        if self._visibility is not None:
            # A renewal of one of these may be pending or in flight: let it land first, or
            # it would hide the message again after our release.
            await self._visibility.flush()
        try:
            result = await self.queue.change_message_visibility_batch(list(messages), 0)
        except SQSError as exc:
            log.warning("could not release %d messages: %s", len(messages), exc)
            return
        released = [entry.message for entry in result.successful]
        self.released += len(released)
        call_hook(self.hooks.on_released, released)

    def _deleted_all(self, messages: list[Message]) -> None:
        """Every message of one of the handled deletes' batches was deleted."""
        self.deleted += len(messages)
        if self._on_deleted is not None:
            for message in messages:
                call_hook(self._on_deleted, message)

    def _delete_done(self, message: Message, result: object) -> None:
        """The outcome of one of the handled deletes (a result or an error)."""
        if not isinstance(result, BaseException):
            self.deleted += 1
            if self._on_deleted is not None:
                call_hook(self._on_deleted, message)
        elif not isinstance(result, asyncio.CancelledError):
            log.warning(
                "could not delete message %s from %s: %s",
                message.id,
                self.queue.name,
                result,
                extra={"message_id": message.id, "queue": self.queue.name},
            )

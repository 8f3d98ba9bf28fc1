"""The deletes of the messages a consumer handled, batched without a future per message.

Layer: below the fetcher (which owns one and reports its outcomes), above the leases and the
batch calls. This runs once per consumed message: :class:`HandledDeletes` sends
DeleteMessageBatch calls of up to 10, once 10 are pending or ``linger`` seconds after the
first, as a :class:`~sqs_async._batching.DeleteBatcher` does, but with no future or callback
per message (the batcher's per-entry machinery was a tenth of a busy consumer's own work).
A failed delete is reported to the owner, which logs it; the message comes back (at least
once).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from ._batch_calls import entry_error
from ._batching import DEFAULT_LINGER, MAX_CONCURRENT_BATCHES
from ._config import MAX_BATCH_ENTRIES
from .errors import ServiceError, ValidationError

if TYPE_CHECKING:
    from ._leases import LeaseManager
    from ._message import Message
    from ._queue import Queue

__all__ = ["HandledDeletes"]

# the ids of a batch of n entries, all of them: a batch that fully succeeded
_ENTRY_IDS = [frozenset(str(i) for i in range(n)) for n in range(MAX_BATCH_ENTRIES + 1)]


class HandledDeletes:
    """The batched deletes of handled messages (see the module's docstring).

    Args:
        queue: The queue the messages came from.
        leases: Its lease manager: a message is deleted only if still held there.
        done: Called with each message of a batch not wholly deleted, and its outcome:
            the entry's result, or the error of the entry or of the whole call.
        all_done: Called with a batch whose every message was deleted.
        linger: Seconds a partial batch waits for more.

    :meth:`flush` sends what is pending and waits for it all.
    """

    def __init__(
        self,
        queue: Queue,
        leases: LeaseManager,
        *,
        done: Callable[[Message, object], None],
        all_done: Callable[[list[Message]], None],
        linger: float = DEFAULT_LINGER,
    ) -> None:
        self._queue = queue
        self._done = done
        self._all_done = all_done
        self._held = leases.held
        self._linger = linger
        self._pending: list[Message] = []
        self._timer: asyncio.TimerHandle | None = None
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_BATCHES)
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = False  # set when the fetcher closes: deletes are then made directly

    def delete(self, message: Message, lost: bool) -> bool:
        """Stop holding a handled message and queue its delete; ``False`` once closed:
        delete it directly (awaited). Nothing to do if the handler deleted or released it
        itself: it is no longer held, and its lease was not ``lost``. Once per message."""
        handle = message.receipt_handle
        if self._held.pop(handle or "", None) is None and not lost:
            return True
        if not handle:
            raise ValidationError("the message has no receipt handle: it was not received")
        if self.closed:
            return False
        pending = self._pending
        pending.append(message)
        if len(pending) >= MAX_BATCH_ENTRIES:
            self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._linger, self._flush)
        return True

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        task = asyncio.get_running_loop().create_task(self._send(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, batch: list[Message]) -> None:
        queue = self._queue
        entries = [{"Id": str(i), "ReceiptHandle": m.receipt_handle} for i, m in enumerate(batch)]
        try:
            async with self._slots:
                result = await queue.connection._call(
                    "DeleteMessageBatch",
                    {"QueueUrl": queue.url, "Entries": entries},
                    validated=True,
                )
        except Exception as exc:  # noqa: BLE001 - logged per message, as the batcher's callers do
            for message in batch:
                self._done(message, exc)
            return
        successful = result.get("Successful", ())
        if {item["Id"] for item in successful} == _ENTRY_IDS[len(batch)]:  # all of them
            self._all_done(batch)
            return
        outcomes: list[object] = [
            ServiceError("no result for this entry", operation="DeleteMessageBatch")
        ] * len(batch)
        for item in successful:
            outcomes[int(item["Id"])] = item
        for item in result.get("Failed", ()):
            outcomes[int(item["Id"])] = entry_error(item, "DeleteMessageBatch")
        for message, outcome in zip(batch, outcomes, strict=True):
            self._done(message, outcome)

    async def flush(self) -> None:
        """Send what is pending now and wait for every batch in flight."""
        self._flush()
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

"""``queue.consume_batches()``: a handler that takes a list of messages (SPEC §6).

Layer: above the consumer, whose fetching, leases, outcomes and shutdown it reuses; only
how messages are grouped into calls differs. A batch is up to ``max_batch`` messages,
collected for at most ``max_wait`` seconds once the first one is in hand. The handler
returns ``None`` (every message succeeded) or the messages that failed (Lambda's partial
batch response); raising fails the whole batch (``Retry`` and ``Reject`` apply to all of
it).

FIFO queues: a batch holds a group's messages in their order, and a group is in one
running batch at a time (messages of a busy group wait for it). When a message of a group
fails, the messages of that group after it in the batch are not deleted, whatever the
handler said: they are made visible again behind the failed one, so none overtakes it.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

from ._consumer import Consumer, Handler
from ._hooks import call_hook
from ._message import Message
from .errors import ValidationError

if TYPE_CHECKING:
    from ._queue import Queue

__all__ = ["BatchConsumer", "BatchHandler", "ReportedFailure"]

BatchHandler = (
    Callable[[list[Message]], Awaitable[Iterable[Message | str] | None]]
    | Callable[[list[Message]], Iterable[Message | str] | None]
)


class ReportedFailure(Exception):
    """What ``on_failed`` is given for a message a batch handler returned as failed."""


class BatchConsumer(Consumer):
    """Runs a batch handler on lists of messages; see ``queue.consume_batches()``.

    Args:
        queue: The queue.
        handler: ``async def handler(messages)`` (or a plain ``def``, run in a thread).
        max_batch: The most messages per call.
        max_wait: Seconds to wait for more messages once a batch has its first one.
        **options: :class:`~sqs_async.Consumer`'s arguments; ``concurrency`` counts
            batches running at once.
    """

    def __init__(
        self,
        queue: Queue,
        handler: BatchHandler,
        *,
        max_batch: int = 10,
        max_wait: float = 1.0,
        concurrency: int = 1,
        prefetch: int | None = None,
        batch_size: int = 10,
        **options: Any,
    ) -> None:
        if max_batch < 1:
            raise ValidationError(f"max_batch is {max_batch}; it must be at least 1")
        if max_wait < 0:
            raise ValidationError(f"max_wait is {max_wait}; it must not be negative")
        if prefetch is None:
            prefetch = concurrency * max_batch + batch_size
        super().__init__(
            queue,
            cast("Handler", handler),  # called with a list: see _handle_batch
            concurrency=concurrency,
            prefetch=max(prefetch, max_batch),
            batch_size=batch_size,
            **options,
        )
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._ready: collections.deque[Message] = collections.deque()  # freed FIFO groups
        self._collecting: list[Message] = []  # the batch being collected

    async def _consume(self) -> None:
        while await self._wait_for_slot():
            batch = await self._collect()
            if not batch:
                break
            self._free -= 1
            task = asyncio.get_running_loop().create_task(self._handle_batch(batch))
            for message in batch:
                self._running[id(message)] = task

    async def _collect(self) -> list[Message]:
        """The next batch (empty once stopped), in receive order."""
        batch: list[Message] = []
        self._collecting = batch
        try:
            deadline = 0.0
            while len(batch) < self.max_batch and not self._stopping:
                message = self._ready.popleft() if self._ready else None
                if message is None:
                    message = self._fetcher.get_nowait(keep_lease=True)
                if message is None:
                    message = await self._next(batch, deadline)
                    if message is None:
                        break
                if not batch:
                    deadline = time.monotonic() + self.max_wait
                group = message.attributes.get("MessageGroupId") if self._fifo else None
                if group is not None and group in self._busy_groups:
                    self._waiting.setdefault(group, collections.deque()).append(message)
                    continue
                batch.append(message)
        except BaseException:
            if batch:
                await asyncio.shield(self._fetcher.release(batch))
            raise
        finally:
            self._collecting = []
        if self._stopping and batch:
            await self._fetcher.release(batch)
            return []
        for message in batch:
            group = message.attributes.get("MessageGroupId") if self._fifo else None
            if group is not None:
                self._busy_groups.add(group)
        return batch

    async def _next(self, batch: list[Message], deadline: float) -> Message | None:
        """Wait for the next message: as long as it takes for the first of a batch, until
        the deadline for the others; ``None``: none came (or stopped)."""
        try:
            if not batch:
                return await self._fetcher.get(keep_lease=True)
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                return await self._fetcher.get(keep_lease=True)
        except (StopAsyncIteration, TimeoutError):
            return None

    def _idle(self) -> bool:
        return not self._ready and not self._collecting and super()._idle()

    async def _handle_batch(self, batch: list[Message]) -> None:
        started = time.monotonic()
        gone: set[int] = set()  # ids of messages deleted (handled, or rejected)
        try:
            try:
                failed = _failures(batch, await self._invoke(batch))
            except asyncio.CancelledError:
                await self._cancelled(batch)
                raise
            except Exception as exc:  # noqa: BLE001 - whatever a handler raises is an outcome
                if await self._settle.fail(batch, exc):
                    gone.update(id(m) for m in batch)
                return
            held = self._held_behind(batch, failed)
            succeeded = [m for m in batch if id(m) not in failed and id(m) not in held]
            gone.update(id(m) for m in succeeded)
            self.handled += len(succeeded)
            seconds = time.monotonic() - started
            for message in succeeded:
                if self._on_handled is not None:
                    call_hook(self._on_handled, message, seconds)
                if not self._delete_nowait(message):
                    await self._settle.delete(message)
            if held:
                await self._fetcher.release([m for m in batch if id(m) in held])
            if failed:
                reported = ReportedFailure("the batch handler returned it as failed")
                await self._settle.fail([m for m in batch if id(m) in failed], reported)
        finally:
            self._batch_done(batch, gone)

    def _held_behind(self, batch: list[Message], failed: set[int]) -> set[int]:
        """FIFO: the messages after a failed one of their group, which must not be deleted
        ahead of it."""
        if not self._fifo or not failed:
            return set()
        broken: set[str] = set()
        held: set[int] = set()
        for message in batch:
            group = message.attributes.get("MessageGroupId", "")
            if group in broken and id(message) not in failed:
                held.add(id(message))
            elif id(message) in failed:
                broken.add(group)
        return held

    def _batch_done(self, batch: list[Message], gone: set[int]) -> None:
        groups: dict[str, bool] = {}  # group -> every message of it in the batch is gone
        for message in batch:
            self._running.pop(id(message), None)
            self._lost.discard(message.receipt_handle or "")
            group = message.attributes.get("MessageGroupId") if self._fifo else None
            if group is not None:
                groups[group] = groups.get(group, True) and id(message) in gone
        for group, ok in groups.items():
            self._busy_groups.discard(group)
            waiting = self._waiting.pop(group, None)
            if not waiting:
                continue
            if ok and not self._stopping:
                self._ready.extend(waiting)  # next in line, ahead of anything buffered
            else:
                self._adopt(self._fetcher.release(list(waiting)))
        self._free += 1
        self._slot_freed.set()

    async def _shutdown(self) -> None:
        ready = list(self._ready)
        self._ready.clear()
        if ready:
            await self._fetcher.release(ready)
        await super()._shutdown()


def _failures(batch: list[Message], result: Iterable[Message | str] | None) -> set[int]:
    """The ids (``id()``) of the messages a batch handler reported failed (by message or
    by message id)."""
    if result is None:
        return set()
    by_id = {m.id: m for m in batch}
    failed: set[int] = set()
    for item in result:
        message = by_id.get(item) if isinstance(item, str) else item
        if message is None or not any(message is m for m in batch):
            raise TypeError(f"the batch handler returned {item!r}, which is not in its batch")
        failed.add(id(message))
    return failed

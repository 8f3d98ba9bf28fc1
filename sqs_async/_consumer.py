"""Consumers: ``consume()`` with bounded concurrency, and the ``async for`` message stream.

Layer: above the fetcher; the queue hands these out. Delivery is at least once: a message
is deleted only after its handler returned; a handler that raised leaves the message to
come back after a backoff; nothing received is ever dropped on the floor.

Shutdown (``stop()``, cancellation, or ``stop_when_empty`` reached), in order:

1. stop polling; long polls in flight land and what they bring is released at once;
2. release buffered messages no handler started (and, on FIFO queues, messages waiting
   behind their group) with visibility 0;
3. let running handlers finish, up to ``drain_timeout`` seconds;
4. cancel the handlers still running and release their messages;
5. flush pending deletes and visibility changes.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._fetcher import ConsumerHooks, Fetcher, _call_hook
from ._leases import Lease
from ._message import Message
from .errors import SQSError, ValidationError

if TYPE_CHECKING:
    from ._queue import Queue

__all__ = ["Consumer", "ConsumerHooks", "ConsumerStatistics", "MessageStream"]

log = logging.getLogger("sqs_async")

Handler = Callable[[Message], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class ConsumerStatistics:
    """A snapshot of a consumer's counters.

    Attributes:
        received: Messages received from SQS.
        handled: Handlers that succeeded.
        deleted: Messages deleted.
        failed: Handlers that raised (their messages come back after a backoff).
        released: Messages made visible again without being handled.
        in_flight: Messages being handled now.
        buffered: Messages received and waiting for a handler.
        oldest_buffer_age: Seconds the oldest buffered message has waited.
        lease_headroom: Seconds until the earliest held lease runs out (``None``: none).
        leases_lost: Leases that could not be renewed.
        receive_errors: Receives that failed (and were retried).
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


def _snapshot(fetcher: Fetcher, handled: int, failed: int, in_flight: int) -> ConsumerStatistics:
    leases = fetcher.leases
    return ConsumerStatistics(
        received=fetcher.received,
        handled=handled,
        deleted=fetcher.deleted,
        failed=failed,
        released=fetcher.released,
        in_flight=in_flight,
        buffered=fetcher.buffered,
        oldest_buffer_age=fetcher.oldest_buffer_age(),
        lease_headroom=leases.headroom() if leases is not None else None,
        leases_lost=leases.lost if leases is not None else 0,
        receive_errors=fetcher.receive_errors,
    )


class Consumer:
    """Runs a handler on every message of a queue, with bounded concurrency.

    Get one with ``queue.consumer(handler, ...)`` (then ``await consumer.run()`` and
    ``consumer.stop()``), or run one with ``await queue.consume(handler, ...)``.

    Args:
        queue: The queue.
        handler: ``async def handler(message)``; returning means success (the message is
            deleted), raising means failure (it comes back after a backoff).
        concurrency: Handlers running at once. A free slot starts the next message at
            once: no batch waits for its slowest message.
        visibility_timeout: Lease length in seconds (default: the queue's). Leases are
            renewed while handlers run, so it need not cover the slowest handler.
        batch_size: Messages per receive.
        wait_time_seconds: Long-poll wait.
        prefetch: Messages buffered ahead of the handlers (default: concurrency + batch).
        pollers: Receives in flight at once.
        drain_timeout: On shutdown, seconds running handlers get to finish.
        retry_backoff: A failed message's first backoff in seconds; doubles with each
            receive, up to ``max_retry_backoff``.
        max_receives: Stop handling a message received more often than this; it is left
            to the queue's redrive policy (dead-letter queue).
        cancel_on_lease_loss: Cancel a handler whose message's lease was lost.
        stop_when_empty: Return once the queue is drained.
        hooks: :class:`ConsumerHooks` for metrics and tracing.

    Example::

        async def handle(message):
            await process(message.get_body())

        consumer = queue.consumer(handle, concurrency=50)
        task = asyncio.create_task(consumer.run())
        ...
        consumer.stop()
        stats = await task
    """

    def __init__(
        self,
        queue: Queue,
        handler: Handler,
        *,
        concurrency: int = 10,
        visibility_timeout: int | None = None,
        batch_size: int = 10,
        wait_time_seconds: int = 20,
        prefetch: int | None = None,
        pollers: int | None = None,
        drain_timeout: float = 30.0,
        retry_backoff: float = 2.0,
        max_retry_backoff: float = 300.0,
        max_receives: int | None = None,
        cancel_on_lease_loss: bool = True,
        stop_when_empty: bool = False,
        max_buffer_age: float = 0.5,
        hooks: ConsumerHooks | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValidationError(f"concurrency is {concurrency}; it must be at least 1")
        if not callable(handler):
            raise TypeError("handler must be an async callable taking a message")
        self.queue = queue
        self._handler = handler
        self.concurrency = concurrency
        self.drain_timeout = drain_timeout
        self.retry_backoff = retry_backoff
        self.max_retry_backoff = max_retry_backoff
        self.max_receives = max_receives
        self.cancel_on_lease_loss = cancel_on_lease_loss
        self.hooks = hooks or ConsumerHooks()
        # Per-message hot path: skip the clock and the call when on_handled is the no-op.
        self._on_handled = (
            None
            if type(self.hooks).on_handled is ConsumerHooks.on_handled
            else self.hooks.on_handled
        )
        self._fifo = queue.fifo
        self._fetcher = Fetcher(
            queue,
            batch_size=batch_size,
            wait_time_seconds=wait_time_seconds,
            visibility_timeout=visibility_timeout,
            prefetch=prefetch if prefetch is not None else concurrency + batch_size,
            pollers=pollers,
            stop_when_empty=stop_when_empty,
            max_buffer_age=max_buffer_age,
            hooks=self.hooks,
            on_lease_lost=self._lease_lost,
        )
        # handler tasks by id(message) (ids, not messages: a subclass may define __eq__)
        self._running: dict[int, asyncio.Task[None]] = {}
        self._free = concurrency
        self._slot_freed = asyncio.Event()
        self._busy_groups: set[str] = set()
        self._waiting: dict[str, collections.deque[Message]] = {}
        self._lost: set[str] = set()
        self._stopping = False
        self._ran = False
        self.handled = 0
        self.failed = 0

    def statistics(self) -> ConsumerStatistics:
        """A snapshot of the counters."""
        waiting = sum(len(d) for d in self._waiting.values())
        return _snapshot(self._fetcher, self.handled, self.failed, len(self._running) + waiting)

    def stop(self) -> None:
        """Ask :meth:`run` to shut down (the steps are in the lifecycle guide). Synchronous."""
        self._stopping = True
        self._fetcher.stop()
        self._slot_freed.set()

    async def run(self) -> ConsumerStatistics:
        """Consume until :meth:`stop`, cancellation, or (``stop_when_empty``) a drained queue.

        Returns:
            The final statistics.

        Raises:
            SQSError: Polling ended on an error that cannot heal (queue deleted,
                credentials refused); handlers are drained first.
        """
        if self._ran:
            raise RuntimeError("a Consumer runs once; create another")
        self._ran = True
        try:
            await self._fetcher.start()
            fetcher = self._fetcher
            while await self._wait_for_slot():
                try:
                    message = await fetcher.get(keep_lease=True)
                except StopAsyncIteration:
                    break
                self._dispatch(message)
                # what is already buffered starts at once, without an await per message
                while self._free and not self._stopping:
                    buffered = fetcher.get_nowait(keep_lease=True)
                    if buffered is None:
                        break
                    self._dispatch(buffered)
        finally:
            shutdown = asyncio.get_running_loop().create_task(self._shutdown())
            try:
                await asyncio.shield(shutdown)
            except asyncio.CancelledError:
                adopt = getattr(self.queue.connection, "_adopt", None)
                if adopt is not None:
                    adopt(shutdown)
                raise
        return self.statistics()

    async def _wait_for_slot(self) -> bool:
        while self._free == 0 and not self._stopping:
            self._slot_freed.clear()
            await self._slot_freed.wait()
        return not self._stopping

    def _dispatch(self, message: Message) -> None:
        group = message.attributes.get("MessageGroupId") if self._fifo else None
        if group is not None and group in self._busy_groups:
            self._waiting.setdefault(group, collections.deque()).append(message)
            return  # it starts when its group's running message is done; no slot taken
        if group is not None:
            self._busy_groups.add(group)
        self._free -= 1
        self._start(message, group)

    def _start(self, message: Message, group: str | None) -> None:
        task = asyncio.get_running_loop().create_task(self._handle(message, group))
        self._running[id(message)] = task
        lease = self._fetcher.lease(message)
        if lease is not None:
            lease.task = task

    async def _handle(self, message: Message, group: str | None) -> None:
        on_handled = self._on_handled
        started = time.monotonic() if on_handled is not None else 0.0
        succeeded = False
        try:
            count = int(message.attributes.get("ApproximateReceiveCount", "1"))
            if self.max_receives is not None and count > self.max_receives:
                log.warning(
                    "message %s was received %d times (max_receives=%d): left to the queue's"
                    " redrive policy",
                    message.id,
                    count,
                    self.max_receives,
                )
                self._fetcher.finish(message)
                await self._backoff(message, count)
                return
            try:
                await self._handler(message)
            except asyncio.CancelledError:
                lost = message.receipt_handle in self._lost
                self._fetcher.finish(message)
                if not lost:
                    await asyncio.shield(self._fetcher.release([message]))
                raise
            except Exception as exc:  # noqa: BLE001 - whatever a handler raises is a failure
                self._fetcher.finish(message)
                self.failed += 1
                _call_hook(self.hooks.on_failed, message, exc)
                log.info("handler failed on message %s: %r", message.id, exc)
                await self._backoff(message, count)
                return
            succeeded = True
            self.handled += 1
            if on_handled is not None:
                _call_hook(on_handled, message, time.monotonic() - started)
            lease = self._fetcher.finish(message)
            lost = message.receipt_handle in self._lost
            # Unless the handler deleted or released it itself: delete it, batched and not
            # awaited (a failure is logged, and the message comes back: at least once);
            # shutdown flushes what is pending. Once the batcher is closed, directly.
            if (lease is not None or lost) and not self._fetcher.delete_nowait(message):
                try:
                    await self._fetcher.delete(message)
                except SQSError as exc:
                    log.warning("could not delete handled message %s: %s", message.id, exc)
        finally:
            self._done(message, group, succeeded)

    async def _backoff(self, message: Message, receive_count: int) -> None:
        delay = min(self.max_retry_backoff, self.retry_backoff * 2 ** max(0, receive_count - 1))
        try:
            await self._fetcher.change_visibility(message, math.ceil(delay))
        except SQSError as exc:
            log.warning("could not set the retry backoff of %s: %s", message.id, exc)

    def _done(self, message: Message, group: str | None, succeeded: bool) -> None:
        self._running.pop(id(message), None)
        self._lost.discard(message.receipt_handle or "")
        waiting = self._waiting.get(group) if group is not None else None
        if waiting and succeeded and not self._stopping:
            self._start(waiting.popleft(), group)  # the group keeps its slot
            return
        if group is not None:
            self._busy_groups.discard(group)
            if waiting:
                # A message of this group failed: the ones behind it must not overtake it.
                held = list(waiting)
                waiting.clear()
                self._adopt(self._fetcher.release(held))
        self._free += 1
        self._slot_freed.set()

    def _adopt(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        adopt = getattr(self.queue.connection, "_adopt", None)
        if adopt is not None:
            adopt(task)

    def _lease_lost(self, lease: Lease) -> None:
        self._lost.add(lease.message.receipt_handle or "")
        if self.cancel_on_lease_loss and lease.task is not None and not lease.task.done():
            lease.task.cancel()

    async def _shutdown(self) -> None:
        fetcher = self._fetcher
        self.stop()
        # Steps 1-2 (module docstring): release what no handler started, at once.
        waiting = [m for queue in self._waiting.values() for m in queue]
        self._waiting.clear()
        await fetcher.release(waiting + fetcher.take_buffered())
        running = list(self._running.values())
        if running:
            _, pending = await asyncio.wait(running, timeout=self.drain_timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        await fetcher.aclose()


class MessageStream:
    """``async for message in queue``: messages one by one from a prefetching fetcher.

    It does not delete: call ``await message.delete()`` (batched behind the scenes).
    Leaving the loop early (``break``, an exception) releases every buffered message; so
    does ``async with queue.messages() as stream:`` on exit, deterministically.
    A yielded message has at least half of its visibility timeout left; call
    ``message.change_visibility()`` for long work, or use ``consume()``, which renews.
    """

    def __init__(self, queue: Queue, **options: Any) -> None:
        self._fetcher = Fetcher(queue, **options)
        self._iterator: AsyncIterator[Message] | None = None

    def statistics(self) -> ConsumerStatistics:
        """A snapshot of the counters."""
        return _snapshot(self._fetcher, 0, 0, 0)

    def __aiter__(self) -> AsyncIterator[Message]:
        if self._iterator is None:
            self._iterator = _iterate(self._fetcher)
        return self._iterator

    async def __anext__(self) -> Message:
        return await self.__aiter__().__anext__()

    def stop(self) -> None:
        """End the iteration after the current message; buffered messages are released."""
        self._fetcher.stop()

    async def __aenter__(self) -> MessageStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop and release everything buffered. Idempotent."""
        self._fetcher.stop()
        await self._fetcher.aclose()


async def _iterate(fetcher: Fetcher) -> AsyncIterator[Message]:
    """The stream's generator. Module-level on purpose: its frame must not reference the
    stream, or stream and generator would form a cycle, and a loop left early (``break``)
    would release nothing until the cycle collector ran."""
    try:
        while True:
            try:
                message = await fetcher.get()
            except StopAsyncIteration:
                return
            yield message
    finally:
        await fetcher.aclose()

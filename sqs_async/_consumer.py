"""The consumer: ``consume()``, a handler on every message with bounded concurrency.

Layer: above the fetcher; the queue hands these out. Delivery is at least once: a message
is deleted only after its handler returned; a handler that raised leaves the message to
come back after a backoff; nothing received is ever dropped on the floor.

Shutdown (``stop()``, cancellation, or ``stop_when_empty`` reached), in order:

1. stop polling; long polls that may be parked are abandoned (they asked for a short
   visibility: what the service still hands them comes back within seconds); the others
   land within a second and what they bring is released at once;
2. release buffered messages no handler started (and, on FIFO queues, messages waiting
   behind their group) with visibility 0;
3. let running handlers finish, up to ``drain_timeout`` seconds;
4. cancel the handlers still running and release their messages;
5. flush pending deletes and visibility changes.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, cast

from ._fetcher import Fetcher, check_lease
from ._hooks import ConsumerHooks, ConsumerStatistics, call_hook, overridden
from ._leases import Lease
from ._message import Message
from ._outcomes import (
    HandlerCall,
    Middleware,
    global_middleware,
    is_async_handler,
    run_chain,
)
from ._settle import Settler
from .errors import ValidationError

if TYPE_CHECKING:
    from ._queue import Queue

__all__ = ["Consumer", "ConsumerHooks", "ConsumerStatistics", "Handler"]

log = logging.getLogger("sqs_async")


Handler = Callable[[Message], Awaitable[Any]] | Callable[[Message], Any]


class Consumer:
    """Runs a handler on every message of a queue, with bounded concurrency.

    Get one with ``queue.consumer(handler, ...)`` (then ``await consumer.run()`` and
    ``consumer.stop()``), or run one with ``await queue.consume(handler, ...)``.

    Args:
        queue: The queue.
        handler: ``async def handler(message)`` (runs on the loop) or a plain
            ``def handler(message)`` (runs in a worker thread). Returning means success (the
            message is deleted); ``raise Retry(delay=s)`` makes it visible again after
            ``s`` seconds; ``raise Reject(reason)`` sends it to the dead-letter queue;
            anything else it raises brings it back after a backoff.
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
        max_retry_backoff: The longest backoff, in seconds.
        max_receives: Stop handling a message received more often than this; it is left
            to the queue's redrive policy (dead-letter queue).
        cancel_on_lease_loss: Cancel a handler whose message's lease was lost.
        stop_when_empty: Return once nothing is visible, nothing is in flight for this
            consumer, no FIFO group has waiting messages and no failed message is in its
            backoff.
        max_buffer_age: The share of the visibility timeout a message may wait in the
            prefetch buffer.
        attributes: System attributes to receive (default: all); an explicit list gets
            the ones the consumer needs added (``ApproximateReceiveCount``,
            ``MessageGroupId``, ``SequenceNumber``).
        message_attributes: Message attributes to receive (default: all).
        dead_letter_queue: Where ``Reject`` sends messages (a queue, URL, ARN or name);
            default: the queue's ``RedrivePolicy`` target.
        middleware: Wrappers around each handler call, outermost first, inside the
            process-wide ones (``add_middleware``).
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
        attributes: Sequence[str] | None = None,
        message_attributes: Sequence[str] | None = None,
        dead_letter_queue: Queue | str | None = None,
        middleware: Sequence[Middleware] = (),
        hooks: ConsumerHooks | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValidationError(f"concurrency is {concurrency}; it must be at least 1")
        if visibility_timeout is not None:
            check_lease(visibility_timeout)
        self._threaded = not is_async_handler(handler)  # TypeError when not callable
        self.queue = queue
        self._handler = handler
        self.concurrency = concurrency
        self.drain_timeout = drain_timeout
        self.cancel_on_lease_loss = cancel_on_lease_loss
        self.stop_when_empty = stop_when_empty
        self.hooks = hooks or ConsumerHooks()
        self._middleware = tuple(middleware)
        # Per-message hot path: skip the clock and the call when on_handled is the no-op.
        self._on_handled = overridden(self.hooks, "on_handled")
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
            attributes=attributes,
            message_attributes=message_attributes,
            hooks=self.hooks,
            on_lease_lost=self._lease_lost,
            idle=self._idle,
            check_timeout=check_lease,
        )
        self._settle = Settler(
            queue,
            self._fetcher,
            self.hooks,
            dead_letter_queue=dead_letter_queue,
            retry_backoff=retry_backoff,
            max_retry_backoff=max_retry_backoff,
            max_receives=max_receives,
        )
        self._max_receives = max_receives
        # The per-message path calls the handler itself when it is async and unwrapped.
        self._invoke: Callable[[Any], Awaitable[Any]] = handler
        self._inner: Callable[[Any], Awaitable[Any]] = self._invoke  # what middleware wraps
        self._chain: tuple[Middleware, ...] = ()
        self._executor: ThreadPoolExecutor | None = None
        # the task handling each message, by id(message) (ids, not messages: a subclass may
        # define __eq__); a worker's (consume()), or a batch's task (consume_batches())
        self._running: dict[int, asyncio.Task[Any]] = {}
        self._free = concurrency  # consume_batches(): batches that may start
        self._slot_freed = asyncio.Event()
        # consume()'s workers (see _work): at most `concurrency`, started as needed
        self._workers = 0
        self._worker_tasks: set[asyncio.Task[None]] = set()
        self._parked: list[asyncio.Future[bool]] = []  # idle workers, the last parked first
        self._scout = False  # a worker watches the fetcher, or was woken to
        self._ended = asyncio.Event()
        self._error: Exception | None = None  # what ended polling (queue deleted, ...)
        self._context: contextvars.Context | None = None  # what each handler starts in
        self._busy_groups: set[str] = set()
        self._waiting: dict[str, collections.deque[Message]] = {}
        self._lost: set[str] = set()
        self._stopping = False
        self._ran = False
        self.handled = 0

    @property
    def failed(self) -> int:
        """Messages whose handler raised (``Retry`` and ``Reject`` included)."""
        return self._settle.failed

    @property
    def retried(self) -> int:
        """Messages whose handler raised ``Retry``."""
        return self._settle.retried

    @property
    def rejected(self) -> int:
        """Messages rejected into the dead-letter queue (and deleted)."""
        return self._settle.rejected

    def statistics(self) -> ConsumerStatistics:
        """A snapshot of the counters."""
        waiting = sum(len(d) for d in self._waiting.values())
        return self._fetcher.statistics(
            len(self._running) + waiting,
            handled=self.handled,
            failed=self._settle.failed,
            retried=self._settle.retried,
            rejected=self._settle.rejected,
        )

    def stop(self) -> None:
        """Ask :meth:`run` to shut down (the steps are in the lifecycle guide). Synchronous."""
        self._stopping = True
        self._fetcher.stop()
        self._slot_freed.set()
        self._ended.set()
        parked, self._parked = self._parked, []
        for waiter in parked:
            if not waiter.done():
                waiter.set_result(False)

    def stop_now(self) -> None:
        """:meth:`stop`, and cancel the running handlers now: their messages are released,
        pending deletes still flushed (``sqs-async worker``'s second signal). Synchronous."""
        self.stop()
        for task in list(self._running.values()):
            task.cancel()

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
        chain = global_middleware() + self._middleware
        if self._threaded:
            self._executor = ThreadPoolExecutor(self.concurrency, "sqs-async-handler")
            self._invoke = self._call_in_thread
        if chain:
            self._chain = chain
            self._inner = self._invoke
            self._invoke = self._call_with_middleware
        try:
            await self._fetcher.start()
            await self._consume()
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

    async def _consume(self) -> None:
        self._context = contextvars.copy_context()
        self._spawn(scout=True)
        await self._ended.wait()
        if self._error is not None:
            raise self._error

    async def _wait_for_slot(self) -> bool:
        while self._free == 0 and not self._stopping:
            self._slot_freed.clear()
            await self._slot_freed.wait()
        return not self._stopping

    def _idle(self) -> bool:
        """Nothing held and no backoff of ours pending (``stop_when_empty``)."""
        return (
            not self._running
            and not self._waiting
            and self._fetcher.buffered == 0
            and time.monotonic() >= self._settle.backoff_until
        )

    # -- calling the handler --------------------------------------------------------------

    async def _call_in_thread(self, argument: Any) -> Any:
        """Run a plain function handler in the consumer's threads (bounded by
        ``concurrency``), in the context of the handler's task (what middleware set)."""
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self._executor, context.run, self._handler, argument)
        if isinstance(result, Awaitable):  # a plain function returning a coroutine
            result = await result
        return result

    async def _call_with_middleware(self, argument: Any) -> Any:
        messages = argument if isinstance(argument, list) else (argument,)
        call = HandlerCall(self.queue, messages, isinstance(argument, list))
        inner = self._inner
        return await run_chain(self._chain, call, lambda: inner(argument))

    # -- consume(): the workers -------------------------------------------------------------

    def _spawn(
        self, *, scout: bool, first: Message | None = None, group: str | None = None
    ) -> None:
        """Start a worker (optionally on a message of a busy FIFO group), in a fresh copy of
        the context ``run()`` started in."""
        context = self._context.copy() if self._context is not None else None
        task = asyncio.get_running_loop().create_task(
            self._work(scout, first, group), context=context
        )
        self._workers += 1
        self._worker_tasks.add(task)
        task.add_done_callback(self._worker_tasks.discard)

    def _pass_scout(self) -> None:
        """The scout took a message: a parked worker watches the fetcher instead, or a new
        one while below ``concurrency``; else the first worker done with its message does."""
        parked = self._parked
        while parked:
            waiter = parked.pop()
            if not waiter.done():
                self._scout = True
                waiter.set_result(True)
                return
        if self._workers < self.concurrency:
            self._scout = True
            self._spawn(scout=True)

    async def _work(self, scout: bool, message: Message | None, group: str | None) -> None:
        """One worker: handles messages one at a time, each in this task.

        Up to ``concurrency`` workers, started as needed. One of them (the scout) waits for
        the fetcher; the other idle ones are parked; a busy one goes on with the next buffered
        message as soon as it is done, without a turn of the event loop (a task per message
        cost more than the rest of the consumer's own work together). What a task per
        message meant stays: cancelling a handler (lease lost, ``stop_now()``, the drain
        timeout) releases its message only, and each handler starts in a fresh copy of the
        context (a worker whose handler set a context variable hands over to a new one).
        """
        task = cast("asyncio.Task[None]", asyncio.current_task())
        fetcher = self._fetcher
        settle = self._settle
        running = self._running
        invoke = self._invoke
        on_handled = self._on_handled
        handled = fetcher.handled
        context = self._context
        retired = False
        try:
            while True:
                if message is None:
                    if self._stopping:
                        return
                    message = fetcher.get_nowait(keep_lease=True)
                    if message is None:
                        message, scout = await self._wait_for_work(scout)
                        if message is None:
                            continue
                    if self._fifo:
                        admitted, group = self._admit(message)
                        if not admitted:
                            message = None
                            continue
                    if scout:
                        scout = self._scout = False
                        self._pass_scout()
                # Handle it (_handle's steps, inline: this is the per-message path).
                running[id(message)] = task
                succeeded = False
                try:
                    if self._max_receives is not None and settle.received_too_often(message):
                        fetcher.finish(message)
                        await settle.backoff(message, ours=False)
                    else:
                        started = time.monotonic() if on_handled is not None else 0.0
                        try:
                            await invoke(message)
                        except asyncio.CancelledError:
                            await self._cancelled([message])
                            raise
                        except Exception as exc:  # noqa: BLE001 - whatever a handler raises is an outcome
                            succeeded = await settle.fail([message], exc)
                        else:
                            succeeded = True
                            self.handled += 1
                            if on_handled is not None:
                                call_hook(on_handled, message, time.monotonic() - started)
                            lost = self._lost  # _delete_nowait(), inline
                            if not (
                                handled.delete(
                                    message, bool(lost) and message.receipt_handle in lost
                                )
                                if handled is not None
                                else self._delete_nowait(message)
                            ):
                                await settle.delete(message)
                except asyncio.CancelledError:
                    pass  # released (unless its lease was lost); the worker goes on
                except BaseException:
                    self._done(message, group, succeeded)
                    raise
                if group is None and not self._lost:
                    del running[id(message)]  # _done(), inline
                    message = None
                else:
                    message = self._done(message, group, succeeded)  # its FIFO group's next
                    if message is None:
                        group = None
                if task.cancelling():  # the cancel was meant for the message just handled
                    while task.uncancel():
                        pass
                if context is not None and contextvars.copy_context() != context:
                    # The handler (or middleware) set a context variable: the next message
                    # starts in a fresh context, in a new worker.
                    self._workers -= 1
                    retired = True
                    if message is not None or not self._stopping:
                        self._spawn(scout=False, first=message, group=group)
                    return
        finally:
            if not retired:
                self._workers -= 1

    async def _wait_for_work(self, scout: bool) -> tuple[Message | None, bool]:
        """A worker without a message: be the scout (wait for the fetcher), or park until
        woken. Returns a message (``None``: look again) and whether it is the scout now."""
        if not scout:
            if self._scout:  # another worker watches the fetcher
                waiter = asyncio.get_running_loop().create_future()
                self._parked.append(waiter)
                return None, await waiter
            self._scout = True
        try:
            return await self._fetcher.get(keep_lease=True), True
        except StopAsyncIteration:
            pass
        except Exception as exc:  # noqa: BLE001 - what ended polling: run() raises it
            self._error = exc
        self.stop()
        return None, True

    def _admit(self, message: Message) -> tuple[bool, str | None]:
        """FIFO: whether a message may start now (its group is not busy), and its group.
        One that may not waits for its group's running message."""
        group = message.attributes.get("MessageGroupId")
        if group is None:
            return True, None
        if group in self._busy_groups:
            self._waiting.setdefault(group, collections.deque()).append(message)
            return False, group
        self._busy_groups.add(group)
        return True, group

    def _delete_nowait(self, message: Message) -> bool:
        """Queue the delete of a handled message; False: delete it directly (awaited).

        Unless the handler deleted or released it itself: delete it, batched and not
        awaited (a failure is logged, and the message comes back: at least once);
        shutdown flushes what is pending. Once the batcher is closed, directly. Synchronous:
        the per-message path awaits nothing more than the handler.
        """
        handled = self._fetcher.handled
        lost = bool(self._lost) and message.receipt_handle in self._lost
        return not lost if handled is None else handled.delete(message, lost)

    async def _cancelled(self, messages: list[Message]) -> None:
        """A handler was cancelled: release its messages, unless their lease was lost."""
        kept = [m for m in messages if m.receipt_handle not in self._lost]
        for message in messages:
            self._fetcher.finish(message)
        if kept:
            await asyncio.shield(self._fetcher.release(kept))

    # -- bookkeeping ----------------------------------------------------------------------

    def _done(self, message: Message, group: str | None, succeeded: bool) -> Message | None:
        """A worker is done with a message; return the next of its FIFO group, which the
        worker handles next (the group keeps its slot), if any."""
        self._running.pop(id(message), None)
        if self._lost:
            self._lost.discard(message.receipt_handle or "")
        if group is None:
            return None
        waiting = self._waiting.get(group)
        if waiting and succeeded and not self._stopping:
            following = waiting.popleft()
            if not waiting:
                del self._waiting[group]
            return following
        self._busy_groups.discard(group)
        if waiting:
            # A message of this group failed: the ones behind it must not overtake it.
            del self._waiting[group]
            self._adopt(self._fetcher.release(list(waiting)))
        return None

    def _adopt(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        adopt = getattr(self.queue.connection, "_adopt", None)
        if adopt is not None:
            adopt(task)

    def _lease_lost(self, lease: Lease) -> None:
        self._lost.add(lease.message.receipt_handle or "")
        task = self._running.get(id(lease.message))
        if self.cancel_on_lease_loss and task is not None and not task.done():
            task.cancel()

    async def _shutdown(self) -> None:
        fetcher = self._fetcher
        self.stop()
        # Release what no handler started, at once.
        waiting = [m for queue in self._waiting.values() for m in queue]
        self._waiting.clear()
        await fetcher.release(waiting + fetcher.take_buffered())
        running = set(self._running.values()) | self._worker_tasks
        if running:
            _, pending = await asyncio.wait(running, timeout=self.drain_timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        await fetcher.aclose()
        if self._executor is not None:
            # A plain function cannot be cancelled: threads still running finish on their
            # own; their messages were released above.
            self._executor.shutdown(wait=False, cancel_futures=True)

"""The queue's long-running workers: consumers, the message stream and the batch writer.

Layer: a base class of :class:`~sqs_async.Queue` (``_queue``), which holds the per-call
methods; this one the factories of what runs many calls: ``consumer()``, ``consume()``,
``consume_batches()``, ``messages()`` (and ``async for``) and ``batch_writer()``. The
consumers are imported where they are used: a program that only sends, or a command-line
call, does not pay their import.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, cast

from ._batching import DEFAULT_LINGER, MAX_CONCURRENT_BATCHES, BatchWriter
from ._config import MAX_RECEIVE_MESSAGES
from ._message import Message

if TYPE_CHECKING:
    from ._batch_consumer import BatchHandler
    from ._consumer import Consumer, ConsumerHooks, ConsumerStatistics, Handler
    from ._outcomes import Middleware
    from ._queue import Queue
    from ._stream import MessageStream

__all__ = ["QueueWorkers"]


class QueueWorkers:
    """The worker factories of :class:`~sqs_async.Queue`: a base class of it, with no state
    of its own (``self`` is always a ``Queue``)."""

    __slots__ = ()

    def messages(
        self,
        batch_size: int = MAX_RECEIVE_MESSAGES,
        wait_time_seconds: int = 20,
        visibility_timeout: int | None = None,
        *,
        prefetch: int | None = None,
        pollers: int | None = None,
        stop_when_empty: bool = False,
        attributes: Sequence[str] | None = None,
        message_attributes: Sequence[str] | None = None,
        hooks: ConsumerHooks | None = None,
    ) -> MessageStream:
        """Messages one by one, long-polling and prefetching in the background.

        Does not delete: call ``await message.delete()`` (batched). Leaving the loop early
        releases what was buffered. Use ``async with queue.messages() as stream:`` to make
        that deterministic.

        Args:
            batch_size: Messages per receive (1 to 10).
            wait_time_seconds: Long-poll wait (0 to 20).
            visibility_timeout: Lease length; default the queue's.
            prefetch: The most messages buffered ahead.
            pollers: Receives in flight at once.
            stop_when_empty: End once a receive comes back empty and the buffer is drained.
            attributes: System attributes to receive (default all).
            message_attributes: Message attributes to receive (default all).
            hooks: :class:`~sqs_async.ConsumerHooks` for metrics.
        """
        from ._stream import MessageStream

        return MessageStream(
            cast("Queue", self),
            batch_size=batch_size,
            wait_time_seconds=wait_time_seconds,
            visibility_timeout=visibility_timeout,
            prefetch=prefetch,
            pollers=pollers,
            stop_when_empty=stop_when_empty,
            attributes=attributes,
            message_attributes=message_attributes,
            hooks=hooks,
        )

    def __aiter__(self) -> AsyncIterator[Message]:
        return self.messages().__aiter__()

    def consumer(
        self,
        handler: Handler,
        *,
        concurrency: int = 10,
        visibility_timeout: int | None = None,
        batch_size: int = MAX_RECEIVE_MESSAGES,
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
    ) -> Consumer:
        """A :class:`~sqs_async.Consumer` running ``handler`` on every message.

        Start it with ``await consumer.run()``; stop it with ``consumer.stop()``. The
        arguments are :class:`~sqs_async.Consumer`'s (the same as :meth:`consume`).
        """
        options = _options(locals())
        from ._consumer import Consumer  # imported on use: ``import sqs_async`` stays cheap

        return Consumer(cast("Queue", self), handler, **options)

    async def consume(
        self,
        handler: Handler,
        *,
        concurrency: int = 10,
        visibility_timeout: int | None = None,
        batch_size: int = MAX_RECEIVE_MESSAGES,
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
    ) -> ConsumerStatistics:
        """Run ``handler`` on every message with bounded concurrency, until cancelled.

        Success deletes the message (batched); ``raise Retry(delay=s)`` brings it back
        after ``s`` seconds; ``raise Reject(reason)`` sends it to the dead-letter queue;
        any other exception brings it back after a backoff. Handlers that outlive the
        visibility timeout keep their lease. On cancellation: polling stops, unstarted
        messages are released at once, running handlers get ``drain_timeout`` seconds,
        pending deletes are flushed.

        Args:
            handler: ``async def handler(message)``, or a plain ``def`` (run in a thread).
            concurrency: Handlers running at once.
            visibility_timeout: Lease length in seconds (default: the queue's); renewed
                while handlers run.
            batch_size: Messages per receive (1 to 10).
            wait_time_seconds: Long-poll wait (0 to 20).
            prefetch: Messages buffered ahead (default ``concurrency + batch_size``).
            pollers: Receives in flight at once.
            drain_timeout: Seconds running handlers get to finish at shutdown.
            retry_backoff: First backoff after a failure; doubles with each receive.
            max_retry_backoff: The longest backoff.
            max_receives: Leave messages received more often than this to the redrive
                policy.
            cancel_on_lease_loss: Cancel a handler whose lease was lost.
            stop_when_empty: Return once the queue is drained (nothing visible, in flight
                for this consumer, waiting in a FIFO group or in a retry backoff).
            max_buffer_age: Share of the visibility timeout a message may wait buffered.
            attributes: System attributes to receive (default all; the consumer adds
                the ones it needs to an explicit list).
            message_attributes: Message attributes to receive (default all).
            dead_letter_queue: Where ``Reject`` sends messages (default: the target of
                the queue's ``RedrivePolicy``).
            middleware: ``async def mw(call, call_next)`` wrappers, outermost first.
            hooks: :class:`~sqs_async.ConsumerHooks` for metrics and tracing.

        Returns:
            The final statistics (when stopped with ``stop_when_empty``).

        Raises:
            TypeError: ``handler`` is not callable (before any I/O).
            ValidationError: An argument is out of range (before any I/O).
        """
        options = _options(locals())
        from ._consumer import Consumer

        return await Consumer(cast("Queue", self), handler, **options).run()

    async def consume_batches(
        self,
        handler: BatchHandler,
        *,
        max_batch: int = 10,
        max_wait: float = 1.0,
        concurrency: int = 1,
        visibility_timeout: int | None = None,
        batch_size: int = MAX_RECEIVE_MESSAGES,
        wait_time_seconds: int = 20,
        prefetch: int | None = None,
        pollers: int | None = None,
        drain_timeout: float = 30.0,
        retry_backoff: float = 2.0,
        max_retry_backoff: float = 300.0,
        cancel_on_lease_loss: bool = True,
        stop_when_empty: bool = False,
        max_buffer_age: float = 0.5,
        attributes: Sequence[str] | None = None,
        message_attributes: Sequence[str] | None = None,
        dead_letter_queue: Queue | str | None = None,
        middleware: Sequence[Middleware] = (),
        hooks: ConsumerHooks | None = None,
    ) -> ConsumerStatistics:
        """Run ``handler`` on lists of messages, until cancelled (or drained).

        ``handler(messages)`` returns ``None`` (all succeeded: they are deleted) or the
        messages that failed (or their ids), which come back after a backoff while the
        rest are deleted. Raising fails the whole batch; ``Retry`` and ``Reject`` apply to
        every message of it. Leases, shutdown and FIFO order are as for :meth:`consume`
        (a FIFO group is in one running batch at a time, in order).

        Args:
            handler: ``async def handler(messages)``, or a plain ``def`` (run in a thread).
            max_batch: The most messages per call.
            max_wait: Seconds to wait for more once a batch has its first message.
            concurrency: Batches running at once.
            visibility_timeout: Lease length (default: the queue's); renewed while the
                handler runs.
            batch_size: Messages per receive (1 to 10).
            wait_time_seconds: Long-poll wait (0 to 20).
            prefetch: Messages buffered ahead (default ``concurrency x max_batch +
                batch_size``).
            pollers: Receives in flight at once.
            drain_timeout: Seconds running batches get to finish at shutdown.
            retry_backoff: First backoff after a failure; doubles with each receive.
            max_retry_backoff: The longest backoff.
            cancel_on_lease_loss: Cancel a batch one of whose leases was lost (its other
                messages are released).
            stop_when_empty: Return once the queue is drained.
            max_buffer_age: Share of the visibility timeout a message may wait buffered.
            attributes: System attributes to receive (default all).
            message_attributes: Message attributes to receive (default all).
            dead_letter_queue: Where ``Reject`` sends messages (default: the target of
                the queue's ``RedrivePolicy``).
            middleware: ``async def mw(call, call_next)`` wrappers (``call.batch`` is True).
            hooks: :class:`~sqs_async.ConsumerHooks` (called per message).

        Returns:
            The final statistics (when stopped with ``stop_when_empty``).

        Raises:
            TypeError: ``handler`` is not callable (before any I/O).
            ValidationError: An argument is out of range (before any I/O).
        """
        options = _options(locals())
        from ._batch_consumer import BatchConsumer

        return await BatchConsumer(cast("Queue", self), handler, **options).run()

    def batch_writer(
        self,
        *,
        linger: float = DEFAULT_LINGER,
        max_retries: int = 3,
        max_concurrent: int = MAX_CONCURRENT_BATCHES,
    ) -> BatchWriter:
        """An async context manager coalescing concurrent writes into SendMessageBatch calls.

        Args:
            linger: Seconds a partial batch waits for more entries.
            max_retries: Retries of entries that failed with a retriable error.
            max_concurrent: Batches in flight at once.

        Example::

            async with queue.batch_writer() as writer:
                await asyncio.gather(*(writer.write(f"job {i}") for i in range(1000)))
        """
        return BatchWriter(
            cast("Queue", self),
            linger=linger,
            max_retries=max_retries,
            max_concurrent=max_concurrent,
        )


def _options(arguments: dict[str, Any]) -> dict[str, Any]:
    """A consuming method's keyword arguments (its ``locals()`` on entry), to pass on."""
    return {k: v for k, v in arguments.items() if k not in ("self", "handler")}

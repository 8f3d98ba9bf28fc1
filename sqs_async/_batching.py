"""Coalescing single calls into SQS batch calls, each caller keeping its own outcome.

Layer: above the low-level client, below the consumer and the queue. A :class:`Batcher`
collects entries and flushes a batch when it holds 10 entries, when the next entry would
take it over the byte limit, or after a short linger; every ``submit()`` awaits a future of
its own, resolved with that entry's result or exception. ``DeleteBatcher``,
``VisibilityBatcher`` and ``SendBatcher`` (``queue.batch_writer()``) are built on it.

Closing: state changes first (no new entries), then the pending entries are flushed and
every batch in flight is awaited, so nothing submitted before ``aclose()`` is dropped.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import operator
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from . import _instrument
from ._batch_calls import entry_error
from ._config import MAX_BATCH_ENTRIES
from ._message import Message
from ._protocol.batches import ENTRY_IDS, ENTRY_POSITIONS
from ._protocol.checksums import check_sent_batch
from ._protocol.validate import entry_size
from ._writes import entry as build_entry
from .errors import ClientClosedError, ResponseError, ServiceError, SQSError

if TYPE_CHECKING:
    from ._queue import Queue

__all__ = ["BatchWriter", "Batcher", "DeleteBatcher", "VisibilityBatcher"]

log = logging.getLogger("sqs_async")

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_LINGER = 0.005  # seconds: long enough to coalesce a burst, short enough to not matter
MAX_CONCURRENT_BATCHES = 16

SendBatch = Callable[[list[T]], Awaitable[list["R | BaseException"]]]
# Where an entry's result goes: a future someone may await, or a plain callback.
_Outcome = asyncio.Future[R] | Callable[[R | BaseException], None]


class Batcher(Generic[T, R]):
    """Coalesces submitted entries into batch calls.

    Args:
        send: Sends one batch; returns one result (or exception) per entry, in order.
        size: The byte size of an entry (for the byte limit), or ``None`` for no limit.
        max_bytes: The byte limit of one batch.
        linger: Seconds to wait for more entries before flushing a partial batch.
        max_concurrent: Batches in flight at once.
    """

    def __init__(
        self,
        send: SendBatch[T, R],
        *,
        size: Callable[[T], int] | None = None,
        max_bytes: int = 0,
        max_entries: int = MAX_BATCH_ENTRIES,
        linger: float = DEFAULT_LINGER,
        max_concurrent: int = MAX_CONCURRENT_BATCHES,
    ) -> None:
        self._send = send
        self._size = size
        self._max_bytes = max_bytes
        self._max_entries = max_entries
        self._linger = linger
        self._slots = asyncio.Semaphore(max_concurrent)
        self._pending: list[tuple[T, _Outcome[R]]] = []
        self._pending_bytes = 0
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.batches_sent = 0

    @property
    def pending(self) -> int:
        """Entries submitted but not yet sent."""
        return len(self._pending)

    async def submit(self, entry: T) -> R:
        """Add an entry; wait for its own result (or exception)."""
        return await self.submit_nowait(entry)

    def submit_nowait(self, entry: T) -> asyncio.Future[R]:
        """Add an entry; return the future of its result without waiting."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._add(entry, future)
        return future

    def submit_callback(self, entry: T, callback: Callable[[R | BaseException], None]) -> None:
        """Add an entry whose result (or exception) goes to ``callback``, called on the loop.

        Cheaper than :meth:`submit_nowait` for fire-and-forget entries (the consumer's
        deletes): no future, no scheduled callback per entry. If the batch is cancelled,
        the callback gets the :class:`asyncio.CancelledError`.
        """
        self._add(entry, callback)

    def _add(self, entry: T, outcome: _Outcome[R]) -> None:
        if self._closed:
            raise ClientClosedError("this batcher is closed")
        size = self._size(entry) if self._size is not None else 0
        if self._pending and (self._max_bytes and self._pending_bytes + size > self._max_bytes):
            self._flush()
        self._pending.append((entry, outcome))
        self._pending_bytes += size
        if len(self._pending) >= self._max_entries:
            self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._linger, self._flush)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        self._pending_bytes = 0
        task = asyncio.get_running_loop().create_task(self._run(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[T, _Outcome[R]]]) -> None:
        try:
            async with self._slots:
                self.batches_sent += 1
                results = await self._send([entry for entry, _ in batch])
        except BaseException as exc:
            for _, outcome in batch:
                _deliver(outcome, exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, outcome), result in zip(batch, results, strict=True):
            _deliver(outcome, result)

    async def flush(self) -> None:
        """Send what is pending now and wait for every batch in flight."""
        self._flush()
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def aclose(self) -> None:
        """Stop taking entries, then flush and wait for everything in flight. Idempotent."""
        self._closed = True
        await self.flush()


def _deliver(outcome: _Outcome[R], result: R | BaseException) -> None:
    """Hand one entry's result to its future or its callback."""
    if isinstance(outcome, asyncio.Future):
        if outcome.done():  # the caller gave up waiting (cancelled)
            return
        if isinstance(result, asyncio.CancelledError):
            outcome.cancel()
        elif isinstance(result, BaseException):
            outcome.set_exception(result)
        else:
            outcome.set_result(result)
        return
    try:
        outcome(result)
    except Exception:
        log.exception("a batch entry callback failed")


def _results(
    result: dict[str, Any], count: int, operation: str
) -> list[dict[str, Any] | BaseException]:
    out: list[dict[str, Any] | BaseException] = [
        ServiceError("no result for this entry", operation=operation)
    ] * count
    try:
        for item in result.get("Successful", ()):
            out[ENTRY_POSITIONS[item["Id"]]] = item
        for item in result.get("Failed", ()):
            out[ENTRY_POSITIONS[item["Id"]]] = entry_error(item, operation)
    except (KeyError, IndexError, TypeError) as exc:
        raise ResponseError(
            "the response names a batch entry that was not sent", operation=operation
        ) from exc
    return out


class DeleteBatcher(Batcher[str, dict[str, Any]]):
    """DeleteMessageBatch behind single ``submit(receipt_handle)`` calls.

    Callers pass non-empty receipt handles; the entry ids are ours, so the batch call skips
    the client's validation.
    """

    def __init__(self, queue: Queue, *, linger: float = DEFAULT_LINGER) -> None:
        self._queue = queue
        super().__init__(self._delete, linger=linger)

    async def _delete(self, handles: list[str]) -> list[dict[str, Any] | BaseException]:
        entries = [{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(handles)]
        result = await self._queue.connection._call(
            "DeleteMessageBatch", {"QueueUrl": self._queue.url, "Entries": entries}, validated=True
        )
        return _results(result, len(handles), "DeleteMessageBatch")


class VisibilityBatcher(Batcher[tuple[str, int], dict[str, Any]]):
    """ChangeMessageVisibilityBatch behind single ``submit((handle, seconds))`` calls.

    Callers pass non-empty receipt handles and timeouts already checked to be in range.
    """

    def __init__(self, queue: Queue, *, linger: float = DEFAULT_LINGER) -> None:
        self._queue = queue
        super().__init__(self._change, linger=linger)

    async def _change(self, items: list[tuple[str, int]]) -> list[dict[str, Any] | BaseException]:
        entries = [
            {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": t}
            for i, (h, t) in enumerate(items)
        ]
        result = await self._queue.connection._call(
            "ChangeMessageVisibilityBatch",
            {"QueueUrl": self._queue.url, "Entries": entries},
            validated=True,
        )
        return _results(result, len(items), "ChangeMessageVisibilityBatch")


class BatchWriter:
    """Coalesces concurrent ``write()`` calls into SendMessageBatch calls.

    Get one with ``queue.batch_writer()``. Flushes at 10 entries, at the byte limit, or
    after ``linger`` seconds. Entries that fail with a retriable error (throttling, an
    internal error) are retried up to ``max_retries`` times; each caller gets its own
    message back (with ``id`` set) or its own exception.

    Example::

        async with queue.batch_writer() as writer:
            await asyncio.gather(*(writer.write(f"job {i}") for i in range(1000)))
    """

    def __init__(
        self,
        queue: Queue,
        *,
        linger: float = DEFAULT_LINGER,
        max_retries: int = 3,
        max_concurrent: int = MAX_CONCURRENT_BATCHES,
    ) -> None:
        self.queue = queue
        self._max_retries = max_retries
        self._limit = queue.connection.config.limits.max_message_bytes
        self._batcher: Batcher[tuple[dict[str, Any], int], dict[str, Any]] = Batcher(
            self._send,
            size=operator.itemgetter(1),
            max_bytes=self._limit,
            linger=linger,
            max_concurrent=max_concurrent,
        )
        self.calls = 0

    async def __aenter__(self) -> BatchWriter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def write(
        self,
        message: Message | Any,
        *,
        delay_seconds: int | None = None,
        message_attributes: dict[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
    ) -> Message:
        """Queue one message for the next batch; return it once sent, with ``id`` set.

        Raises:
            ValidationError: The message breaks an SQS limit (before anything is sent).
            ServiceError: This message's entry failed (other entries are unaffected).
        """
        observer = _instrument.sends
        if observer is not None and not observer.wrapping():
            send = functools.partial(
                self.write,
                message,
                delay_seconds=delay_seconds,
                message_attributes=message_attributes,
                group_id=group_id,
                deduplication_id=deduplication_id,
            )
            return await observer.send(self.queue, "batch_writer", send)
        queue = self.queue
        message = message if isinstance(message, Message) else queue.new_message(message)
        entry = build_entry(
            queue, message, delay_seconds, message_attributes, group_id, deduplication_id
        )
        result = await self._batcher.submit((entry, entry_size(entry, self._limit)))
        message.queue = queue
        message.id = result.get("MessageId")
        message.md5 = result.get("MD5OfMessageBody")
        message.sequence_number = result.get("SequenceNumber")
        return message

    async def _send(
        self, pairs: list[tuple[dict[str, Any], int]]
    ) -> list[dict[str, Any] | BaseException]:
        entries = [entry for entry, _ in pairs]  # ours (built by write): ids are set in place
        results: list[dict[str, Any] | BaseException] = [SQSError("not sent") for _ in entries]
        todo = list(range(len(entries)))
        connection = self.queue.connection
        for attempt in range(self._max_retries + 1):
            wire = []
            for entry_id, index in zip(ENTRY_IDS, todo, strict=False):
                entry = entries[index]
                entry["Id"] = entry_id
                wire.append(entry)
            self.calls += 1
            try:
                result = await connection._call(
                    "SendMessageBatch",
                    {"QueueUrl": self.queue.url, "Entries": wire},
                    validated=True,
                    verified=True,
                )
                if connection.config.verify_checksums:
                    try:
                        check_sent_batch(wire, result.get("Successful", ()), ENTRY_POSITIONS)
                    except (KeyError, IndexError, TypeError) as exc:
                        raise ResponseError(
                            "the response names a batch entry that was not sent",
                            operation="SendMessageBatch",
                        ) from exc
            except SQSError as exc:
                if attempt == 0:
                    raise  # nothing was sent: every caller gets the error
                for index in todo:  # a retry failed: only the retried entries fail
                    results[index] = exc
                break
            outcome = _results(result, len(todo), "SendMessageBatch")
            retry = []
            for position, index in enumerate(todo):
                item = outcome[position]
                results[index] = item
                if isinstance(item, SQSError) and type(item).retriable:
                    retry.append(index)
            if not retry or attempt == self._max_retries:
                break
            log.debug("retrying %d failed SendMessageBatch entries", len(retry))
            await asyncio.sleep(0.05 * 2**attempt)
            todo = retry
        return results

    async def flush(self) -> None:
        """Send everything pending now and wait for it."""
        await self._batcher.flush()

    async def aclose(self) -> None:
        """Flush and stop taking writes. Idempotent."""
        await self._batcher.aclose()

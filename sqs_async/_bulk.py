"""Whole-queue jobs: clear, dump, save and load.

Layer: just below ``_queue`` (it drives a Queue through its public methods). File I/O runs
in a worker thread so a large dump never blocks the event loop.

How they end: a short-poll receive can come back empty on a queue that is not (AWS samples
a subset of its servers), so an empty receive is confirmed with ``count()`` and a one-second
long poll before a job decides the queue is drained.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING

from ._config import MAX_RECEIVE_MESSAGES, MAX_WAIT_TIME_SECONDS
from ._message import Message
from .errors import DrainIncomplete, PartialBatchFailure, SQSError

if TYPE_CHECKING:
    from ._queue import Queue

__all__ = ["clear", "dump", "load", "move", "save"]

Progress = Callable[[int], None]

# How long a dump holds the messages it has read, and when it renews them.
DUMP_HOLD_SECONDS = 120
DUMP_RENEW_BEFORE = 40.0
# Empty receives in a row, with the count still above 0, before a job gives up waiting
# for messages that are delayed or held by someone else.
MAX_EMPTY_ROUNDS = 3


class _Drain:
    """Receives until the queue is empty: the shared loop of clear, dump, save and move.

    Empty means no visible and no delayed messages (delayed ones are waited for, with long
    polls). Messages in flight elsewhere are not waited for. If receives keep coming back
    empty while messages are visible (a FIFO group locked by messages this job holds, as
    in a dump), the job cannot finish: :class:`~sqs_async.errors.DrainIncomplete`.
    """

    def __init__(
        self,
        queue: Queue,
        visibility_timeout: int,
        message_attributes: list[str] | None = None,
        *,
        job: str = "drain",
    ) -> None:
        self.queue = queue
        self.visibility_timeout = visibility_timeout
        self.message_attributes = message_attributes or []
        self.job = job
        self.empty_rounds = 0
        self.done = 0

    async def next_batch(self) -> list[Message] | None:
        """The next batch, or ``None`` once the queue is drained."""
        while True:
            wait = 1 if self.empty_rounds else 0
            batch = await self.queue.get_messages(
                MAX_RECEIVE_MESSAGES,
                self.visibility_timeout,
                wait_time_seconds=wait,
                message_attributes=self.message_attributes,
            )
            if batch:
                self.empty_rounds = 0
                return batch
            attributes = await self.queue.get_attributes(
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"
            )
            visible = int(attributes.get("ApproximateNumberOfMessages", 0))
            delayed = int(attributes.get("ApproximateNumberOfMessagesDelayed", 0))
            if visible == 0 and delayed == 0:
                return None
            if visible == 0:
                # only delayed messages left: wait for them with full long polls
                self.empty_rounds = 0
                batch = await self.queue.get_messages(
                    MAX_RECEIVE_MESSAGES,
                    self.visibility_timeout,
                    wait_time_seconds=MAX_WAIT_TIME_SECONDS,
                    message_attributes=self.message_attributes,
                )
                if batch:
                    return batch
                continue
            self.empty_rounds += 1
            if self.empty_rounds > MAX_EMPTY_ROUNDS:
                raise DrainIncomplete(
                    f"{self.job} of {self.queue.name} stopped after {self.done} messages: about "
                    f"{visible} more are visible but cannot be received (on a FIFO queue, a "
                    "group stays locked while its first messages are held)",
                    done=self.done,
                )


def _unique(batch: list[Message], seen: set[str]) -> list[Message]:
    """Messages whose id was not seen before (SQS may return one message twice)."""
    fresh = []
    for message in batch:
        if message.id is None or message.id not in seen:
            if message.id is not None:
                seen.add(message.id)
            fresh.append(message)
    return fresh


async def clear(queue: Queue, progress: Progress | None) -> int:
    """Receive and delete until the queue is empty; return how many were deleted."""
    drain = _Drain(queue, visibility_timeout=60, job="clear")
    deleted: set[str] = set()
    while (batch := await drain.next_batch()) is not None:
        result = await queue.delete_message_batch(batch)
        before = len(deleted)
        deleted.update(e.message.id or "" for e in result.successful)
        drain.done = len(deleted)
        if progress is not None:
            progress(len(deleted) - before)
    return len(deleted)


async def dump(queue: Queue, file_name: str, sep: str, progress: Progress | None) -> int:
    """Write each body once to ``file_name``; delete nothing; release everything at the end."""
    held: dict[str, tuple[Message, float]] = {}  # message id -> (latest copy, hold deadline)
    drain = _Drain(queue, DUMP_HOLD_SECONDS, job="dump")
    fp = await asyncio.to_thread(open, file_name, "w", encoding="utf-8", newline="")
    written = 0
    try:
        while (batch := await drain.next_batch()) is not None:
            deadline = time.monotonic() + DUMP_HOLD_SECONDS
            texts = []
            for message in batch:
                key = message.id or message.receipt_handle or ""
                if key not in held:
                    texts.append(message.get_body_encoded())
                held[key] = (message, deadline)  # a redelivered copy: keep its newer handle
            if texts:
                chunk = "".join((sep if written + i else "") + text for i, text in enumerate(texts))
                await asyncio.to_thread(fp.write, chunk)
                written += len(texts)
                drain.done = written
                if progress is not None:
                    progress(len(texts))
            await _renew(queue, held)
    finally:
        try:
            await asyncio.to_thread(fp.close)
        finally:
            await asyncio.shield(_release(queue, [m for m, _ in held.values()]))
    return written


async def _renew(queue: Queue, held: dict[str, tuple[Message, float]]) -> None:
    """Extend the hold on messages close to their deadline, so they are not re-read."""
    now = time.monotonic()
    due = [key for key, (_, deadline) in held.items() if deadline - now < DUMP_RENEW_BEFORE]
    if not due:
        return
    result = await queue.change_message_visibility_batch(
        [held[key][0] for key in due], DUMP_HOLD_SECONDS
    )
    new_deadline = time.monotonic() + DUMP_HOLD_SECONDS
    for entry in result.successful:
        key = entry.message.id or entry.message.receipt_handle or ""
        held[key] = (entry.message, new_deadline)


async def _release(queue: Queue, messages: list[Message]) -> None:
    """Make held messages visible again at once (best effort: they expire anyway)."""
    if not messages:
        return
    with contextlib.suppress(SQSError):  # best effort: they come back after the hold anyway
        await queue.change_message_visibility_batch(messages, 0)


async def save(queue: Queue, fp: IO[str], sep: str, progress: Progress | None) -> int:
    """Write every body to ``fp`` and delete each message once it is written."""
    drain = _Drain(queue, visibility_timeout=60, job="save")
    seen: set[str] = set()
    written = 0
    while (batch := await drain.next_batch()) is not None:
        fresh = _unique(batch, seen)
        if fresh:
            chunk = "".join(
                (sep if written + i else "") + m.get_body_encoded() for i, m in enumerate(fresh)
            )
            await asyncio.to_thread(fp.write, chunk)
            await asyncio.to_thread(fp.flush)
            written += len(fresh)
            drain.done = written
            if progress is not None:
                progress(len(fresh))
        await queue.delete_message_batch(batch)  # every copy, written once
    return written


async def load(queue: Queue, fp: IO[str], sep: str, progress: Progress | None) -> int:
    """Send each ``sep``-separated wire text in ``fp``, batched; return how many were sent.

    Raises:
        PartialBatchFailure: Some messages were refused (the rest were sent).
    """
    text = await asyncio.to_thread(fp.read)
    if not text:
        return 0
    parts = text.split(sep)
    if parts and parts[-1] == "":
        parts.pop()  # a trailing separator ends the file, it does not start a message
    sent = 0
    chunk_size = 100
    for start in range(0, len(parts), chunk_size):
        messages = []
        for part in parts[start : start + chunk_size]:
            message = queue.message_class()
            message.set_body_encoded(part)
            messages.append(message)
        positions = {id(m): i for i, m in enumerate(messages)}
        result = await queue.write_batch(messages)
        sent += len(result.successful)
        if progress is not None:
            progress(len(result.successful))
        if result.failed:
            raise PartialBatchFailure(
                f"{len(result.failed)} of {len(messages)} messages were refused",
                succeeded=[e.message_id or "" for e in result.successful],
                failed=[(str(start + positions[id(e.message)]), e.error) for e in result.failed],
                operation="SendMessageBatch",
            )
    return sent


async def move(source: Queue, destination: Queue, progress: Progress | None) -> int:
    """Drain ``source`` into ``destination``; delete from ``source`` only what was written.

    Messages keep their wire text and message attributes. A message the destination refuses
    stays in ``source`` (it becomes visible again after the hold).

    Returns:
        How many messages were moved.
    """
    drain = _Drain(source, visibility_timeout=60, message_attributes=["All"], job="move")
    moved = 0
    while (batch := await drain.next_batch()) is not None:
        copies = []
        for message in batch:
            copy = destination.message_class()
            copy.set_body_encoded(message.get_body_encoded())
            copy.message_attributes = dict(message.message_attributes)
            copies.append(copy)
        result = await destination.write_batch(copies)
        written = {id(entry.message) for entry in result.successful}
        done = [m for m, c in zip(batch, copies, strict=True) if id(c) in written]
        refused = [m for m, c in zip(batch, copies, strict=True) if id(c) not in written]
        if done:
            await source.delete_message_batch(done)
            moved += len(done)
            drain.done = moved
            if progress is not None:
                progress(len(done))
        if refused:
            await _release(source, refused)
            raise PartialBatchFailure(
                f"{len(refused)} messages were refused by {destination.name}; "
                "they stay in the source queue",
                succeeded=[m.id or "" for m in done],
                failed=[(e.message.id or "", e.error) for e in result.failed],
                operation="SendMessageBatch",
            )
    return moved

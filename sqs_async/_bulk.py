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

from ._config import MAX_RECEIVE_MESSAGES
from ._message import Message
from .errors import PartialBatchFailure, SQSError

if TYPE_CHECKING:
    from ._queue import Queue

__all__ = ["clear", "dump", "load", "save"]

Progress = Callable[[int], None]

# How long a dump holds the messages it has read, and when it renews them.
DUMP_HOLD_SECONDS = 120
DUMP_RENEW_BEFORE = 40.0
# Empty receives in a row, with the count still above 0, before a job gives up waiting
# for messages that are delayed or held by someone else.
MAX_EMPTY_ROUNDS = 3


class _Drain:
    """Receives until the queue looks empty: the shared loop of clear, dump and save."""

    def __init__(self, queue: Queue, visibility_timeout: int) -> None:
        self.queue = queue
        self.visibility_timeout = visibility_timeout
        self.empty_rounds = 0

    async def next_batch(self) -> list[Message] | None:
        """The next batch, or ``None`` once the queue is drained."""
        while True:
            wait = 1 if self.empty_rounds else 0
            batch = await self.queue.get_messages(
                MAX_RECEIVE_MESSAGES,
                self.visibility_timeout,
                wait_time_seconds=wait,
                message_attributes=[],
            )
            if batch:
                self.empty_rounds = 0
                return batch
            if await self.queue.count() == 0:
                return None
            self.empty_rounds += 1
            if self.empty_rounds > MAX_EMPTY_ROUNDS:
                return None


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
    drain = _Drain(queue, visibility_timeout=60)
    deleted: set[str] = set()
    while (batch := await drain.next_batch()) is not None:
        result = await queue.delete_message_batch(batch)
        before = len(deleted)
        deleted.update(e.message.id or "" for e in result.successful)
        if progress is not None:
            progress(len(deleted) - before)
    return len(deleted)


async def dump(queue: Queue, file_name: str, sep: str, progress: Progress | None) -> int:
    """Write each body once to ``file_name``; delete nothing; release everything at the end."""
    held: dict[str, tuple[Message, float]] = {}  # message id -> (latest copy, hold deadline)
    drain = _Drain(queue, DUMP_HOLD_SECONDS)
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
    drain = _Drain(queue, visibility_timeout=60)
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
        result = await queue.write_batch(messages)
        sent += len(result.successful)
        if progress is not None:
            progress(len(result.successful))
        if result.failed:
            raise PartialBatchFailure(
                f"{len(result.failed)} of {len(messages)} messages were refused",
                succeeded=[e.message_id or "" for e in result.successful],
                failed=[(str(i), e.error) for i, e in enumerate(result.failed)],
                operation="SendMessageBatch",
            )
    return sent

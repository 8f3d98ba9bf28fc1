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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

from ._config import MAX_BATCH_ENTRIES, MAX_RECEIVE_MESSAGES, MAX_WAIT_TIME_SECONDS
from ._message import Message
from ._records import Record, to_jsonl
from .errors import DrainIncomplete, PartialBatchFailure, SQSError, ValidationError

if TYPE_CHECKING:
    from ._queue import Queue

__all__ = ["LoadReport", "clear", "dump", "load", "load_records", "move", "save"]

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


async def dump(
    queue: Queue, file_name: str, sep: str, progress: Progress | None, *, jsonl: bool = False
) -> int:
    """Write each body once to ``file_name``; delete nothing; release everything at the end.

    With ``jsonl``, each message is a JSON Lines record (`sqs_async._records`) ended by a
    newline, and ``sep`` is not used.
    """
    held: dict[str, tuple[Message, float]] = {}  # message id -> (latest copy, hold deadline)
    drain = _Drain(queue, DUMP_HOLD_SECONDS, ["All"] if jsonl else None, job="dump")
    fp = await asyncio.to_thread(open, file_name, "w", encoding="utf-8", newline="")
    written = 0
    try:
        while (batch := await drain.next_batch()) is not None:
            deadline = time.monotonic() + DUMP_HOLD_SECONDS
            texts = []
            for message in batch:
                key = message.id or message.receipt_handle or ""
                if key not in held:
                    texts.append(to_jsonl(message) if jsonl else message.get_body_encoded())
                held[key] = (message, deadline)  # a redelivered copy: keep its newer handle
            if texts:
                if jsonl:
                    chunk = "".join(text + "\n" for text in texts)
                else:
                    chunk = "".join((sep if written + i else "") + t for i, t in enumerate(texts))
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


def is_fifo(queue_name: str) -> bool:
    """Whether a queue name (or URL) names a FIFO queue."""
    return queue_name.rstrip("/").endswith(".fifo")


# A message to write, its MessageGroupId and its MessageDeduplicationId.
_Item = tuple[Message, str | None, str | None]


@dataclass(slots=True)
class _Written:
    written: list[Message] = field(default_factory=list)
    failed: list[tuple[Message, SQSError]] = field(default_factory=list)
    attempted: int = 0


async def _write_in_runs(
    queue: Queue, items: Sequence[_Item], progress: Progress | None
) -> _Written:
    """Write ``items`` in order, one ``write_batch`` per run of at most 10 consecutive items
    of one group (so FIFO order holds) and stop after the first run with a failure, so that
    whatever follows a refused message is not written before it."""
    out = _Written()
    while out.attempted < len(items):
        start = out.attempted
        key = (items[start][1], items[start][2] is None)
        end = start + 1
        while (
            end < len(items)
            and end - start < MAX_BATCH_ENTRIES
            and (items[end][1], items[end][2] is None) == key
        ):
            end += 1
        run = items[start:end]
        messages = [message for message, _, _ in run]
        dedup = None if key[1] else [d for _, _, d in run if d is not None]
        out.attempted = end
        try:
            result = await queue.write_batch(messages, group_id=key[0], deduplication_ids=dedup)
        except ValidationError as exc:  # nothing of this run was sent
            out.failed += [(message, exc) for message in messages]
            break
        out.written += [entry.message for entry in result.successful]
        if progress is not None and result.successful:
            progress(len(result.successful))
        if result.failed:
            out.failed += [(entry.message, entry.error) for entry in result.failed]
            break
    return out


@dataclass(slots=True)
class LoadReport:
    """What `load_records` wrote; when it stopped early, what was refused and why."""

    written: int = 0
    failed: list[tuple[Record, SQSError]] = field(default_factory=list)
    written_after_failure: list[Record] = field(default_factory=list)

    @property
    def resume(self) -> int | None:
        """Entries of the file to skip to resume (those before the first refused one)."""
        return min(record.index for record, _ in self.failed) if self.failed else None


async def load_records(
    queue: Queue,
    records: Sequence[Record],
    progress: Progress | None,
    *,
    group_id: str | None = None,
) -> LoadReport:
    """Send ``records`` in order; stop at the first batch with a refused message.

    ``group_id`` is the MessageGroupId of records without one. Deduplication ids are sent
    to FIFO queues only (standard queues refuse them).
    """
    fifo = is_fifo(queue.url)
    items: list[_Item] = []
    record_of: dict[int, Record] = {}
    for record in records:
        message = queue.message_class()
        message.set_body_encoded(record.body)
        message.message_attributes = dict(record.message_attributes)
        record_of[id(message)] = record
        dedup = record.deduplication_id if fifo else None
        items.append((message, record.group_id or group_id, dedup))
    result = await _write_in_runs(queue, items, progress)
    report = LoadReport(written=len(result.written))
    report.failed = [(record_of[id(message)], error) for message, error in result.failed]
    if report.failed:
        first = min(record.index for record, _ in report.failed)
        report.written_after_failure = [
            record_of[id(m)] for m in result.written if record_of[id(m)].index > first
        ]
    return report


async def move(
    source: Queue,
    destination: Queue,
    progress: Progress | None,
    *,
    group_id: str | None = None,
) -> int:
    """Drain ``source`` into ``destination``; delete from ``source`` only what was written.

    Messages keep their wire text, message attributes and MessageGroupId (``group_id`` for
    those without one). Into a FIFO queue, each copy's MessageDeduplicationId is the source
    message's id: a move retried within five minutes writes nothing twice, and an old
    deduplication id cannot make the destination drop a copy silently. A message the
    destination refuses stays in ``source`` (visible again at once), and so does every
    message after it in the batch.

    Returns:
        How many messages were moved.

    Raises:
        PartialBatchFailure: The destination refused messages; ``failed`` pairs each
            refused message's id in ``source`` with the service's error.
    """
    fifo = is_fifo(destination.url)
    drain = _Drain(source, visibility_timeout=60, message_attributes=["All"], job="move")
    moved = 0
    while (batch := await drain.next_batch()) is not None:
        items: list[_Item] = []
        original: dict[int, Message] = {}
        for message in batch:
            copy = destination.message_class()
            copy.set_body_encoded(message.get_body_encoded())
            copy.message_attributes = dict(message.message_attributes)
            original[id(copy)] = message
            group = message.attributes.get("MessageGroupId") or group_id
            items.append((copy, group, message.id if fifo else None))
        result = await _write_in_runs(destination, items, None)
        done = [original[id(copy)] for copy in result.written]
        if done:
            await source.delete_message_batch(done)
            moved += len(done)
            drain.done = moved
            if progress is not None:
                progress(len(done))
        if result.failed:
            kept = [original[id(copy)] for copy, _, _ in items if original[id(copy)] not in done]
            await _release(source, kept)
            raise PartialBatchFailure(
                f"{len(result.failed)} messages were refused by {destination.name}; "
                f"{moved} were moved, the rest stay in {source.name}",
                succeeded=[m.id or "" for m in done],
                failed=[(original[id(copy)].id or "", error) for copy, error in result.failed],
                operation="SendMessageBatch",
            )
    return moved

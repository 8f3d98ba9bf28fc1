"""Batch calls whose entry ids are positions, and what each did for its messages.

Layer: above the low-level client, below the write paths (``_writes``), the batchers and the
queue. Our entry ids are the entries' positions in their call (``ENTRY_IDS``), so a result
maps back to its message by index; an id we never sent is a :class:`ResponseError`. A call
that fails as a whole fails every entry of it; a ``Failed`` item fails only its entry.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._config import MAX_BATCH_ENTRIES
from ._message import Message
from ._protocol.batches import ENTRY_IDS, ENTRY_POSITIONS
from ._protocol.checksums import check_sent_batch
from .errors import ResponseError, ServiceError, SQSError, for_code

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._client import Client
    from ._queue import Queue

__all__ = [
    "BatchResults",
    "FailedEntry",
    "SuccessfulEntry",
    "entry_error",
    "handle_batch",
    "release_received",
    "send_batch",
]

_IDS = ENTRY_IDS
_POSITION = ENTRY_POSITIONS


@dataclass(slots=True)
class SuccessfulEntry:
    """A batch entry that succeeded."""

    message: Message
    message_id: str | None = None
    md5: str | None = None


@dataclass(slots=True)
class FailedEntry:
    """A batch entry that failed, with the service's reason."""

    message: Message
    error: SQSError
    sender_fault: bool = True

    @property
    def code(self) -> str | None:
        """The error code."""
        return self.error.code


@dataclass(slots=True)
class BatchResults:
    """What a batch call did for each message. Truthy when nothing failed."""

    successful: list[SuccessfulEntry] = field(default_factory=list)
    failed: list[FailedEntry] = field(default_factory=list)

    def __bool__(self) -> bool:
        return not self.failed

    def extend(self, other: BatchResults) -> None:
        """Append another batch's results."""
        self.successful.extend(other.successful)
        self.failed.extend(other.failed)


def entry_error(item: dict[str, Any], operation: str) -> ServiceError:
    """The error of one ``Failed`` entry of a batch response."""
    code = str(item.get("Code") or "UnknownError")
    return for_code(code)(str(item.get("Message") or code), code=code, operation=operation)


def unknown_entry(operation: str) -> ResponseError:
    """The error of a batch answer that names an entry id we never sent."""
    return ResponseError("the response names a batch entry that was not sent", operation=operation)


def sender_fault(exc: SQSError) -> bool:
    """Whether a failed call was the caller's fault (a 4xx answer, or bad input)."""
    return exc.status is not None and exc.status < 500


def _failure(message: Message, item: dict[str, Any], operation: str) -> FailedEntry:
    error = entry_error(item, operation)
    return FailedEntry(message, error, bool(item.get("SenderFault", True)))


async def send_batch(
    queue: Queue,
    messages: Sequence[Message],
    entries: list[dict[str, Any]],
    results: BatchResults,
) -> None:
    """One SendMessageBatch of checked entries whose ids are their positions.

    Entries were checked one by one and split within the limits by the caller, so the
    client does not check them again; the MD5s are checked here, by position, in the loop
    that reads the results. A failure of the whole call (a mismatch included) fails every
    entry of it.
    """
    connection = queue.connection
    try:
        result = await connection._call(
            "SendMessageBatch",
            {"QueueUrl": queue.url, "Entries": entries},
            validated=True,
            verified=True,
        )
        successful = result.get("Successful", ())
        if successful and connection.config.verify_checksums:
            try:
                check_sent_batch(entries, successful, _POSITION)
            except (KeyError, IndexError, TypeError) as exc:
                raise unknown_entry("SendMessageBatch") from exc
    except SQSError as exc:  # the whole call failed: every entry of it failed
        results.failed.extend(FailedEntry(m, exc, sender_fault(exc)) for m in messages)
        return
    out = results.successful
    try:
        for item in successful:
            message = messages[_POSITION[item["Id"]]]
            message.queue = queue
            message.id = message_id = item.get("MessageId")
            message.md5 = md5 = item.get("MD5OfMessageBody")
            message.sequence_number = item.get("SequenceNumber")
            out.append(SuccessfulEntry(message, message_id, md5))
        failed = result.get("Failed")
        if failed:
            for item in failed:
                message = messages[_POSITION[item["Id"]]]
                results.failed.append(_failure(message, item, "SendMessageBatch"))
    except (KeyError, IndexError, TypeError) as exc:
        raise unknown_entry("SendMessageBatch") from exc


async def handle_batch(
    queue: Queue, operation: str, messages: list[Message], entries: list[dict[str, Any]]
) -> BatchResults:
    """Send checked receipt-handle entries, 10 per call; entry ``i`` of a call has the id
    ``ENTRY_IDS[i]`` (DeleteMessageBatch, ChangeMessageVisibilityBatch)."""
    results = BatchResults()
    call = queue.connection._call
    url = queue.url
    single = len(entries) <= MAX_BATCH_ENTRIES  # the common case: no slices
    for start in range(0, len(entries), MAX_BATCH_ENTRIES):
        stop = start + MAX_BATCH_ENTRIES
        chunk = messages if single else messages[start:stop]
        try:
            # our ids, receipt handles and timeouts were checked: no second validation
            result = await call(
                operation,
                {"QueueUrl": url, "Entries": entries if single else entries[start:stop]},
                validated=True,
            )
        except SQSError as exc:  # the whole call failed: every entry of it failed
            results.failed.extend(FailedEntry(m, exc, sender_fault(exc)) for m in chunk)
            continue
        out = results.successful
        try:
            for item in result.get("Successful", ()):
                message = chunk[_POSITION[item["Id"]]]
                out.append(SuccessfulEntry(message, message.id))
            failed = result.get("Failed")
            if failed:
                for item in failed:
                    message = chunk[_POSITION[item["Id"]]]
                    results.failed.append(_failure(message, item, operation))
        except (KeyError, IndexError, TypeError) as exc:
            raise unknown_entry(operation) from exc
    return results


async def release_received(client: Client, queue_url: str, wires: list[dict[str, Any]]) -> None:
    """Make the messages of a receive whose checksums failed visible again at once."""
    handles = [wire["ReceiptHandle"] for wire in wires if wire.get("ReceiptHandle")]
    for start in range(0, len(handles), MAX_BATCH_ENTRIES):
        entries = [
            {"Id": entry_id, "ReceiptHandle": handle, "VisibilityTimeout": 0}
            for entry_id, handle in zip(
                _IDS, handles[start : start + MAX_BATCH_ENTRIES], strict=False
            )
        ]
        # best effort: they come back after their timeout anyway
        with contextlib.suppress(SQSError):
            await client._call(
                "ChangeMessageVisibilityBatch",
                {"QueueUrl": queue_url, "Entries": entries},
                validated=True,
            )

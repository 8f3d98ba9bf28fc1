"""The Queue handle: a URL plus a client, with the classic boto calls as coroutines.

Layer: above the consumer and batchers (which it hands out) and the low-level client.
Whole-queue jobs that read many messages (``clear``, ``dump``, ``save_to_file``) live in
``_bulk``; this module keeps the per-call methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from . import _instrument
from ._batching import DEFAULT_LINGER, MAX_CONCURRENT_BATCHES, BatchWriter, entry_error
from ._config import (
    MAX_BATCH_ENTRIES,
    MAX_RECEIVE_MESSAGES,
    MAX_VISIBILITY_TIMEOUT,
    MIN_MESSAGE_BYTES,
)
from ._message import Message, to_wire_attributes
from ._protocol import codec
from ._protocol.batches import ENTRY_IDS, ENTRY_POSITIONS, split_batches
from ._protocol.checksums import check_received_batch, check_sent, check_sent_batch
from ._protocol.validate import (
    body_size,
    check_range,
    check_receive,
    clean_ascii,
    entry_size,
)
from .errors import ChecksumMismatch, ResponseError, SQSError, ValidationError

if TYPE_CHECKING:
    from ._batch_consumer import BatchHandler
    from ._batching import BatchWriter
    from ._client import Client
    from ._consumer import Consumer, ConsumerHooks, ConsumerStatistics, Handler, MessageStream
    from ._outcomes import Middleware

# The consumer, the batch writer and the whole-queue jobs (``_bulk``) are imported where they
# are used: a program that only sends, or a command-line call, does not pay their import.

__all__ = ["BatchResults", "FailedEntry", "Queue", "SuccessfulEntry"]

Progress = Callable[[int], None]
"""A callback given the number of messages just processed (for progress bars)."""

# The entry ids of a batch call are the entries' positions, prebuilt (and mapped back).
_IDS = ENTRY_IDS
_POSITION = ENTRY_POSITIONS
# Bodies shorter than this are within every size limit (Limits allows no less than 1 KiB)
# and cheapest to check with str.isprintable(); longer ones go through validate.body_size.
_SHORT_BODY = min(256, MIN_MESSAGE_BYTES)


def _unknown_entry(operation: str) -> ResponseError:
    return ResponseError("the response names a batch entry that was not sent", operation=operation)


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


def _failure(message: Message, item: dict[str, Any], operation: str) -> FailedEntry:

    error = entry_error(item, operation)
    return FailedEntry(message, error, bool(item.get("SenderFault", True)))


class Queue:
    """An SQS queue: its URL plus the connection that talks to it. Creating one does no I/O.

    Args:
        connection: The :class:`~sqs_async.SQSConnection` (or low-level client) to use.
        url: The queue URL.
        message_class: The class messages read from this queue are built with.

    Example::

        queue = await conn.create_queue("jobs")
        await queue.write(queue.new_message("hello"))
        message = await queue.read(wait_time_seconds=5)
    """

    def __init__(
        self, connection: Client, url: str, message_class: type[Message] = Message
    ) -> None:
        self.connection = connection
        self.url = url
        self.message_class = message_class
        self._arn: str | None = None

    @property
    def name(self) -> str:
        """The queue name (the URL's last path segment)."""
        return self.url.rstrip("/").rpartition("/")[2]

    @property
    def fifo(self) -> bool:
        """Whether this is a FIFO queue (its name ends in ``.fifo``)."""
        return self.name.endswith(".fifo")

    def __repr__(self) -> str:
        return f"Queue({self.url!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Queue) and other.url == self.url

    def __hash__(self) -> int:
        return hash(self.url)

    def set_message_class(self, cls: type[Message]) -> None:
        """Build messages read from now on with ``cls``."""
        if not (isinstance(cls, type) and issubclass(cls, Message)):
            raise TypeError("message class must be a subclass of sqs_async.Message")
        self.message_class = cls

    def new_message(self, body: Any = "", **kwargs: Any) -> Message:
        """A new message of this queue's class (not yet written)."""
        message = self.message_class(body, **kwargs)
        message.queue = self
        return message

    # -- attributes -----------------------------------------------------------------------

    async def get_attributes(self, *names: str) -> dict[str, str]:
        """The queue's attributes (all of them when no names are given)."""
        result = await self.connection._call(
            "GetQueueAttributes",
            {"QueueUrl": self.url, "AttributeNames": list(names) or ["All"]},
        )
        attributes: dict[str, str] = result.get("Attributes", {})
        return attributes

    async def set_attributes(self, **attributes: Any) -> bool:
        """Set queue attributes by their SQS names, e.g. ``set_attributes(DelaySeconds=5)``."""
        if not attributes:
            raise ValidationError("set_attributes needs at least one attribute")
        await self.connection._call(
            "SetQueueAttributes",
            {"QueueUrl": self.url, "Attributes": _queue_attributes(attributes)},
        )
        return True

    async def get_timeout(self) -> int:
        """The queue's default visibility timeout in seconds."""
        attributes = await self.get_attributes("VisibilityTimeout")
        return int(attributes["VisibilityTimeout"])

    async def set_timeout(self, visibility_timeout: int) -> bool:
        """Set the queue's default visibility timeout in seconds (0 to 43,200)."""
        check_range("visibility_timeout", visibility_timeout, 0, MAX_VISIBILITY_TIMEOUT)
        return await self.set_attributes(VisibilityTimeout=visibility_timeout)

    @property
    def arn(self) -> str | None:
        """The queue's ARN once known (after :meth:`get_arn`, or from ``get_queue(url)``)."""
        return self._arn

    async def get_arn(self) -> str:
        """The queue's ARN (``QueueArn``): asked for once, then cached on this object.

        Raises:
            QueueDoesNotExist: There is no queue at this URL.
        """
        if self._arn is None:
            attributes = await self.get_attributes("QueueArn")
            self._arn = attributes["QueueArn"]
        return self._arn

    async def count(self, *, include_in_flight: bool = False) -> int:
        """How many messages the queue holds (SQS's approximate count).

        Args:
            include_in_flight: Also count messages received but not deleted, and
                delayed ones.
        """
        names = ["ApproximateNumberOfMessages"]
        if include_in_flight:
            names += ["ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]
        attributes = await self.get_attributes(*names)
        return sum(int(attributes.get(name, 0)) for name in names)

    # -- sending --------------------------------------------------------------------------

    def _as_message(self, item: Any) -> Message:
        if isinstance(item, Message):
            return item
        return self.new_message(item)

    def _entry(
        self,
        message: Message,
        delay_seconds: int | None,
        message_attributes: dict[str, Any] | None,
        group_id: str | None,
        deduplication_id: str | None,
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {"MessageBody": message.get_body_encoded()}
        if message_attributes is not None:
            message.message_attributes = to_wire_attributes(message_attributes)
        if message.message_attributes:
            entry["MessageAttributes"] = message.message_attributes
        if delay_seconds is not None:
            entry["DelaySeconds"] = delay_seconds
        if group_id is not None:
            entry["MessageGroupId"] = group_id
        if deduplication_id is not None:
            entry["MessageDeduplicationId"] = deduplication_id
        if _instrument.sends is not None:  # tracing (sqs_async.otel) injects its context
            _instrument.sends.entry(self, entry)
        return entry

    async def write(
        self,
        message: Message | Any,
        *,
        delay_seconds: int | None = None,
        message_attributes: dict[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
    ) -> Message:
        """Send one message; return it with ``id`` and ``md5`` set.

        Args:
            message: A :class:`Message` (or a body, wrapped in this queue's class).
            delay_seconds: Seconds before it can be received (0 to 900).
            message_attributes: Attributes, friendly values or the wire shape.
            group_id: MessageGroupId (required on FIFO queues).
            deduplication_id: MessageDeduplicationId (FIFO).

        Raises:
            ValidationError: The message breaks an SQS limit (checked before sending).
            ChecksumMismatch: The service's MD5 of what it stored does not match.
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
            return await observer.send(self, "write", send)
        message = message if isinstance(message, Message) else self.new_message(message)
        connection = self.connection
        limit = connection.config.limits.max_message_bytes
        # Checked here, once (the client does not check again), and hashed once below.
        if (
            observer is None
            and message_attributes is None
            and delay_seconds is None
            and group_id is None
            and deduplication_id is None
            and not message.message_attributes
        ):  # a body alone (the common case): the checks entry_size makes of it
            text = message.get_body_encoded()
            # short printable ASCII (the common body) is valid and within any size limit
            if not (
                text.__class__ is str
                and 0 < len(text) < _SHORT_BODY
                and text.isascii()
                and text.isprintable()
            ):
                body_size(text, limit)  # raises unless valid
            params: dict[str, Any] = {"QueueUrl": self.url, "MessageBody": text}
        else:
            params = self._entry(
                message, delay_seconds, message_attributes, group_id, deduplication_id
            )
            entry_size(params, limit)
            params["QueueUrl"] = self.url
        result = await connection._call("SendMessage", params, validated=True, verified=True)
        if connection.config.verify_checksums:
            check_sent(params, result, "SendMessage")
        message.queue = self
        message.id = result.get("MessageId")
        message.md5 = result.get("MD5OfMessageBody")
        message.md5_message_attributes = result.get("MD5OfMessageAttributes")
        message.sequence_number = result.get("SequenceNumber")
        return message

    async def write_batch(
        self,
        messages: Iterable[Message | Any],
        *,
        delay_seconds: int | None = None,
        group_id: str | None = None,
        deduplication_ids: Sequence[str] | None = None,
    ) -> BatchResults:
        """Send any number of messages in SendMessageBatch calls.

        Messages are split into batches of at most 10 entries and at most the size limit,
        in order (FIFO queues: one batch at a time, so order holds). Entry ids are
        positions, never MessageIds. boto-style tuples ``(id, body, delay[, attributes])``
        are accepted too.

        Args:
            messages: Messages, bodies or boto tuples.
            delay_seconds: Delay for every message without one of its own.
            group_id: MessageGroupId of every message (FIFO queues).
            deduplication_ids: FIFO queues without content-based deduplication: one
                MessageDeduplicationId per message, in the same order.

        Returns:
            Per-message outcomes: ``.successful`` and ``.failed``.

        Raises:
            ValidationError: A message breaks an SQS limit, or ``deduplication_ids`` does
                not have one id per message (nothing is sent).
        """
        observer = _instrument.sends
        if observer is not None:
            if not observer.wrapping():
                send = functools.partial(
                    self.write_batch,
                    messages,
                    delay_seconds=delay_seconds,
                    group_id=group_id,
                    deduplication_ids=deduplication_ids,
                )
                return await observer.send(self, "write_batch", send)
        elif delay_seconds is None and group_id is None and deduplication_ids is None:
            return await self._write_bodies(messages)
        return await self._write_entries(messages, delay_seconds, group_id, deduplication_ids)

    async def _write_bodies(self, messages: Iterable[Message | Any]) -> BatchResults:
        """write_batch of messages that are bodies alone (the common case), in one pass.

        Each body is encoded, checked (type, emptiness, characters, size) and counted
        once; the entries are built with their ids. The first message that is more than
        a body (attributes, a boto tuple) hands everything to :meth:`_write_entries`.
        """
        limit = self.connection.config.limits.max_message_bytes
        new = self.new_message
        chosen: list[Message] = []
        texts: list[str] = []
        total = 0
        index = 0
        items = iter(messages)
        for item in items:
            if isinstance(item, Message):
                if item.message_attributes:
                    return await self._write_entries(
                        itertools.chain(chosen, (item,), items), None, None, None
                    )
                message = item
            elif isinstance(item, tuple):
                return await self._write_entries(
                    itertools.chain(chosen, (item,), items), None, None, None
                )
            else:
                message = new(item)
            text = message.get_body_encoded()
            if text.__class__ is not str or not text:
                body_size(text, limit, f"messages[{index}]")  # raises, but for a str subclass
            total += len(text)
            chosen.append(message)
            texts.append(text)
            index += 1
        results = BatchResults()
        if not index:
            return results
        # All the bodies checked at once (most are clean ASCII: their sizes are their
        # lengths); otherwise one by one, the first bad one named in the error.
        if total <= limit and clean_ascii("".join(texts)):
            sizes = None
        else:
            sizes = [body_size(t, limit, f"messages[{i}]") for i, t in enumerate(texts)]
            total = sum(sizes)
        if index <= MAX_BATCH_ENTRIES and total <= limit:
            entries = [{"Id": i, "MessageBody": t} for i, t in zip(_IDS, texts, strict=False)]
            await self._send_batch(chosen, entries, results)
            return results
        for batch in split_batches(sizes or [len(t) for t in texts], limit):
            start, stop = batch.start, batch.stop
            entries = [
                {"Id": i, "MessageBody": t} for i, t in zip(_IDS, texts[start:stop], strict=False)
            ]
            await self._send_batch(chosen[start:stop], entries, results)
        return results

    async def _write_entries(
        self,
        messages: Iterable[Message | Any],
        delay_seconds: int | None,
        group_id: str | None,
        deduplication_ids: Sequence[str] | None,
    ) -> BatchResults:
        """write_batch of messages with attributes, delays or FIFO ids."""
        items = [
            (m, None, None) if isinstance(m, Message) else self._batch_item(m) for m in messages
        ]
        dedup: Sequence[str | None] = [None] * len(items)
        if deduplication_ids is not None:
            if isinstance(deduplication_ids, str) or len(deduplication_ids) != len(items):
                raise ValidationError(
                    f"deduplication_ids must be a sequence of one id per message "
                    f"({len(items)} messages)"
                )
            dedup = deduplication_ids
        results = BatchResults()
        if not items:
            return results
        limit = self.connection.config.limits.max_message_bytes
        entries = []
        sizes = []
        for index, (message, delay, attributes) in enumerate(items):
            entry = self._entry(
                message,
                delay if delay is not None else delay_seconds,
                attributes,
                group_id,
                dedup[index],
            )
            sizes.append(entry_size(entry, limit, f"messages[{index}]"))
            entries.append(entry)
        for batch in split_batches(sizes, limit):
            wire = []
            for entry_id, index in zip(_IDS, batch, strict=False):
                entry = entries[index]
                entry["Id"] = entry_id  # our own ids: positions, never MessageIds
                wire.append(entry)
            await self._send_batch([items[i][0] for i in batch], wire, results)
        return results

    def _batch_item(self, item: Any) -> tuple[Message, int | None, dict[str, Any] | None]:
        if isinstance(item, tuple):
            if not 3 <= len(item) <= 4:
                raise ValidationError("batch tuples are (id, body, delay_seconds[, attributes])")
            attributes = item[3] if len(item) == 4 else None
            return self._as_message(item[1]), item[2], attributes
        return self._as_message(item), None, None

    async def _send_batch(
        self, messages: Sequence[Message], entries: list[dict[str, Any]], results: BatchResults
    ) -> None:
        """One SendMessageBatch of checked entries whose ids are their positions.

        Entries were checked one by one and split within the limits by the caller, so the
        client does not check them again; the MD5s are checked here, by position, in the
        loop that reads the results. A failure of the whole call (a mismatch included)
        fails every entry of it.
        """
        connection = self.connection
        try:
            result = await connection._call(
                "SendMessageBatch",
                {"QueueUrl": self.url, "Entries": entries},
                validated=True,
                verified=True,
            )
            successful = result.get("Successful", ())
            if successful and connection.config.verify_checksums:
                try:
                    check_sent_batch(entries, successful, _POSITION)
                except (KeyError, IndexError, TypeError) as exc:
                    raise _unknown_entry("SendMessageBatch") from exc
        except SQSError as exc:  # the whole call failed: every entry of it failed
            results.failed.extend(FailedEntry(m, exc, _sender_fault(exc)) for m in messages)
            return
        out = results.successful
        try:
            for item in successful:
                message = messages[_POSITION[item["Id"]]]
                message.queue = self
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
            raise _unknown_entry("SendMessageBatch") from exc

    # -- receiving ------------------------------------------------------------------------

    async def get_messages(
        self,
        num_messages: int = 1,
        visibility_timeout: int | None = None,
        *,
        wait_time_seconds: int | None = None,
        attributes: Sequence[str] | None = None,
        message_attributes: Sequence[str] | None = None,
        receive_request_attempt_id: str | None = None,
    ) -> list[Message]:
        """Receive up to ``num_messages`` messages.

        Above 10, several requests are made: the first may long-poll, the rest are short
        polls, and receiving stops early when a request comes back short.

        Args:
            num_messages: How many at most (1 or more).
            visibility_timeout: Seconds they stay invisible (default: the queue's).
            wait_time_seconds: Long-poll up to this many seconds (0 to 20) for the first.
            attributes: System attributes to return (default ``["All"]``; ``[]`` asks for
                none, which makes responses smaller and faster to read).
            message_attributes: Message attributes to return (default ``["All"]``).
            receive_request_attempt_id: FIFO: retry a receive and get the same messages.
        """
        if isinstance(num_messages, bool) or not isinstance(num_messages, int) or num_messages < 1:
            raise ValidationError(f"num_messages must be a positive int, not {num_messages!r}")
        params: dict[str, Any] = {
            "QueueUrl": self.url,
            "MessageAttributeNames": (
                list(message_attributes) if message_attributes is not None else ["All"]
            ),
        }
        system = ["All"] if attributes is None else list(attributes)
        if system:
            params["MessageSystemAttributeNames"] = system
        if visibility_timeout is not None:
            params["VisibilityTimeout"] = visibility_timeout
        if wait_time_seconds is not None:
            params["WaitTimeSeconds"] = wait_time_seconds
        if receive_request_attempt_id is not None:
            params["ReceiveRequestAttemptId"] = receive_request_attempt_id
        check_receive(params)  # once: what the loop below changes stays within the limits
        received: list[Message] = []
        try:
            while len(received) < num_messages:
                want = min(MAX_RECEIVE_MESSAGES, num_messages - len(received))
                params["MaxNumberOfMessages"] = want
                batch = await self.receive_raw(params, validated=True)
                received.extend(batch)
                if len(batch) < want:
                    break
                params["WaitTimeSeconds"] = 0
        except BaseException:
            if received:  # do not strand what earlier rounds received: release it at once
                with contextlib.suppress(SQSError):
                    await asyncio.shield(self.change_message_visibility_batch(received, 0))
            raise
        return received

    async def receive_raw(
        self, params: dict[str, Any], *, validated: bool = False
    ) -> list[Message]:
        """One ReceiveMessage with ready-made parameters; messages built with the queue's class.

        The MD5s of every message are checked (unless ``verify_checksums`` is off) before
        any is returned; on a mismatch the whole batch is made visible again at once and
        :class:`~sqs_async.errors.ChecksumMismatch` is raised. ``validated``: the caller
        checked ``params`` itself (``get_messages``), so the client does not again.
        """
        connection = self.connection
        result = await connection._call(
            "ReceiveMessage", params, validated=validated, verified=True
        )
        wires = result.get("Messages")
        if not wires:
            return []
        if connection.config.verify_checksums:
            try:
                check_received_batch(wires)
            except ChecksumMismatch:
                await self._release_received(params["QueueUrl"], wires)
                raise
        return self.message_class.from_wires(wires, self)

    async def _release_received(self, queue_url: str, wires: list[dict[str, Any]]) -> None:
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
                await self.connection._call(
                    "ChangeMessageVisibilityBatch",
                    {"QueueUrl": queue_url, "Entries": entries},
                    validated=True,
                )

    async def read(
        self,
        visibility_timeout: int | None = None,
        *,
        wait_time_seconds: int | None = None,
        attributes: Sequence[str] | None = None,
        message_attributes: Sequence[str] | None = None,
    ) -> Message | None:
        """Receive one message, or ``None`` when there is none.

        Without ``wait_time_seconds`` this is a short poll (or the queue's
        ``ReceiveMessageWaitTimeSeconds``), as in boto.

        Args:
            visibility_timeout: Seconds it stays invisible (default: the queue's).
            wait_time_seconds: Long-poll up to this many seconds (0 to 20).
            attributes: System attributes to return (default ``["All"]``; ``[]`` asks for
                none).
            message_attributes: Message attributes to return (default ``["All"]``).
        """
        messages = await self.get_messages(
            1,
            visibility_timeout,
            wait_time_seconds=wait_time_seconds,
            attributes=attributes,
            message_attributes=message_attributes,
        )
        return messages[0] if messages else None

    # -- deleting and visibility ----------------------------------------------------------

    @staticmethod
    def _handle(message: Message) -> str:
        if not message.receipt_handle:
            raise ValidationError("the message has no receipt handle: it was not received")
        return message.receipt_handle

    async def delete_message(self, message: Message) -> bool:
        """Delete a received message."""
        await self.connection._call(
            "DeleteMessage", {"QueueUrl": self.url, "ReceiptHandle": self._handle(message)}
        )
        return True

    async def delete_message_batch(self, messages: Iterable[Message]) -> BatchResults:
        """Delete any number of received messages, 10 per DeleteMessageBatch call."""
        chosen = messages if isinstance(messages, list) else list(messages)
        entries = []
        for entry_id, message in zip(itertools.cycle(_IDS), chosen):
            handle = message.receipt_handle
            if not handle:
                self._handle(message)  # raises: the message was not received
            entries.append({"Id": entry_id, "ReceiptHandle": handle})
        return await self._handle_batch("DeleteMessageBatch", chosen, entries)

    async def change_message_visibility(self, message: Message, visibility_timeout: int) -> bool:
        """Set how many more seconds a received message stays invisible."""
        check_range("visibility_timeout", visibility_timeout, 0, MAX_VISIBILITY_TIMEOUT)
        await self.connection._call(
            "ChangeMessageVisibility",
            {
                "QueueUrl": self.url,
                "ReceiptHandle": self._handle(message),
                "VisibilityTimeout": visibility_timeout,
            },
        )
        return True

    async def change_message_visibility_batch(
        self,
        messages: Iterable[Message | tuple[Message, int]],
        visibility_timeout: int | None = None,
    ) -> BatchResults:
        """Change the visibility of many messages.

        Pass messages plus one ``visibility_timeout``, or boto-style
        ``(message, visibility_timeout)`` pairs.
        """
        chosen: list[Message] = []
        entries: list[dict[str, Any]] = []
        for entry_id, item in zip(itertools.cycle(_IDS), messages):
            timeout: int | None
            if isinstance(item, tuple):
                message, timeout = item
            else:
                message, timeout = item, visibility_timeout
            if timeout is None:
                raise ValidationError("change_message_visibility_batch needs a visibility_timeout")
            check_range("visibility_timeout", timeout, 0, MAX_VISIBILITY_TIMEOUT)
            chosen.append(message)
            entries.append(
                {
                    "Id": entry_id,
                    "ReceiptHandle": self._handle(message),
                    "VisibilityTimeout": timeout,
                }
            )
        return await self._handle_batch("ChangeMessageVisibilityBatch", chosen, entries)

    async def _handle_batch(
        self, operation: str, messages: list[Message], entries: list[dict[str, Any]]
    ) -> BatchResults:
        """Send checked entries, 10 per call; entry ``i`` of a call has the id ``_IDS[i]``."""
        results = BatchResults()
        call = self.connection._call
        url = self.url
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
                results.failed.extend(FailedEntry(m, exc, _sender_fault(exc)) for m in chunk)
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
                raise _unknown_entry(operation) from exc
        return results

    # -- whole-queue jobs -----------------------------------------------------------------

    async def purge(self) -> bool:
        """PurgeQueue: delete every message (SQS may take up to 60 s; one purge per 60 s)."""
        await self.connection._call("PurgeQueue", {"QueueUrl": self.url})
        return True

    async def clear(self, *, progress: Progress | None = None) -> int:
        """Delete every message by receiving and deleting; return how many were removed.

        Unlike :meth:`purge` it counts, and works where purges are rate-limited. Messages
        that other consumers hold in flight are not touched.
        """
        from . import _bulk

        return await _bulk.clear(self, progress)

    async def dump(
        self, file_name: str, sep: str = "\n", *, progress: Progress | None = None
    ) -> int:
        """Write every body to ``file_name`` (``sep`` between them) without deleting.

        Each message is written once even when the dump outlasts the visibility timeout
        (messages are tracked by id and their visibility is extended while the dump runs),
        and every message is made visible again as soon as the dump ends.

        Returns:
            How many messages were written.
        """
        from . import _bulk

        return await _bulk.dump(self, file_name, sep, progress)

    async def save_to_file(
        self, fp: IO[str], sep: str = "\n", *, progress: Progress | None = None
    ) -> int:
        """Write every body to an open text file and delete what was written."""
        from . import _bulk

        return await _bulk.save(self, fp, sep, progress)

    async def save_to_filename(self, file_name: str, sep: str = "\n") -> int:
        """:meth:`save_to_file` into a file it opens (and overwrites)."""
        with open(file_name, "w", encoding="utf-8", newline="") as fp:  # noqa: ASYNC230
            return await self.save_to_file(fp, sep)

    async def load_from_file(
        self, fp: IO[str], sep: str = "\n", *, progress: Progress | None = None
    ) -> int:
        """Send every ``sep``-separated body in an open text file, batched; return the count.

        Bodies are sent exactly as they appear in the file (the wire text), as messages of
        the queue's class, so a dump of any format loads back unchanged.
        """
        from . import _bulk

        return await _bulk.load(self, fp, sep, progress)

    async def load_from_filename(self, file_name: str, sep: str = "\n") -> int:
        """:meth:`load_from_file` from a file it opens."""
        with open(file_name, encoding="utf-8", newline="") as fp:  # noqa: ASYNC230
            return await self.load_from_file(fp, sep)

    async def delete(self, *, force: bool = False) -> bool:
        """Delete this queue; refuses a non-empty one unless ``force=True``."""
        delete_queue = getattr(self.connection, "delete_queue", None)
        if delete_queue is None:  # a bare low-level client
            await self.connection._call("DeleteQueue", {"QueueUrl": self.url})
            return True
        result: bool = await delete_queue(self, force=force)
        return result

    # -- consuming and producing ---------------------------------------------------------

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
        from ._consumer import MessageStream

        return MessageStream(
            self,
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

        return Consumer(self, handler, **options)

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

        return await Consumer(self, handler, **options).run()

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

        return await BatchConsumer(self, handler, **options).run()

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
            self, linger=linger, max_retries=max_retries, max_concurrent=max_concurrent
        )


def _options(arguments: dict[str, Any]) -> dict[str, Any]:
    """A consuming method's keyword arguments (its ``locals()`` on entry), to pass on."""
    return {k: v for k, v in arguments.items() if k not in ("self", "handler")}


def _sender_fault(exc: SQSError) -> bool:
    """Whether a failed call was the caller's fault (a 4xx answer, or bad input)."""
    return exc.status is not None and exc.status < 500


def _queue_attributes(attributes: dict[str, Any]) -> dict[str, str]:
    out = {}
    for name, value in attributes.items():
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, dict | list):
            out[name] = codec.dumps(value).decode("utf-8")
        else:
            out[name] = str(value)
    return out

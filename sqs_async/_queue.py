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
from collections.abc import Callable, Iterable, Sequence
from typing import IO, TYPE_CHECKING, Any

from . import _instrument
from ._batch_calls import BatchResults, handle_batch, release_received
from ._config import MAX_RECEIVE_MESSAGES, MAX_VISIBILITY_TIMEOUT, MIN_MESSAGE_BYTES
from ._message import Message
from ._protocol import codec
from ._protocol.batches import ENTRY_IDS
from ._protocol.checksums import check_received_batch, check_sent
from ._protocol.validate import body_size, check_range, check_receive, entry_size
from ._queue_workers import QueueWorkers
from ._writes import entry, write_bodies, write_entries
from .errors import ChecksumMismatch, SQSError, ValidationError

if TYPE_CHECKING:
    from ._client import Client

# The whole-queue jobs (``_bulk``) are imported where they are used, as the consumers are
# (``_queue_workers``): a program that only sends does not pay their import.

__all__ = ["Queue"]

Progress = Callable[[int], None]
"""A callback given the number of messages just processed (for progress bars)."""

# The entry ids of a batch call are the entries' positions, prebuilt (and mapped back).
_IDS = ENTRY_IDS
# Bodies shorter than this are within every size limit (Limits allows no less than 1 KiB)
# and cheapest to check with str.isprintable(); longer ones go through validate.body_size.
_SHORT_BODY = min(256, MIN_MESSAGE_BYTES)


class Queue(QueueWorkers):
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
            params = entry(
                self, message, delay_seconds, message_attributes, group_id, deduplication_id
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
            return await write_bodies(self, messages)
        return await write_entries(self, messages, delay_seconds, group_id, deduplication_ids)

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
                await release_received(connection, params["QueueUrl"], wires)
                raise
        return self.message_class.from_wires(wires, self)

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
        return await handle_batch(self, "DeleteMessageBatch", chosen, entries)

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
        return await handle_batch(self, "ChangeMessageVisibilityBatch", chosen, entries)

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

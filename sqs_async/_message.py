"""Message classes: how a body becomes the text on the wire and back.

Layer: near the bottom (imports only ``errors``). A message keeps the wire text it was
received with and decodes it lazily, on the first ``get_body()``, so that one body the
class cannot decode raises :class:`~sqs_async.errors.MessageDecodeError` for that message
alone. Subclass :class:`Message` and override ``encode``/``decode`` for a custom format.
"""

from __future__ import annotations

import base64
import binascii
import json
import sys
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from typing import TYPE_CHECKING, Any, Protocol, cast

from .errors import MessageDecodeError, ValidationError

if TYPE_CHECKING:
    from datetime import datetime

    from ._queue import Queue

__all__ = [
    "Base64Message",
    "EncodedMessage",
    "JSONMessage",
    "MHMessage",
    "Message",
    "RawMessage",
    "to_wire_attributes",
]

_UNSET: Any = object()


class MessageOwner(Protocol):
    """What a consumer provides so that ``message.delete()`` goes through its batchers."""

    async def delete(self, message: Message) -> bool: ...

    async def change_visibility(self, message: Message, visibility_timeout: int) -> bool: ...


class Message:
    """An SQS message whose body is the raw text on the wire (what every SDK reads and writes).

    Attributes:
        queue: The queue it was read from or written to.
        id: The MessageId, once written or read.
        receipt_handle: The handle to delete it or change its visibility (read messages).
        md5: MD5 of the body as the service reported it.
        attributes: System attributes (``ApproximateReceiveCount``, ``SentTimestamp``, ...).
        message_attributes: Message attributes in the SQS wire shape
            (``{"name": {"DataType": "String", "StringValue": "v"}}``).

    The system attributes users reach for most are properties too: :attr:`receive_count`,
    :attr:`group_id`, :attr:`deduplication_id` and :attr:`sent_at`.

    Example::

        m = queue.new_message("hello")
        await queue.write(m)
        for m in await queue.get_messages(10):
            print(m.get_body())
            await m.delete()
    """

    __slots__ = (
        "_body",
        "_owner",
        "_text",
        "attributes",
        "id",
        "md5",
        "md5_message_attributes",
        "message_attributes",
        "queue",
        "receipt_handle",
        "sequence_number",
    )

    def __init__(
        self,
        body: Any = "",
        *,
        queue: Queue | None = None,
        message_attributes: Mapping[str, Any] | None = None,
    ) -> None:
        self._body: Any = body
        self._text: str | None = None
        self._owner: MessageOwner | None = None
        self.queue = queue
        self.id: str | None = None
        self.receipt_handle: str | None = None
        self.md5: str | None = None
        self.md5_message_attributes: str | None = None
        self.attributes: dict[str, str] = {}
        self.message_attributes: dict[str, Any] = (
            to_wire_attributes(message_attributes) if message_attributes else {}
        )
        self.sequence_number: str | None = None

    # -- the format: override these two in a subclass --------------------------------------

    def encode(self, body: Any) -> str:
        """Turn a body into the text sent on the wire."""
        if not isinstance(body, str):
            raise ValidationError(
                f"{type(self).__name__} bodies must be str, not {type(body).__name__}; "
                "use JSONMessage or Base64Message for other values"
            )
        return body

    def decode(self, text: str) -> Any:
        """Turn the text received on the wire into a body."""
        return text

    # -- body -----------------------------------------------------------------------------

    def set_body(self, body: Any) -> None:
        """Set the body (encoded when the message is written)."""
        self._body = body
        self._text = None

    def get_body(self) -> Any:
        """The body, decoded with this class's ``decode``.

        Raises:
            MessageDecodeError: The wire text is not valid for this class.
        """
        if self._body is _UNSET:
            text = self._text or ""
            try:
                self._body = self.decode(text)
            except MessageDecodeError:
                raise
            except (ValueError, TypeError, binascii.Error) as exc:
                raise MessageDecodeError(
                    f"{type(self).__name__} cannot decode message {self.id}: {exc}", raw=text
                ) from exc
        return self._body

    @property
    def body(self) -> Any:
        """Same as :meth:`get_body`."""
        return self.get_body()

    def get_body_encoded(self) -> str:
        """The text on the wire."""
        if self._text is None:
            self._text = self.encode(self._body)
        return self._text

    def set_body_encoded(self, text: str) -> None:
        """Set the wire text directly; the body is decoded from it when asked for."""
        self._text = text
        self._body = _UNSET

    def __len__(self) -> int:
        return len(self.get_body_encoded())

    def __repr__(self) -> str:
        text = self._text if self._text is not None else repr(self._body)
        if len(text) > 60:
            text = text[:57] + "..."
        return f"<{type(self).__name__} id={self.id} body={text!r}>"

    # -- actions --------------------------------------------------------------------------

    def _require_queue(self) -> Queue:
        if self.queue is None or self.receipt_handle is None:
            raise ValidationError("this message was not received from a queue")
        return self.queue

    async def delete(self) -> bool:
        """Delete this message from its queue (batched when it came from a consumer)."""
        if self._owner is not None:
            return await self._owner.delete(self)
        return await self._require_queue().delete_message(self)

    async def change_visibility(self, visibility_timeout: int) -> bool:
        """Set how many more seconds this message stays invisible (0: visible at once)."""
        if self._owner is not None:
            return await self._owner.change_visibility(self, visibility_timeout)
        return await self._require_queue().change_message_visibility(self, visibility_timeout)

    # -- construction from the wire -------------------------------------------------------

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any], queue: Queue | None = None) -> Message:
        """Build a message of this class from one ``ReceiveMessage`` result entry."""
        if cls.__init__ in _PLAIN_INITS:
            # Hot path (every received message): every slot is set below, so skip __init__.
            message = cls.__new__(cls)
            message._owner = None
        else:  # a subclass with its own __init__ gets to run it
            message = cls()
        attributes = wire.get("Attributes") or {}
        message.queue = queue
        message._text = wire.get("Body", "")
        message._body = _UNSET
        message.id = wire.get("MessageId")
        message.receipt_handle = wire.get("ReceiptHandle")
        message.md5 = wire.get("MD5OfBody")
        message.md5_message_attributes = wire.get("MD5OfMessageAttributes")
        message.attributes = attributes
        message.message_attributes = wire.get("MessageAttributes") or {}
        message.sequence_number = attributes.get("SequenceNumber")
        return message

    @classmethod
    def from_wires(
        cls, wires: Iterable[Mapping[str, Any]], queue: Queue | None = None
    ) -> list[Message]:
        """:meth:`from_wire` for each entry of a ``ReceiveMessage`` result, in order.

        A class that overrides :meth:`from_wire` or ``__init__`` gets it called per message;
        otherwise the messages are built in one loop, every slot set as :meth:`from_wire`
        sets it.
        """
        if (
            getattr(cls.from_wire, "__func__", None) is not _FROM_WIRE
            or cls.__init__ not in _PLAIN_INITS
        ):
            build = cls.from_wire
            return [build(wire, queue) for wire in wires]
        new = cls.__new__
        messages: list[Message] = []
        for wire in wires:
            message = new(cls)
            attributes = wire.get("Attributes") or {}
            message._owner = None
            message.queue = queue
            message._text = wire.get("Body", "")
            message._body = _UNSET
            message.id = wire.get("MessageId")
            message.receipt_handle = wire.get("ReceiptHandle")
            message.md5 = wire.get("MD5OfBody")
            message.md5_message_attributes = wire.get("MD5OfMessageAttributes")
            message.attributes = attributes
            message.message_attributes = wire.get("MessageAttributes") or {}
            message.sequence_number = attributes.get("SequenceNumber")
            messages.append(message)
        return messages

    # -- system attributes, read on access from ``attributes`` -------------------------------
    # They are None on a message you made or wrote (SQS reports them only on receive) and
    # on one received without them (``attributes=[]`` or a list that leaves them out).

    @property
    def receive_count(self) -> int | None:
        """How many times SQS has delivered this message (``ApproximateReceiveCount``).

        ``None`` when the message was not received with that attribute (a message you
        wrote, or one read with ``attributes=[]``).
        """
        count = self.attributes.get("ApproximateReceiveCount")
        return None if count is None else int(count)

    @property
    def group_id(self) -> str | None:
        """The FIFO ``MessageGroupId`` it was received with (``None`` if none)."""
        return self.attributes.get("MessageGroupId")

    @property
    def deduplication_id(self) -> str | None:
        """The FIFO ``MessageDeduplicationId`` it was received with (``None`` if none)."""
        return self.attributes.get("MessageDeduplicationId")

    @property
    def sent_at(self) -> datetime | None:
        """When SQS accepted the message (``SentTimestamp``), a timezone-aware UTC datetime.

        ``None`` when the message was not received with that attribute.
        """
        millis = self.attributes.get("SentTimestamp")
        if millis is None:
            return None
        from datetime import UTC, datetime, timedelta  # on first use: a cost to import

        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(millis))


RawMessage = Message
"""Alias of :class:`Message`, for code written against boto."""


class Base64Message(Message):
    """boto's legacy encoding: the wire text is the base64 of the UTF-8 body.

    Use it to read and write queues shared with programs on classic boto's default
    ``Message`` class.
    """

    __slots__ = ()

    def encode(self, body: Any) -> str:
        """Base64 of the body (str as UTF-8, or bytes)."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        if not isinstance(body, bytes | bytearray):
            raise ValidationError(
                f"Base64Message bodies must be str or bytes, not {type(body).__name__}"
            )
        return base64.b64encode(body).decode("ascii")

    def decode(self, text: str) -> Any:
        """The UTF-8 text of the base64 payload."""
        return base64.b64decode(text.encode("ascii"), validate=True).decode("utf-8")


EncodedMessage = Base64Message
"""Alias of :class:`Base64Message`, boto's name for it."""


class JSONMessage(Message):
    """A body that is any JSON value (dict, list, str, number, bool, None)."""

    __slots__ = ()

    def encode(self, body: Any) -> str:
        """JSON text of the body."""
        try:
            return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"JSONMessage body is not JSON-serializable: {exc}") from exc

    def decode(self, text: str) -> Any:
        """The parsed JSON value."""
        return json.loads(text)


class MHMessage(Message):
    """An RFC 822 style body: ``Key: value`` lines, used like a dict.

    Example::

        m = MHMessage({"Name": "report", "Priority": "high"})
        m["Owner"] = "ops"
    """

    __slots__ = ()

    def __init__(
        self,
        body: Mapping[str, str] | None = None,
        *,
        queue: Queue | None = None,
        message_attributes: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(dict(body or {}), queue=queue, message_attributes=message_attributes)

    def encode(self, body: Any) -> str:
        """``Key: value`` lines."""
        if not isinstance(body, Mapping):
            raise ValidationError("MHMessage bodies must be a mapping of str to str")
        lines = []
        for key, value in body.items():
            key, value = str(key), str(value)
            if ":" in key or "\n" in key or "\n" in value:
                raise ValidationError(
                    f"MHMessage key {key!r}: keys cannot hold ':' or newlines, values no newlines"
                )
            lines.append(f"{key}: {value}\n")
        return "".join(lines)

    def decode(self, text: str) -> Any:
        """A dict of the ``Key: value`` lines."""
        result: dict[str, str] = {}
        for line in text.splitlines():
            if not line.strip():
                continue
            key, sep, value = line.partition(":")
            if not sep:
                raise ValueError(f"line {line!r} is not 'Key: value'")
            result[key.strip()] = value.strip()
        return result

    def _dict(self) -> dict[str, str]:
        return cast("dict[str, str]", self.get_body())

    def __getitem__(self, key: str) -> str:
        return self._dict()[key]

    def __setitem__(self, key: str, value: str) -> None:
        self._dict()[key] = value
        self._text = None

    def __delitem__(self, key: str) -> None:
        del self._dict()[key]
        self._text = None

    def __contains__(self, key: object) -> bool:
        return key in self._dict()

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict())

    def keys(self) -> KeysView[str]:
        """The keys."""
        return self._dict().keys()

    def values(self) -> ValuesView[str]:
        """The values."""
        return self._dict().values()

    def items(self) -> ItemsView[str, str]:
        """The ``(key, value)`` pairs."""
        return self._dict().items()

    def get(self, key: str, default: str | None = None) -> str | None:
        """The value of ``key``, or ``default``."""
        return self._dict().get(key, default)

    def update(self, other: Mapping[str, str]) -> None:
        """Add or replace keys."""
        self._dict().update(other)
        self._text = None


_PLAIN_INITS = (Message.__init__, MHMessage.__init__)
_FROM_WIRE = getattr(Message.from_wire, "__func__", None)


def _is_decimal(value: object) -> bool:
    """Whether ``value`` is a ``decimal.Decimal``, without importing decimal to find out.

    A program that made a Decimal has imported the module; one that has not holds none.
    """
    decimal = sys.modules.get("decimal")
    return decimal is not None and isinstance(value, decimal.Decimal)


def to_wire_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Convert friendly message attribute values to the SQS wire shape.

    ``str`` → String, ``int``/``float``/``Decimal`` → Number, ``bytes`` → Binary; a mapping
    with a ``DataType`` passes through as it is.

    Raises:
        ValidationError: A value of another type (``bool`` included: say what you mean).
    """
    wire: dict[str, Any] = {}
    for name, value in attributes.items():
        if isinstance(value, Mapping):
            wire[name] = value
        elif isinstance(value, str):
            wire[name] = {"DataType": "String", "StringValue": value}
        elif isinstance(value, bool):
            raise ValidationError(
                f"message attribute {name!r}: bool is ambiguous; pass 'true'/'false' or 1/0"
            )
        elif isinstance(value, int | float) or _is_decimal(value):
            wire[name] = {"DataType": "Number", "StringValue": str(value)}
        elif isinstance(value, bytes | bytearray | memoryview):
            wire[name] = {"DataType": "Binary", "BinaryValue": bytes(value)}
        else:
            raise ValidationError(
                f"message attribute {name!r}: unsupported value type {type(value).__name__}"
            )
    return wire

"""Message classes: wire text, decoding, dict behaviour, custom formats, attributes."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from _core_support import QUEUE_URL, connect, default_handler, wire_message

from sqs_async import (
    Base64Message,
    EncodedMessage,
    JSONMessage,
    Message,
    MessageDecodeError,
    MHMessage,
    RawMessage,
    ValidationError,
)
from sqs_async._message import to_wire_attributes
from sqs_async._transport.mock import RecordedCall


def from_wire(cls: type[Message], body: str) -> Message:
    return cls.from_wire({"Body": body, "MessageId": "m-1", "ReceiptHandle": "rh-1"})


# -- Message / RawMessage ----------------------------------------------------------------------


def test_message_body_is_the_wire_text() -> None:
    message = Message("h\u00e9llo {json?}")
    assert message.get_body() == "h\u00e9llo {json?}"
    assert message.get_body_encoded() == "h\u00e9llo {json?}"
    assert RawMessage is Message


def test_message_from_wire() -> None:
    message = Message.from_wire(
        {
            "Body": "text",
            "MessageId": "m-1",
            "ReceiptHandle": "rh-1",
            "MD5OfBody": "abc",
            "Attributes": {"ApproximateReceiveCount": "2", "SequenceNumber": "7"},
        }
    )
    assert message.get_body() == "text"
    assert message.body == "text"
    assert message.id == "m-1"
    assert message.receipt_handle == "rh-1"
    assert message.md5 == "abc"
    assert message.attributes["ApproximateReceiveCount"] == "2"
    assert message.sequence_number == "7"


# -- system attributes as properties (issue 14) ---------------------------------------------------


def test_received_message_properties_come_from_its_system_attributes() -> None:
    message = Message.from_wire(
        {
            "Body": "text",
            "MessageId": "m-1",
            "ReceiptHandle": "rh-1",
            "Attributes": {
                "ApproximateReceiveCount": "3",
                "MessageGroupId": "tenant-7",
                "MessageDeduplicationId": "order-42",
                "SentTimestamp": "1764858896123",
            },
        }
    )
    assert message.receive_count == 3
    assert message.group_id == "tenant-7"
    assert message.deduplication_id == "order-42"
    # 1764858896123 ms after the epoch, to the millisecond, in UTC.
    assert message.sent_at == datetime(2025, 12, 4, 14, 34, 56, 123000, tzinfo=UTC)
    assert message.sent_at is not None
    assert message.sent_at.utcoffset() == timedelta(0)


def test_properties_are_read_on_access() -> None:
    message = from_wire(Message, "x")
    message.attributes = {"ApproximateReceiveCount": "5", "SentTimestamp": "0"}
    assert message.receive_count == 5
    assert message.sent_at == datetime(1970, 1, 1, tzinfo=UTC)


def test_properties_of_a_message_received_without_system_attributes_are_none() -> None:
    message = from_wire(Message, "x")  # as with attributes=[]: no "Attributes" in the answer
    assert message.attributes == {}
    assert message.receive_count is None
    assert message.group_id is None
    assert message.deduplication_id is None
    assert message.sent_at is None


async def test_properties_of_a_message_you_wrote_are_none() -> None:
    # SQS reports system attributes on receive only; write() does not invent them, even the
    # group and deduplication ids it was given (they are on the received copy).
    conn, _ = connect(default_handler)
    async with conn:
        queue = conn.queue(QUEUE_URL)
        made = Message("x")
        written = await queue.write(Message("y"), group_id="g", deduplication_id="d")
    for message in (made, written):
        assert message.receive_count is None
        assert message.group_id is None
        assert message.deduplication_id is None
        assert message.sent_at is None
    assert written.id is not None


def test_properties_work_on_every_message_class() -> None:
    for cls in (Base64Message, JSONMessage, MHMessage, HexMessage):
        message = cls.from_wire(
            {"Body": "", "Attributes": {"ApproximateReceiveCount": "2", "MessageGroupId": "g"}}
        )
        assert message.receive_count == 2
        assert message.group_id == "g"


def test_set_body_replaces_the_wire_text() -> None:
    message = from_wire(Message, "old")
    message.set_body("new")
    assert message.get_body_encoded() == "new"
    assert message.get_body() == "new"


def test_message_rejects_non_str_bodies() -> None:
    with pytest.raises(ValidationError):
        Message(b"bytes").get_body_encoded()
    with pytest.raises(ValidationError):
        Message({"a": 1}).get_body_encoded()


def test_message_repr_is_short() -> None:
    text = repr(Message("x" * 1000))
    assert len(text) < 120
    assert "Message" in text


async def test_message_actions_need_a_received_message() -> None:
    with pytest.raises(ValidationError):
        await Message("x").delete()
    with pytest.raises(ValidationError):
        await Message("x").change_visibility(10)


# -- Base64Message -----------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["hello", "h\u00e9llo \U0001f600", "a" * 1000, "line\nbreak"])
def test_base64_wire_text_is_base64_of_utf8(body: str) -> None:
    message = Base64Message(body)
    wire = message.get_body_encoded()
    assert wire == base64.b64encode(body.encode("utf-8")).decode("ascii")
    assert from_wire(Base64Message, wire).get_body() == body


def test_base64_reads_what_boto_wrote() -> None:
    # classic boto's Message.encode: base64.b64encode(body.encode("utf-8")).decode("utf-8")
    assert from_wire(Base64Message, "aMOpbGxv").get_body() == "h\u00e9llo"
    assert EncodedMessage is Base64Message


def test_base64_accepts_bytes() -> None:
    assert Base64Message(b"\x00\x01").get_body_encoded() == "AAE="


@pytest.mark.parametrize("wire", ["not base64!", "h\u00e9", "AAE", "/w=="])
def test_base64_bad_body_raises_on_get_body_not_on_receive(wire: str) -> None:
    message = from_wire(Base64Message, wire)  # receiving never decodes
    assert message.get_body_encoded() == wire
    with pytest.raises(MessageDecodeError) as info:
        message.get_body()
    assert info.value.raw == wire
    assert isinstance(info.value, ValueError)
    assert "m-1" in str(info.value)


async def test_base64_bad_body_in_a_batch_costs_only_that_message() -> None:
    good = base64.b64encode(b"fine").decode()

    def handler(call: RecordedCall) -> dict[str, Any]:
        return {"Messages": [wire_message(good, "m-1"), wire_message("%%%", "m-2")]}

    conn, _ = connect(handler)
    async with conn:
        queue = conn.queue(QUEUE_URL, Base64Message)
        first, second = await queue.get_messages(2)
    assert first.get_body() == "fine"
    with pytest.raises(MessageDecodeError):
        second.get_body()


# -- JSONMessage -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", [{"a": [1, 2, {"b": None}]}, [1, "two"], "text", 3.5, True, None, "h\u00e9"]
)
def test_json_round_trip(body: Any) -> None:
    wire = JSONMessage(body).get_body_encoded()
    assert json.loads(wire) == body
    assert from_wire(JSONMessage, wire).get_body() == body


def test_json_wire_is_compact_and_keeps_unicode() -> None:
    assert JSONMessage({"k": "\u00e9"}).get_body_encoded() == '{"k":"\u00e9"}'


def test_json_bad_body_raises_message_decode_error() -> None:
    with pytest.raises(MessageDecodeError):
        from_wire(JSONMessage, "{not json").get_body()


def test_json_unserializable_body_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        JSONMessage({"s": {1, 2}}).get_body_encoded()


# -- MHMessage ---------------------------------------------------------------------------------


def test_mh_message_wire_format() -> None:
    message = MHMessage({"Name": "report", "Priority": "high"})
    assert message.get_body_encoded() == "Name: report\nPriority: high\n"


def test_mh_message_dict_behaviour() -> None:
    message = MHMessage({"Name": "report"})
    message["Owner"] = "ops"
    assert message["Owner"] == "ops"
    assert "Owner" in message
    assert "Nobody" not in message
    assert list(message) == ["Name", "Owner"]
    assert dict(message.items()) == {"Name": "report", "Owner": "ops"}
    assert list(message.keys()) == ["Name", "Owner"]
    assert list(message.values()) == ["report", "ops"]
    assert message.get("Missing") is None
    assert message.get("Missing", "d") == "d"
    del message["Name"]
    message.update({"Extra": "1"})
    assert message.get_body_encoded() == "Owner: ops\nExtra: 1\n"
    with pytest.raises(KeyError):
        message["Name"]


def test_mh_message_from_wire_and_edit() -> None:
    message = from_wire(MHMessage, "A: 1\nB:  two words \n\nC:x:y\n")
    assert isinstance(message, MHMessage)
    assert message.get_body() == {"A": "1", "B": "two words", "C": "x:y"}
    message["D"] = "4"
    assert message.get_body_encoded() == "A: 1\nB: two words\nC: x:y\nD: 4\n"


def test_mh_message_bad_wire_text() -> None:
    with pytest.raises(MessageDecodeError):
        from_wire(MHMessage, "no colon here").get_body()


@pytest.mark.parametrize("body", [{"a:b": "v"}, {"a": "two\nlines"}, {"a\nb": "v"}])
def test_mh_message_refuses_unencodable_keys(body: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        MHMessage(body).get_body_encoded()


# -- custom formats ----------------------------------------------------------------------------


class HexMessage(Message):
    """Bytes bodies, hex on the wire."""

    __slots__ = ()

    def encode(self, body: Any) -> str:
        return bytes(body).hex()

    def decode(self, text: str) -> Any:
        return bytes.fromhex(text)


async def test_custom_message_class_round_trip_through_a_queue() -> None:
    sent: list[str] = []

    def handler(call: RecordedCall) -> dict[str, Any]:
        if call.operation == "ReceiveMessage":
            return {"Messages": [wire_message(body, f"m-{i}") for i, body in enumerate(sent)]}
        sent.append(call.params["MessageBody"])
        return default_handler(call)  # type: ignore[return-value]

    conn, _ = connect(handler)
    async with conn:
        queue = conn.queue(QUEUE_URL)
        queue.set_message_class(HexMessage)
        await queue.write(queue.new_message(b"\x00\xffdata"))
        messages = await queue.get_messages(1)
    assert sent == ["00ff64617461"]
    assert isinstance(messages[0], HexMessage)
    assert messages[0].get_body() == b"\x00\xffdata"


def test_custom_message_decode_error_is_wrapped() -> None:
    with pytest.raises(MessageDecodeError) as info:
        from_wire(HexMessage, "zz").get_body()
    assert info.value.raw == "zz"


def test_set_message_class_requires_a_message_subclass() -> None:
    conn, _ = connect(default_handler)
    queue = conn.queue(QUEUE_URL)
    with pytest.raises(TypeError):
        queue.set_message_class(dict)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        queue.set_message_class(Message("x"))  # type: ignore[arg-type]


async def test_set_message_class_affects_received_messages() -> None:
    def handler(call: RecordedCall) -> dict[str, Any]:
        return {"Messages": [wire_message('{"n": 1}', "m-1")]}

    conn, _ = connect(handler)
    async with conn:
        queue = conn.queue(QUEUE_URL)
        (raw,) = await queue.get_messages(1)
        queue.set_message_class(JSONMessage)
        (parsed,) = await queue.get_messages(1)
        read = await queue.read()
    assert type(raw) is Message
    assert raw.get_body() == '{"n": 1}'
    assert isinstance(parsed, JSONMessage)
    assert parsed.get_body() == {"n": 1}
    assert isinstance(read, JSONMessage)
    assert parsed.queue is queue


def test_new_message_uses_the_queue_class() -> None:
    conn, _ = connect(default_handler)
    queue = conn.queue(QUEUE_URL, JSONMessage)
    message = queue.new_message({"a": 1})
    assert isinstance(message, JSONMessage)
    assert message.queue is queue
    assert message.get_body_encoded() == '{"a":1}'


# -- attributes ----------------------------------------------------------------------------------


def test_to_wire_attributes() -> None:
    wire = to_wire_attributes(
        {
            "s": "text",
            "i": 7,
            "f": 1.5,
            "d": Decimal("2.25"),
            "b": b"\x00",
            "ba": bytearray(b"\x01"),
            "raw": {"DataType": "String.custom", "StringValue": "x"},
        }
    )
    assert wire == {
        "s": {"DataType": "String", "StringValue": "text"},
        "i": {"DataType": "Number", "StringValue": "7"},
        "f": {"DataType": "Number", "StringValue": "1.5"},
        "d": {"DataType": "Number", "StringValue": "2.25"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x00"},
        "ba": {"DataType": "Binary", "BinaryValue": b"\x01"},
        "raw": {"DataType": "String.custom", "StringValue": "x"},
    }


@pytest.mark.parametrize("value", [True, False, None, [1], object()])
def test_to_wire_attributes_rejects_other_types(value: Any) -> None:
    with pytest.raises(ValidationError):
        to_wire_attributes({"x": value})


def test_message_attributes_given_to_the_constructor_are_converted() -> None:
    message = Message("x", message_attributes={"n": 1})
    assert message.message_attributes == {"n": {"DataType": "Number", "StringValue": "1"}}


async def test_message_attributes_on_the_message_are_sent() -> None:
    conn, mock = connect(default_handler)
    async with conn:
        queue = conn.queue(QUEUE_URL)
        await queue.write(Message("x", message_attributes={"k": "v"}))
    assert mock.calls[0].params["MessageAttributes"] == {
        "k": {"DataType": "String", "StringValue": "v"}
    }

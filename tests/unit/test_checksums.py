"""MD5 of bodies and attributes: known values, independent oracles, and the client's checks."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from _core_support import (
    QUEUE_URL,
    connect,
    default_handler,
    reference_md5_of_attributes,
    sent_result,
    wire_message,
)
from moto.sqs.models import Message as MotoMessage

from sqs_async import ChecksumMismatch
from sqs_async._message import to_wire_attributes
from sqs_async._protocol.checksums import md5_of_attributes, md5_of_body
from sqs_async._transport.mock import RecordedCall


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def moto_md5(attributes: dict[str, Any]) -> str:
    """moto's implementation of the same digest: a second, independent oracle."""
    message = MotoMessage("id", "body")
    message.message_attributes = attributes
    return str(message.attribute_md5)


# Hand-laid bytes of the digest input (SQS developer guide), for {"a": String "b"}.
A_B_INPUT = b"\x00\x00\x00\x01a" + b"\x00\x00\x00\x06String" + b"\x01" + b"\x00\x00\x00\x01b"


def test_md5_of_attributes_known_vector() -> None:
    attrs = {"a": {"DataType": "String", "StringValue": "b"}}
    expected = md5(A_B_INPUT)
    assert md5_of_attributes(attrs) == expected
    assert reference_md5_of_attributes(attrs) == expected
    assert moto_md5(attrs) == expected


def test_md5_of_attributes_binary_known_vector() -> None:
    attrs = {"bin": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}}
    digest_input = (
        b"\x00\x00\x00\x03bin" + b"\x00\x00\x00\x06Binary" + b"\x02" + b"\x00\x00\x00\x02\x00\xff"
    )
    assert md5_of_attributes(attrs) == md5(digest_input)
    assert moto_md5(attrs) == md5(digest_input)


def test_md5_of_attributes_sorts_by_name_and_uses_utf8() -> None:
    attrs = {
        "z": {"DataType": "Number", "StringValue": "1"},
        "a": {"DataType": "String.custom", "StringValue": "h\u00e9"},
    }
    digest_input = (
        b"\x00\x00\x00\x01a"
        + b"\x00\x00\x00\x0dString.custom"
        + b"\x01\x00\x00\x00\x03h\xc3\xa9"
        + b"\x00\x00\x00\x01z"
        + b"\x00\x00\x00\x06Number"
        + b"\x01\x00\x00\x00\x011"
    )
    assert md5_of_attributes(attrs) == md5(digest_input)
    assert md5_of_attributes(dict(reversed(list(attrs.items())))) == md5(digest_input)
    assert moto_md5(attrs) == md5(digest_input)


@pytest.mark.parametrize(
    "attrs",
    [
        {"s": {"DataType": "String", "StringValue": "value \U0001f600"}},
        {"n": {"DataType": "Number", "StringValue": "-12.5e3"}},
        {"b": {"DataType": "Binary", "BinaryValue": bytes(range(256))}},
        {
            "one": {"DataType": "String", "StringValue": "1"},
            "Two": {"DataType": "Binary.png", "BinaryValue": b"\x89PNG"},
            "three.x": {"DataType": "Number.int", "StringValue": "3"},
        },
    ],
    ids=["string", "number", "binary", "mixed"],
)
def test_md5_of_attributes_matches_moto(attrs: dict[str, Any]) -> None:
    assert md5_of_attributes(attrs) == moto_md5(attrs) == reference_md5_of_attributes(attrs)


def test_md5_of_string_list_values() -> None:
    attrs = {"l": {"DataType": "String", "StringListValues": ["x", "yz"]}}
    digest_input = (
        b"\x00\x00\x00\x01l"
        + b"\x00\x00\x00\x06String"
        + b"\x03"
        + b"\x00\x00\x00\x01x"
        + b"\x00\x00\x00\x02yz"
    )
    assert md5_of_attributes(attrs) == md5(digest_input)


def test_md5_of_body() -> None:
    assert md5_of_body("") == "d41d8cd98f00b204e9800998ecf8427e"
    assert md5_of_body("hello") == "5d41402abc4b2a76b9719d911017c592"
    assert md5_of_body("h\u00e9") == md5("h\u00e9".encode())


# -- the client's checks -----------------------------------------------------------------------

ATTRS = {"k": "v", "b": b"\x01\x02"}
WRONG = "0" * 32


@pytest.mark.parametrize("field", ["MD5OfMessageBody", "MD5OfMessageAttributes"])
async def test_send_message_checksum_mismatch(field: str) -> None:
    def handler(call: RecordedCall) -> dict[str, Any]:
        return {**sent_result(call.params), field: WRONG}

    conn, mock = connect(handler)
    async with conn:
        with pytest.raises(ChecksumMismatch) as info:
            await conn.queue(QUEUE_URL).write("hello", message_attributes=ATTRS)
    assert info.value.operation == "SendMessage"
    assert WRONG in str(info.value)
    assert len(mock.calls) == 1


async def test_send_message_correct_checksums_pass() -> None:
    conn, _ = connect(default_handler)
    async with conn:
        message = await conn.queue(QUEUE_URL).write("hello", message_attributes=ATTRS)
    assert message.md5 == md5(b"hello")
    assert message.id == "mid-1"


@pytest.mark.parametrize("field", ["MD5OfMessageBody", "MD5OfMessageAttributes"])
async def test_send_message_batch_checksum_mismatch(field: str) -> None:
    def handler(call: RecordedCall) -> dict[str, Any]:
        results = []
        for entry in call.params["Entries"]:
            result = {"Id": entry["Id"], **sent_result(entry)}
            if entry["Id"] == "1":
                result[field] = WRONG
            results.append(result)
        return {"Successful": results, "Failed": []}

    wire_attrs = to_wire_attributes(ATTRS)
    conn, _ = connect(handler)
    async with conn:
        # The low-level call raises; write_batch reports every entry of that call as failed
        # (with the mismatch as the error) instead of losing the other chunks' results.
        with pytest.raises(ChecksumMismatch) as info:
            await conn.send_message_batch(
                QueueUrl=QUEUE_URL,
                Entries=[
                    {"Id": "0", "MessageBody": "first", "MessageAttributes": wire_attrs},
                    {"Id": "1", "MessageBody": "second", "MessageAttributes": wire_attrs},
                ],
            )
        assert info.value.operation == "SendMessageBatch"
        result = await conn.queue(QUEUE_URL).write_batch(
            [("a", "first", 0, ATTRS), ("b", "second", 0, ATTRS)]
        )
    assert not result
    assert [entry.message.get_body() for entry in result.failed] == ["first", "second"]
    assert all(isinstance(entry.error, ChecksumMismatch) for entry in result.failed)


async def test_write_batch_of_plain_bodies_checks_every_body_md5() -> None:
    """Bodies alone take write_batch's short path; their MD5s are still checked, by position."""

    def handler(call: RecordedCall) -> dict[str, Any]:
        results = [{"Id": e["Id"], **sent_result(e)} for e in call.params["Entries"]]
        results[-1]["MD5OfMessageBody"] = WRONG  # only the last entry of each call
        return {"Successful": results, "Failed": []}

    conn, mock = connect(handler)
    async with conn:
        result = await conn.queue(QUEUE_URL).write_batch([f"body {i}" for i in range(12)])
    assert mock.operations() == ["SendMessageBatch", "SendMessageBatch"]
    assert not result.successful
    assert [entry.message.get_body() for entry in result.failed] == [f"body {i}" for i in range(12)]
    assert all(isinstance(entry.error, ChecksumMismatch) for entry in result.failed)
    assert all(entry.error.operation == "SendMessageBatch" for entry in result.failed)


def receive_handler(messages: list[dict[str, Any]]) -> Any:
    def handler(call: RecordedCall) -> dict[str, Any]:
        if call.operation == "ReceiveMessage":
            return {"Messages": messages}
        return default_handler(call)  # type: ignore[return-value]

    return handler


@pytest.mark.parametrize("what", ["body", "attributes"])
async def test_receive_checksum_mismatch_releases_the_messages_first(what: str) -> None:
    attrs = {"k": {"DataType": "String", "StringValue": "v"}}
    bad = (
        wire_message("two", "m-2", attributes=attrs, md5_of_body=WRONG)
        if what == "body"
        else wire_message("two", "m-2", attributes=attrs, md5_of_attributes=WRONG)
    )
    messages = [wire_message("one", "m-1"), bad, wire_message("three", "m-3")]
    conn, mock = connect(receive_handler(messages))
    async with conn:
        with pytest.raises(ChecksumMismatch) as info:
            await conn.queue(QUEUE_URL).get_messages(10)
    assert info.value.operation == "ReceiveMessage"
    assert mock.operations() == ["ReceiveMessage", "ChangeMessageVisibilityBatch"]
    release = mock.calls[1].params
    assert release["QueueUrl"] == QUEUE_URL
    assert sorted(e["ReceiptHandle"] for e in release["Entries"]) == ["rh-m-1", "rh-m-2", "rh-m-3"]
    assert all(e["VisibilityTimeout"] == 0 for e in release["Entries"])
    assert len({e["Id"] for e in release["Entries"]}) == 3


async def test_receive_correct_checksums_pass() -> None:
    attrs = {"b": {"DataType": "Binary", "BinaryValue": b"\xff\x00"}}
    conn, mock = connect(receive_handler([wire_message("one", "m-1", attributes=attrs)]))
    async with conn:
        (message,) = await conn.queue(QUEUE_URL).get_messages(1)
    assert message.message_attributes["b"]["BinaryValue"] == b"\xff\x00"
    assert mock.operations() == ["ReceiveMessage"]


async def test_verify_checksums_false_turns_every_check_off() -> None:
    def handler(call: RecordedCall) -> dict[str, Any]:
        if call.operation == "SendMessage":
            return {"MessageId": "m", "MD5OfMessageBody": WRONG, "MD5OfMessageAttributes": WRONG}
        if call.operation == "SendMessageBatch":
            return {
                "Successful": [
                    {"Id": e["Id"], "MessageId": "m", "MD5OfMessageBody": WRONG}
                    for e in call.params["Entries"]
                ],
                "Failed": [],
            }
        return {"Messages": [wire_message("x", "m-1", md5_of_body=WRONG)]}

    conn, mock = connect(handler, verify_checksums=False)
    async with conn:
        queue = conn.queue(QUEUE_URL)
        sent = await queue.write("x", message_attributes=ATTRS)
        assert sent.md5 == WRONG
        assert await queue.write_batch(["a", "b"])
        (message,) = await queue.get_messages(1)
    assert message.get_body() == "x"
    assert "ChangeMessageVisibilityBatch" not in mock.operations()

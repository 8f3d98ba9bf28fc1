"""The one-pass send, receive and delete paths: same checks, same results as the slow ones."""

from __future__ import annotations

import asyncio
import hashlib
import re
from typing import Any

import pytest
from _core_support import QUEUE_URL, connect, default_handler, wire_message
from hypothesis import given
from hypothesis import strategies as st

from sqs_async import ChecksumMismatch, Message, ResponseError, ValidationError
from sqs_async._protocol import checksums, validate
from sqs_async._queue import Queue
from sqs_async._transport.mock import RecordedCall

# SQS's character set, written out independently of sqs_async's own pattern.
_SQS_INVALID = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@pytest.mark.parametrize("code", range(128))
def test_clean_ascii_accepts_exactly_the_ascii_characters_sqs_accepts(code: int) -> None:
    text = "ab" + chr(code) + "cd"
    assert validate.clean_ascii(text) == (_SQS_INVALID.search(text) is None)


@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=600))
def test_clean_ascii_agrees_with_the_sqs_character_set(text: str) -> None:
    assert validate.clean_ascii(text) == (_SQS_INVALID.search(text) is None)


def test_clean_ascii_says_false_for_any_non_ascii_text() -> None:
    assert not validate.clean_ascii("caf\u00e9")


@pytest.mark.parametrize("length", [10, validate._SHORT - 1, validate._SHORT, 5000])
def test_check_body_short_and_long_bodies_take_the_same_decisions(length: int) -> None:
    good = "a\tb\nc\r" + "x" * length + "\x7f"
    assert validate.check_body(good) == good
    bad = "x" * length + "\x1f"
    with pytest.raises(ValidationError, match="U\\+001F"):
        validate.check_body(bad)


@pytest.mark.parametrize("size", [0, 1, 90, checksums._SMALL - 1, checksums._SMALL, 100_000])
def test_md5_hex_is_md5_on_both_sides_of_the_size_switch(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    assert checksums.md5_hex(data) == hashlib.md5(data, usedforsecurity=False).hexdigest()


async def test_write_batch_accepts_tabs_newlines_and_delete_in_bodies() -> None:
    conn, mock = connect(default_handler)
    bodies = ["line 1\nline 2", "a\tb\r\n", "del \x7f", "plain"]
    async with conn:
        result = await conn.queue(QUEUE_URL).write_batch(bodies)
    assert [entry.message.get_body() for entry in result.successful] == bodies
    assert [e["MessageBody"] for e in mock.calls[0].params["Entries"]] == bodies
    assert [e["Id"] for e in mock.calls[0].params["Entries"]] == ["0", "1", "2", "3"]


async def test_write_batch_names_the_first_bad_body_of_many() -> None:
    conn, mock = connect(default_handler)
    bodies = ["ok"] * 3 + ["x" * 500 + "\x00", "\x01"]
    async with conn:
        with pytest.raises(ValidationError, match=re.escape("messages[3]")):
            await conn.queue(QUEUE_URL).write_batch(bodies)
    assert mock.calls == []


async def test_write_batch_counts_utf8_bytes_of_non_ascii_bodies() -> None:
    limit = 1_048_576
    conn, mock = connect(default_handler)
    async with conn:
        # 2 bytes a character: two bodies of 300,000 characters are 1.2 MB, two calls
        result = await conn.queue(QUEUE_URL).write_batch(["\u00e9" * 300_000] * 2 + ["a"])
    assert result
    assert [len(c.params["Entries"]) for c in mock.calls] == [1, 2]
    for call in mock.calls:
        assert sum(len(e["MessageBody"].encode()) for e in call.params["Entries"]) <= limit


async def test_write_batch_mixes_bodies_messages_and_tuples_in_order() -> None:
    conn, mock = connect(default_handler)
    async with conn:
        queue = conn.queue(QUEUE_URL)
        first = queue.new_message("one")
        result = await queue.write_batch([first, "two", ("x", "three", 5), "four"])
    entries = mock.calls[0].params["Entries"]
    assert [e["MessageBody"] for e in entries] == ["one", "two", "three", "four"]
    assert entries[2]["DelaySeconds"] == 5
    assert [entry.message.get_body() for entry in result.successful] == [
        "one",
        "two",
        "three",
        "four",
    ]
    assert result.successful[0].message is first
    assert [entry.message_id for entry in result.successful] == ["mid-0", "mid-1", "mid-2", "mid-3"]


async def test_a_batch_result_naming_an_entry_never_sent_is_a_response_error() -> None:
    def handler(call: RecordedCall) -> dict[str, Any]:
        if call.operation == "SendMessageBatch":
            return {"Successful": [{"Id": "7", "MessageId": "m"}], "Failed": []}
        return {"Successful": [{"Id": "bogus"}], "Failed": []}

    conn, _ = connect(handler, verify_checksums=False)
    async with conn:
        queue = conn.queue(QUEUE_URL)
        with pytest.raises(ResponseError):
            await queue.write_batch(["a", "b"])
        message = Message.from_wire({"Body": "x", "MessageId": "m", "ReceiptHandle": "rh"}, queue)
        with pytest.raises(ResponseError):
            await queue.delete_message_batch([message])


async def test_delete_message_batch_of_25_sends_three_calls_with_position_ids() -> None:
    conn, mock = connect(default_handler)
    async with conn:
        queue = conn.queue(QUEUE_URL)
        messages = [
            Message.from_wire({"Body": "x", "MessageId": f"m{i}", "ReceiptHandle": f"rh{i}"})
            for i in range(25)
        ]
        result = await queue.delete_message_batch(iter(messages))
    assert [entry.message for entry in result.successful] == messages
    assert [[e["Id"] for e in c.params["Entries"]] for c in mock.calls] == [
        [str(i) for i in range(10)],
        [str(i) for i in range(10)],
        [str(i) for i in range(5)],
    ]
    handles = [e["ReceiptHandle"] for c in mock.calls for e in c.params["Entries"]]
    assert handles == [f"rh{i}" for i in range(25)]


async def test_delete_message_batch_refuses_a_message_never_received_before_io() -> None:
    conn, mock = connect(default_handler)
    async with conn:
        queue = conn.queue(QUEUE_URL)
        with pytest.raises(ValidationError, match="receipt handle"):
            await queue.delete_message_batch([queue.new_message("x")])
    assert mock.calls == []


class Tagged(Message):
    """A class with its own from_wire: the batch builder must call it."""

    __slots__ = ()

    @classmethod
    def from_wire(cls, wire: Any, queue: Queue | None = None) -> Message:
        message = super().from_wire(wire, queue)
        message.attributes = {**message.attributes, "Tagged": "yes"}
        return message


@pytest.mark.parametrize("cls", [Message, Tagged])
async def test_received_messages_are_built_with_every_field(cls: type[Message]) -> None:
    wires = [wire_message(f"body {i}", f"m-{i}") for i in range(3)]
    wires[1]["Attributes"]["SequenceNumber"] = "42"

    def handler(call: RecordedCall) -> Any:
        if call.operation == "ReceiveMessage":
            return {"Messages": wires}
        return default_handler(call)

    conn, _ = connect(handler)
    async with conn:
        queue = conn.queue(QUEUE_URL)
        queue.set_message_class(cls)
        messages = await queue.get_messages(10)
    assert [type(m) for m in messages] == [cls] * 3
    for message, wire in zip(messages, wires, strict=True):
        assert message.get_body() == wire["Body"]
        assert message.id == wire["MessageId"]
        assert message.receipt_handle == wire["ReceiptHandle"]
        assert message.md5 == wire["MD5OfBody"]
        assert message.queue is queue
        assert message.receive_count == 1
        assert message.message_attributes == {}
        assert (message.attributes.get("Tagged") == "yes") is (cls is Tagged)
    assert messages[1].sequence_number == "42"
    assert messages[0].sequence_number is None


async def test_get_messages_checks_its_parameters_once_before_io() -> None:
    conn, mock = connect(default_handler)
    async with conn:
        queue = conn.queue(QUEUE_URL)
        with pytest.raises(ValidationError, match="WaitTimeSeconds"):
            await queue.get_messages(10, wait_time_seconds=21)
        with pytest.raises(ValidationError, match="VisibilityTimeout"):
            await queue.get_messages(10, visibility_timeout=-1)
        with pytest.raises(ValidationError, match="ReceiveRequestAttemptId"):
            await queue.get_messages(10, receive_request_attempt_id="")
    assert mock.calls == []


async def test_batch_writer_checks_the_md5_of_every_entry() -> None:
    def handler(call: RecordedCall) -> Any:
        result = default_handler(call)
        assert isinstance(result, dict)
        if call.operation == "SendMessageBatch":
            result["Successful"][-1]["MD5OfMessageBody"] = "0" * 32
        return result

    conn, mock = connect(handler)
    async with conn, conn.queue(QUEUE_URL).batch_writer() as writer:
        outcomes = await asyncio.gather(
            *(writer.write(f"body {i}") for i in range(3)), return_exceptions=True
        )
    assert mock.operations() == ["SendMessageBatch"]
    assert all(isinstance(outcome, ChecksumMismatch) for outcome in outcomes)
    assert [e["Id"] for e in mock.calls[0].params["Entries"]] == ["0", "1", "2"]
    assert all("_size" not in e for e in mock.calls[0].params["Entries"])


async def test_batch_writer_returns_each_caller_its_message_with_its_id() -> None:
    conn, _ = connect(default_handler)
    async with conn, conn.queue(QUEUE_URL).batch_writer() as writer:
        sent = await asyncio.gather(*(writer.write(f"body {i}") for i in range(12)))
    assert [m.get_body() for m in sent] == [f"body {i}" for i in range(12)]
    assert [m.id for m in sent] == [f"mid-{i}" for i in range(10)] + ["mid-0", "mid-1"]

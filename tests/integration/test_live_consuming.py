"""Message classes over the wire, and consuming with ``async for``, against the real server."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest
from compat import (
    FAUXQS_REJECTS_EMOJI,
    LOCAL_COUNTS_IN_FLIGHT,
    LOCAL_LONG_POLL_WAITS_FOR_A_FULL_BATCH,
    known_divergent,
)
from live_support import DEADLINE, CallSpy, QueueFactory, fill, receive_all

from sqs_async import (
    Base64Message,
    EncodedMessage,
    JSONMessage,
    Message,
    MessageDecodeError,
    MHMessage,
    Queue,
    RawMessage,
    SQSConnection,
)

pytest_plugins = ["live_fixtures"]
pytestmark = pytest.mark.integration


def raw_view(queue: Queue) -> Queue:
    """The same queue, read with the raw Message class."""
    return Queue(queue.connection, queue.url)


# -- message classes ------------------------------------------------------------------------------


@known_divergent("fauxqs", FAUXQS_REJECTS_EMOJI)
async def test_raw_message_is_the_text_on_the_wire(
    sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    assert RawMessage is Message
    body = 'raw ✓ 😀 {"not": "json"} \t tab\r\nand lines'
    await queue.write(RawMessage(body))
    (message,) = await receive_all(queue, 1)
    assert type(message) is Message
    assert message.get_body() == body
    assert message.get_body_encoded() == body
    # What another SDK (the low-level call here) receives is the same text.
    await message.change_visibility(0)
    response = await sqs_connection.receive_message(
        QueueUrl=queue.url, MaxNumberOfMessages=1, WaitTimeSeconds=1
    )
    assert response["Messages"][0]["Body"] == body


async def test_base64_message_written_by_us_reads_raw_as_base64_text(
    new_queue: QueueFactory,
) -> None:
    queue = await new_queue()
    assert EncodedMessage is Base64Message
    queue.set_message_class(Base64Message)
    body = "héllo wörld ✓"
    await queue.write(queue.new_message(body))
    await queue.write(EncodedMessage("second"))
    (first, second) = sorted(await receive_all(raw_view(queue), 2), key=lambda m: len(m.get_body()))
    expected = {
        base64.b64encode(body.encode("utf-8")).decode("ascii"),
        base64.b64encode(b"second").decode("ascii"),
    }
    assert {first.get_body(), second.get_body()} == expected


async def test_base64_text_written_raw_reads_with_base64_message(
    sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    body = "from an old boto program ✓"
    encoded = base64.b64encode(body.encode("utf-8")).decode("ascii")
    await sqs_connection.send_message(QueueUrl=queue.url, MessageBody=encoded)
    queue.set_message_class(Base64Message)
    (message,) = await receive_all(queue, 1)
    assert isinstance(message, Base64Message)
    assert message.get_body() == body
    assert message.get_body_encoded() == encoded


@known_divergent("fauxqs", FAUXQS_REJECTS_EMOJI)
async def test_json_message_round_trip(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    queue.set_message_class(JSONMessage)
    body: dict[str, Any] = {
        "id": 7,
        "tags": ["a", "ü", "😀"],
        "nested": {"ok": True, "none": None, "ratio": 0.25},
    }
    await queue.write(queue.new_message(body))
    (message,) = await receive_all(queue, 1)
    assert isinstance(message, JSONMessage)
    assert message.get_body() == body
    # On the wire it is plain JSON text, readable by anyone.
    await message.change_visibility(0)
    (raw,) = await receive_all(raw_view(queue), 1)
    assert json.loads(raw.get_body()) == body


async def test_mh_message_round_trip(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    queue.set_message_class(MHMessage)
    message = MHMessage({"Name": "report", "Priority": "high"})
    message["Owner"] = "ops"
    await queue.write(message)
    (received,) = await receive_all(queue, 1)
    assert isinstance(received, MHMessage)
    assert received["Name"] == "report"
    assert received.get("Owner") == "ops"
    assert dict(received.items()) == {"Name": "report", "Priority": "high", "Owner": "ops"}
    await received.change_visibility(0)
    (raw,) = await receive_all(raw_view(queue), 1)
    assert raw.get_body() == "Name: report\nPriority: high\nOwner: ops\n"


class Reversed(Message):
    """A custom wire format: the text reversed."""

    __slots__ = ()

    def encode(self, body: Any) -> str:
        return str(body)[::-1]

    def decode(self, text: str) -> Any:
        return text[::-1]


async def test_custom_message_class_via_set_message_class(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    queue.set_message_class(Reversed)
    assert queue.message_class is Reversed
    written = await queue.write(queue.new_message("stressed"))
    assert isinstance(written, Reversed)
    (message,) = await receive_all(queue, 1)
    assert isinstance(message, Reversed)
    assert message.get_body() == "stressed"
    await message.change_visibility(0)
    (raw,) = await receive_all(raw_view(queue), 1)
    assert raw.get_body() == "desserts"
    with pytest.raises(TypeError):
        queue.set_message_class(dict)  # type: ignore[arg-type]


@known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)
async def test_undecodable_body_fails_alone_in_its_batch(
    sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    good = {"first ✓", "third"}
    for text in ("first ✓", "third"):
        encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
        await sqs_connection.send_message(QueueUrl=queue.url, MessageBody=encoded)
    await sqs_connection.send_message(QueueUrl=queue.url, MessageBody="not base64 at all!")
    queue.set_message_class(Base64Message)
    batch = await receive_all(queue, 3)
    decoded = set()
    failures = []
    for message in batch:
        try:
            decoded.add(message.get_body())
        except MessageDecodeError as exc:
            failures.append((message, exc))
    assert decoded == good
    ((bad, error),) = failures
    assert error.raw == "not base64 at all!"
    assert isinstance(error, ValueError)
    assert bad.get_body_encoded() == "not base64 at all!"
    assert bad.receipt_handle  # it can still be deleted or released
    assert await bad.delete()
    assert await queue.count(include_in_flight=True) == 2


# -- consuming ------------------------------------------------------------------------------------


@known_divergent("local-aws-sqs", LOCAL_LONG_POLL_WAITS_FOR_A_FULL_BATCH)
async def test_async_for_over_a_queue(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    sent = set(await fill(queue, [f"it{i}" for i in range(5)]))
    seen: list[str] = []
    async with asyncio.timeout(DEADLINE):
        async for message in queue:
            assert message.id is not None
            seen.append(message.id)
            await message.delete()
            if len(seen) == 5:
                break
    assert set(seen) == sent
    assert len(seen) == 5
    assert await queue.count(include_in_flight=True) == 0


@known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)
async def test_messages_stop_when_empty_drains_exactly_what_was_sent(
    monkeypatch: pytest.MonkeyPatch, sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    sent = set(await fill(queue, [f"drain{i}" for i in range(23)]))
    spy = CallSpy(sqs_connection).install(monkeypatch)
    seen: list[str] = []
    async with asyncio.timeout(DEADLINE * 2):
        async for message in queue.messages(stop_when_empty=True, wait_time_seconds=1):
            assert message.id is not None
            seen.append(message.id)
    assert len(seen) == len(set(seen)) == 23
    assert set(seen) == sent
    assert all(p["WaitTimeSeconds"] in (0, 1) for p in spy.params("ReceiveMessage"))
    # It does not delete: everything is in flight now.
    assert await queue.count() == 0
    assert await queue.count(include_in_flight=True) == 23


@known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)
async def test_messages_with_a_batch_size_and_visibility_timeout(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    sent = set(await fill(queue, [f"b{i}" for i in range(7)]))
    seen = []
    async with asyncio.timeout(DEADLINE * 2):
        async for message in queue.messages(
            3, wait_time_seconds=1, visibility_timeout=300, stop_when_empty=True
        ):
            seen.append(message.id)
    assert set(seen) == sent
    assert await queue.count(include_in_flight=True) == 7


async def test_messages_on_an_empty_queue_stops_at_once(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    async with asyncio.timeout(DEADLINE):
        got = [m async for m in queue.messages(stop_when_empty=True, wait_time_seconds=0)]
    assert got == []

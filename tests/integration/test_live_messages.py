"""Sending, receiving, deleting and hiding messages against the real local server."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from compat import (
    FAUXQS_MD5_OF_ALL_ATTRIBUTES,
    FAUXQS_ONE_PER_GROUP,
    FAUXQS_REJECTS_EMOJI,
    LOCAL_COUNTS_IN_FLIGHT,
    LOCAL_FRESH_MESSAGE_DELAYED,
    LOCAL_IGNORES_SYSTEM_ATTRIBUTE_NAMES,
    LOCAL_MD5_OF_CHARACTERS,
    known_divergent,
)
from live_support import (
    DEADLINE,
    CallSpy,
    QueueFactory,
    WireSpy,
    eventually,
    fill,
    read_eventually,
    receive_all,
)

from sqs_async import (
    JSONMessage,
    Message,
    MessageTooLarge,
    Queue,
    SQSConnection,
    ValidationError,
)

pytest_plugins = ["live_fixtures"]
pytestmark = pytest.mark.integration


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


# -- write ----------------------------------------------------------------------------------------


@known_divergent("fauxqs", FAUXQS_REJECTS_EMOJI)
@known_divergent("local-aws-sqs", LOCAL_IGNORES_SYSTEM_ATTRIBUTE_NAMES)
async def test_write_sets_id_and_md5(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    body = "héllo wörld ✓ 😀\nsecond line"
    message = queue.new_message(body)
    written = await queue.write(message)
    assert written is message
    assert written  # truthy on success
    assert message.id
    assert message.md5 == md5_hex(body)
    assert message.queue is queue
    (received,) = await receive_all(queue, 1)
    assert received.id == message.id
    assert received.get_body() == body
    assert received.md5 == md5_hex(body)
    assert received.receipt_handle
    assert received.queue is queue
    assert received.attributes["ApproximateReceiveCount"] == "1"
    assert "SentTimestamp" in received.attributes
    # set_body replaces the body of a message before it is written.
    edited = queue.new_message("draft")
    edited.set_body("final")
    await queue.write(edited)
    (final,) = await receive_all(queue, 1)
    assert final.get_body() == "final"
    assert final.id == edited.id


async def test_write_a_plain_body_wraps_it_in_the_queue_class(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    queue.set_message_class(JSONMessage)
    written = await queue.write({"plain": True})
    assert isinstance(written, JSONMessage)
    assert written.id
    (received,) = await receive_all(queue, 1)
    assert received.get_body() == {"plain": True}


async def test_write_with_delay_seconds_is_invisible_at_first(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    message = await queue.write(queue.new_message("later"), delay_seconds=300)
    assert message.id
    assert await queue.count() == 0
    assert await queue.count(include_in_flight=True) == 1
    assert await queue.read(wait_time_seconds=0) is None


@known_divergent("local-aws-sqs", LOCAL_MD5_OF_CHARACTERS)
async def test_message_attributes_round_trip_exactly(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    attributes: dict[str, Any] = {
        "text": "héllo ✓ 😀",
        "int": 42,
        "negative": Decimal("-3.25"),
        "float": 1.5,
        "blob": b"\x00\x01\xfe\xff",
        "custom": {"DataType": "String.custom", "StringValue": "labelled"},
        "custom_number": {"DataType": "Number.int", "StringValue": "7"},
    }
    message = await queue.write(queue.new_message("with attributes"), message_attributes=attributes)
    assert message.md5_message_attributes
    # The constructor's message_attributes take the same friendly values.
    other = await queue.write(Message("second", message_attributes={"text": "x", "blob": b"\x01"}))
    assert other.md5_message_attributes
    received = {m.get_body(): m for m in await receive_all(queue, 2)}
    assert received["with attributes"].message_attributes == {
        "text": {"DataType": "String", "StringValue": "héllo ✓ 😀"},
        "int": {"DataType": "Number", "StringValue": "42"},
        "negative": {"DataType": "Number", "StringValue": "-3.25"},
        "float": {"DataType": "Number", "StringValue": "1.5"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xfe\xff"},
        "custom": {"DataType": "String.custom", "StringValue": "labelled"},
        "custom_number": {"DataType": "Number.int", "StringValue": "7"},
    }
    assert received["with attributes"].md5_message_attributes == message.md5_message_attributes
    assert received["second"].message_attributes == {
        "text": {"DataType": "String", "StringValue": "x"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x01"},
    }


@known_divergent("fauxqs", FAUXQS_MD5_OF_ALL_ATTRIBUTES)
async def test_receive_only_the_message_attributes_asked_for(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    await queue.write(queue.new_message("x"), message_attributes={"keep": "1", "drop": "2"})
    (message,) = await queue.get_messages(1, wait_time_seconds=1, message_attributes=["keep"])
    assert message.message_attributes == {"keep": {"DataType": "String", "StringValue": "1"}}


@known_divergent("fauxqs", FAUXQS_ONE_PER_GROUP)
@known_divergent("local-aws-sqs", LOCAL_FRESH_MESSAGE_DELAYED)
async def test_fifo_group_and_deduplication_id(new_queue: QueueFactory) -> None:
    queue = await new_queue(fifo=True)
    first = await queue.write(queue.new_message("first"), group_id="g1", deduplication_id="d-1")
    assert first.id
    # The same deduplication id within the window: accepted, but not enqueued again.
    await queue.write(queue.new_message("duplicate"), group_id="g1", deduplication_id="d-1")
    assert await queue.count() == 1
    await queue.write(queue.new_message("second"), group_id="g1", deduplication_id="d-2")
    assert await queue.count() == 2
    messages = await receive_all(queue, 2)
    assert [m.get_body() for m in messages] == ["first", "second"]  # FIFO order in a group
    assert all(m.attributes["MessageGroupId"] == "g1" for m in messages)
    assert messages[0].attributes["MessageDeduplicationId"] == "d-1"


@known_divergent("local-aws-sqs", LOCAL_IGNORES_SYSTEM_ATTRIBUTE_NAMES)
async def test_read_returns_the_system_attributes_asked_for(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    await queue.write("x", message_attributes={"trace": "t-1"})
    message = await read_eventually(queue)
    # By default read() asks for all system and message attributes.
    assert {"ApproximateReceiveCount", "SentTimestamp", "SenderId"} <= set(message.attributes)
    assert message.message_attributes == {"trace": {"DataType": "String", "StringValue": "t-1"}}
    assert message.receive_count == 1
    await message.change_visibility(0)

    message = await read_eventually_with(queue, attributes=["SentTimestamp"])
    assert set(message.attributes) == {"SentTimestamp"}
    assert message.sent_at is not None
    assert message.receive_count is None  # not asked for
    await message.change_visibility(0)

    message = await read_eventually_with(queue, attributes=[], message_attributes=[])
    assert message.attributes == {}
    assert message.message_attributes == {}
    assert message.receive_count is None
    await message.change_visibility(0)

    message = await read_eventually(queue)
    assert message.receive_count == 4  # each read above was one more receive


async def read_eventually_with(queue: Queue, **options: Any) -> Message:
    """Long-poll ``queue.read(**options)`` until a message arrives."""

    async def read() -> Message | None:
        return await queue.read(wait_time_seconds=1, **options)

    message = await eventually(read, until=lambda m: m is not None, within=DEADLINE)
    assert message is not None
    return message


@known_divergent("fauxqs", FAUXQS_ONE_PER_GROUP)
@known_divergent("local-aws-sqs", LOCAL_IGNORES_SYSTEM_ATTRIBUTE_NAMES)
async def test_received_message_properties(new_queue: QueueFactory) -> None:
    queue = await new_queue(fifo=True)
    before = datetime.now(UTC)
    written = await queue.write("order", group_id="tenant-7", deduplication_id="order-42")
    after = datetime.now(UTC)
    assert written.group_id is None  # a message you wrote: SQS reports these on receive
    message = await read_eventually(queue)
    assert message.group_id == "tenant-7"
    assert message.deduplication_id == "order-42"
    assert message.receive_count == 1
    assert message.sent_at is not None
    assert message.sent_at.tzinfo is UTC
    # SentTimestamp is whole milliseconds, taken by the server between our two clocks.
    assert before - timedelta(seconds=1) <= message.sent_at <= after + timedelta(seconds=1)


async def test_number_attributes_at_the_limits_round_trip(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    attributes: dict[str, Any] = {
        "huge": 1e126,
        "tiny": -1e-128,
        "float": 1e20,
        "digits": Decimal("-0." + "9" * 38),
        "int": 10**126,
        "text": {"DataType": "Number", "StringValue": "1E-128"},
    }
    written = await queue.write("numbers", message_attributes=attributes)
    assert written.md5_message_attributes  # the server's MD5 matched what we sent
    message = await read_eventually(queue)
    assert message.message_attributes == {
        "huge": {"DataType": "Number", "StringValue": "1e+126"},
        "tiny": {"DataType": "Number", "StringValue": "-1e-128"},
        "float": {"DataType": "Number", "StringValue": "1e+20"},
        "digits": {"DataType": "Number", "StringValue": "-0." + "9" * 38},
        "int": {"DataType": "Number", "StringValue": "1" + "0" * 126},
        "text": {"DataType": "Number", "StringValue": "1E-128"},
    }


async def test_number_attribute_out_of_range_is_refused_before_any_io(
    monkeypatch: pytest.MonkeyPatch, sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    spy = WireSpy(sqs_connection).install(monkeypatch)
    with pytest.raises(ValidationError, match=r"10\^\+126"):
        await queue.write("x", message_attributes={"n": 1e200})
    assert spy.sent == []


async def test_write_batch_of_25(
    monkeypatch: pytest.MonkeyPatch, sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    bodies = [f"batch message {i} ✓" for i in range(25)]
    messages = [queue.new_message(body) for body in bodies]
    spy = CallSpy(sqs_connection).install(monkeypatch)
    result = await queue.write_batch(messages)
    assert result
    assert len(result.successful) == 25
    assert result.failed == []
    assert [entry.message for entry in result.successful] == messages
    for entry, body in zip(result.successful, bodies, strict=True):
        assert entry.message_id
        assert entry.message.id == entry.message_id
        assert entry.md5 == md5_hex(body)
    batches = spy.params("SendMessageBatch")
    assert [len(p["Entries"]) for p in batches] == [10, 10, 5]
    assert "SendMessage" not in spy.operations()
    received = await receive_all(queue, 25)
    assert sorted(m.get_body() for m in received) == sorted(bodies)
    assert {m.id for m in received} == {m.id for m in messages}


async def _drain_fifo(queue: Queue, count: int) -> list[str]:
    """Receive ``count`` bodies in order, deleting as we go (a FIFO group is locked while
    any of its messages is in flight)."""
    received: list[str] = []
    while len(received) < count:
        batch = await eventually(lambda: queue.get_messages(10, wait_time_seconds=1))
        received.extend(m.get_body() for m in batch)
        assert await queue.delete_message_batch(batch)
    return received


async def test_write_batch_on_a_fifo_queue_keeps_order(new_queue: QueueFactory) -> None:
    queue = await new_queue(fifo=True, attributes={"ContentBasedDeduplication": "true"})
    bodies = [f"step {i}" for i in range(12)]
    result = await queue.write_batch(bodies, group_id="steps")
    assert len(result.successful) == 12
    assert await _drain_fifo(queue, len(bodies)) == bodies


async def test_write_batch_with_deduplication_ids_on_a_fifo_queue(
    new_queue: QueueFactory,
) -> None:
    queue = await new_queue(fifo=True)  # no content-based deduplication: ids are required
    bodies = [f"job {i}" for i in range(12)]
    ids = [f"job-{i}" for i in range(12)]
    first = await queue.write_batch(bodies, group_id="jobs", deduplication_ids=ids)
    assert len(first.successful) == 12
    again = await queue.write_batch(bodies, group_id="jobs", deduplication_ids=ids)
    assert not again.failed  # accepted, and dropped by SQS as duplicates
    assert await _drain_fifo(queue, len(bodies)) == bodies
    assert await queue.count(include_in_flight=True) == 0


@known_divergent("local-aws-sqs", LOCAL_FRESH_MESSAGE_DELAYED)
async def test_write_batch_with_boto_tuples_and_a_delay(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    result = await queue.write_batch([("a", "now", 0), ("b", "later", 300, {"kind": "delayed"})])
    assert len(result.successful) == 2
    assert await queue.count() == 1
    assert await queue.count(include_in_flight=True) == 2
    (message,) = await receive_all(queue, 1)
    assert message.get_body() == "now"


async def test_new_message(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    message = queue.new_message("body")
    assert type(message) is Message
    assert message.get_body() == "body"
    assert message.queue is queue
    assert message.id is None
    assert queue.new_message().get_body() == ""
    queue.set_message_class(JSONMessage)
    typed = queue.new_message({"a": 1})
    assert isinstance(typed, JSONMessage)
    assert typed.get_body_encoded() == '{"a":1}'


# -- receive --------------------------------------------------------------------------------------


async def test_get_messages_one_ten_and_more_than_ten(
    monkeypatch: pytest.MonkeyPatch, sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    sent = set(await fill(queue, [f"m{i}" for i in range(36)]))
    spy = CallSpy(sqs_connection).install(monkeypatch)
    seen: set[str] = set()

    one = await queue.get_messages(1, wait_time_seconds=1)
    assert len(one) == 1
    assert [p["MaxNumberOfMessages"] for p in spy.params("ReceiveMessage")] == [1]

    spy.calls.clear()
    ten = await queue.get_messages(10, wait_time_seconds=1)
    assert 1 <= len(ten) <= 10
    assert [p["MaxNumberOfMessages"] for p in spy.params("ReceiveMessage")] == [10]

    for message in one + ten:
        assert message.id in sent
        assert message.id not in seen
        seen.add(message.id)

    # More than 10: several ReceiveMessage calls of at most 10, the first one long-polling,
    # stopping early only when a call comes back short.
    several_requests = False
    while len(seen) < len(sent):
        spy.calls.clear()
        spy.results.clear()
        batch = await queue.get_messages(25, wait_time_seconds=1)
        assert len(batch) <= 25
        requests = spy.params("ReceiveMessage")
        returned = [len(r.get("Messages", ())) for op, r in spy.results if op == "ReceiveMessage"]
        assert requests[0]["WaitTimeSeconds"] == 1
        assert all(p["WaitTimeSeconds"] == 0 for p in requests[1:])
        got = 0
        for params, count in zip(requests, returned, strict=True):
            want = min(10, 25 - got)
            assert params["MaxNumberOfMessages"] == want
            got += count
            if count < want:
                break
        assert got == len(batch)
        several_requests = several_requests or len(requests) > 1
        assert batch, "a long poll on a non-empty queue came back empty"
        for message in batch:
            assert message.id in sent
            assert message.id not in seen
            seen.add(message.id)
    assert seen == sent
    assert several_requests


@known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)
async def test_get_messages_with_visibility_timeout(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    await fill(queue, ["held", "other"])
    (held,) = await queue.get_messages(1, visibility_timeout=300, wait_time_seconds=1)
    assert await queue.count() == 1
    assert await queue.count(include_in_flight=True) == 2
    (brief,) = await queue.get_messages(1, visibility_timeout=1, wait_time_seconds=1)
    assert brief.id != held.id
    # The one hidden for a second comes back (with a new receipt handle); the other does not.
    again = await read_eventually(queue)
    assert again.id == brief.id
    assert again.receipt_handle != brief.receipt_handle
    assert again.attributes["ApproximateReceiveCount"] == "2"


async def test_long_poll_returns_when_a_message_is_sent_during_the_wait(
    monkeypatch: pytest.MonkeyPatch, sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    spy = CallSpy(sqs_connection).install(monkeypatch)
    poll = asyncio.create_task(queue.read(wait_time_seconds=20))
    async with asyncio.timeout(DEADLINE):
        await spy.event("ReceiveMessage").wait()

    async def send() -> str | None:
        return (await queue.write(queue.new_message("wake up"))).id

    sent_id = await asyncio.create_task(send())
    async with asyncio.timeout(DEADLINE):
        message = await poll
    assert message is not None
    assert message.id == sent_id
    assert message.get_body() == "wake up"


async def test_read_on_an_empty_queue_is_none(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    assert await queue.read() is None
    assert await queue.read(wait_time_seconds=0) is None
    assert await queue.read(wait_time_seconds=1) is None
    assert await queue.get_messages(5, wait_time_seconds=0) == []


@known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)
async def test_read_returns_one_message(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    await fill(queue, ["a", "b"])
    message = await queue.read(wait_time_seconds=1)
    assert message is not None
    assert message.get_body() in {"a", "b"}
    assert await queue.count() == 1


# -- delete and visibility ------------------------------------------------------------------------


@known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)
async def test_delete_message_and_message_delete(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    await fill(queue, ["one", "two"])
    first, second = await receive_all(queue, 2)
    assert await queue.delete_message(first) is True
    assert await queue.count(include_in_flight=True) == 1
    assert await second.delete() is True
    assert await queue.count(include_in_flight=True) == 0


async def test_delete_message_batch(
    monkeypatch: pytest.MonkeyPatch, sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    await fill(queue, [f"d{i}" for i in range(13)])
    messages = await receive_all(queue, 13)
    spy = CallSpy(sqs_connection).install(monkeypatch)
    result = await queue.delete_message_batch(messages)
    assert result
    assert result.failed == []
    assert {entry.message.id for entry in result.successful} == {m.id for m in messages}
    assert [len(p["Entries"]) for p in spy.params("DeleteMessageBatch")] == [10, 3]
    assert await queue.count(include_in_flight=True) == 0


@known_divergent("local-aws-sqs", LOCAL_FRESH_MESSAGE_DELAYED)
async def test_deleting_a_message_that_was_never_received_is_refused(
    new_queue: QueueFactory,
) -> None:
    queue = await new_queue()
    message = await queue.write(queue.new_message("not received"))
    with pytest.raises(ValidationError):
        await queue.delete_message(message)
    with pytest.raises(ValidationError):
        await message.delete()
    assert await queue.count() == 1


@known_divergent("local-aws-sqs", LOCAL_IGNORES_SYSTEM_ATTRIBUTE_NAMES)
async def test_change_message_visibility_to_zero_makes_it_receivable(
    new_queue: QueueFactory,
) -> None:
    queue = await new_queue()
    await queue.write(queue.new_message("again"))
    (message,) = await receive_all(queue, 1, visibility_timeout=300)
    assert await queue.read(wait_time_seconds=0) is None
    assert await queue.change_message_visibility(message, 0) is True
    again = await read_eventually(queue, visibility_timeout=300)
    assert again.id == message.id
    # The same through the message.
    assert await again.change_visibility(0) is True
    third = await read_eventually(queue)
    assert third.id == message.id
    assert third.attributes["ApproximateReceiveCount"] == "3"


@known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)
async def test_change_message_visibility_extends_the_hold(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    await queue.write(queue.new_message("hold"))
    (message,) = await receive_all(queue, 1, visibility_timeout=1)
    assert await message.change_visibility(300) is True
    assert await queue.read(wait_time_seconds=2) is None  # would have been back after 1 s
    assert await queue.count(include_in_flight=True) == 1


@known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)
async def test_change_message_visibility_batch(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    await fill(queue, [f"v{i}" for i in range(12)])
    messages = await receive_all(queue, 12, visibility_timeout=300)
    assert await queue.count() == 0
    released, kept = messages[:11], messages[11]
    result = await queue.change_message_visibility_batch(released, 0)
    assert result
    assert {e.message.id for e in result.successful} == {m.id for m in released}
    pairs = await queue.change_message_visibility_batch([(kept, 300)])
    assert len(pairs.successful) == 1
    assert await eventually(queue.count, until=lambda n: n == 11) == 11
    back = await receive_all(queue, 11)
    assert {m.id for m in back} == {m.id for m in released}
    with pytest.raises(ValidationError):
        await queue.change_message_visibility_batch(released)  # no timeout given


# -- limits checked before I/O --------------------------------------------------------------------


async def test_too_large_body_is_refused_before_any_io(
    monkeypatch: pytest.MonkeyPatch, sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    spy = WireSpy(sqs_connection).install(monkeypatch)
    with pytest.raises(MessageTooLarge) as caught:
        await queue.write(queue.new_message("x" * 1_048_577))
    assert isinstance(caught.value, ValidationError)
    assert isinstance(caught.value, ValueError)
    with pytest.raises(ValidationError):
        await queue.write_batch(["fine", "y" * 1_048_577])
    with pytest.raises(ValidationError):
        await queue.write(queue.new_message("bad \x00 character"))
    with pytest.raises(ValidationError):
        await queue.write(queue.new_message(""))
    with pytest.raises(ValidationError):
        await queue.write(queue.new_message("x"), delay_seconds=901)
    with pytest.raises(ValidationError):
        await queue.write(
            queue.new_message("x"), message_attributes={f"a{i}": "v" for i in range(11)}
        )
    with pytest.raises(ValidationError):
        await queue.read(wait_time_seconds=21)
    # Nothing reached the server: no request at all, and the queue is still empty.
    assert spy.sent == []
    assert await queue.count(include_in_flight=True) == 0
    assert spy.sent == ["GetQueueAttributes"]


@known_divergent("local-aws-sqs", LOCAL_FRESH_MESSAGE_DELAYED)
async def test_concurrent_writes_while_long_polls_wait(new_queue: QueueFactory) -> None:
    idle = await new_queue()
    busy = await new_queue()
    polls = [asyncio.create_task(idle.read(wait_time_seconds=2)) for _ in range(3)]
    async with asyncio.timeout(DEADLINE):
        written = await asyncio.gather(
            *(busy.write(busy.new_message(f"concurrent {i}")) for i in range(20))
        )
    assert len({m.id for m in written}) == 20
    assert await busy.count() == 20
    async with asyncio.timeout(DEADLINE):
        assert await asyncio.gather(*polls) == [None, None, None]

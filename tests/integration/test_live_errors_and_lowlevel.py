"""Errors from the real server, and the low-level one-call-per-operation methods."""

from __future__ import annotations

import asyncio
import json
import warnings

import pytest
from compat import (
    FAUXQS_GARBAGE_HANDLE,
    FAUXQS_NO_DLQ_SOURCES,
    FAUXQS_NO_PERMISSIONS,
    LOCAL_POLICY_STATEMENT_OBJECT,
    known_divergent,
)
from live_support import DEADLINE, CallSpy, QueueFactory, connection_to, eventually, fill

from sqs_async import (
    ConnectError,
    Message,
    MessageTooLarge,
    Queue,
    QueueDoesNotExist,
    ReceiptHandleInvalid,
    ServiceError,
    SQSConnection,
    SQSError,
    ValidationError,
)
from sqs_async.local import QueueNameFactory

pytest_plugins = ["live_fixtures"]
pytestmark = pytest.mark.integration


# -- errors ---------------------------------------------------------------------------------------


async def test_queue_does_not_exist_on_a_deleted_queue_url(
    sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    await queue.delete()
    with pytest.raises(QueueDoesNotExist) as caught:
        await queue.count()
    error = caught.value
    assert isinstance(error, ServiceError)
    assert isinstance(error, SQSError)
    assert error.status == 400
    assert error.code
    assert error.operation == "GetQueueAttributes"
    with pytest.raises(QueueDoesNotExist):
        await queue.write(queue.new_message("nowhere"))
    with pytest.raises(QueueDoesNotExist):
        await queue.read()
    with pytest.raises(QueueDoesNotExist):
        await queue.get_timeout()
    with pytest.raises(QueueDoesNotExist):
        await sqs_connection.delete_queue(queue)


@known_divergent("fauxqs", FAUXQS_GARBAGE_HANDLE)
async def test_receipt_handle_invalid_for_a_garbage_handle(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    await queue.write(queue.new_message("untouched"))
    fake = queue.new_message("whatever")
    fake.receipt_handle = "garbage-receipt-handle"
    with pytest.raises(ReceiptHandleInvalid) as caught:
        await queue.delete_message(fake)
    assert caught.value.operation == "DeleteMessage"
    with pytest.raises(ReceiptHandleInvalid):
        await fake.delete()
    with pytest.raises(ReceiptHandleInvalid):
        await queue.change_message_visibility(fake, 0)
    assert await queue.count() == 1


async def test_batch_with_a_garbage_handle_reports_that_entry_as_failed(
    new_queue: QueueFactory,
) -> None:
    queue = await new_queue()
    await fill(queue, ["real"])
    (real,) = await queue.get_messages(1, wait_time_seconds=1)
    fake = Message("fake")
    fake.receipt_handle = "garbage-receipt-handle"
    result = await queue.change_message_visibility_batch([real, fake], 0)
    assert not result
    assert [entry.message for entry in result.successful] == [real]
    ((failed),) = result.failed
    assert failed.message is fake
    assert isinstance(failed.error, ReceiptHandleInvalid)
    assert failed.code


async def test_too_large_body_is_a_validation_error_before_any_io(
    sqs_queue_name: QueueNameFactory,
) -> None:
    # Nothing listens on port 9: any request would fail with ConnectError. A ValidationError
    # therefore proves the check happened before any I/O.
    async with connection_to("http://127.0.0.1:9") as conn:
        queue = Queue(conn, "http://127.0.0.1:9/123456789012/" + sqs_queue_name())
        with pytest.raises(MessageTooLarge) as caught:
            await queue.write(queue.new_message("x" * 1_048_577))
        assert isinstance(caught.value, ValidationError)
        assert isinstance(caught.value, ValueError)
        assert caught.value.status is None
        with pytest.raises(ValidationError):
            await conn.create_queue("bad name")
        with pytest.raises(ConnectError):
            await queue.write(queue.new_message("small enough"))


async def test_a_large_message_is_accepted_by_the_server(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    body = "z" * 1_000_000
    message = await queue.write(queue.new_message(body))
    assert message.id
    (received,) = await queue.get_messages(1, wait_time_seconds=1)
    assert received.get_body() == body


async def test_a_message_at_the_size_limit_is_sent_without_warnings(
    new_queue: QueueFactory,
) -> None:
    queue = await new_queue()
    body = "y" * 1_048_576  # exactly the limit: valid, SPEC §4
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        message = await queue.write(queue.new_message(body))
    assert message.id
    (received,) = await queue.get_messages(1, wait_time_seconds=1)
    assert received.get_body() == body


# -- low-level methods ----------------------------------------------------------------------------


async def test_list_queues_and_get_queue_url(
    sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    listed = await sqs_connection.list_queues(QueueNamePrefix=queue.name)
    assert listed["QueueUrls"] == [queue.url]
    paged = await sqs_connection.list_queues(QueueNamePrefix=queue.name, MaxResults=1)
    assert paged["QueueUrls"] == [queue.url]
    found = await sqs_connection.get_queue_url(QueueName=queue.name)
    assert found["QueueUrl"] == queue.url
    with pytest.raises(QueueDoesNotExist):
        await sqs_connection.get_queue_url(QueueName=queue.name + "-missing")


async def test_send_receive_delete_message_low_level(
    sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    sent = await sqs_connection.send_message(
        QueueUrl=queue.url,
        MessageBody="low level ✓",
        MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}},
    )
    assert sent["MessageId"]
    assert sent["MD5OfMessageBody"]
    assert sent["MD5OfMessageAttributes"]
    batch = await sqs_connection.send_message_batch(
        QueueUrl=queue.url,
        Entries=[{"Id": "a", "MessageBody": "one"}, {"Id": "b", "MessageBody": "two"}],
    )
    assert sorted(e["Id"] for e in batch["Successful"]) == ["a", "b"]
    received: dict[str, dict[str, object]] = {}
    while len(received) < 3:
        response = await sqs_connection.receive_message(
            QueueUrl=queue.url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        )
        for message in response.get("Messages", ()):
            received[message["Body"]] = message
    low = received["low level ✓"]
    assert low["MessageId"] == sent["MessageId"]
    assert low["MessageAttributes"] == {"k": {"DataType": "String", "StringValue": "v"}}
    await sqs_connection.change_message_visibility(
        QueueUrl=queue.url, ReceiptHandle=low["ReceiptHandle"], VisibilityTimeout=300
    )
    changed = await sqs_connection.change_message_visibility_batch(
        QueueUrl=queue.url,
        Entries=[
            {"Id": "x", "ReceiptHandle": received["one"]["ReceiptHandle"], "VisibilityTimeout": 0}
        ],
    )
    assert [e["Id"] for e in changed["Successful"]] == ["x"]
    await sqs_connection.delete_message(QueueUrl=queue.url, ReceiptHandle=low["ReceiptHandle"])
    deleted = await sqs_connection.delete_message_batch(
        QueueUrl=queue.url,
        Entries=[{"Id": "t", "ReceiptHandle": received["two"]["ReceiptHandle"]}],
    )
    assert [e["Id"] for e in deleted["Successful"]] == ["t"]
    assert await queue.count(include_in_flight=True) == 1  # "one" is left, visible again
    assert await eventually(queue.count, until=lambda n: n == 1) == 1


async def test_queue_attributes_and_purge_low_level(
    sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    await sqs_connection.set_queue_attributes(
        QueueUrl=queue.url, Attributes={"VisibilityTimeout": "17"}
    )
    got = await sqs_connection.get_queue_attributes(
        QueueUrl=queue.url, AttributeNames=["VisibilityTimeout"]
    )
    assert got["Attributes"] == {"VisibilityTimeout": "17"}
    await fill(queue, ["a", "b"])
    await sqs_connection.purge_queue(QueueUrl=queue.url)
    await eventually(lambda: queue.count(include_in_flight=True), until=lambda n: n == 0, within=65)


async def test_tag_list_and_untag_queue(
    sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue(tags={"created": "yes"})
    await sqs_connection.tag_queue(QueueUrl=queue.url, Tags={"team": "core", "cost": "42"})
    tags = await sqs_connection.list_queue_tags(QueueUrl=queue.url)
    assert tags["Tags"] == {"created": "yes", "team": "core", "cost": "42"}
    await sqs_connection.untag_queue(QueueUrl=queue.url, TagKeys=["cost", "created"])
    tags = await sqs_connection.list_queue_tags(QueueUrl=queue.url)
    assert tags["Tags"] == {"team": "core"}


@known_divergent("fauxqs", FAUXQS_NO_DLQ_SOURCES)
async def test_list_dead_letter_source_queues(
    sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    dead = await new_queue()
    source = await new_queue()
    unrelated = await new_queue()
    arn = (await dead.get_attributes("QueueArn"))["QueueArn"]
    assert await source.set_attributes(
        RedrivePolicy={"deadLetterTargetArn": arn, "maxReceiveCount": 2}
    )
    policy = json.loads((await source.get_attributes("RedrivePolicy"))["RedrivePolicy"])
    assert policy["deadLetterTargetArn"] == arn
    assert int(policy["maxReceiveCount"]) == 2
    sources = await sqs_connection.list_dead_letter_source_queues(QueueUrl=dead.url)
    assert sources["queueUrls"] == [source.url]
    assert unrelated.url not in sources["queueUrls"]


@known_divergent("fauxqs", FAUXQS_NO_PERMISSIONS)
@known_divergent("local-aws-sqs", LOCAL_POLICY_STATEMENT_OBJECT)
async def test_add_and_remove_permission(
    sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    await sqs_connection.add_permission(
        QueueUrl=queue.url,
        Label="let-them-send",
        AWSAccountIds=["111122223333"],
        Actions=["SendMessage"],
    )
    policy = json.loads((await queue.get_attributes("Policy"))["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["let-them-send"]
    await sqs_connection.remove_permission(QueueUrl=queue.url, Label="let-them-send")
    remaining = (await queue.get_attributes()).get("Policy")
    assert remaining is None or "let-them-send" not in remaining


async def test_create_queue_raw_and_delete_queue_raw(
    sqs_connection: SQSConnection, sqs_queue_name: QueueNameFactory
) -> None:
    name = sqs_queue_name()
    created = await sqs_connection.create_queue_raw(
        QueueName=name, Attributes={"DelaySeconds": "1"}, tags={"raw": "yes"}
    )
    url = created["QueueUrl"]
    assert url.endswith("/" + name)
    queue = await sqs_connection.get_queue(name)
    assert queue is not None
    assert queue.url == url
    assert await queue.get_attributes("DelaySeconds") == {"DelaySeconds": "1"}
    await queue.write(queue.new_message("raw delete does not care"))
    await sqs_connection.delete_queue_raw(QueueUrl=url)  # unguarded: non-empty is fine
    assert await sqs_connection.get_queue(name) is None


async def test_a_cancelled_long_poll_leaves_the_connection_usable(
    monkeypatch: pytest.MonkeyPatch, sqs_endpoint: str, sqs_queue_name: QueueNameFactory
) -> None:
    async with connection_to(sqs_endpoint) as conn:
        queue = await conn.create_queue(sqs_queue_name())
        spy = CallSpy(conn).install(monkeypatch)
        poll = asyncio.create_task(queue.read(wait_time_seconds=20))
        async with asyncio.timeout(DEADLINE):
            await spy.event("ReceiveMessage").wait()
        poll.cancel()
        with pytest.raises(asyncio.CancelledError):
            await poll
        await queue.write(queue.new_message("after the cancel"))
        message = await queue.read(wait_time_seconds=1)
        assert message is not None
        assert message.get_body() == "after the cancel"
        await queue.delete(force=True)
    # Leaving the block closed both pools; an unclosed one would raise a ResourceWarning.

"""The query protocol (form requests, XML answers) against the real server, and the
``protocol="auto"`` fallback through a query-only front end.

moto speaks both protocols, so ``SQSConnection(..., protocol="query")`` runs the core flows
against it as-is. For ``"auto"``, a small aiohttp server on loopback plays a query-only server
(as sqslite or an old ElasticMQ would): it rejects JSON 1.0 requests (HTTP 415, or an XML
``MissingAction``) and forwards form requests to the real one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from compat import FAUXQS_JSON_ONLY, LOCAL_MD5_OF_CHARACTERS, LOCAL_PURGE, known_divergent
from live_support import DEADLINE, connection_to, eventually, fill, receive_all

from sqs_async import (
    Message,
    Queue,
    QueueDoesNotExist,
    ReceiptHandleInvalid,
    SQSConnection,
)
from sqs_async.local import QueueNameFactory

pytestmark = [
    pytest.mark.integration,
    known_divergent("fauxqs", FAUXQS_JSON_ONLY),
]


@pytest_asyncio.fixture
async def query_connection(sqs_endpoint: str) -> AsyncIterator[SQSConnection]:
    async with connection_to(sqs_endpoint, protocol="query") as conn:
        yield conn


@pytest_asyncio.fixture
async def query_queues(
    query_connection: SQSConnection, sqs_queue_name: QueueNameFactory
) -> AsyncIterator[list[Queue]]:
    """Queues a test creates on ``query_connection`` append themselves here; all are deleted."""
    created: list[Queue] = []
    yield created
    if query_connection.closed:
        return
    for queue in created:
        with contextlib.suppress(QueueDoesNotExist):
            await query_connection.delete_queue_raw(QueueUrl=queue.url)


async def test_queue_management_over_query(
    query_connection: SQSConnection, sqs_queue_name: QueueNameFactory, query_queues: list[Queue]
) -> None:
    conn = query_connection
    name = sqs_queue_name()
    queue = await conn.create_queue(
        name, 45, attributes={"DelaySeconds": 1}, tags={"team": "core", "env": "test"}
    )
    query_queues.append(queue)
    assert queue.url.endswith("/" + name)
    same = await conn.create_queue(
        name, 45, attributes={"DelaySeconds": 1}, tags={"team": "core", "env": "test"}
    )
    assert same == queue
    assert await conn.get_queue(name) == queue
    assert await conn.lookup(name) == queue
    assert [q.name for q in await conn.get_all_queues(name)] == [name]
    assert (await conn.get_queue_url(QueueName=name))["QueueUrl"] == queue.url
    assert await conn.get_queue(name + "-missing") is None

    attributes = await queue.get_attributes()
    assert attributes["VisibilityTimeout"] == "45"
    assert attributes["DelaySeconds"] == "1"
    assert attributes["QueueArn"].endswith(":" + name)
    assert await queue.set_attributes(DelaySeconds=0, MaximumMessageSize=4096)
    assert await queue.get_attributes("DelaySeconds", "MaximumMessageSize") == {
        "DelaySeconds": "0",
        "MaximumMessageSize": "4096",
    }
    assert await queue.set_timeout(7)
    assert await queue.get_timeout() == 7

    assert (await conn.list_queue_tags(QueueUrl=queue.url))["Tags"] == {
        "team": "core",
        "env": "test",
    }
    await conn.tag_queue(QueueUrl=queue.url, Tags={"cost": "42"})
    await conn.untag_queue(QueueUrl=queue.url, TagKeys=["env"])
    tags = (await conn.list_queue_tags(QueueUrl=queue.url))["Tags"]
    assert tags == {"team": "core", "cost": "42"}

    assert await queue.count() == 0
    assert await conn.delete_queue(queue) is True
    assert await conn.get_queue(name) is None
    with pytest.raises(QueueDoesNotExist) as caught:
        await queue.count()
    assert caught.value.status == 400
    assert caught.value.operation == "GetQueueAttributes"


@known_divergent("local-aws-sqs", LOCAL_MD5_OF_CHARACTERS)
async def test_send_receive_change_visibility_and_delete_over_query(
    query_connection: SQSConnection, sqs_queue_name: QueueNameFactory, query_queues: list[Queue]
) -> None:
    queue = await query_connection.create_queue(sqs_queue_name())
    query_queues.append(queue)
    body = 'héllo "wörld" <xml> & ✓ 😀\r\nsecond line'
    attributes: dict[str, Any] = {
        "text": "héllo ✓ 😀",
        "int": 42,
        "blob": b"\x00\x01\xfe\xff",
        "custom": {"DataType": "String.custom", "StringValue": "labelled"},
    }
    sent = await queue.write(queue.new_message(body), message_attributes=attributes)
    assert sent.id
    assert sent.md5_message_attributes  # checked against our own MD5 on the way
    batch = await queue.write_batch(
        [Message(f"batch {i} ✓", message_attributes={"n": i, "b": bytes([i])}) for i in range(12)]
    )
    assert len(batch.successful) == 12
    assert batch.failed == []
    assert await eventually(queue.count, until=lambda n: n == 13) == 13

    received = {m.get_body(): m for m in await receive_all(queue, 13, visibility_timeout=300)}
    first = received[body]  # the MD5s of body and attributes were verified on receipt
    assert first.id == sent.id
    assert first.message_attributes == {
        "text": {"DataType": "String", "StringValue": "héllo ✓ 😀"},
        "int": {"DataType": "Number", "StringValue": "42"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xfe\xff"},
        "custom": {"DataType": "String.custom", "StringValue": "labelled"},
    }
    assert first.attributes["ApproximateReceiveCount"] == "1"
    assert "SentTimestamp" in first.attributes
    assert received["batch 3 ✓"].message_attributes["b"]["BinaryValue"] == b"\x03"
    assert await queue.count() == 0
    assert await queue.count(include_in_flight=True) == 13

    # Change visibility: one back at once, a batch back at once, one kept.
    assert await queue.change_message_visibility(first, 0) is True
    again = await eventually(lambda: queue.read(300, wait_time_seconds=1), until=bool)
    assert again is not None
    assert again.id == first.id
    assert again.attributes["ApproximateReceiveCount"] == "2"
    others = [m for b, m in received.items() if b != body]
    released = await queue.change_message_visibility_batch(others[:5], 0)
    assert {e.message.id for e in released.successful} == {m.id for m in others[:5]}
    assert released.failed == []
    back = await receive_all(queue, 5, visibility_timeout=300)
    assert {m.id for m in back} == {m.id for m in others[:5]}

    # Delete: one, then a batch of the rest (12 → 10 + 2).
    assert await again.delete() is True
    deleted = await queue.delete_message_batch(back + others[5:])
    assert len(deleted.successful) == 12
    assert deleted.failed == []
    assert (
        await eventually(lambda: queue.count(include_in_flight=True), until=lambda n: n == 0) == 0
    )


async def test_batch_entry_failures_and_errors_over_query(
    query_connection: SQSConnection, sqs_queue_name: QueueNameFactory, query_queues: list[Queue]
) -> None:
    queue = await query_connection.create_queue(sqs_queue_name())
    query_queues.append(queue)
    await fill(queue, ["real"])
    (real,) = await receive_all(queue, 1)
    fake = Message("fake")
    fake.receipt_handle = "garbage-receipt-handle"
    result = await queue.change_message_visibility_batch([real, fake], 0)
    assert [entry.message for entry in result.successful] == [real]
    (failed,) = result.failed
    assert failed.message is fake
    assert isinstance(failed.error, ReceiptHandleInvalid)
    with pytest.raises(ReceiptHandleInvalid) as caught:
        await queue.delete_message(fake)
    assert caught.value.operation == "DeleteMessage"
    assert caught.value.code


@known_divergent("local-aws-sqs", LOCAL_PURGE)
async def test_count_and_purge_over_query(
    query_connection: SQSConnection, sqs_queue_name: QueueNameFactory, query_queues: list[Queue]
) -> None:
    queue = await query_connection.create_queue(sqs_queue_name())
    query_queues.append(queue)
    await fill(queue, [f"p{i}" for i in range(7)])
    await queue.write(queue.new_message("delayed"), delay_seconds=300)
    assert await queue.count() == 7
    assert await queue.count(include_in_flight=True) == 8
    assert await queue.purge() is True
    # AWS may take up to 60 s to purge.
    await eventually(lambda: queue.count(include_in_flight=True), until=lambda n: n == 0, within=65)


async def test_low_level_calls_over_query(
    query_connection: SQSConnection, sqs_queue_name: QueueNameFactory, query_queues: list[Queue]
) -> None:
    conn = query_connection
    dead = await conn.create_queue(sqs_queue_name())
    source = await conn.create_queue(sqs_queue_name())
    query_queues.extend([dead, source])
    arn = (await dead.get_attributes("QueueArn"))["QueueArn"]
    assert await source.set_attributes(
        RedrivePolicy={"deadLetterTargetArn": arn, "maxReceiveCount": 2}
    )
    sources = await conn.list_dead_letter_source_queues(QueueUrl=dead.url)
    assert sources["queueUrls"] == [source.url]
    listed = await conn.list_queues(QueueNamePrefix=source.name, MaxResults=1)
    assert listed["QueueUrls"] == [source.url]

    await conn.add_permission(
        QueueUrl=source.url,
        Label="let-them-send",
        AWSAccountIds=["111122223333"],
        Actions=["SendMessage", "ReceiveMessage"],
    )
    policy = (await source.get_attributes("Policy"))["Policy"]
    assert "let-them-send" in policy
    await conn.remove_permission(QueueUrl=source.url, Label="let-them-send")
    assert "let-them-send" not in (await source.get_attributes()).get("Policy", "")

    sent = await conn.send_message(
        QueueUrl=source.url,
        MessageBody="low level",
        MessageAttributes={"k": {"DataType": "Binary", "BinaryValue": b"\xff"}},
    )
    response = await conn.receive_message(
        QueueUrl=source.url,
        WaitTimeSeconds=1,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["ApproximateReceiveCount"],
    )
    (message,) = response["Messages"]
    assert message["MessageId"] == sent["MessageId"]
    assert message["MessageAttributes"] == {"k": {"DataType": "Binary", "BinaryValue": b"\xff"}}
    assert message["Attributes"] == {"ApproximateReceiveCount": "1"}
    await conn.delete_message(QueueUrl=source.url, ReceiptHandle=message["ReceiptHandle"])


async def test_consume_and_batch_writer_over_query(
    query_connection: SQSConnection, sqs_queue_name: QueueNameFactory, query_queues: list[Queue]
) -> None:
    queue = await query_connection.create_queue(sqs_queue_name())
    query_queues.append(queue)
    bodies = [f"job {i} ✓" for i in range(25)]
    async with queue.batch_writer() as writer:
        written = await asyncio.gather(
            *(writer.write(body, message_attributes={"i": i}) for i, body in enumerate(bodies))
        )
    assert all(m.id for m in written)
    assert writer.calls < 25  # coalesced into SendMessageBatch calls

    handled: list[str] = []

    async def handle(message: Message) -> None:
        handled.append(message.get_body())

    async with asyncio.timeout(DEADLINE * 2):
        await queue.consume(handle, concurrency=5, wait_time_seconds=1, stop_when_empty=True)
    assert sorted(handled) == sorted(bodies)
    # Success deletes (batched): nothing is left, in flight or not.
    assert (
        await eventually(lambda: queue.count(include_in_flight=True), until=lambda n: n == 0) == 0
    )


# -- protocol="auto" against a query-only front end ----------------------------------------------


@dataclass
class QueryOnlyFront:
    """Rejects JSON 1.0 the way a query-only server does; forwards form posts upstream."""

    upstream: str
    rejection: str  # "415" or "missing-action"
    json_requests: int = 0
    form_actions: list[str] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if "X-Amz-Target" in request.headers or "json" in request.content_type:
            self.json_requests += 1
            if self.rejection == "415":
                return web.Response(status=415, text="Unsupported Media Type")
            return web.Response(
                status=400,
                content_type="text/xml",
                text=(
                    "<ErrorResponse><Error><Type>Sender</Type><Code>MissingAction</Code>"
                    "<Message>MissingAction; see the SQS docs.</Message></Error>"
                    "<RequestId>front-1</RequestId></ErrorResponse>"
                ),
            )
        form = await request.post()
        self.form_actions.append(str(form.get("Action")))
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in ("host", "content-length", "transfer-encoding")
        }
        timeout = aiohttp.ClientTimeout(total=30)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(self.upstream + request.path_qs, data=body, headers=headers) as answer,
        ):
            data = await answer.read()
            kept = {
                k: v
                for k, v in answer.headers.items()
                if k.lower() in ("content-type", "x-amzn-requestid", "x-amzn-query-error")
            }
            return web.Response(status=answer.status, body=data, headers=kept)


@pytest_asyncio.fixture(params=["415", "missing-action"])
async def query_only_front(
    request: pytest.FixtureRequest, sqs_endpoint: str
) -> AsyncIterator[QueryOnlyFront]:
    front = QueryOnlyFront(sqs_endpoint.rstrip("/"), request.param)
    app = web.Application()
    app.router.add_post("/{tail:.*}", front.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        front.url = f"http://127.0.0.1:{port}"
        yield front
    finally:
        await runner.cleanup()


async def test_auto_falls_back_to_query_once(
    query_only_front: QueryOnlyFront, sqs_queue_name: QueueNameFactory
) -> None:
    async with connection_to(query_only_front.url, protocol="auto") as conn:
        queue = await conn.create_queue(sqs_queue_name())
        try:
            assert query_only_front.json_requests == 1
            assert query_only_front.form_actions == ["CreateQueue"]
            await queue.write(queue.new_message("via auto"), message_attributes={"b": b"\x01"})
            await queue.write_batch(["one", "two"])
            messages = await receive_all(queue, 3)
            assert sorted(m.get_body() for m in messages) == ["one", "two", "via auto"]
            assert (await queue.delete_message_batch(messages)).failed == []
            assert await queue.count(include_in_flight=True) == 0
        finally:
            await queue.delete(force=True)
    assert query_only_front.json_requests == 1  # switched once, for good
    assert query_only_front.form_actions[-1] == "DeleteQueue"
    assert len(query_only_front.form_actions) >= 7


async def test_auto_fallback_under_concurrent_first_calls(
    query_only_front: QueryOnlyFront,
) -> None:
    async with connection_to(query_only_front.url, protocol="auto") as conn:
        async with asyncio.timeout(DEADLINE):
            results = await asyncio.gather(*(conn.list_queues() for _ in range(5)))
        assert all(isinstance(r.get("QueueUrls", []), list) for r in results)
        rejected = query_only_front.json_requests
        assert 1 <= rejected <= 5  # each call in flight before the switch was rejected once
        await conn.get_all_queues()
    assert query_only_front.json_requests == rejected
    assert query_only_front.form_actions.count("ListQueues") >= 6

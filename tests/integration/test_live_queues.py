"""Queue management against the real local server: create, list, look up, delete, attributes."""

from __future__ import annotations

import pytest
from compat import LOCAL_COUNTS_IN_FLIGHT, LOCAL_FRESH_MESSAGE_DELAYED, known_divergent
from live_support import CallSpy, QueueFactory, eventually, fill, receive_all

from sqs_async import (
    JSONMessage,
    Message,
    Queue,
    QueueAlreadyExists,
    QueueNotEmpty,
    SQSConnection,
    ValidationError,
)
from sqs_async.local import QueueNameFactory

pytest_plugins = ["live_fixtures"]
pytestmark = pytest.mark.integration


# -- create_queue -------------------------------------------------------------------------------


async def test_create_queue_with_visibility_timeout_attributes_and_tags(
    sqs_connection: SQSConnection, sqs_queue_name: QueueNameFactory
) -> None:
    name = sqs_queue_name()
    queue = await sqs_connection.create_queue(
        name,
        45,
        attributes={"DelaySeconds": 2, "MaximumMessageSize": 2048},
        tags={"team": "core", "env": "test"},
    )
    try:
        assert isinstance(queue, Queue)
        assert queue.name == name
        assert queue.url.endswith("/" + name)
        assert queue.connection is sqs_connection
        assert queue.message_class is Message
        attributes = await queue.get_attributes()
        assert attributes["VisibilityTimeout"] == "45"
        assert attributes["DelaySeconds"] == "2"
        assert attributes["MaximumMessageSize"] == "2048"
        assert attributes["QueueArn"].endswith(":" + name)
        tags = await sqs_connection.list_queue_tags(QueueUrl=queue.url)
        assert tags["Tags"] == {"team": "core", "env": "test"}
    finally:
        await sqs_connection.delete_queue(queue, force=True)


async def test_create_queue_returns_the_existing_queue(
    sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue(visibility_timeout=40, attributes={"DelaySeconds": 1})
    await queue.write(queue.new_message("still here"))
    again = await sqs_connection.create_queue(queue.name, 40, attributes={"DelaySeconds": 1})
    assert again == queue
    assert again.url == queue.url
    assert await again.count(include_in_flight=True) == 1  # the same queue, not a new one


async def test_create_queue_with_other_attributes_is_refused(
    sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue(visibility_timeout=40)
    with pytest.raises(QueueAlreadyExists):
        await sqs_connection.create_queue(queue.name, 41)
    assert await queue.get_timeout() == 40


async def test_create_fifo_queue(sqs_connection: SQSConnection, new_queue: QueueFactory) -> None:
    queue = await new_queue(fifo=True)
    assert queue.name.endswith(".fifo")
    assert await queue.get_attributes("FifoQueue") == {"FifoQueue": "true"}
    # A standard queue says it is not FIFO (or leaves the attribute out).
    standard = await new_queue()
    assert (await standard.get_attributes()).get("FifoQueue", "false") == "false"


async def test_create_queue_rejects_a_bad_name_before_any_io(sqs_connection: SQSConnection) -> None:
    for bad in ("has space", "x" * 81, "", "dot.name"):
        with pytest.raises(ValidationError):
            await sqs_connection.create_queue(bad)
    with pytest.raises(ValidationError):
        await sqs_connection.create_queue("fine-name", 43_201)


# -- get_all_queues / get_queue / lookup ------------------------------------------------------


async def test_get_all_queues_with_prefix(
    sqs_connection: SQSConnection, sqs_queue_name: QueueNameFactory
) -> None:
    prefix = sqs_queue_name()
    names = [f"{prefix}-{i}" for i in range(3)]
    queues = [await sqs_connection.create_queue(name) for name in names]
    try:
        found = await sqs_connection.get_all_queues(prefix)
        assert sorted(q.name for q in found) == names
        assert all(isinstance(q, Queue) and q.connection is sqs_connection for q in found)
        assert set(found) == set(queues)
        narrower = await sqs_connection.get_all_queues(names[1])
        assert [q.name for q in narrower] == [names[1]]
        everything = await sqs_connection.get_all_queues()
        assert set(queues) <= set(everything)
        assert await sqs_connection.get_all_queues(prefix + "-nothing") == []
    finally:
        for queue in queues:
            await queue.delete()


async def test_get_all_queues_follows_pagination_to_the_end(
    monkeypatch: pytest.MonkeyPatch,
    sqs_connection: SQSConnection,
    sqs_queue_name: QueueNameFactory,
) -> None:
    # Three queues would fit in one page of 1000; ask the server for pages of one instead, so
    # that the NextToken loop runs against the real server's paging.
    prefix = sqs_queue_name()
    names = [f"{prefix}-{i}" for i in range(3)]
    queues = [await sqs_connection.create_queue(name) for name in names]

    def one_per_page(operation: str, params: dict[str, object]) -> dict[str, object]:
        if operation == "ListQueues":
            params["MaxResults"] = 1
        return params

    try:
        with monkeypatch.context() as patched:
            spy = CallSpy(sqs_connection, rewrite=one_per_page).install(patched)
            found = await sqs_connection.get_all_queues(prefix)
        assert sorted(q.name for q in found) == names
        pages = spy.params("ListQueues")
        assert len(pages) >= 3
        assert "NextToken" not in pages[0]
        assert all(page.get("NextToken") for page in pages[1:])
        assert all(page["QueueNamePrefix"] == prefix for page in pages)
    finally:
        for queue in queues:
            await queue.delete()


async def test_get_queue_and_lookup(sqs_connection: SQSConnection, new_queue: QueueFactory) -> None:
    queue = await new_queue()
    found = await sqs_connection.get_queue(queue.name)
    assert found == queue
    assert found is not None
    assert found.url == queue.url
    assert await sqs_connection.lookup(queue.name) == queue
    # The owner's account id, as found in the queue URL (…/{account}/{name}).
    account = queue.url.rstrip("/").split("/")[-2]
    assert await sqs_connection.get_queue(queue.name, owner_account_id=account) == queue


async def test_get_queue_by_url(
    monkeypatch: pytest.MonkeyPatch, sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    found = await sqs_connection.get_queue(queue.url)
    assert found == queue
    assert found is not None
    arn = (await queue.get_attributes("QueueArn"))["QueueArn"]
    assert arn.startswith("arn:aws:sqs:")
    assert arn.endswith(":" + queue.name)
    assert found.arn == arn  # learnt while checking that the queue exists
    spy = CallSpy(sqs_connection).install(monkeypatch)
    assert await found.get_arn() == arn
    assert spy.calls == []  # cached


async def test_queue_arn_is_looked_up_once(
    monkeypatch: pytest.MonkeyPatch, sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = sqs_connection.queue((await new_queue()).url)
    assert queue.arn is None
    spy = CallSpy(sqs_connection).install(monkeypatch)
    arn = await queue.get_arn()
    assert await queue.get_arn() == arn
    assert queue.arn == arn
    assert spy.params("GetQueueAttributes") == [
        {"QueueUrl": queue.url, "AttributeNames": ["QueueArn"]}
    ]


async def test_get_queue_by_url_of_a_deleted_queue_is_none(
    sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    await queue.delete()
    assert await sqs_connection.get_queue(queue.url) is None


async def test_get_queue_of_a_missing_queue_is_none(
    sqs_connection: SQSConnection, sqs_queue_name: QueueNameFactory
) -> None:
    name = sqs_queue_name()
    assert await sqs_connection.get_queue(name) is None
    assert await sqs_connection.lookup(name) is None


# -- delete_queue ---------------------------------------------------------------------------------


async def test_delete_an_empty_queue(
    sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    assert await sqs_connection.delete_queue(queue) is True
    assert await sqs_connection.get_queue(queue.name) is None


async def test_delete_queue_by_url(sqs_connection: SQSConnection, new_queue: QueueFactory) -> None:
    queue = await new_queue()
    assert await sqs_connection.delete_queue(queue.url) is True
    assert await sqs_connection.get_queue(queue.name) is None


async def test_queue_delete_method(sqs_connection: SQSConnection, new_queue: QueueFactory) -> None:
    queue = await new_queue()
    assert await queue.delete() is True
    assert await sqs_connection.get_queue(queue.name) is None


async def test_delete_queue_refuses_a_queue_with_a_visible_message(
    sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    await queue.write(queue.new_message("keep me"))
    with pytest.raises(QueueNotEmpty):
        await sqs_connection.delete_queue(queue)
    with pytest.raises(QueueNotEmpty):
        await sqs_connection.delete_queue(queue.url)
    with pytest.raises(QueueNotEmpty):
        await queue.delete()
    assert await sqs_connection.get_queue(queue.name) == queue
    assert await queue.count() == 1


@known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)
async def test_delete_queue_refuses_a_queue_whose_only_message_is_in_flight(
    sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    await queue.write(queue.new_message("in flight"))
    (message,) = await receive_all(queue, 1, visibility_timeout=300)
    assert await queue.count() == 0
    with pytest.raises(QueueNotEmpty):
        await sqs_connection.delete_queue(queue)
    assert await sqs_connection.get_queue(queue.name) == queue
    await message.delete()
    assert await queue.delete() is True


async def test_delete_queue_refuses_a_queue_whose_only_message_is_delayed(
    sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    await queue.write(queue.new_message("later"), delay_seconds=300)
    assert await queue.count() == 0
    with pytest.raises(QueueNotEmpty):
        await queue.delete()
    assert await sqs_connection.get_queue(queue.name) == queue


async def test_delete_queue_with_force_deletes_a_non_empty_queue(
    sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    await fill(queue, ["a", "b", "c"])
    assert await sqs_connection.delete_queue(queue, force=True) is True
    assert await sqs_connection.get_queue(queue.name) is None
    other = await new_queue()
    await other.write(other.new_message("x"))
    assert await other.delete(force=True) is True
    assert await sqs_connection.get_queue(other.name) is None


async def test_queue_not_empty_is_raised_before_delete_queue_is_sent(
    monkeypatch: pytest.MonkeyPatch, sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    await queue.write(queue.new_message("x"))
    spy = CallSpy(sqs_connection).install(monkeypatch)
    with pytest.raises(QueueNotEmpty):
        await queue.delete()
    assert "DeleteQueue" not in spy.operations()


# -- Queue constructed directly -------------------------------------------------------------------


@known_divergent("local-aws-sqs", LOCAL_FRESH_MESSAGE_DELAYED)
async def test_queue_constructed_from_a_url(
    monkeypatch: pytest.MonkeyPatch, sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    created = await new_queue()
    spy = CallSpy(sqs_connection).install(monkeypatch)
    queue = Queue(sqs_connection, created.url)
    typed = Queue(sqs_connection, created.url, JSONMessage)
    assert spy.calls == []  # no I/O
    assert queue.url == created.url
    assert queue.name == created.name
    assert queue.connection is sqs_connection
    assert queue.message_class is Message
    assert typed.message_class is JSONMessage
    assert created.url in repr(queue)
    assert queue == created
    # It works like the queue create_queue returned.
    await typed.write({"k": [1, 2]})
    assert await queue.count() == 1
    (message,) = await receive_all(typed, 1)
    assert isinstance(message, JSONMessage)
    assert message.get_body() == {"k": [1, 2]}


# -- attributes and timeout -----------------------------------------------------------------------


async def test_get_and_set_timeout(new_queue: QueueFactory) -> None:
    queue = await new_queue(visibility_timeout=30)
    assert await queue.get_timeout() == 30
    assert await queue.set_timeout(7) is True
    assert await queue.get_timeout() == 7
    with pytest.raises(ValidationError):
        await queue.set_timeout(43_201)
    assert await queue.get_timeout() == 7


async def test_get_and_set_attributes(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    everything = await queue.get_attributes()
    assert {"QueueArn", "VisibilityTimeout", "ApproximateNumberOfMessages"} <= set(everything)
    some = await queue.get_attributes("VisibilityTimeout", "DelaySeconds")
    assert set(some) == {"VisibilityTimeout", "DelaySeconds"}
    assert await queue.set_attributes(DelaySeconds=3, MaximumMessageSize=4096) is True
    assert await queue.get_attributes("DelaySeconds", "MaximumMessageSize") == {
        "DelaySeconds": "3",
        "MaximumMessageSize": "4096",
    }
    assert await queue.set_attributes(ReceiveMessageWaitTimeSeconds=1) is True
    assert await queue.get_attributes("ReceiveMessageWaitTimeSeconds") == {
        "ReceiveMessageWaitTimeSeconds": "1"
    }
    with pytest.raises(ValidationError):
        await queue.set_attributes()
    with pytest.raises(ValidationError):
        await queue.set_attributes(DelaySeconds=901)


@known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)
async def test_count_and_count_including_in_flight_and_delayed(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    assert await queue.count() == 0
    assert await queue.count(include_in_flight=True) == 0
    await fill(queue, [f"m{i}" for i in range(5)])
    await queue.write(queue.new_message("delayed"), delay_seconds=300)
    assert await queue.count() == 5
    assert await queue.count(include_in_flight=True) == 6
    await receive_all(queue, 2, visibility_timeout=300)
    assert await eventually(queue.count, until=lambda n: n == 3) == 3
    assert await queue.count(include_in_flight=True) == 6

"""Handler outcomes against a real server (moto): Retry timing, Reject into a dead-letter queue,
plain-function handlers, middleware, and the failure log."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from faults import QueueMaker, wait_for
from live_support import read_eventually

from sqs_async import HandlerCall, Message, Queue, Reject, Retry
from sqs_async._deadletter import REASON_ATTRIBUTE

pytest_plugins = ["faults"]
pytestmark = pytest.mark.integration

DEADLINE = 15.0


async def _redriven(make_queue: QueueMaker, *, fifo: bool = False) -> tuple[Queue, Queue]:
    """A queue whose RedrivePolicy names a fresh dead-letter queue (max 5 receives)."""
    dead = await make_queue(
        fifo=fifo, attributes={"ContentBasedDeduplication": True} if fifo else None
    )
    arn = (await dead.get_attributes("QueueArn"))["QueueArn"]
    attributes: dict[str, Any] = {
        "RedrivePolicy": {"deadLetterTargetArn": arn, "maxReceiveCount": "5"}
    }
    if fifo:
        attributes["ContentBasedDeduplication"] = True
    source = await make_queue(fifo=fifo, visibility_timeout=30, attributes=attributes)
    return source, dead


async def test_retry_makes_the_message_visible_again_after_its_delay(
    make_queue: QueueMaker,
) -> None:
    queue = await make_queue(visibility_timeout=60)
    await queue.write("later")
    seen: list[float] = []

    async def handler(message: Message) -> None:
        seen.append(time.monotonic())
        if len(seen) == 1:
            raise Retry(delay=2)

    consumer = queue.consumer(handler, wait_time_seconds=1, retry_backoff=30)
    task = asyncio.create_task(consumer.run())
    await wait_for(lambda: len(seen) == 2, DEADLINE)
    consumer.stop()
    stats = await task
    # back after the 2 s asked for: neither the 30 s backoff nor the 60 s timeout
    assert seen[1] - seen[0] >= 2.0
    assert seen[1] - seen[0] < 10.0
    assert (stats.retried, stats.failed, stats.handled, stats.deleted) == (1, 1, 1, 1)


async def test_reject_moves_the_message_to_the_redrive_dead_letter_queue(
    make_queue: QueueMaker,
) -> None:
    source, dead = await _redriven(make_queue)
    await source.write("poison", message_attributes={"tenant": "acme", "n": 7})
    await source.write("fine")

    async def handler(message: Message) -> None:
        if message.get_body() == "poison":
            raise Reject("unparseable")

    stats = await source.consume(handler, wait_time_seconds=1, stop_when_empty=True, pollers=1)
    copy = await read_eventually(dead)
    assert copy.get_body() == "poison"
    assert copy.message_attributes["tenant"] == {"DataType": "String", "StringValue": "acme"}
    assert copy.message_attributes["n"]["StringValue"] == "7"
    assert copy.message_attributes[REASON_ATTRIBUTE]["StringValue"] == "unparseable"
    assert (stats.rejected, stats.failed, stats.handled, stats.deleted) == (1, 1, 1, 2)
    assert await source.count(include_in_flight=True) == 0


async def test_reject_keeps_the_fifo_group_and_uses_an_explicit_dead_letter_queue(
    make_queue: QueueMaker,
) -> None:
    # pollers=1: moto splits FIFO groups across concurrent receives (issue 12, PEERS.md)
    source = await make_queue(fifo=True, attributes={"ContentBasedDeduplication": True})
    dead = await make_queue(fifo=True, attributes={"ContentBasedDeduplication": True})
    await source.write("first", group_id="g1")
    await source.write("second", group_id="g1")
    order: list[str] = []

    async def handler(message: Message) -> None:
        order.append(message.get_body())
        if message.get_body() == "first":
            raise Reject("bad order")

    stats = await source.consume(
        handler,
        wait_time_seconds=1,
        stop_when_empty=True,
        pollers=1,
        dead_letter_queue=dead.name,
    )
    copy = await read_eventually(dead)
    assert copy.get_body() == "first"
    assert copy.attributes["MessageGroupId"] == "g1"
    assert order == ["first", "second"]  # a rejected message is gone: its group goes on
    assert (stats.rejected, stats.handled) == (1, 1)


async def test_reject_without_a_dead_letter_queue_is_never_dropped(
    make_queue: QueueMaker, caplog: pytest.LogCaptureFixture
) -> None:
    queue = await make_queue(visibility_timeout=30)  # no RedrivePolicy
    await queue.write("poison")
    attempts: list[str] = []

    async def handler(message: Message) -> None:
        attempts.append(message.attributes["ApproximateReceiveCount"])
        if len(attempts) == 1:
            raise Reject("cannot parse")

    caplog.set_level(logging.ERROR, logger="sqs_async")
    stats = await queue.consume(handler, wait_time_seconds=1, retry_backoff=1, stop_when_empty=True)
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "no dead-letter queue" in record.getMessage()
    assert attempts == ["1", "2"]  # came back after the normal backoff, handled the second time
    assert (stats.rejected, stats.failed, stats.handled) == (0, 1, 1)


async def test_a_plain_function_handler_against_the_server(make_queue: QueueMaker) -> None:
    queue = await make_queue()
    await queue.write_batch([f"s{i}" for i in range(5)])
    seen: list[str] = []

    def handler(message: Message) -> None:  # a plain def: runs in a worker thread
        seen.append(message.get_body())

    stats = await queue.consume(handler, concurrency=2, wait_time_seconds=1, stop_when_empty=True)
    assert sorted(seen) == [f"s{i}" for i in range(5)]
    assert (stats.handled, stats.deleted) == (5, 5)


async def test_middleware_context_reaches_the_handler(make_queue: QueueMaker) -> None:
    queue = await make_queue()
    await queue.write("one")
    tenant: contextvars.ContextVar[str] = contextvars.ContextVar("tenant", default="-")
    seen: list[str] = []

    async def set_tenant(call: HandlerCall, call_next: Callable[[], Awaitable[Any]]) -> Any:
        tenant.set(call.messages[0].id or "")
        return await call_next()

    def handler(message: Message) -> None:  # a thread sees the middleware's context too
        seen.append(tenant.get())

    stats = await queue.consume(
        handler, wait_time_seconds=1, stop_when_empty=True, middleware=[set_tenant]
    )
    assert len(seen) == 1
    assert seen[0] not in ("", "-")
    assert stats.handled == 1


async def test_a_failing_handler_logs_a_warning_with_its_traceback(
    make_queue: QueueMaker, caplog: pytest.LogCaptureFixture
) -> None:
    queue = await make_queue()
    sent = await queue.write("breaks")
    attempts: list[str] = []

    async def handler(message: Message) -> None:
        attempts.append(message.get_body())
        if len(attempts) == 1:
            json.loads(message.get_body())  # raises JSONDecodeError

    caplog.set_level(logging.WARNING, logger="sqs_async")
    stats = await queue.consume(handler, wait_time_seconds=1, retry_backoff=1, stop_when_empty=True)
    (record,) = [r for r in caplog.records if "handler failed" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert record.exc_info is not None
    assert record.exc_info[0] is json.JSONDecodeError
    assert record.message_id == sent.id  # type: ignore[attr-defined]
    assert record.queue == queue.name  # type: ignore[attr-defined]
    # stop_when_empty waited for the retry after the backoff
    assert (stats.failed, stats.handled) == (1, 1)


# -- batch handlers ------------------------------------------------------------------------


async def test_consume_batches_with_a_partial_failure(make_queue: QueueMaker) -> None:
    queue = await make_queue(visibility_timeout=30)
    await queue.write_batch([f"m{i:02d}" for i in range(10)])
    await queue.write_batch([f"m{i:02d}" for i in range(10, 20)])
    calls: list[list[str]] = []

    async def handler(messages: list[Message]) -> list[Message]:
        calls.append([m.get_body() for m in messages])
        first = [m for m in messages if m.attributes["ApproximateReceiveCount"] == "1"]
        return [m for m in first if m.get_body() in ("m04", "m15")]

    stats = await queue.consume_batches(
        handler,
        max_batch=8,
        max_wait=0.2,
        wait_time_seconds=1,
        retry_backoff=1,
        stop_when_empty=True,
    )
    handled = sorted(b for call in calls for b in call)
    assert all(len(call) <= 8 for call in calls), calls
    assert handled == sorted([f"m{i:02d}" for i in range(20)] + ["m04", "m15"]), (calls, stats)
    assert (stats.handled, stats.failed, stats.deleted) == (20, 2, 20), stats
    assert await queue.count(include_in_flight=True) == 0


async def test_consume_batches_on_fifo_keeps_each_group_in_order(make_queue: QueueMaker) -> None:
    queue = await make_queue(fifo=True, attributes={"ContentBasedDeduplication": True})
    for group in ("a", "b"):
        await queue.write_batch([f"{group}{i}" for i in range(6)], group_id=group)
    seen: dict[str, list[int]] = {"a": [], "b": []}

    async def handler(messages: list[Message]) -> None:
        for message in messages:
            body = message.get_body()
            seen[body[0]].append(int(body[1:]))

    # pollers=1: moto splits FIFO groups across concurrent receives (issue 12, PEERS.md)
    stats = await queue.consume_batches(
        handler,
        max_batch=4,
        concurrency=2,
        max_wait=0.2,
        wait_time_seconds=1,
        pollers=1,
        stop_when_empty=True,
    )
    assert seen == {"a": list(range(6)), "b": list(range(6))}
    assert stats.handled == 12


# -- stop_when_empty -----------------------------------------------------------------------


async def test_stop_when_empty_waits_for_a_fifo_group_held_behind_a_slow_handler(
    make_queue: QueueMaker,
) -> None:
    queue = await make_queue(fifo=True, attributes={"ContentBasedDeduplication": True})
    await queue.write_batch([f"o{i}" for i in range(5)], group_id="one")
    order: list[str] = []

    async def handler(message: Message) -> None:
        await asyncio.sleep(0.4)  # the work (five in a row: two seconds)
        order.append(message.get_body())

    stats = await queue.consume(
        handler, concurrency=4, wait_time_seconds=1, stop_when_empty=True, pollers=1
    )
    assert order == [f"o{i}" for i in range(5)]
    assert (stats.handled, stats.released) == (5, 0)
    assert await queue.count(include_in_flight=True) == 0

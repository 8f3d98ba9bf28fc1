"""consume_batches() over the fake SQS: partial failures, whole-batch outcomes, FIFO order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from faults import FakeSQS, fake_connection, visibility_changes, wait_for

from sqs_async import HandlerCall, Message, Retry

SOON = 5.0


async def test_a_batch_handler_reports_partial_failures_by_message_or_by_id() -> None:
    fake = FakeSQS()
    fake.add(*(f"b{i:02d}" for i in range(25)))
    sizes: list[int] = []

    async def handler(messages: list[Message]) -> list[Message | str]:
        sizes.append(len(messages))
        failed: list[Message | str] = []
        for message in messages:
            if message.get_body() == "b03":
                failed.append(message)
            elif message.get_body() == "b17":
                failed.append(message.id or "")
        return failed

    transport = fake.transport()
    async with fake_connection(transport) as conn:
        consumer = conn.queue(fake.url).consume_batches(
            handler, max_batch=10, max_wait=0.05, wait_time_seconds=0, retry_backoff=30
        )
        task = asyncio.create_task(consumer)
        await wait_for(lambda: len(fake.deleted) == 23, SOON)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert all(size <= 10 for size in sizes)
    assert sum(sizes) == 25
    assert sorted(m.body for m in fake.messages.values()) == ["b03", "b17"]
    assert visibility_changes(fake, transport) == {"b03": [30], "b17": [30]}


async def test_raising_fails_the_whole_batch_and_retry_applies_to_all_of_it() -> None:
    fake = FakeSQS()
    fake.add("a", "b", "c")
    calls: list[list[str]] = []

    async def handler(messages: list[Message]) -> None:
        calls.append([m.get_body() for m in messages])
        if len(calls) == 1:
            raise Retry(delay=1)

    transport = fake.transport()
    async with fake_connection(transport) as conn:
        stats = await conn.queue(fake.url).consume_batches(
            handler, max_wait=0.05, wait_time_seconds=0, stop_when_empty=True
        )
    assert sorted(calls[0]) == ["a", "b", "c"]
    assert sorted(b for call in calls[1:] for b in call) == ["a", "b", "c"]
    assert visibility_changes(fake, transport) == {"a": [1], "b": [1], "c": [1]}
    assert (stats.failed, stats.retried, stats.handled, stats.deleted) == (3, 3, 3, 3)
    assert fake.messages == {}


async def test_a_batch_handler_returning_a_stranger_fails_its_batch() -> None:
    fake = FakeSQS()
    fake.add("a")
    outsider = Message.from_wire({"MessageId": "x", "ReceiptHandle": "h", "Body": "x"})

    async def handler(messages: list[Message]) -> list[Message]:
        return [outsider]

    async with fake_connection(fake.transport()) as conn:
        consumer = conn.queue(fake.url).consume_batches(
            handler, max_wait=0.01, wait_time_seconds=0, retry_backoff=30
        )
        task = asyncio.create_task(consumer)
        await wait_for(lambda: bool(fake.in_flight()), SOON)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert list(fake.messages) == fake.sent  # not deleted


async def test_fifo_batches_keep_group_order_and_hold_back_what_follows_a_failure() -> None:
    fake = FakeSQS(fifo=True)
    fake.add("g1-0", "g1-1", "g1-2", "g1-3", group="g1")
    fake.add("g2-0", "g2-1", group="g2")
    batches: list[list[str]] = []

    async def handler(messages: list[Message]) -> list[Message]:
        bodies = [m.get_body() for m in messages]
        batches.append(bodies)
        return [m for m in messages if m.get_body() == "g1-1" and len(batches) == 1]

    transport = fake.transport()
    async with fake_connection(transport) as conn:
        stats = await conn.queue(fake.url).consume_batches(
            handler, max_wait=0.05, wait_time_seconds=0, retry_backoff=1, stop_when_empty=True
        )
    for bodies in batches:  # within a batch, each group's messages are in order
        for group in ("g1", "g2"):
            seqs = [int(b[-1]) for b in bodies if b.startswith(group)]
            assert seqs == sorted(seqs)
    first = batches[0]
    assert "g1-1" in first
    later = [b for bodies in batches[1:] for b in bodies]
    # g1-2 and g1-3 were not deleted after g1-1 failed: they came again, after it
    assert later.index("g1-1") < later.index("g1-2") < later.index("g1-3")
    assert fake.messages == {}
    assert stats.handled == 6


async def test_middleware_sees_the_batch() -> None:
    fake = FakeSQS()
    fake.add("a", "b")
    seen: list[tuple[bool, int]] = []

    async def middleware(call: HandlerCall, call_next: Callable[[], Awaitable[Any]]) -> Any:
        seen.append((call.batch, len(call.messages)))
        return await call_next()

    def handler(messages: list[Message]) -> None:  # a plain def, in a thread
        pass

    async with fake_connection(fake.transport()) as conn:
        stats = await conn.queue(fake.url).consume_batches(
            handler,
            max_wait=0.05,
            wait_time_seconds=0,
            stop_when_empty=True,
            middleware=[middleware],
        )
    assert seen == [(True, 2)]
    assert (stats.handled, stats.deleted) == (2, 2)

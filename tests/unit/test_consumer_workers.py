"""consume()'s workers: a handler runs in a long-lived worker task, not a task of its own,
yet behaves as if it had one (fresh context, a cancel meant for one message only); receives
get their hard deadline from one shared timer. In-memory SQS, no sockets."""

from __future__ import annotations

import asyncio
import contextvars
import logging

import pytest
from faults import FakeSQS, fake_connection, wait_for

from sqs_async import Message
from sqs_async._fetcher import Fetcher

SOON = 3.0

SEEN: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="-")


async def test_each_handler_starts_in_a_fresh_context() -> None:
    fake = FakeSQS()
    fake.add("a", "b", "c")
    seen: list[str] = []

    async def handler(message: Message) -> None:
        seen.append(SEEN.get())
        SEEN.set(message.get_body())  # never reset: the next handler must not see it

    async with fake_connection(fake.transport()) as conn:
        stats = await conn.queue(fake.url).consume(
            handler, concurrency=1, wait_time_seconds=0, stop_when_empty=True
        )
    assert seen == ["-", "-", "-"]
    assert (stats.handled, stats.deleted) == (3, 3)
    assert SEEN.get() == "-"


async def test_a_worker_goes_on_after_its_handler_was_cancelled_for_a_lost_lease() -> None:
    fake = FakeSQS()
    fake.add("doomed", "next")
    running = asyncio.Event()
    events: list[str] = []

    async def handler(message: Message) -> None:
        if message.get_body() == "doomed":
            running.set()
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                events.append("doomed cancelled")
                raise
        await asyncio.sleep(0)  # a suspension point: a cancel left pending would land here
        task = asyncio.current_task()
        assert task is not None
        events.append(f"next handled, cancelling={task.cancelling()}")  # as in a fresh task

    async with fake_connection(fake.transport()) as conn:
        consumer = conn.queue(fake.url).consumer(
            handler, visibility_timeout=2, wait_time_seconds=0, concurrency=1
        )
        task = asyncio.create_task(consumer.run())
        await asyncio.wait_for(running.wait(), SOON)
        doomed = next(m for m in fake.messages.values() if m.body == "doomed")
        doomed.handle = "redelivered elsewhere"  # our receipt handle is now stale
        await wait_for(lambda: len(events) == 2, SOON)
        consumer.stop()
        stats = await task
    assert events == ["doomed cancelled", "next handled, cancelling=0"]  # one worker
    assert (stats.leases_lost, stats.handled, stats.deleted) == (1, 1, 1)
    assert [m.body for m in fake.messages.values()] == ["doomed"]  # left alone, not deleted


async def test_a_receive_past_its_hard_deadline_is_given_up_and_retried(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="sqs_async")
    monkeypatch.setattr(Fetcher, "_deadline", lambda self: 0.2)  # the fake's reads end at 0.5 s
    fake = FakeSQS()
    fake.add("late")
    fake.hang["ReceiveMessage"] = "before"
    seen: list[str] = []

    async def handler(message: Message) -> None:
        seen.append(message.get_body())

    async with fake_connection(fake.transport()) as conn:
        consumer = conn.queue(fake.url).consumer(handler, wait_time_seconds=0, pollers=1)
        task = asyncio.create_task(consumer.run())
        await wait_for(lambda: fake.hung["ReceiveMessage"] == 1, SOON)
        del fake.hang["ReceiveMessage"]  # the next receive is answered
        await wait_for(lambda: seen == ["late"], SOON)
        consumer.stop()
        stats = await task
    assert stats.receive_errors == 1
    assert fake.hung["ReceiveMessage"] == 1
    (record,) = [r for r in caplog.records if "receive from" in r.getMessage()]
    assert "no answer to a receive within 0 s" in record.getMessage()  # the deadline, not a read

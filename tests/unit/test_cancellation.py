"""Cancellation: a server that never answers, ``asyncio.timeout()`` around every kind of call.

The fake (``tests/faults.py``) can hang an operation before it acts (the server never saw it)
or after (it acted, the answer never comes); a hung request ends as a real transport's would,
with a ReadTimeout at its read timeout. After each scenario: no task left behind (compared with
``asyncio.all_tasks()`` before), and in the fake's state no message lost (deleted without a
successful handler, or gone) and none duplicated.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from faults import FakeSQS, HangMode, cyclic_gc_paused, wait_for

from sqs_async import Message, Queue, RetryPolicy, SQSConnection, Timeouts

READ_TIMEOUT = 0.2  # how long a hung request lasts (the fake honours the read timeout)
SOON = 5.0


def _connection(fake: FakeSQS) -> SQSConnection:
    return SQSConnection(
        "testing",
        "testing",
        region="us-east-1",
        endpoint_url="http://sqs.invalid",
        transport=fake.transport(),
        retry=RetryPolicy(max_attempts=1),
        timeouts=Timeouts(read=READ_TIMEOUT),
    )


async def _no_new_tasks(before: set[asyncio.Task[Any]]) -> None:
    """Wait (briefly) for tasks that are finishing; fail if any other task is still there."""
    current = asyncio.current_task()

    def settled() -> bool:
        return {t for t in asyncio.all_tasks() if not t.done()} - before - {current} == set()

    try:
        await wait_for(settled, 1.0, interval=0.01)
    except AssertionError:
        leaked = {t for t in asyncio.all_tasks() if not t.done()} - before - {current}
        raise AssertionError(f"tasks left behind: {leaked}") from None


Call = Callable[[Queue, list[Message]], Awaitable[object]]

CALLS: dict[str, tuple[str, Call]] = {
    # name: (operation that hangs, the call)
    "write": ("SendMessage", lambda q, ms: q.write("new")),
    "write_batch": ("SendMessageBatch", lambda q, ms: q.write_batch(["n1", "n2"])),
    "get_messages": ("ReceiveMessage", lambda q, ms: q.get_messages(10)),
    "read": ("ReceiveMessage", lambda q, ms: q.read(wait_time_seconds=1)),
    "delete_message": ("DeleteMessage", lambda q, ms: q.delete_message(ms[0])),
    "delete_message_batch": ("DeleteMessageBatch", lambda q, ms: q.delete_message_batch(ms)),
    "change_visibility": (
        "ChangeMessageVisibility",
        lambda q, ms: q.change_message_visibility(ms[0], 0),
    ),
    "change_visibility_batch": (
        "ChangeMessageVisibilityBatch",
        lambda q, ms: q.change_message_visibility_batch(ms, 0),
    ),
    "count": ("GetQueueAttributes", lambda q, ms: q.count(include_in_flight=True)),
}


@pytest.mark.parametrize("mode", ["before", "after"])
@pytest.mark.parametrize("name", list(CALLS))
async def test_a_call_cut_short_by_a_timeout_leaves_no_task_and_no_duplicate(
    name: str, mode: HangMode
) -> None:
    operation, call = CALLS[name]
    fake = FakeSQS()
    fake.add("a", "b", "c")
    async with _connection(fake) as conn:
        queue = conn.queue(fake.url)
        held = await queue.get_messages(2, 30)
        snapshot = {m.id: (m.body, m.visible_at, m.receive_count) for m in fake.messages.values()}
        before = set(asyncio.all_tasks())
        fake.hang[operation] = mode
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await call(queue, held)
        await _no_new_tasks(before)
        assert fake.hung[operation] == 1
    assert fake.hung[operation] == 1  # never retried behind the caller's back
    now = {m.id: (m.body, m.visible_at, m.receive_count) for m in fake.messages.values()}
    if mode == "before":
        assert now == snapshot  # the server never saw it
    bodies = fake.bodies()
    assert len(bodies) == len(set(bodies))  # nothing stored twice
    assert set(bodies) >= {"c"}  # the message nobody touched is still there


@pytest.mark.parametrize("mode", ["before", "after"])
async def test_a_batch_writer_write_cut_short_leaves_nothing_behind(mode: HangMode) -> None:
    fake = FakeSQS()
    before = set(asyncio.all_tasks())
    async with _connection(fake) as conn:
        fake.hang["SendMessageBatch"] = mode
        async with conn.queue(fake.url).batch_writer() as writer:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.01):
                    await writer.write("cut short")
            del fake.hang["SendMessageBatch"]
            assert (await writer.write("next")).id
        # leaving the writer waited for the hung batch (it ends at the read timeout)
    await _no_new_tasks(before)
    assert sorted(fake.bodies()) == (["cut short", "next"] if mode == "after" else ["next"])


@pytest.mark.parametrize(
    "operation", ["ReceiveMessage", "DeleteMessageBatch", "ChangeMessageVisibilityBatch"]
)
@pytest.mark.parametrize("mode", ["before", "after"])
async def test_consume_cut_short_while_the_server_hangs(operation: str, mode: HangMode) -> None:
    fake = FakeSQS(visibility_timeout=3)
    fake.add(*(f"b{i}" for i in range(10)))
    fake.hang[operation] = mode
    succeeded: set[str] = set()
    early: list[str] = []
    fake.on_delete = lambda m: None if m.body in succeeded else early.append(m.body)

    async def handler(message: Message) -> None:
        await asyncio.sleep(0.005)
        succeeded.add(message.get_body())

    before = set(asyncio.all_tasks())
    async with _connection(fake) as conn:
        queue = conn.queue(fake.url)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await queue.consume(
                    handler, visibility_timeout=3, wait_time_seconds=0, drain_timeout=0.01
                )
    await _no_new_tasks(before)  # what the consumer handed to the connection ended by close()
    assert early == []
    assert len(fake.bodies()) == len(set(fake.bodies()))
    assert set(fake.bodies()) | set(succeeded) == {f"b{i}" for i in range(10)}  # none lost


async def test_consume_cancelled_again_and_again_loses_and_leaks_nothing() -> None:
    rng = random.Random(3)
    fake = FakeSQS(visibility_timeout=3)
    bodies = {f"b{i:02d}" for i in range(60)}
    fake.add(*sorted(bodies))
    succeeded: set[str] = set()
    early: list[str] = []
    fake.on_delete = lambda m: None if m.body in succeeded else early.append(m.body)

    async def handler(message: Message) -> None:
        await asyncio.sleep(rng.random() * 0.01)
        if rng.random() < 0.2:
            raise RuntimeError("handler failure")
        succeeded.add(message.get_body())

    before = set(asyncio.all_tasks())
    async with _connection(fake) as conn:
        queue = conn.queue(fake.url)
        for timeout in (0.0, 0.001, 0.003, 0.005, 0.01, 0.02, 0.03, 0.05) * 3:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(timeout):
                    await queue.consume(
                        handler,
                        concurrency=4,
                        visibility_timeout=3,
                        wait_time_seconds=0,
                        retry_backoff=0,
                        drain_timeout=0.002,
                    )
            assert early == []
            # every message not deleted is visible again at once (well before the 3 s timeout)
            await wait_for(lambda: not fake.in_flight(), 1.0, interval=0.01)
        await queue.consume(handler, wait_time_seconds=0, retry_backoff=0, stop_when_empty=True)
        await wait_for(lambda: not fake.messages, SOON)
    await _no_new_tasks(before)
    assert early == []
    assert succeeded == bodies
    assert sorted(fake.deleted) == sorted(set(fake.deleted))
    assert len(fake.deleted) == 60


async def test_an_async_with_stream_cut_short_releases_its_buffer() -> None:
    fake = FakeSQS(visibility_timeout=30)
    fake.add(*(f"b{i}" for i in range(20)))
    got: list[Message] = []
    before = set(asyncio.all_tasks())
    async with _connection(fake) as conn, cyclic_gc_paused():

        async def iterate() -> None:
            async with conn.queue(fake.url).messages(wait_time_seconds=0) as stream:
                async for message in stream:
                    got.append(message)
                    await asyncio.sleep(10)

        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await iterate()
        assert len(fake.in_flight()) == 1
        assert len(fake.visible()) == 19  # at once
    await _no_new_tasks(before)
    assert len(got) == 1


async def test_an_async_for_cut_short_releases_its_buffer() -> None:
    fake = FakeSQS(visibility_timeout=30)
    fake.add(*(f"b{i}" for i in range(20)))
    got: list[Message] = []
    async with _connection(fake) as conn, cyclic_gc_paused():

        async def iterate() -> None:
            async for message in conn.queue(fake.url).messages(wait_time_seconds=0):
                got.append(message)
                await asyncio.sleep(10)

        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await iterate()
        await wait_for(lambda: len(fake.visible()) == 19, 1.0)
    assert len(got) == 1

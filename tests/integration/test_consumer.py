"""Consumers against a real server (moto): cancellation, heartbeats, pools, FIFO, the stream.

The fault proxy is used here only to observe (how many long polls are parked right now); the
injected-fault scenarios are in ``test_consumer_faults.py``.
"""

from __future__ import annotations

import asyncio
import collections
import time

import pytest
from compat import (
    LOCAL_COUNTS_IN_FLIGHT,
    LOCAL_LONG_POLL_WAITS_FOR_A_FULL_BATCH,
    LOCAL_NO_GROUP_LOCK,
    known_divergent,
)
from faults import FaultProxy, QueueMaker, connect, cyclic_gc_paused, wait_for

from sqs_async import Message, Queue, SQSConnection
from sqs_async._fetcher import PARKED_VISIBILITY

pytest_plugins = ["faults"]
pytestmark = pytest.mark.integration

DEADLINE = 15.0
RELEASE_DEADLINE = 5.0  # "at once": far below the 60 s visibility timeout of these queues
STOP_DEADLINE = 5.0  # "promptly": far below the 20 s long polls the stop must not wait for


async def _receive_n(queue: Queue, count: int, visibility_timeout: int) -> list[Message]:
    got: dict[str, Message] = {}
    deadline = time.monotonic() + DEADLINE
    while len(got) < count:
        assert time.monotonic() < deadline, f"received {len(got)} of {count}"
        for message in await queue.get_messages(count - len(got), visibility_timeout):
            got[message.id or ""] = message
    return list(got.values())


# -- cancellation during a long poll -------------------------------------------------------


@pytest.mark.parametrize("api", ["consume", "stop", "async-for"])
async def test_stopping_abandons_parked_polls_and_nothing_is_held_hostage(
    api: str, fault_proxy: FaultProxy, make_queue: QueueMaker
) -> None:
    queue = await make_queue(visibility_timeout=60)
    handled: list[Message] = []

    async def handler(message: Message) -> None:
        handled.append(message)

    conn = connect(fault_proxy.endpoint_url)
    proxied = conn.queue(queue.url)
    consumer = proxied.consumer(handler, wait_time_seconds=20, pollers=2)
    stream = proxied.messages(wait_time_seconds=20, pollers=2)

    async def iterate() -> None:
        async with stream:
            async for message in stream:
                handled.append(message)

    task = asyncio.create_task(iterate() if api == "async-for" else consumer.run())
    await wait_for(lambda: fault_proxy.active["ReceiveMessage"] == 2, DEADLINE)
    # Both polls are parked for up to 20 s: stopping and closing must not wait for them.
    async with asyncio.timeout(STOP_DEADLINE):
        if api == "stop":
            consumer.stop()
            await task
        else:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        await conn.close()
    assert fault_proxy.active["ReceiveMessage"] == 2  # still parked on the server
    stats = (stream if api == "async-for" else consumer).statistics()
    assert (stats.abandoned_polls, stats.pollers_alive, stats.received) == (2, 0, 0)
    # The parked polls take what is sent now, on the server side, for nobody. They asked
    # for a short visibility, so it comes back within seconds, not after 60 s.
    await queue.write_batch([f"late {i}" for i in range(5)])
    await wait_for(lambda: fault_proxy.active["ReceiveMessage"] == 0, DEADLINE)
    await wait_for(lambda: _count_is(queue, 5), PARKED_VISIBILITY + RELEASE_DEADLINE)
    assert handled == []
    assert fault_proxy.requests["ReceiveMessage"] == 2


async def _count_is(queue: Queue, expected: int) -> bool:
    return await queue.count() == expected


# -- heartbeats ----------------------------------------------------------------------------


@known_divergent("local-aws-sqs", LOCAL_LONG_POLL_WAITS_FOR_A_FULL_BATCH)
@pytest.mark.parametrize("lease", [2, 1])  # 1: the smallest lease (issue 14)
async def test_a_handler_running_four_visibility_timeouts_keeps_its_message(
    lease: int, sqs_endpoint: str, make_queue: QueueMaker
) -> None:
    queue = await make_queue(visibility_timeout=lease)
    sent = await queue.write("long job")
    started = asyncio.Event()
    finished = asyncio.Event()

    async def handler(message: Message) -> None:
        started.set()
        await asyncio.sleep(4 * lease)  # the work: four visibility timeouts long
        finished.set()

    seen_elsewhere: list[Message] = []
    async with connect(sqs_endpoint) as conn, connect(sqs_endpoint) as other:
        consumer = conn.queue(queue.url).consumer(
            handler, visibility_timeout=lease, wait_time_seconds=1, concurrency=1
        )
        task = asyncio.create_task(consumer.run())
        await asyncio.wait_for(started.wait(), DEADLINE)
        rival = other.queue(queue.url)
        while not finished.is_set():  # a second receiver polls all along
            seen_elsewhere += await rival.get_messages(10, 1, wait_time_seconds=1)
        await wait_for(lambda: consumer.statistics().deleted == 1, DEADLINE)
        consumer.stop()
        stats = await task
    assert seen_elsewhere == []
    assert (stats.handled, stats.deleted, stats.leases_lost, stats.failed) == (1, 1, 0, 0)
    assert await queue.count(include_in_flight=True) == 0
    assert sent.id is not None


# -- the poll pool is separate -------------------------------------------------------------


async def test_deletes_flow_while_long_polls_hold_every_poll_connection(
    fault_proxy: FaultProxy, make_queue: QueueMaker
) -> None:
    empty = await make_queue()
    busy = await make_queue(visibility_timeout=60)
    await busy.write_batch([f"m{i}" for i in range(20)])
    async with connect(fault_proxy.endpoint_url, max_poll_connections=2) as conn:
        parked_queue = conn.queue(empty.url)
        work = conn.queue(busy.url)
        held = await _receive_n(work, 20, 60)
        polls = [
            asyncio.create_task(parked_queue.get_messages(1, wait_time_seconds=10))
            for _ in range(3)
        ]
        await wait_for(lambda: fault_proxy.active["ReceiveMessage"] == 2, DEADLINE)
        async with asyncio.timeout(5):  # an outcome (they complete), not a speed goal
            assert not (await work.delete_message_batch(held[:10])).failed
            assert await work.delete_message(held[10])
            assert not (await work.change_message_visibility_batch(held[11:15], 0)).failed
            assert await work.change_message_visibility(held[15], 0)
            assert (await work.write("sent meanwhile")).id
            assert isinstance(await work.count(), int)
        assert not any(poll.done() for poll in polls)
        assert fault_proxy.active["ReceiveMessage"] == 2  # the third waits for a connection
        await empty.write_batch(["a", "b", "c"])  # one for each poll, so they end now
        results = await asyncio.wait_for(asyncio.gather(*polls), DEADLINE)
        assert sorted(m.get_body() for batch in results for m in batch) == ["a", "b", "c"]
        assert not (await parked_queue.delete_message_batch([m for r in results for m in r])).failed


# -- FIFO ----------------------------------------------------------------------------------


@known_divergent("local-aws-sqs", LOCAL_NO_GROUP_LOCK)
async def test_fifo_groups_are_handled_in_order_one_at_a_time_and_in_parallel(
    sqs_connection: SQSConnection, make_queue: QueueMaker
) -> None:
    groups, per_group = 5, 10
    queue = await make_queue(fifo=True, attributes={"ContentBasedDeduplication": True})
    for group in range(groups):
        bodies = [f"g{group}-{seq}" for seq in range(per_group)]
        assert not (await queue.write_batch(bodies, group_id=f"g{group}")).failed
    active: collections.Counter[str] = collections.Counter()
    starts: dict[str, list[int]] = collections.defaultdict(list)
    ends: dict[str, list[int]] = collections.defaultdict(list)
    overlapping: list[str] = []
    running = 0
    most_running = 0

    async def handler(message: Message) -> None:
        nonlocal running, most_running
        group, _, seq = message.get_body().partition("-")
        if active[group]:
            overlapping.append(message.get_body())
        active[group] += 1
        running += 1
        most_running = max(most_running, running)
        starts[group].append(int(seq))
        await asyncio.sleep(0.02)
        ends[group].append(int(seq))
        running -= 1
        active[group] -= 1

    consumer = queue.consumer(handler, concurrency=8, wait_time_seconds=1, visibility_timeout=30)
    task = asyncio.create_task(consumer.run())
    await wait_for(lambda: sum(map(len, ends.values())) == groups * per_group, 60.0)
    consumer.stop()
    stats = await task
    expected = list(range(per_group))
    assert {group: seqs for group, seqs in starts.items()} == {
        f"g{g}": expected for g in range(groups)
    }
    assert all(seqs == expected for seqs in ends.values())
    assert overlapping == []
    assert most_running > 1  # different groups ran in parallel
    assert stats.handled == stats.deleted == groups * per_group
    await wait_for(lambda: _count_is(queue, 0), DEADLINE)


# -- the message stream --------------------------------------------------------------------


@pytest.fixture
async def loaded(make_queue: QueueMaker) -> Queue:
    queue = await make_queue(visibility_timeout=60)
    assert not (await queue.write_batch([f"b{i:02d}" for i in range(25)])).failed
    return queue


@known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)
async def test_breaking_out_of_async_for_releases_the_buffered_messages(
    sqs_endpoint: str, loaded: Queue
) -> None:
    # The cyclic GC is paused, as it effectively is for long-lived objects in a long-running
    # process: the release must not depend on it. One poller and room for one receive: when
    # the loop is left, the other 9 are buffered and no receive is in flight (one in flight
    # is abandoned, and what it took comes back only after PARKED_VISIBILITY; see below).
    async with connect(sqs_endpoint) as conn, cyclic_gc_paused():
        async for message in conn.queue(loaded.url).messages(pollers=1, prefetch=10):
            first = message
            break
        # Without the release at most 25 - 10 would be visible (the first receive took 10).
        await wait_for(lambda: _count_is(loaded, 24), RELEASE_DEADLINE)
        assert await first.delete()


@known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)
async def test_leaving_async_with_releases_the_buffered_messages(
    sqs_endpoint: str, loaded: Queue
) -> None:
    async with connect(sqs_endpoint) as conn:
        async with conn.queue(loaded.url).messages(wait_time_seconds=1) as stream:
            async for message in stream:
                first = message
                break
        # Buffered messages are released at once. The default two pollers may have a second
        # receive in flight at the exit: one that may park (as the first receives may) is
        # abandoned, and what the server handed it is visible again after PARKED_VISIBILITY
        # seconds (by design: a prompt stop, nothing held for the whole timeout). Whether
        # that happened depends on the loop's timing; the statistics say which.
        abandoned = stream.statistics().abandoned_polls
        deadline = RELEASE_DEADLINE + (PARKED_VISIBILITY if abandoned else 0)
        await wait_for(lambda: _count_is(loaded, 24), deadline)
        assert await first.delete()
    # A receive still in flight at the exit is released as it lands; closing the connection
    # waits for it, so only now are the counts final (read earlier, a late receive could be
    # counted as received but not yet as released).
    stats = stream.statistics()
    assert stats.received >= 10
    assert stats.released == stats.received - 1
    assert stats.buffered == 0
    assert stats.deleted == 1  # the first one, deleted directly once the stream was closed


async def test_stop_when_empty_streams_exactly_what_was_queued(
    sqs_endpoint: str, loaded: Queue
) -> None:
    seen: list[str] = []
    async with connect(sqs_endpoint) as conn:
        async with conn.queue(loaded.url).messages(
            wait_time_seconds=1, stop_when_empty=True
        ) as stream:
            async for message in stream:
                seen.append(message.get_body())
                await message.delete()
        stats = stream.statistics()
    assert sorted(seen) == [f"b{i:02d}" for i in range(25)]
    assert (stats.received, stats.deleted, stats.released, stats.buffered) == (25, 25, 0, 0)
    assert await loaded.count(include_in_flight=True) == 0


async def test_consume_stop_when_empty_handles_exactly_what_was_queued(
    sqs_endpoint: str, loaded: Queue
) -> None:
    seen: list[str] = []

    async def handler(message: Message) -> None:
        seen.append(message.get_body())

    async with connect(sqs_endpoint) as conn:
        stats = await conn.queue(loaded.url).consume(
            handler, concurrency=4, wait_time_seconds=1, stop_when_empty=True
        )
    assert sorted(seen) == [f"b{i:02d}" for i in range(25)]
    assert (stats.received, stats.handled, stats.deleted, stats.failed) == (25, 25, 25, 0)
    assert (stats.in_flight, stats.buffered, stats.leases_lost, stats.released) == (0, 0, 0, 0)
    assert stats.lease_headroom is None
    assert await loaded.count(include_in_flight=True) == 0

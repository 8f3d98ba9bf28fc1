"""``queue.batch_writer()`` against a real server (moto), through the fault proxy.

The proxy counts the SendMessageBatch calls and fails chosen entries (taken out of the request,
so the server never stores them, and reported back as ``Failed``).
"""

from __future__ import annotations

import asyncio
import math
import time

import pytest
from faults import EntryFailure, FaultProxy, QueueMaker, connect, wait_for

from sqs_async import InvalidRequestError, Message, Queue, RetryPolicy, ServiceUnavailable

pytest_plugins = ["faults"]
pytestmark = pytest.mark.integration

DEADLINE = 60.0


async def _drain(queue: Queue, expected: int, out: dict[str, str]) -> None:
    """Receive and delete until ``expected`` distinct messages arrived (keeps moto shallow:
    its cost per message grows with queue depth).

    A message received twice is tolerated (SQS delivers at least once; moto even hands one
    message to two concurrent receives now and then), as long as it is the same message.
    """
    deadline = time.monotonic() + DEADLINE
    while len(out) < expected:
        assert time.monotonic() < deadline, f"received {len(out)} of {expected}"
        batch = await queue.get_messages(10, 60, wait_time_seconds=1)
        for message in batch:
            assert out.setdefault(message.id or "", message.get_body()) == message.get_body()
        if batch:
            await queue.delete_message_batch(batch)


async def test_a_thousand_concurrent_writes_are_coalesced_and_each_gets_its_result(
    fault_proxy: FaultProxy, make_queue: QueueMaker
) -> None:
    queue = await make_queue(visibility_timeout=60)
    bodies = [f"job {i:04d}" for i in range(1000)]
    received: dict[str, str] = {}
    started = time.monotonic()
    drainers = [asyncio.create_task(_drain(queue, len(bodies), received)) for _ in range(2)]

    async def backlog_is_short() -> None:  # moto slows down as the queue deepens
        sent = fault_proxy.forwarded
        await wait_for(
            lambda: 10 * sent["SendMessageBatch"] - len(received) <= 30, DEADLINE, interval=0.01
        )

    fault_proxy.gate("SendMessageBatch", backlog_is_short)
    async with (
        connect(fault_proxy.endpoint_url) as conn,
        conn.queue(queue.url).batch_writer(max_concurrent=4) as writer,
    ):
        written = await asyncio.gather(*(writer.write(body) for body in bodies))
    await asyncio.gather(*drainers)
    elapsed = time.monotonic() - started
    calls = fault_proxy.requests["SendMessageBatch"]
    print(f"\nbatch writer: 1000 writes in {calls} SendMessageBatch calls, {elapsed:.1f}s")
    assert calls == writer.calls
    assert calls <= math.ceil(len(bodies) / 10) + 2
    assert all(isinstance(m, Message) and m.id and m.md5 for m in written)
    assert [m.get_body() for m in written] == bodies  # each caller got its own message back
    assert received == {m.id: m.get_body() for m in written}


async def test_a_failed_entry_fails_only_its_caller_and_retriable_entries_are_retried(
    fault_proxy: FaultProxy, make_queue: QueueMaker
) -> None:
    queue = await make_queue(visibility_timeout=60)
    poison = fault_proxy.fail_entries(
        EntryFailure(
            "SendMessageBatch",
            "InvalidMessageContents",
            match=lambda entry: entry["MessageBody"] == "poison",
            times=None,
        )
    )
    flaky = fault_proxy.fail_entries(
        EntryFailure(
            "SendMessageBatch",
            "InternalError",
            match=lambda entry: entry["MessageBody"] == "flaky",
            times=1,
            sender_fault=False,
        )
    )
    throttled = fault_proxy.fail_entries(
        EntryFailure(
            "SendMessageBatch",
            "RequestThrottled",
            match=lambda entry: entry["MessageBody"] == "throttled",
            times=2,
        )
    )
    bodies = [f"ok {i}" for i in range(17)] + ["poison", "flaky", "throttled"]
    async with (
        connect(fault_proxy.endpoint_url) as conn,
        conn.queue(queue.url).batch_writer(linger=0.05) as writer,
    ):
        results = await asyncio.gather(
            *(writer.write(body) for body in bodies), return_exceptions=True
        )
    outcome = dict(zip(bodies, results, strict=True))
    error = outcome.pop("poison")
    assert isinstance(error, InvalidRequestError)
    assert error.code == "InvalidMessageContents"
    assert all(isinstance(m, Message) and m.id for m in outcome.values()), outcome
    assert (poison.failed, flaky.failed, throttled.failed) == (1, 1, 2)
    # two batches of 10, then the retries: flaky + throttled together, throttled once more
    assert writer.calls == fault_proxy.requests["SendMessageBatch"] == 4
    received: dict[str, str] = {}
    await _drain(queue, len(outcome), received)
    assert sorted(received.values()) == sorted(outcome)
    assert received == {m.id: body for body, m in outcome.items() if isinstance(m, Message)}


async def test_a_failed_batch_call_fails_the_callers_of_that_batch_only(
    fault_proxy: FaultProxy, make_queue: QueueMaker
) -> None:
    queue = await make_queue(visibility_timeout=60)
    fault_proxy.script("SendMessageBatch", "http500")
    bodies = [f"m{i:02d}" for i in range(20)]
    async with (
        connect(fault_proxy.endpoint_url, retry=RetryPolicy(max_attempts=1)) as conn,
        conn.queue(queue.url).batch_writer() as writer,
    ):
        results = await asyncio.gather(
            *(writer.write(body) for body in bodies), return_exceptions=True
        )
    failed = [b for b, r in zip(bodies, results, strict=True) if isinstance(r, BaseException)]
    assert len(failed) == 10
    assert all(isinstance(r, ServiceUnavailable) for r in results if isinstance(r, BaseException))
    assert failed in (bodies[:10], bodies[10:])  # exactly one whole batch
    await wait_for(lambda: _count_is(queue, 10), 10.0)
    received: dict[str, str] = {}
    await _drain(queue, 10, received)
    assert sorted(received.values()) == sorted(set(bodies) - set(failed))


async def _count_is(queue: Queue, expected: int) -> bool:
    return await queue.count() == expected

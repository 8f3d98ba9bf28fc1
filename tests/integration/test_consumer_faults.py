"""The consumer against a real server (moto) through a fault-injecting proxy.

The proxy (``tests/faults.py``) answers 500s, 503s and throttles, resets connections before and
after forwarding, stalls past the read timeout, truncates and garbles bodies. These tests check
outcomes, never timing: no message is lost, none is deleted before its handler succeeded, and a
lease the service refuses to renew cancels its handler.
"""

from __future__ import annotations

import asyncio
import collections
import random
import time
from typing import Any

import pytest
from compat import (
    LOCAL_FRESH_MESSAGE_DELAYED,
    LOCAL_IGNORES_SYSTEM_ATTRIBUTE_NAMES,
    known_divergent,
)
from faults import FAULTS, EntryFailure, Fault, FaultProxy, QueueMaker, connect, wait_for

from sqs_async import (
    ConnectError,
    Consumer,
    ConsumerHooks,
    ConsumerStatistics,
    Message,
    Queue,
    ReadTimeout,
    ResponseError,
    RetryPolicy,
    ServiceUnavailable,
    SQSConnection,
    SQSError,
    ThrottledError,
    Timeouts,
)

pytest_plugins = ["faults"]
pytestmark = pytest.mark.integration

DEADLINE = 15.0


# -- the proxy itself ----------------------------------------------------------------------

EXPECTED: dict[Fault, tuple[type[SQSError], bool]] = {
    # fault: (what the caller sees with retries off, whether the server stored the message)
    "http500": (ServiceUnavailable, False),
    "http503": (ServiceUnavailable, False),
    "throttle": (ThrottledError, False),
    "reset_before": (ConnectError, False),
    "reset_after": (ConnectError, True),
    "stall": (ReadTimeout, False),
    "truncate": (ResponseError, True),
    "garble": (ResponseError, True),
}


@known_divergent("local-aws-sqs", LOCAL_FRESH_MESSAGE_DELAYED)
@pytest.mark.parametrize("fault", FAULTS)
async def test_each_injected_fault_reaches_the_client_as_its_error(
    fault: Fault, fault_proxy: FaultProxy, make_queue: QueueMaker
) -> None:
    queue = await make_queue()
    error, stored = EXPECTED[fault]
    async with connect(
        fault_proxy.endpoint_url, retry=RetryPolicy(max_attempts=1), timeouts=Timeouts(read=1.0)
    ) as conn:
        fault_proxy.script("SendMessage", fault)
        with pytest.raises(error):
            await conn.queue(queue.url).write("hello")
        # the next request is served normally on a fresh connection
        await conn.queue(queue.url).write("again")
    assert fault_proxy.injected == {("SendMessage", fault): 1}
    assert await queue.count() == (2 if stored else 1)


# -- no loss -------------------------------------------------------------------------------

QUEUES = 4
PER_QUEUE = 500  # 2,000 messages in all
BACKLOG = 20  # unconsumed messages per queue: moto's per-message cost grows with queue depth
VISIBILITY = 3  # short, so that receives whose answer the client never heard come back soon
RESTARTS = (400, 800, 1200, 1600)  # cancel every consumer once this many messages succeeded
RATES: dict[str, dict[Fault, float]] = {
    "*": {
        "http500": 0.01,
        "http503": 0.01,
        "throttle": 0.02,
        "reset_before": 0.01,
        "reset_after": 0.02,
        "stall": 0.01,
        "truncate": 0.01,
        "garble": 0.01,
    }
}


class _Tally:
    """What the handlers did, checked against what the proxy saw."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.succeeded: set[str] = set()
        self.handled: collections.Counter[str] = collections.Counter()
        self.failures = 0
        self.per_queue: collections.Counter[str] = collections.Counter()
        self.body_of_handle: dict[str, str] = {}
        self.early_deletes: list[str] = []
        self.deleted_unsucceeded: list[str] = []

    async def handler(self, message: Message) -> None:
        body = message.get_body()
        # mostly instant; some slow enough to be running (and cancelled) at a restart
        await asyncio.sleep(0 if self.rng.random() < 0.8 else self.rng.random() * 0.05)
        if self.rng.random() < 0.1:
            self.failures += 1
            raise RuntimeError("injected handler failure")
        self.handled[body] += 1
        if body not in self.succeeded:
            self.succeeded.add(body)  # recorded before returning: before any delete
            self.per_queue[body.partition("-")[0]] += 1

    def on_response(self, operation: str, params: dict[str, Any], data: dict[str, Any]) -> None:
        if operation == "ReceiveMessage":
            for wire in data.get("Messages", ()):
                self.body_of_handle[wire["ReceiptHandle"]] = wire["Body"]

    def on_request(self, operation: str, params: dict[str, Any]) -> None:
        if operation == "DeleteMessage":
            handles = [params["ReceiptHandle"]]
        elif operation == "DeleteMessageBatch":
            handles = [entry["ReceiptHandle"] for entry in params["Entries"]]
        else:
            return
        for handle in handles:
            body = self.body_of_handle.get(handle, f"<unknown handle {handle[:12]}>")
            if body not in self.succeeded:
                self.early_deletes.append(body)


class _DeleteCheck(ConsumerHooks):
    def __init__(self, tally: _Tally) -> None:
        self.tally = tally

    def on_deleted(self, message: Message) -> None:
        if message.get_body() not in self.tally.succeeded:
            self.tally.deleted_unsucceeded.append(message.get_body())


async def _produce(queue: Queue, index: int, tally: _Tally) -> None:
    """Send PER_QUEUE messages, keeping at most BACKLOG of them unconsumed."""
    sent = 0

    def backlog_is_short() -> bool:
        return sent - tally.per_queue[f"q{index}"] <= BACKLOG

    for start in range(0, PER_QUEUE, 10):
        await wait_for(backlog_is_short, 60.0, interval=0.02)
        sent += 10
        result = await queue.write_batch([f"q{index}-{n:04d}" for n in range(start, start + 10)])
        assert not result.failed, result.failed


def _add(total: collections.Counter[str], stats: ConsumerStatistics) -> None:
    for name in ("received", "handled", "deleted", "failed", "released", "leases_lost"):
        total[name] += getattr(stats, name)
    total["receive_errors"] += stats.receive_errors


async def test_no_message_lost_under_faults_and_restarts(
    fault_proxy: FaultProxy, make_queue: QueueMaker, sqs_connection: SQSConnection
) -> None:
    tally = _Tally(seed=7)
    direct = [await make_queue(visibility_timeout=VISIBILITY) for _ in range(QUEUES)]
    fault_proxy.request_observers.append(tally.on_request)
    fault_proxy.response_observers.append(tally.on_response)
    fault_proxy.set_rates(RATES)
    totals: collections.Counter[str] = collections.Counter()
    started = time.monotonic()
    async with connect(fault_proxy.endpoint_url, timeouts=Timeouts(read=1.0)) as conn:
        queues = [conn.queue(q.url) for q in direct]
        producers = [
            asyncio.create_task(_produce(queue, i, tally)) for i, queue in enumerate(direct)
        ]

        def consumers() -> list[Consumer]:
            return [
                queue.consumer(
                    tally.handler,
                    concurrency=8,
                    prefetch=10,
                    visibility_timeout=VISIBILITY,
                    wait_time_seconds=1,
                    retry_backoff=0.5,
                    max_retry_backoff=2.0,
                    drain_timeout=0.02,  # short: some running handlers get cancelled
                    hooks=_DeleteCheck(tally),
                )
                for queue in queues
            ]

        threshold = 0

        def enough_succeeded() -> bool:
            return len(tally.succeeded) >= threshold

        for threshold in RESTARTS:  # run, then cancel everything mid-flight  # noqa: B007
            running = consumers()
            tasks = [asyncio.create_task(c.run()) for c in running]
            await wait_for(enough_succeeded, 90.0)
            for task in tasks:
                task.cancel()
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            assert all(isinstance(o, asyncio.CancelledError) for o in outcomes), outcomes
            for consumer in running:
                _add(totals, consumer.statistics())
        # the last run: until every message succeeded and every queue is empty
        running = consumers()
        tasks = [asyncio.create_task(c.run()) for c in running]
        await asyncio.gather(*producers)
        await wait_for(lambda: len(tally.succeeded) == QUEUES * PER_QUEUE, 90.0)
        fault_proxy.set_rates({})  # the emptiness check must not race a lost delete

        async def drained() -> bool:
            return (
                sum(await asyncio.gather(*(q.count(include_in_flight=True) for q in direct))) == 0
            )

        await wait_for(drained, 30.0, interval=0.25)
        for consumer in running:
            consumer.stop()
        for stats in await asyncio.gather(*tasks):
            _add(totals, stats)
    elapsed = time.monotonic() - started

    sent = {f"q{i}-{n:04d}" for i in range(QUEUES) for n in range(PER_QUEUE)}
    duplicates = {body: n for body, n in tally.handled.items() if n > 1}
    print(
        f"\nno-loss: {len(sent)} messages in {elapsed:.1f}s; handler runs "
        f"{sum(tally.handled.values())} ok + {tally.failures} failed; "
        f"{len(duplicates)} handled more than once (e.g. {sorted(duplicates.items())[:5]}); "
        f"consumer totals {dict(totals)}; proxy injected {fault_proxy.injected_by_fault()} "
        f"over requests {dict(fault_proxy.requests)}"
    )
    assert tally.succeeded == sent
    assert tally.early_deletes == []
    assert tally.deleted_unsucceeded == []
    assert await asyncio.gather(*(q.count(include_in_flight=True) for q in direct)) == [0] * QUEUES
    assert set(fault_proxy.injected_by_fault()) == set(FAULTS)  # every kind was exercised


# -- lease loss ----------------------------------------------------------------------------


@known_divergent("local-aws-sqs", LOCAL_IGNORES_SYSTEM_ATTRIBUTE_NAMES)
async def test_a_refused_renewal_cancels_the_handler_and_keeps_the_message(
    fault_proxy: FaultProxy, make_queue: QueueMaker
) -> None:
    queue = await make_queue(visibility_timeout=2)
    message = await queue.write("doomed")
    started = asyncio.Event()
    outcome: list[str] = []
    handles: list[str] = []

    async def handler(received: Message) -> None:
        handles.append(received.receipt_handle or "")
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise
        outcome.append("finished")

    deletes: list[dict[str, Any]] = []
    fault_proxy.request_observers.append(
        lambda op, params: deletes.append(params) if op.startswith("DeleteMessage") else None
    )
    refusal = fault_proxy.fail_entries(
        EntryFailure(
            "ChangeMessageVisibilityBatch",
            "ReceiptHandleIsInvalid",
            match=lambda entry: (
                entry["ReceiptHandle"] in handles and entry["VisibilityTimeout"] > 0
            ),
        )
    )
    async with connect(fault_proxy.endpoint_url) as conn:
        consumer = conn.queue(queue.url).consumer(
            handler, visibility_timeout=2, wait_time_seconds=1, concurrency=1
        )
        task = asyncio.create_task(consumer.run())
        await asyncio.wait_for(started.wait(), DEADLINE)
        await wait_for(lambda: outcome == ["cancelled"], DEADLINE)  # renewal due after ~1 s
        stats = consumer.statistics()
        consumer.stop()
        await task
    assert refusal.failed == 1
    assert stats.leases_lost == 1
    assert stats.deleted == 0
    assert stats.handled == 0
    assert deletes == []
    # not deleted, not released by us: it comes back once its visibility timeout runs out
    again = await queue.read(wait_time_seconds=5)
    deadline = time.monotonic() + DEADLINE
    while again is None and time.monotonic() < deadline:
        again = await queue.read(wait_time_seconds=5)
    assert again is not None
    assert again.id == message.id
    # At least the second receive: a poll still parked when the lease ran out may have been
    # handed the message in between and released it (SQS may do that too).
    assert int(again.attributes["ApproximateReceiveCount"]) >= 2
    await again.delete()

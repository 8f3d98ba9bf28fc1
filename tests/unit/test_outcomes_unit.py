"""Handler outcomes (Retry, Reject), middleware and plain-function handlers, over the fake SQS."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from faults import FakeSQS, fake_connection, visibility_changes, wait_for

from sqs_async import (
    ConsumerHooks,
    HandlerCall,
    Message,
    Reject,
    Retry,
)
from sqs_async._outcomes import FailureLog, add_middleware, remove_middleware

SOON = 5.0

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


# -- Retry ---------------------------------------------------------------------------------


async def test_retry_sets_exactly_the_delay_asked_for_and_counts_as_a_failure() -> None:
    fake = FakeSQS()
    fake.add("again", "fine")
    failed: list[BaseException] = []

    class Hooks(ConsumerHooks):
        def on_failed(self, message: Message, error: BaseException) -> None:
            failed.append(error)

    async def handler(message: Message) -> None:
        if message.get_body() == "again":
            raise Retry(delay=7)

    transport = fake.transport()
    async with fake_connection(transport) as conn:
        consumer = conn.queue(fake.url).consumer(
            handler, wait_time_seconds=0, retry_backoff=5, hooks=Hooks()
        )
        task = asyncio.create_task(consumer.run())
        await wait_for(lambda: consumer.statistics().retried == 1, SOON)
        await wait_for(lambda: consumer.statistics().deleted == 1, SOON)
        consumer.stop()
        stats = await task
    # receive count 1 with retry_backoff=5 would back off 5 s: the handler's 7 s wins, alone
    assert visibility_changes(fake, transport) == {"again": [7]}
    assert (stats.handled, stats.failed, stats.retried, stats.rejected) == (1, 1, 1, 0)
    assert [type(e) for e in failed] == [Retry]
    assert [m.body for m in fake.in_flight()] == ["again"]


def test_retry_refuses_a_delay_sqs_cannot_set() -> None:
    with pytest.raises(ValueError, match="43200"):
        Retry(delay=43_201)
    with pytest.raises(ValueError, match="between 0"):
        Retry(delay=-1)


# -- Reject without a dead-letter queue ----------------------------------------------------


async def test_reject_without_a_dead_letter_queue_logs_an_error_and_backs_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeSQS()  # GetQueueAttributes: no RedrivePolicy
    fake.add("poison")

    async def handler(message: Message) -> None:
        raise Reject("cannot parse")

    transport = fake.transport()
    caplog.set_level(logging.WARNING, logger="sqs_async")
    async with fake_connection(transport) as conn:
        consumer = conn.queue(fake.url).consumer(handler, wait_time_seconds=0, retry_backoff=3)
        task = asyncio.create_task(consumer.run())
        await wait_for(lambda: consumer.statistics().failed == 1, SOON)
        await wait_for(lambda: bool(fake.in_flight()) and not consumer.statistics().in_flight, SOON)
        consumer.stop()
        stats = await task
    assert list(fake.messages) == fake.sent  # never dropped
    assert visibility_changes(fake, transport) == {"poison": [3]}  # the normal backoff
    assert (stats.failed, stats.rejected, stats.deleted) == (1, 0, 0)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "no dead-letter queue" in errors[0].getMessage()
    assert "cannot parse" in errors[0].getMessage()
    assert errors[0].queue == "fake"  # type: ignore[attr-defined]


# -- logging failures ----------------------------------------------------------------------


async def test_a_failing_handler_is_logged_at_warning_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeSQS()
    ids = fake.add("bad")

    async def handler(message: Message) -> None:
        raise KeyError("missing field")

    caplog.set_level(logging.WARNING, logger="sqs_async")
    async with fake_connection(fake.transport()) as conn:
        consumer = conn.queue(fake.url).consumer(handler, wait_time_seconds=0)
        task = asyncio.create_task(consumer.run())
        await wait_for(lambda: consumer.statistics().failed == 1, SOON)
        consumer.stop()
        await task
    (record,) = [r for r in caplog.records if "handler failed" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert record.exc_info is not None
    assert record.exc_info[0] is KeyError
    assert (record.message_id, record.queue) == (ids[0], "fake")  # type: ignore[attr-defined]


def test_the_failure_log_is_rate_limited_per_exception_type(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    failures = FailureLog(interval=10.0, clock=lambda: now[0])
    fake = FakeSQS()
    conn = fake_connection(fake.transport())
    queue = conn.queue(fake.url)
    message = Message.from_wire({"MessageId": "m1", "ReceiptHandle": "h", "Body": "x"})
    caplog.set_level(logging.WARNING, logger="sqs_async")
    for _ in range(100):
        failures.failed(queue, [message], ValueError("poison"))
    failures.failed(queue, [message], KeyError("other"))
    now[0] = 10.0
    failures.failed(queue, [message], ValueError("poison"))
    records = [r.getMessage() for r in caplog.records]
    assert len(records) == 3
    assert "ValueError" in records[0]
    assert "KeyError" in records[1]
    assert "99 more ValueError failures not logged" in records[2]


# -- middleware ----------------------------------------------------------------------------


async def test_middleware_runs_in_the_handler_task_outermost_first() -> None:
    fake = FakeSQS()
    fake.add("one")
    events: list[str] = []
    seen: list[tuple[str, str]] = []

    async def outer(call: HandlerCall, call_next: Callable[[], Awaitable[Any]]) -> Any:
        events.append(f"outer in {len(call.messages)} {call.batch}")
        REQUEST_ID.set("req-1")
        result = await call_next()
        events.append(f"outer out {result}")
        return result

    async def inner(call: HandlerCall, call_next: Callable[[], Awaitable[Any]]) -> Any:
        events.append("inner in")
        result = await call_next()
        events.append("inner out")
        return result

    async def global_one(call: HandlerCall, call_next: Callable[[], Awaitable[Any]]) -> Any:
        events.append("global in")
        return await call_next()

    async def handler(message: Message) -> str:
        seen.append((message.get_body(), REQUEST_ID.get()))
        return "done"

    add_middleware(global_one)
    try:
        async with fake_connection(fake.transport()) as conn:
            stats = await conn.queue(fake.url).consume(
                handler, wait_time_seconds=0, stop_when_empty=True, middleware=[outer, inner]
            )
    finally:
        remove_middleware(global_one)
    assert events == ["global in", "outer in 1 False", "inner in", "inner out", "outer out done"]
    assert seen == [("one", "req-1")]
    assert REQUEST_ID.get() == ""  # set in the handler's own task, not here
    assert (stats.handled, stats.deleted) == (1, 1)


async def test_an_exception_from_middleware_is_the_handlers_outcome() -> None:
    fake = FakeSQS()
    fake.add("one")
    ran: list[str] = []

    async def refuse(call: HandlerCall, call_next: Callable[[], Awaitable[Any]]) -> Any:
        raise Retry(delay=4)

    async def handler(message: Message) -> None:
        ran.append(message.get_body())

    transport = fake.transport()
    async with fake_connection(transport) as conn:
        consumer = conn.queue(fake.url).consumer(handler, wait_time_seconds=0, middleware=[refuse])
        task = asyncio.create_task(consumer.run())
        await wait_for(lambda: consumer.statistics().retried == 1, SOON)
        consumer.stop()
        stats = await task
    assert ran == []
    assert visibility_changes(fake, transport) == {"one": [4]}
    assert (stats.handled, stats.failed) == (0, 1)


# -- plain function handlers ---------------------------------------------------------------


async def test_a_plain_function_handler_runs_in_worker_threads_within_concurrency() -> None:
    fake = FakeSQS()
    fake.add(*(f"b{i}" for i in range(12)))
    loop_thread = threading.get_ident()
    threads: set[int] = set()
    running = 0
    most = 0
    lock = threading.Lock()
    release = threading.Event()

    def handler(message: Message) -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            threads.add(threading.get_ident())
        release.wait(5)
        with lock:
            running -= 1
        if message.get_body() == "b5":
            raise RuntimeError("sync failure")

    async with fake_connection(fake.transport()) as conn:
        consumer = conn.queue(fake.url).consumer(
            handler, concurrency=3, wait_time_seconds=0, retry_backoff=30
        )
        task = asyncio.create_task(consumer.run())
        await wait_for(lambda: running == 3, SOON)
        release.set()
        await wait_for(lambda: consumer.statistics().handled == 11, SOON)
        consumer.stop()
        stats = await task
    assert most == 3
    assert loop_thread not in threads
    assert (stats.handled, stats.failed, stats.deleted) == (11, 1, 11)
    assert [m.body for m in fake.messages.values()] == ["b5"]


async def test_a_plain_function_returning_a_coroutine_is_awaited() -> None:
    fake = FakeSQS()
    fake.add("one")
    seen: list[str] = []

    async def work(message: Message) -> None:
        seen.append(message.get_body())

    async with fake_connection(fake.transport()) as conn:
        stats = await conn.queue(fake.url).consume(
            lambda m: work(m), wait_time_seconds=0, stop_when_empty=True
        )
    assert seen == ["one"]
    assert (stats.handled, stats.failed) == (1, 0)


async def test_a_handler_that_is_not_callable_is_a_type_error_before_any_io() -> None:
    fake = FakeSQS()
    transport = fake.transport()
    async with fake_connection(transport) as conn:
        with pytest.raises(TypeError, match="callable"):
            await conn.queue(fake.url).consume("not a function")  # type: ignore[arg-type]
    assert transport.calls == []


# -- statistics ----------------------------------------------------------------------------


async def test_statistics_count_pollers_configured_and_alive() -> None:
    fake = FakeSQS()

    async def handler(message: Message) -> None:
        pass

    async with fake_connection(fake.transport()) as conn:
        consumer = conn.queue(fake.url).consumer(handler, wait_time_seconds=0, pollers=3)
        assert (consumer.statistics().pollers, consumer.statistics().pollers_alive) == (3, 0)
        task = asyncio.create_task(consumer.run())
        await wait_for(lambda: consumer.statistics().pollers_alive == 3, SOON)
        consumer.stop()
        stats = await task
    assert (stats.pollers, stats.pollers_alive, stats.abandoned_polls) == (3, 0, 0)


# -- what a receive asks for (issue 14) ----------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "asked"),
    [
        (None, ["All"]),
        (["All"], ["All"]),
        (
            ["SentTimestamp"],
            ["SentTimestamp", "ApproximateReceiveCount", "MessageGroupId", "SequenceNumber"],
        ),
        ([], ["ApproximateReceiveCount", "MessageGroupId", "SequenceNumber"]),
    ],
)
async def test_receives_ask_for_all_attributes_or_add_what_the_consumer_needs(
    attributes: list[str] | None, asked: list[str]
) -> None:
    fake = FakeSQS()
    fake.add("one")

    async def handler(message: Message) -> None:
        pass

    transport = fake.transport()
    async with fake_connection(transport) as conn:
        queue = conn.queue(fake.url)
        await queue.consume(
            handler, wait_time_seconds=0, stop_when_empty=True, attributes=attributes
        )
        async with queue.messages(
            wait_time_seconds=0, stop_when_empty=True, attributes=attributes
        ) as stream:
            assert [m async for m in stream] == []
    receives = [c for c in transport.calls if c.operation == "ReceiveMessage"]
    assert len(receives) >= 2
    for call in receives:
        assert call.params["MessageSystemAttributeNames"] == asked
        assert call.params["MessageAttributeNames"] == ["All"]

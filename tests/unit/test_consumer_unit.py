"""The lease manager (fake clock) and the consumer's logic over an in-memory SQS (no sockets)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from faults import FakeSQS, cyclic_gc_paused, fake_connection, visibility_changes, wait_for

from sqs_async import (
    ConsumerHooks,
    Message,
    Queue,
    QueueDoesNotExist,
    ValidationError,
)
from sqs_async._batching import VisibilityBatcher
from sqs_async._config import MAX_VISIBILITY_TIMEOUT
from sqs_async._fetcher import PARKED_VISIBILITY
from sqs_async._leases import Lease, LeaseManager
from sqs_async._transport.base import Response
from sqs_async._transport.mock import MockTransport, RecordedCall, error_response

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/q"
SOON = 3.0


@contextlib.asynccontextmanager
async def _queue_of(fake: FakeSQS) -> AsyncIterator[Queue]:
    async with fake_connection(fake.transport()) as conn:
        yield conn.queue(fake.url)


# -- the lease manager, on a fake clock ----------------------------------------------------


class Clock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class VisibilityServer:
    """ChangeMessageVisibilityBatch answers: each entry succeeds unless a rule says otherwise."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, int]] = []
        self.entry_codes: dict[str, list[str]] = {}  # handle -> codes, one per call
        self.call_errors: list[Response] = []  # whole-call errors, one per call

    def __call__(self, call: RecordedCall) -> dict[str, Any] | Response:
        assert call.operation == "ChangeMessageVisibilityBatch"
        if self.call_errors:
            return self.call_errors.pop(0)
        result: dict[str, list[dict[str, Any]]] = {"Successful": [], "Failed": []}
        for entry in call.params["Entries"]:
            handle = entry["ReceiptHandle"]
            self.entries.append((handle, entry["VisibilityTimeout"]))
            codes = self.entry_codes.get(handle)
            if codes:
                result["Failed"].append({"Id": entry["Id"], "Code": codes.pop(0)})
            else:
                result["Successful"].append({"Id": entry["Id"]})
        return result


def _message(handle: str) -> Message:
    return Message.from_wire({"MessageId": f"id-{handle}", "ReceiptHandle": handle, "Body": "x"})


@contextlib.asynccontextmanager
async def _leases(
    server: VisibilityServer, clock: Clock, visibility_timeout: int
) -> AsyncIterator[tuple[LeaseManager, list[Lease]]]:
    lost: list[Lease] = []
    async with fake_connection(MockTransport(server)) as conn:
        batcher = VisibilityBatcher(conn.queue(QUEUE_URL))
        manager = LeaseManager(batcher, visibility_timeout, lost.append, clock=clock)
        task = asyncio.create_task(manager.run())
        try:
            yield manager, lost
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await batcher.aclose()


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_lease_is_renewed_once_less_than_half_its_timeout_is_left() -> None:
    server, clock = VisibilityServer(), Clock(0.0)
    async with _leases(server, clock, 30) as (manager, lost):
        first = manager.add(_message("h1"))
        await _settle()
        clock.now = 14.9  # 15.1 s left: not yet
        manager.add(_message("h2"))
        manager.wake()  # the fake clock jumped: look now
        await _settle()
        assert server.entries == []
        clock.now = 15.5  # 14.5 s left: renew h1 only
        manager.add(_message("h3"))
        manager.wake()
        await wait_for(lambda: manager.renewals == 1, SOON)
        assert server.entries == [("h1", 30)]
        assert first.expires_at == 15.5 + 30
        assert lost == []
        assert manager.lost == 0
        assert manager.headroom() == pytest.approx(29.4)  # h2 runs out first now


async def test_renewals_stop_at_the_twelve_hour_cap_and_the_lease_is_lost() -> None:
    server, clock = VisibilityServer(), Clock(0.0)
    async with _leases(server, clock, 30) as (manager, lost):
        message = _message("h1")
        lease = manager.add(message, received_at=0.0)
        clock.now = MAX_VISIBILITY_TIMEOUT - 20.0
        manager.extend(message, 10)  # renewed all along; 10 s left (due: this wakes it)
        await wait_for(lambda: manager.renewals == 1, SOON)
        assert server.entries == [("h1", 20)]  # capped: 20 s until 12 h after receipt
        clock.now = MAX_VISIBILITY_TIMEOUT - 5.0
        manager.wake()
        await wait_for(lambda: manager.lost == 1, SOON)
        assert lost == [lease]
        assert lease.lost
        assert manager.get(message) is None
        assert [e for e in server.entries if e[0] == "h1"] == [("h1", 20)]  # none past the cap


async def test_a_new_lease_due_after_the_others_does_not_wake_the_manager() -> None:
    server, clock = VisibilityServer(), Clock(0.0)
    async with _leases(server, clock, 30) as (manager, lost):
        manager.add(_message("h1"))
        await _settle()  # the manager now sleeps until h1 is due (15 s)
        for i in range(50):  # each due after h1: no wake-up, no scan of every lease
            manager.add(_message(f"later-{i}"))
            assert not manager._changed.is_set()
        clock.now = 5.0
        message = _message("short")
        manager.add(message)
        manager.extend(message, 2)  # the user shortened it: due before h1, so it wakes
        assert manager._changed.is_set()
        await wait_for(lambda: manager.renewals == 1, SOON)
        assert server.entries == [("short", 30)]
        assert lost == []


async def test_a_renewal_refused_as_receipt_handle_invalid_loses_the_lease() -> None:
    server, clock = VisibilityServer(), Clock(0.0)
    server.entry_codes["h1"] = ["ReceiptHandleIsInvalid"]
    async with _leases(server, clock, 30) as (manager, lost):
        lease = manager.add(_message("h1"), received_at=-20.0)  # 10 s left: due now
        other = manager.add(_message("h2"), received_at=-20.0)
        await wait_for(lambda: manager.lost == 1 and manager.renewals == 1, SOON)
        assert lost == [lease]
        assert lease.lost
        assert not other.lost
        assert len(manager) == 1


async def test_a_one_second_visibility_timeout_is_renewed_not_lost() -> None:
    fake = FakeSQS(visibility_timeout=1)
    fake.add("slow")
    exposed: list[float] = []

    async def handler(message: Message) -> None:
        deadline = time.monotonic() + 2.0  # two visibility timeouts
        while time.monotonic() < deadline:
            if fake.visible():
                exposed.append(time.monotonic())
            await asyncio.sleep(0.02)

    async with _queue_of(fake) as queue:
        stats = await queue.consume(
            handler, visibility_timeout=1, wait_time_seconds=0, stop_when_empty=True
        )
    assert exposed == []
    assert (stats.leases_lost, stats.handled, stats.deleted) == (0, 1, 1)


@pytest.mark.parametrize("how", ["call", "entry"])
async def test_throttled_renewals_are_transient_and_retried(how: str) -> None:
    server, clock = VisibilityServer(), Clock(0.0)
    if how == "call":
        server.call_errors.append(
            error_response(400, "RequestThrottled", query_code="RequestThrottled")
        )
    else:
        server.entry_codes["h1"] = ["RequestThrottled"]
    async with _leases(server, clock, 4) as (manager, lost):
        manager.add(_message("h1"), received_at=-3.0)  # 1 s left of 4: due now
        await wait_for(lambda: manager.renewals == 1, SOON)
        assert lost == []
        assert manager.lost == 0
        assert server.entries[-1] == ("h1", 4)


# -- the consumer over the fake ------------------------------------------------------------


class Recorder(ConsumerHooks):
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def on_received(self, messages: Sequence[Message]) -> None:
        self.events.append(("received", len(messages)))

    def on_deleted(self, message: Message) -> None:
        self.events.append(("deleted", message.get_body()))

    def on_lease_lost(self, message: Message) -> None:
        self.events.append(("lease_lost", message.get_body()))

    def on_failed(self, message: Message, error: BaseException) -> None:
        self.events.append(("failed", message.get_body()))


async def test_success_deletes_only_after_the_handler_and_failure_backs_off() -> None:
    fake = FakeSQS()
    fake.add(*(f"b{i}" for i in range(10)))
    succeeded: set[str] = set()
    early: list[str] = []
    fake.on_delete = lambda m: None if m.body in succeeded else early.append(m.body)

    async def handler(message: Message) -> None:
        first = message.attributes["ApproximateReceiveCount"] == "1"
        if message.get_body() in ("b3", "b7") and first:
            raise RuntimeError("no")
        succeeded.add(message.get_body())

    hooks = Recorder()
    transport = fake.transport()
    async with fake_connection(transport) as conn:
        stats = await conn.queue(fake.url).consume(
            handler, wait_time_seconds=0, stop_when_empty=True, retry_backoff=1, hooks=hooks
        )
    assert early == []
    assert fake.messages == {}  # stop_when_empty waited out the backoff of the two failures
    assert visibility_changes(fake, transport) == {"b3": [1], "b7": [1]}  # backoff after 1 receive
    assert (stats.received, stats.handled, stats.failed, stats.deleted) == (12, 10, 2, 10)
    assert sorted(b for kind, b in hooks.events if kind == "failed") == ["b3", "b7"]
    assert len([e for e in hooks.events if e[0] == "deleted"]) == 10


async def test_stop_releases_buffered_messages_before_waiting_for_running_handlers() -> None:
    fake = FakeSQS()
    fake.add(*(f"b{i}" for i in range(10)))
    gate = asyncio.Event()
    started: list[str] = []

    async def handler(message: Message) -> None:
        started.append(message.get_body())
        await gate.wait()

    async with _queue_of(fake) as queue:
        consumer = queue.consumer(
            handler, concurrency=1, prefetch=10, wait_time_seconds=0, visibility_timeout=30
        )
        task = asyncio.create_task(consumer.run())
        try:
            await wait_for(lambda: consumer.statistics().buffered == 9, SOON)
            consumer.stop()
            # the nine that no handler started must be visible while the handler still runs
            await wait_for(lambda: len(fake.visible()) == 9, 1.0)
        finally:
            gate.set()
            await task
    assert started == ["b0"]


async def test_a_heartbeat_in_flight_at_shutdown_does_not_hide_released_messages() -> None:
    fake = FakeSQS(visibility_timeout=2)
    fake.add(*(f"b{i}" for i in range(10)))
    fake.renewal_delay = 0.3  # the heartbeat request is slow; the release overtakes it
    gate = asyncio.Event()

    async def handler(message: Message) -> None:
        await gate.wait()

    transport = fake.transport()
    async with fake_connection(transport) as conn:
        consumer = conn.queue(fake.url).consumer(
            handler, concurrency=1, prefetch=10, wait_time_seconds=0, visibility_timeout=2
        )
        task = asyncio.create_task(consumer.run())

        def renewing() -> bool:  # a heartbeat (visibility > 0) was sent and not yet applied
            return fake.renewals_applied == 0 and any(
                c.operation == "ChangeMessageVisibilityBatch"
                and c.params["Entries"][0]["VisibilityTimeout"] > 0
                for c in transport.calls
            )

        await wait_for(renewing, SOON)  # due ~1 s after the receive
        consumer.stop()
        gate.set()
        stats = await task
        await wait_for(lambda: fake.renewals_applied == 1, SOON)
    assert stats.handled == 1
    assert stats.buffered == 0
    assert len(fake.visible()) == 9  # the nine released at shutdown stay visible


async def test_a_lost_lease_cancels_its_handler_and_the_message_is_left_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="sqs_async")
    fake = FakeSQS()
    fake.add("doomed")
    outcome: list[str] = []
    running = asyncio.Event()

    async def handler(message: Message) -> None:
        running.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    hooks = Recorder()
    async with _queue_of(fake) as queue:
        consumer = queue.consumer(
            handler, visibility_timeout=2, wait_time_seconds=0, concurrency=1, hooks=hooks
        )
        task = asyncio.create_task(consumer.run())
        await asyncio.wait_for(running.wait(), SOON)
        (message,) = fake.messages.values()
        hidden_until = message.visible_at
        message.handle = "redelivered elsewhere"  # our receipt handle is now stale
        await wait_for(lambda: outcome == ["cancelled"], SOON)  # the renewal is due after ~1 s
        consumer.stop()
        stats = await task
    assert stats.leases_lost == 1
    assert stats.handled == 0
    assert stats.deleted == 0
    assert ("lease_lost", "doomed") in hooks.events
    assert fake.deleted == []
    assert message.visible_at == hidden_until  # neither deleted nor released
    (record,) = [r for r in caplog.records if "lease lost" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert (record.message_id, record.queue) == (message.id, "fake")  # type: ignore[attr-defined]


async def test_fifo_keeps_group_order_across_a_failure() -> None:
    fake = FakeSQS(fifo=True)
    for group in "abc":
        fake.add(*(f"{group}{seq}" for seq in range(5)), group=group)
    starts: list[str] = []
    failed_once: set[str] = set()

    async def handler(message: Message) -> None:
        body = message.get_body()
        starts.append(body)
        await asyncio.sleep(0.001)
        if body == "a1" and body not in failed_once:
            failed_once.add(body)
            raise RuntimeError("first try fails")

    async with _queue_of(fake) as queue:
        consumer = queue.consumer(
            handler, concurrency=4, wait_time_seconds=0, retry_backoff=0, visibility_timeout=30
        )
        task = asyncio.create_task(consumer.run())
        await wait_for(lambda: len(fake.deleted) == 15, SOON)
        consumer.stop()
        stats = await task
    by_group = {g: [s for s in starts if s[0] == g] for g in "abc"}
    assert by_group == {
        "a": ["a0", "a1", "a1", "a2", "a3", "a4"],
        "b": [f"b{i}" for i in range(5)],
        "c": [f"c{i}" for i in range(5)],
    }
    assert (stats.handled, stats.failed) == (15, 1)


async def test_a_message_received_too_often_is_left_to_the_redrive_policy() -> None:
    fake = FakeSQS()
    (poison,) = fake.add("poison")
    fake.messages[poison].receive_count = 5
    fake.add("fine")
    handled: list[str] = []

    async def handler(message: Message) -> None:
        handled.append(message.get_body())

    transport = fake.transport()
    async with fake_connection(transport) as conn:
        stats = await conn.queue(fake.url).consume(
            handler, wait_time_seconds=0, stop_when_empty=True, max_receives=3, retry_backoff=1
        )
    assert handled == ["fine"]
    assert list(fake.messages) == [poison]  # not deleted
    assert visibility_changes(fake, transport) == {"poison": [32]}  # 1 s x 2^(6 - 1): backed off
    assert stats.handled == 1


async def test_a_failed_receive_is_retried_and_a_missing_queue_ends_consume() -> None:
    fake = FakeSQS()
    fake.add("one")
    fake.fail["ReceiveMessage"].append(error_response(500, "InternalError"))
    seen: list[str] = []

    async def handler(message: Message) -> None:
        seen.append(message.get_body())

    async with _queue_of(fake) as queue:
        stats = await queue.consume(handler, wait_time_seconds=0, stop_when_empty=True)
        assert seen == ["one"]
        assert stats.receive_errors == 1
        fake.fail["ReceiveMessage"].append(
            error_response(
                400, "QueueDoesNotExist", query_code="AWS.SimpleQueueService.NonExistentQueue"
            )
        )
        with pytest.raises(QueueDoesNotExist):
            await queue.consume(handler, wait_time_seconds=0)


async def test_hooks_that_raise_are_ignored() -> None:
    class Broken(ConsumerHooks):
        def on_received(self, messages: Sequence[Message]) -> None:
            raise RuntimeError("metrics are down")

        def on_handled(self, message: Message, seconds: float) -> None:
            raise RuntimeError("metrics are down")

        def on_deleted(self, message: Message) -> None:
            raise RuntimeError("metrics are down")

    fake = FakeSQS()
    fake.add("a", "b")

    async def handler(message: Message) -> None:
        pass

    async with _queue_of(fake) as queue:
        stats = await queue.consume(
            handler, wait_time_seconds=0, stop_when_empty=True, hooks=Broken()
        )
    assert stats.deleted == 2
    assert fake.messages == {}


async def test_statistics_while_running() -> None:
    fake = FakeSQS()
    fake.add(*(f"b{i}" for i in range(6)))
    gate = asyncio.Event()

    async def handler(message: Message) -> None:
        await gate.wait()

    async with _queue_of(fake) as queue:
        consumer = queue.consumer(
            handler, concurrency=2, prefetch=10, wait_time_seconds=0, visibility_timeout=30
        )
        task = asyncio.create_task(consumer.run())
        await wait_for(lambda: consumer.statistics().buffered == 4, SOON)
        stats = consumer.statistics()
        gate.set()
        await wait_for(lambda: consumer.statistics().deleted == 6, SOON)
        consumer.stop()
        final = await task
    assert (stats.received, stats.in_flight, stats.buffered, stats.handled) == (6, 2, 4, 0)
    assert stats.oldest_buffer_age >= 0
    assert stats.lease_headroom is not None
    assert 0 < stats.lease_headroom <= 30
    assert (final.handled, final.deleted, final.in_flight, final.buffered) == (6, 6, 0, 0)


# -- the message stream over the fake ------------------------------------------------------


async def test_the_stream_batches_concurrent_deletes_and_releases_on_exit() -> None:
    fake = FakeSQS()
    fake.add(*(f"b{i}" for i in range(20)))
    transport = fake.transport()
    taken: list[Message] = []
    async with fake_connection(transport) as conn:
        async with conn.queue(fake.url).messages(wait_time_seconds=0, prefetch=20) as stream:
            async for message in stream:
                taken.append(message)
                if len(taken) == 10:
                    break
            await asyncio.gather(*(m.delete() for m in taken))
        stats = stream.statistics()
    deletes = [c for c in transport.calls if c.operation == "DeleteMessageBatch"]
    assert [len(c.params["Entries"]) for c in deletes] == [10]
    assert len(fake.messages) == 10
    assert len(fake.visible()) == 10  # the rest released
    assert (stats.deleted, stats.released) == (10, 10)


@pytest.mark.parametrize("exit_by", ["break", "exception"])
async def test_leaving_async_for_early_releases_the_buffer_and_stops_polling(exit_by: str) -> None:
    fake = FakeSQS()
    fake.add(*(f"b{i}" for i in range(20)))
    async with _queue_of(fake) as queue, cyclic_gc_paused():
        with contextlib.suppress(LookupError):
            async for _ in queue.messages(wait_time_seconds=0):
                if exit_by == "break":
                    break
                raise LookupError("the loop body failed")
        await wait_for(lambda: len(fake.visible()) == 19, 1.0)
        assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("sqs-async")]


async def test_sequential_deletes_in_the_loop_are_sent_one_per_call() -> None:
    """Documented behaviour (docs/consumers.md): awaiting each delete in turn waits for its own
    batch, so nothing coalesces; delete concurrently to batch."""
    fake = FakeSQS()
    fake.add(*(f"b{i}" for i in range(5)))
    transport = fake.transport()
    async with (
        fake_connection(transport) as conn,
        conn.queue(fake.url).messages(wait_time_seconds=0, stop_when_empty=True) as stream,
    ):
        async for message in stream:
            await message.delete()
    deletes = [c for c in transport.calls if c.operation == "DeleteMessageBatch"]
    assert [len(c.params["Entries"]) for c in deletes] == [1] * 5
    assert fake.messages == {}


# -- prompt stop: parked polls are abandoned -----------------------------------------------


async def test_stop_abandons_a_parked_poll_which_asked_for_a_short_visibility() -> None:
    fake = FakeSQS(visibility_timeout=60)  # empty: every long poll parks for its 20 s

    async def handler(message: Message) -> None:
        pass

    transport = fake.transport()
    before = set(asyncio.all_tasks())
    async with fake_connection(transport) as conn:
        consumer = conn.queue(fake.url).consumer(handler, wait_time_seconds=20, pollers=2)
        task = asyncio.create_task(consumer.run())
        await wait_for(lambda: len(_calls(transport, "ReceiveMessage")) == 2, SOON)
        consumer.stop()
        async with asyncio.timeout(SOON):  # the polls' 20 s are not waited out
            stats = await task
    assert (stats.abandoned_polls, stats.pollers_alive) == (2, 0)
    receives = _calls(transport, "ReceiveMessage")
    assert [c.params["VisibilityTimeout"] for c in receives] == [PARKED_VISIBILITY] * 2
    await _no_new_tasks(before)


async def test_a_full_receive_asks_for_the_real_timeout_and_a_short_one_is_extended() -> None:
    fake = FakeSQS(visibility_timeout=60)
    fake.add(*(f"b{i}" for i in range(15)))  # one full receive, then a short one
    seen: list[str] = []

    async def handler(message: Message) -> None:
        seen.append(message.get_body())

    transport = fake.transport()
    async with fake_connection(transport) as conn:
        consumer = conn.queue(fake.url).consumer(
            handler, wait_time_seconds=1, pollers=1, concurrency=1, prefetch=10
        )
        task = asyncio.create_task(consumer.run())
        await wait_for(lambda: len(seen) == 15, SOON)
        consumer.stop()
        await task
    receives = _calls(transport, "ReceiveMessage")
    # first: may park (nothing known); then 10 came back: the next need not park; then 5
    assert [c.params["VisibilityTimeout"] for c in receives[:3]] == [
        PARKED_VISIBILITY,
        60,
        PARKED_VISIBILITY,
    ]
    # What the short receives brought was extended to the real timeout, none of the rest.
    extended = {
        fake.body_of(entry["ReceiptHandle"])
        for call in _calls(transport, "ChangeMessageVisibilityBatch")
        for entry in call.params["Entries"]
        if entry["VisibilityTimeout"] == 60
    }
    assert extended <= {f"b{i}" for i in range(10)}


async def test_the_stream_hands_over_a_parked_receive_only_once_extended() -> None:
    fake = FakeSQS(visibility_timeout=60)
    fake.add("one")
    transport = fake.transport()
    async with (
        fake_connection(transport) as conn,
        conn.queue(fake.url).messages(wait_time_seconds=1, pollers=1) as stream,
    ):
        async for message in stream:
            first = _calls(transport, "ReceiveMessage")[0]
            assert first.params["VisibilityTimeout"] == PARKED_VISIBILITY
            # extended before it was handed over: at least half the real timeout is left
            assert (fake.messages[message.id or ""].visible_at - time.monotonic()) > 30
            await message.delete()
            break


def _calls(transport: MockTransport, operation: str) -> list[RecordedCall]:
    return [c for c in transport.calls if c.operation == operation]


async def _no_new_tasks(before: set[asyncio.Task[Any]]) -> None:
    await wait_for(lambda: not (set(asyncio.all_tasks()) - before - {asyncio.current_task()}), SOON)


# -- the smallest lease (issue 14) ---------------------------------------------------------


@pytest.mark.parametrize("lease", [0, -1, MAX_VISIBILITY_TIMEOUT + 1])
async def test_a_lease_the_manager_cannot_keep_is_refused_before_any_io(lease: int) -> None:
    fake = FakeSQS()
    transport = fake.transport()

    async def handler(message: Message) -> None:
        pass

    async with fake_connection(transport) as conn:
        with pytest.raises(ValidationError, match="1 to 43200 seconds"):
            await conn.queue(fake.url).consume(handler, visibility_timeout=lease)
        with pytest.raises(ValidationError, match="1 to 43200 seconds"):
            conn.queue(fake.url).consumer(handler, visibility_timeout=lease)
    assert transport.calls == []


async def test_a_queue_whose_own_timeout_is_zero_is_refused_before_any_receive() -> None:
    fake = FakeSQS(visibility_timeout=0)
    fake.add("one")
    transport = fake.transport()

    async def handler(message: Message) -> None:
        pass

    async with fake_connection(transport) as conn:
        with pytest.raises(ValidationError, match="visibility_timeout is 0"):
            await conn.queue(fake.url).consume(handler)
    assert [c.operation for c in transport.calls] == ["GetQueueAttributes"]
    assert fake.visible()  # nothing received


async def test_a_failed_delete_is_logged_at_warning_with_the_message_and_queue(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="sqs_async")
    fake = FakeSQS()
    (sent,) = fake.add("one")
    fake.fail["DeleteMessageBatch"].append(error_response(403, "AccessDenied"))

    async def handler(message: Message) -> None:
        pass

    async with _queue_of(fake) as queue:
        consumer = queue.consumer(handler, wait_time_seconds=0)
        task = asyncio.create_task(consumer.run())
        await wait_for(lambda: any("delete" in r.getMessage() for r in caplog.records), SOON)
        consumer.stop()
        await task
    (record,) = [r for r in caplog.records if "could not delete" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert (record.message_id, record.queue) == (sent, "fake")  # type: ignore[attr-defined]
    assert list(fake.messages) == [sent]  # not deleted: it comes back (at least once)


async def test_a_busy_queue_costs_no_visibility_call_for_the_prompt_stop() -> None:
    fake = FakeSQS(visibility_timeout=30)
    fake.add(*(f"b{i}" for i in range(500)))

    async def handler(message: Message) -> None:
        pass

    transport = fake.transport()
    async with fake_connection(transport) as conn:
        consumer = conn.queue(fake.url).consumer(handler, concurrency=64, wait_time_seconds=20)
        task = asyncio.create_task(consumer.run())
        await wait_for(lambda: len(fake.deleted) == 500, 30.0)
        consumer.stop()
        stats = await task
    receives = _calls(transport, "ReceiveMessage")
    short = [c for c in receives if c.params["VisibilityTimeout"] == PARKED_VISIBILITY]
    # Only a receive that may have parked asks for the short visibility: the first of each
    # poller and those after a short answer (the queue running dry); once the queue is
    # busy, receives come back full and the next ones ask for the real 30 s.
    assert len(short) <= stats.pollers * 2
    assert len(receives) >= 50
    assert len(_calls(transport, "ChangeMessageVisibilityBatch")) <= len(short)

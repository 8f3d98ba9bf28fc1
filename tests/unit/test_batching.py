"""Batcher, DeleteBatcher and the batch writer, without sockets.

The Batcher is driven with a fake ``send``; the batch writer and DeleteBatcher go through a real
connection over a MockTransport.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from faults import FakeSQS, _md5

from sqs_async import (
    ClientClosedError,
    InvalidRequestError,
    Message,
    RetryPolicy,
    ServiceUnavailable,
    SQSConnection,
    SQSError,
    ThrottledError,
)
from sqs_async._batching import Batcher, DeleteBatcher
from sqs_async._transport.base import Response
from sqs_async._transport.mock import MockTransport, RecordedCall, error_response

LONG = 60.0  # a linger that never fires during a test


class Sender:
    """A fake batch ``send``: records batches; answers with ``answer`` (default: echo)."""

    def __init__(
        self,
        answer: Callable[[list[Any]], Awaitable[list[Any]]] | None = None,
    ) -> None:
        self.batches: list[list[Any]] = []
        self.answer = answer

    async def __call__(self, entries: list[Any]) -> list[Any]:
        self.batches.append(list(entries))
        if self.answer is not None:
            return await self.answer(entries)
        return [f"ok:{entry}" for entry in entries]


# -- when batches are flushed --------------------------------------------------------------


async def test_a_full_batch_of_ten_is_sent_at_once_without_waiting_for_the_linger() -> None:
    send = Sender()
    batcher: Batcher[int, str] = Batcher(send, linger=LONG)
    futures = [batcher.submit_nowait(i) for i in range(25)]
    assert batcher.pending == 5
    results = await asyncio.gather(*futures[:20])
    assert send.batches == [list(range(10)), list(range(10, 20))]
    assert results == [f"ok:{i}" for i in range(20)]
    assert not any(f.done() for f in futures[20:])
    await batcher.aclose()
    assert send.batches[2] == list(range(20, 25))
    assert [f.result() for f in futures[20:]] == [f"ok:{i}" for i in range(20, 25)]


async def test_an_entry_that_would_pass_the_byte_limit_starts_a_new_batch() -> None:
    send = Sender()
    batcher: Batcher[str, str] = Batcher(send, size=len, max_bytes=100, linger=LONG)
    futures = [batcher.submit_nowait(text) for text in ("a" * 40, "b" * 40, "c" * 40, "d" * 60)]
    await asyncio.gather(futures[0], futures[1])  # sent when "c" arrived: 40 + 40 + 40 > 100
    assert send.batches == [["a" * 40, "b" * 40]]
    assert batcher.pending == 2  # c + d = 100: at the limit, not over it
    await batcher.flush()
    assert send.batches == [["a" * 40, "b" * 40], ["c" * 40, "d" * 60]]


async def test_a_partial_batch_is_sent_after_the_linger() -> None:
    send = Sender()
    batcher: Batcher[int, str] = Batcher(send, linger=0.01)
    results = await asyncio.wait_for(asyncio.gather(*(batcher.submit(i) for i in range(3))), 5)
    assert results == ["ok:0", "ok:1", "ok:2"]
    assert send.batches == [[0, 1, 2]]
    await batcher.aclose()


async def test_at_most_max_concurrent_batches_are_in_flight() -> None:
    release = asyncio.Event()
    in_flight = 0
    most = 0

    async def slow(entries: list[Any]) -> list[Any]:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await release.wait()
        in_flight -= 1
        return entries

    batcher: Batcher[int, int] = Batcher(Sender(slow), linger=LONG, max_concurrent=2)
    futures = [batcher.submit_nowait(i) for i in range(50)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert in_flight == 2
    release.set()
    assert await asyncio.gather(*futures) == list(range(50))
    assert most == 2


# -- each caller its own outcome -----------------------------------------------------------


async def test_each_caller_gets_its_own_result_or_exception() -> None:
    async def answer(entries: list[Any]) -> list[Any]:
        return [ValueError(f"bad {e}") if e % 3 == 0 else e * 10 for e in entries]

    batcher: Batcher[int, int] = Batcher(Sender(answer), linger=LONG)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(10)), return_exceptions=True)
    for i, result in enumerate(results):
        if i % 3 == 0:
            assert isinstance(result, ValueError)
            assert str(result) == f"bad {i}"
        else:
            assert result == i * 10


async def test_a_failed_batch_call_fails_every_caller_of_that_batch_only() -> None:
    async def answer(entries: list[Any]) -> list[Any]:
        if entries[0] == 0:
            raise ServiceUnavailable("down", code="InternalError")
        return entries

    batcher: Batcher[int, int] = Batcher(Sender(answer), linger=LONG)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(20)), return_exceptions=True)
    assert all(isinstance(r, ServiceUnavailable) for r in results[:10])
    assert results[10:] == list(range(10, 20))


async def test_a_cancelled_caller_does_not_disturb_the_others() -> None:
    gate = asyncio.Event()

    async def answer(entries: list[Any]) -> list[Any]:
        await gate.wait()
        return entries

    batcher: Batcher[int, int] = Batcher(Sender(answer), linger=LONG)
    callers = [asyncio.create_task(batcher.submit(i)) for i in range(10)]
    await asyncio.sleep(0)
    callers[3].cancel()
    gate.set()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert isinstance(results[3], asyncio.CancelledError)
    assert [r for i, r in enumerate(results) if i != 3] == [0, 1, 2, 4, 5, 6, 7, 8, 9]


async def test_callback_entries_get_their_result_error_or_batch_failure_directly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def answer(entries: list[Any]) -> list[Any]:
        if entries[0] >= 10:
            raise ServiceUnavailable("down", code="InternalError")
        return [ValueError(f"bad {e}") if e == 4 else e for e in entries]

    got: dict[int, object] = {}

    def record(i: int) -> Callable[[object], None]:
        def callback(result: object) -> None:
            if i == 7:
                raise RuntimeError("a broken callback")  # logged; the others still get theirs
            got[i] = result

        return callback

    batcher: Batcher[int, int] = Batcher(Sender(answer), linger=LONG)
    for i in range(20):
        batcher.submit_callback(i, record(i))
    await batcher.aclose()
    assert [got[i] for i in (0, 1, 9)] == [0, 1, 9]
    assert isinstance(got[4], ValueError)
    assert 7 not in got
    assert all(isinstance(got[i], ServiceUnavailable) for i in range(10, 20))
    assert "a batch entry callback failed" in caplog.text


async def test_a_cancelled_batch_cancels_futures_and_tells_callbacks() -> None:
    started = asyncio.Event()

    async def answer(entries: list[Any]) -> list[Any]:
        started.set()
        await asyncio.Event().wait()
        return entries

    got: list[object] = []
    batcher: Batcher[int, int] = Batcher(Sender(answer), linger=LONG)
    futures = [batcher.submit_nowait(i) for i in range(5)]
    for i in range(5, 10):
        batcher.submit_callback(i, got.append)
    await asyncio.wait_for(started.wait(), 5)
    (task,) = batcher._tasks
    task.cancel()
    results = await asyncio.gather(*futures, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results)
    assert len(got) == 5
    assert all(isinstance(r, asyncio.CancelledError) for r in got)


# -- closing -------------------------------------------------------------------------------


async def test_aclose_flushes_what_is_pending_and_waits_for_batches_in_flight() -> None:
    send = Sender()
    batcher: Batcher[int, str] = Batcher(send, linger=LONG)
    futures = [batcher.submit_nowait(i) for i in range(13)]
    await batcher.aclose()
    assert all(f.done() for f in futures)
    assert send.batches == [list(range(10)), [10, 11, 12]]
    await batcher.aclose()  # idempotent
    with pytest.raises(ClientClosedError):
        batcher.submit_nowait(99)


# -- through a connection ------------------------------------------------------------------


def _connection(transport: MockTransport, **kwargs: Any) -> SQSConnection:
    return SQSConnection(
        "testing",
        "testing",
        region="us-east-1",
        endpoint_url="http://sqs.invalid",
        transport=transport,
        **kwargs,
    )


class BatchServer:
    """A MockTransport handler for SendMessageBatch that fails chosen bodies."""

    def __init__(self, failures: dict[str, list[str]]) -> None:
        self.failures = failures  # body -> codes to fail it with, one per call
        self.calls: list[list[str]] = []

    def __call__(self, call: RecordedCall) -> dict[str, Any] | Response:
        assert call.operation == "SendMessageBatch"
        bodies = [e["MessageBody"] for e in call.params["Entries"]]
        self.calls.append(bodies)
        successful, failed = [], []
        for entry in call.params["Entries"]:
            codes = self.failures.get(entry["MessageBody"])
            if codes:
                failed.append({"Id": entry["Id"], "Code": codes.pop(0), "SenderFault": True})
            else:
                successful.append(
                    {
                        "Id": entry["Id"],
                        "MessageId": f"id-{entry['MessageBody']}",
                        "MD5OfMessageBody": _md5(entry["MessageBody"]),
                    }
                )
        return {"Successful": successful, "Failed": failed}


async def test_the_batch_writer_fails_only_the_failing_entry_and_retries_retriable_ones() -> None:
    server = BatchServer(
        {
            "poison": ["InvalidMessageContents"] * 5,
            "flaky": ["InternalError"],
            "slow": ["RequestThrottled", "RequestThrottled"],
        }
    )
    async with _connection(MockTransport(server)) as conn:
        queue = conn.queue("https://sqs.us-east-1.amazonaws.com/123456789012/q")
        bodies = [f"ok{i}" for i in range(7)] + ["poison", "flaky", "slow"]
        async with queue.batch_writer(linger=LONG) as writer:
            results = await asyncio.gather(
                *(writer.write(b) for b in bodies), return_exceptions=True
            )
    outcome = dict(zip(bodies, results, strict=True))
    poison = outcome.pop("poison")
    assert isinstance(poison, InvalidRequestError)
    assert poison.code == "InvalidMessageContents"
    for body, message in outcome.items():
        assert isinstance(message, Message)
        assert (message.id, message.get_body()) == (f"id-{body}", body)
    # one batch of 10, then only the retriable entries, renumbered from 0
    assert server.calls == [bodies, ["flaky", "slow"], ["slow"]]
    assert writer.calls == 3


async def test_the_batch_writer_gives_up_on_an_entry_after_max_retries() -> None:
    server = BatchServer({"doomed": ["RequestThrottled"] * 10})
    async with _connection(MockTransport(server)) as conn:
        queue = conn.queue("https://sqs.us-east-1.amazonaws.com/123456789012/q")
        async with queue.batch_writer(max_retries=2) as writer:
            results = await asyncio.gather(
                writer.write("doomed"), writer.write("fine"), return_exceptions=True
            )
    assert isinstance(results[0], ThrottledError)
    assert isinstance(results[1], Message)
    assert results[1].id == "id-fine"
    assert server.calls == [["doomed", "fine"], ["doomed"], ["doomed"]]


async def test_the_batch_writer_reports_a_failed_call_to_each_caller() -> None:
    def handler(call: RecordedCall) -> Response:
        return error_response(500, "InternalError", "down")

    async with _connection(MockTransport(handler), retry=RetryPolicy(max_attempts=1)) as conn:
        queue = conn.queue("https://sqs.us-east-1.amazonaws.com/123456789012/q")
        async with queue.batch_writer() as writer:
            results = await asyncio.gather(
                *(writer.write(f"m{i}") for i in range(3)), return_exceptions=True
            )
    assert all(isinstance(r, ServiceUnavailable) for r in results)


async def test_the_delete_batcher_maps_each_entry_back_to_its_caller() -> None:
    fake = FakeSQS()
    fake.add(*(f"m{i}" for i in range(12)))
    transport = fake.transport()
    async with _connection(transport) as conn:
        queue = conn.queue(fake.url)
        messages = await queue.get_messages(12)
        batcher = DeleteBatcher(queue)
        handles = [m.receipt_handle or "" for m in messages] + ["not-a-handle"]
        results = await asyncio.gather(
            *(batcher.submit(h) for h in handles), return_exceptions=True
        )
        await batcher.aclose()
    assert all(r == {"Id": str(i % 10)} for i, r in enumerate(results[:12]))
    assert isinstance(results[12], SQSError)
    assert results[12].code == "ReceiptHandleIsInvalid"
    assert fake.messages == {}
    calls = [c for c in transport.calls if c.operation == "DeleteMessageBatch"]
    assert [len(c.params["Entries"]) for c in calls] == [10, 3]

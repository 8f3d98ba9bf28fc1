"""_bulk.load_records over the MockTransport: runs per group, where it stops, what it reports."""

from __future__ import annotations

from typing import Any

from _core_support import connect, default_handler, sent_result

from sqs_async import _bulk
from sqs_async._records import Record
from sqs_async._transport.mock import RecordedCall

FIFO_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs.fifo"
STANDARD_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"


def records(*groups: str | None, dedup: bool = True) -> list[Record]:
    return [
        Record(body=f"m{i}", group_id=g, deduplication_id=f"d{i}" if dedup else None, index=i)
        for i, g in enumerate(groups)
    ]


def batches(calls: list[RecordedCall]) -> list[list[tuple[Any, ...]]]:
    return [
        [
            (e["MessageBody"], e.get("MessageGroupId"), e.get("MessageDeduplicationId"))
            for e in call.params["Entries"]
        ]
        for call in calls
        if call.operation == "SendMessageBatch"
    ]


async def test_one_batch_per_run_of_a_group_in_order() -> None:
    conn, mock = connect(default_handler)
    async with conn:
        sent: list[int] = []
        report = await _bulk.load_records(
            conn.queue(FIFO_URL),
            records("a", "a", None, "a", *["b"] * 11),
            sent.append,
            group_id="x",
        )
    assert (report.written, report.failed, report.resume) == (15, [], None)
    assert sum(sent) == 15
    assert [[(b, g) for b, g, _ in batch] for batch in batches(mock.calls)] == [
        [("m0", "a"), ("m1", "a")],
        [("m2", "x")],  # no group of its own: --group-id's
        [("m3", "a")],
        [(f"m{i}", "b") for i in range(4, 14)],  # at most 10 a batch
        [("m14", "b")],
    ]
    assert all(d == f"d{b[1:]}" for batch in batches(mock.calls) for b, _, d in batch)


async def test_deduplication_ids_go_to_fifo_queues_only() -> None:
    conn, mock = connect(default_handler)
    async with conn:
        await _bulk.load_records(conn.queue(STANDARD_URL), records("a", "a"), None)
    assert batches(mock.calls) == [[("m0", "a", None), ("m1", "a", None)]]


async def test_a_refused_message_stops_the_load_and_says_what_was_sent_after_it() -> None:
    def handler(call: RecordedCall) -> Any:
        if call.operation != "SendMessageBatch":
            return default_handler(call)
        entries = call.params["Entries"]
        return {
            "Successful": [
                {"Id": e["Id"], **sent_result(e, f"mid-{e['Id']}")}
                for e in entries
                if e["MessageBody"] != "m1"
            ],
            "Failed": [
                {
                    "Id": e["Id"],
                    "Code": "InvalidMessageContents",
                    "Message": "no",
                    "SenderFault": True,
                }
                for e in entries
                if e["MessageBody"] == "m1"
            ],
        }

    conn, mock = connect(handler)
    async with conn:
        report = await _bulk.load_records(conn.queue(FIFO_URL), records("a", "a", "a", "b"), None)
    assert len(batches(mock.calls)) == 1  # nothing after the refused batch
    assert report.written == 2
    [(failed, error)] = report.failed
    assert (failed.body, error.code, error.message) == ("m1", "InvalidMessageContents", "no")
    assert report.resume == 1
    assert [r.body for r in report.written_after_failure] == ["m2"]


async def test_a_message_over_the_limit_sends_nothing_of_its_run() -> None:
    conn, mock = connect(default_handler)
    big = Record(body="x" * (1024 * 1024 + 1), group_id="b", index=2)
    async with conn:
        report = await _bulk.load_records(
            conn.queue(STANDARD_URL), [*records("a", "a", dedup=False), big], None
        )
    assert report.written == 2
    assert [(r.index, e.code) for r, e in report.failed] == [(2, None)]
    assert "1048576" in report.failed[0][1].message
    assert report.resume == 2
    assert len(batches(mock.calls)) == 1

"""Whole-queue jobs against the real local server: clear, purge, dump, save and load."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from compat import (
    FAUXQS_ONE_PER_GROUP,
    LOCAL_COUNTS_IN_FLIGHT,
    LOCAL_FRESH_MESSAGE_DELAYED,
    LOCAL_NO_GROUP_LOCK,
    LOCAL_PURGE,
    known_divergent,
)
from live_support import CallSpy, QueueFactory, eventually, fill, receive_all

import sqs_async._bulk
from sqs_async import DrainIncomplete, JSONMessage, Message, SQSConnection

pytest_plugins = ["live_fixtures"]
pytestmark = pytest.mark.integration


# -- clear and purge ------------------------------------------------------------------------------


@known_divergent("local-aws-sqs", LOCAL_FRESH_MESSAGE_DELAYED)
async def test_clear_returns_how_many_it_removed(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    await fill(queue, [f"c{i}" for i in range(37)])
    assert await queue.count() == 37
    assert await queue.clear() == 37
    assert await queue.count() == 0
    assert await queue.count(include_in_flight=True) == 0
    assert await queue.clear() == 0


@known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)
async def test_clear_leaves_messages_held_by_others_alone(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    await fill(queue, [f"c{i}" for i in range(5)])
    (held,) = await queue.get_messages(1, visibility_timeout=300, wait_time_seconds=1)
    assert await queue.clear() == 4
    assert await queue.count(include_in_flight=True) == 1
    assert await held.delete()


@known_divergent("local-aws-sqs", LOCAL_PURGE)
async def test_purge_empties_the_queue(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    await fill(queue, [f"p{i}" for i in range(12)])
    await queue.write(queue.new_message("delayed"), delay_seconds=300)
    assert await queue.purge() is True
    # AWS may take up to 60 s to finish a purge: wait for it, do not assume it is instant.
    await eventually(lambda: queue.count(include_in_flight=True), until=lambda n: n == 0, within=65)
    assert await queue.read(wait_time_seconds=0) is None


# -- dump -----------------------------------------------------------------------------------------


def parts_of(path: Path, sep: str) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return text.split(sep) if text else []


@known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)
async def test_dump_writes_each_body_once_and_deletes_nothing(
    new_queue: QueueFactory, tmp_path: Path
) -> None:
    queue = await new_queue()
    bodies = [f"line {i}\nwith a newline ✓" for i in range(23)]
    await fill(queue, bodies)
    target = tmp_path / "dump.txt"
    sep = "\n--8<--\n"
    assert await queue.dump(str(target), sep) == 23
    parts = parts_of(target, sep)
    assert sorted(parts) == sorted(bodies)  # each body exactly once, sep between them
    assert not target.read_text(encoding="utf-8").endswith(sep)
    # Nothing deleted, and everything visible again at once (the dump holds for 120 s).
    assert await queue.count(include_in_flight=True) == 23
    assert await queue.count() == 23
    assert sorted(m.get_body() for m in await receive_all(queue, 23)) == sorted(bodies)


@known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)
async def test_dump_default_separator_and_an_empty_queue(
    new_queue: QueueFactory, tmp_path: Path
) -> None:
    queue = await new_queue()
    empty = tmp_path / "empty.txt"
    assert await queue.dump(str(empty)) == 0
    assert empty.read_text(encoding="utf-8") == ""
    await fill(queue, ["a", "b", "c"])
    target = tmp_path / "abc.txt"
    assert await queue.dump(str(target)) == 3
    assert sorted(target.read_text(encoding="utf-8").split("\n")) == ["a", "b", "c"]


@known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)
async def test_dump_writes_the_wire_text_of_any_message_class(
    new_queue: QueueFactory, tmp_path: Path
) -> None:
    queue = await new_queue()
    queue.set_message_class(JSONMessage)
    await queue.write({"n": 1})
    await queue.write(["x", None])
    target = tmp_path / "json.txt"
    assert await queue.dump(str(target)) == 2
    assert sorted(parts_of(target, "\n")) == sorted(['{"n":1}', '["x",null]'])


@known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)
@pytest.mark.parametrize("renew_before", [0.5, -1000.0], ids=["renewing", "never-renewing"])
async def test_dump_that_outlasts_the_hold_writes_no_body_twice(
    monkeypatch: pytest.MonkeyPatch,
    sqs_connection: SQSConnection,
    new_queue: QueueFactory,
    tmp_path: Path,
    renew_before: float,
) -> None:
    # Hold each message for 1 s and make the first file write take 1.5 s, so the first batch's
    # hold runs out mid-dump and those messages become visible again. The dump must not write
    # them a second time, whether it renews its holds late ("renewing") or never, and so meets
    # the same messages again ("never-renewing").
    queue = await new_queue()
    bodies = [f"held {i}" for i in range(25)]
    await fill(queue, bodies)
    monkeypatch.setattr(sqs_async._bulk, "DUMP_HOLD_SECONDS", 1)
    monkeypatch.setattr(sqs_async._bulk, "DUMP_RENEW_BEFORE", renew_before)
    real_to_thread = asyncio.to_thread
    writes = 0

    async def to_thread(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        nonlocal writes
        if getattr(func, "__name__", "") == "write":
            writes += 1
            if writes == 1:
                await asyncio.sleep(1.5)  # a slow disk: longer than the hold
        return await real_to_thread(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", to_thread)
    spy = CallSpy(sqs_connection).install(monkeypatch)
    target = tmp_path / "slow.txt"
    async with asyncio.timeout(60):
        written = await queue.dump(str(target), "|")
    parts = parts_of(target, "|")
    assert len(parts) == len(set(parts)), "a body was written twice"
    assert sorted(parts) == sorted(bodies)
    assert written == 25
    if renew_before < 0:
        received = [
            message["MessageId"]
            for operation, result in spy.results
            if operation == "ReceiveMessage"
            for message in result.get("Messages", ())
        ]
        assert len(received) > len(set(received)), "no message came twice: nothing was tested"
    # Nothing deleted; everything visible again once the dump is over.
    assert await queue.count(include_in_flight=True) == 25
    assert await eventually(queue.count, until=lambda n: n == 25) == 25


@known_divergent("fauxqs", FAUXQS_ONE_PER_GROUP)
@known_divergent("local-aws-sqs", LOCAL_NO_GROUP_LOCK)
async def test_dump_of_a_fifo_queue_writes_every_body_or_says_it_cannot(
    new_queue: QueueFactory, tmp_path: Path
) -> None:
    queue = await new_queue(fifo=True, attributes={"ContentBasedDeduplication": "true"})
    bodies = [f"fifo {i}" for i in range(15)]
    assert len((await queue.write_batch(bodies, group_id="one-group")).successful) == 15
    target = tmp_path / "fifo.txt"
    # The dump holds the group's first 10 messages, which locks the group: it cannot read
    # the other 5 without deleting, and says so instead of returning a partial count.
    with pytest.raises(DrainIncomplete) as caught:
        await queue.dump(str(target))
    assert caught.value.done == 10
    assert parts_of(target, "\n") == bodies[:10]
    # Nothing was deleted and everything is visible again.
    assert await queue.count(include_in_flight=True) == 15
    assert await eventually(queue.count, until=lambda n: n == 15) == 15


# -- save and load --------------------------------------------------------------------------------


async def test_save_to_file_and_load_from_file_round_trip(
    monkeypatch: pytest.MonkeyPatch, sqs_connection: SQSConnection, new_queue: QueueFactory
) -> None:
    source = await new_queue()
    bodies = [f"saved {i}\nline two ✓" for i in range(23)]
    await fill(source, bodies)
    buffer = io.StringIO()
    sep = "\n===\n"
    assert await source.save_to_file(buffer, sep) == 23
    assert sorted(buffer.getvalue().split(sep)) == sorted(bodies)
    assert await source.count(include_in_flight=True) == 0  # save deletes what it saved

    target = await new_queue()
    buffer.seek(0)
    spy = CallSpy(sqs_connection).install(monkeypatch)
    assert await target.load_from_file(buffer, sep) == 23
    assert [len(p["Entries"]) for p in spy.params("SendMessageBatch")] == [10, 10, 3]
    assert "SendMessage" not in spy.operations()
    received = await receive_all(target, 23)
    assert sorted(m.get_body() for m in received) == sorted(bodies)


async def test_load_honours_the_queue_message_class(new_queue: QueueFactory) -> None:
    class Tracked(Message):
        built: ClassVar[list[Tracked]] = []

        def __init__(self, body: Any = "", **kwargs: Any) -> None:
            super().__init__(body, **kwargs)
            Tracked.built.append(self)

    queue = await new_queue()
    queue.set_message_class(Tracked)
    texts = ['{"a":1}', '{"b":[2,3]}', '"just a string"']
    assert await queue.load_from_file(io.StringIO("\n".join(texts) + "\n")) == 3
    assert len(Tracked.built) == 3
    assert sorted(m.get_body_encoded() for m in Tracked.built) == sorted(texts)
    assert all(m.id for m in Tracked.built)
    # The wire texts arrive unchanged, whatever class reads them.
    queue.set_message_class(JSONMessage)
    received = await receive_all(queue, 3)
    assert all(isinstance(m, JSONMessage) for m in received)
    assert sorted(map(repr, (m.get_body() for m in received))) == sorted(
        map(repr, [{"a": 1}, {"b": [2, 3]}, "just a string"])
    )


async def test_load_from_an_empty_file_sends_nothing(new_queue: QueueFactory) -> None:
    queue = await new_queue()
    assert await queue.load_from_file(io.StringIO("")) == 0
    assert await queue.count(include_in_flight=True) == 0


@known_divergent("local-aws-sqs", LOCAL_FRESH_MESSAGE_DELAYED)
async def test_save_to_filename_and_load_from_filename(
    new_queue: QueueFactory, tmp_path: Path
) -> None:
    source = await new_queue()
    bodies = [f"file {i}" for i in range(12)]
    await fill(source, bodies)
    path = tmp_path / "saved.txt"
    path.write_text("old content that must be overwritten", encoding="utf-8")
    assert await source.save_to_filename(str(path)) == 12
    assert sorted(path.read_text(encoding="utf-8").split("\n")) == sorted(bodies)
    assert await source.count(include_in_flight=True) == 0
    target = await new_queue()
    assert await target.load_from_filename(str(path)) == 12
    loaded = await receive_all(target, 12)
    assert sorted(m.get_body() for m in loaded) == sorted(bodies)
    assert await target.change_message_visibility_batch(loaded, 0)
    await eventually(target.count, until=lambda n: n == 12)
    # A custom separator, both ways.
    again = tmp_path / "again.txt"
    assert await target.save_to_filename(str(again), sep="\x1e") == 12
    assert sorted(again.read_text(encoding="utf-8").split("\x1e")) == sorted(bodies)
    assert await source.load_from_filename(str(again), sep="\x1e") == 12
    assert await source.count() == 12

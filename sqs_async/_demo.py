"""The demo: the tutorial's steps end to end, printed as they run (``python -m sqs_async demo``).

Layer: beside the command line, at the top; it uses the public API only, plus
``sqs_async.local`` for the embedded server. It creates uniquely named queues and deletes them
again, even when a step fails, so it is safe to point at any SQS-compatible server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

from ._connection import SQSConnection
from ._message import JSONMessage, Message
from ._queue import Queue
from .errors import QueueNotEmpty, SQSError
from .local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, local_sqs

__all__ = ["DemoError", "main", "run_demo"]

Output = Callable[[str], object]
"""Where the demo prints: ``print`` by default; tests pass a list's ``append``."""

FINISHED = "demo finished OK"
STEPS = 14


class DemoError(Exception):
    """A step did not have the outcome the demo expects (a bug, or an unusual server)."""


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise DemoError(f"unexpected result: {what}")


def _received(message: Message | None) -> Message:
    if message is None:
        raise DemoError("unexpected result: no message was received")
    return message


class _Steps:
    """Numbers the steps and indents their results."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self.number = 0

    def step(self, title: str) -> None:
        self.number += 1
        self.out(f"\n[{self.number:>2}/{STEPS}] {title}")

    def show(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self.out(f"        {line}")


@contextlib.asynccontextmanager
async def _endpoint(endpoint_url: str | None, steps: _Steps) -> AsyncIterator[str]:
    if endpoint_url is not None:
        yield endpoint_url
        return
    steps.out("Starting an embedded SQS server (moto) on a free loopback port...")
    async with local_sqs() as url:
        steps.out(f"  listening on {url}")
        yield url


async def run_demo(endpoint_url: str | None = None, *, out: Output = print) -> None:
    """Run the tutorial's steps end to end, printing each step and its result.

    Args:
        endpoint_url: An SQS-compatible server (LocalStack, ElasticMQ, moto...). Without one,
            an embedded local server (``sqs_async.local``) runs for the duration of the demo.
            The demo signs with the local server's dummy credentials, which such servers
            accept.
        out: Called with each line of output.

    Raises:
        DemoError: A step had an unexpected outcome.
        SQSError: A call failed.
        ImportError: No endpoint was given and moto (the ``local`` extra) is not installed.

    Example::

        asyncio.run(run_demo())
    """
    steps = _Steps(out)
    async with _endpoint(endpoint_url, steps) as url:
        await _run(url, steps)
    out(f"\n{FINISHED}")


async def _run(endpoint_url: str, steps: _Steps) -> None:
    steps.step(f"Connect to {endpoint_url}")
    async with SQSConnection(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
    ) as conn:
        steps.show(repr(conn))
        prefix = f"sqs-async-demo-{uuid.uuid4().hex[:8]}"
        created: list[Queue] = []
        try:
            await _tutorial(conn, prefix, created, steps)
        finally:
            # Leave nothing behind, even after a failed step; don't mask its error.
            for queue in created:
                with contextlib.suppress(SQSError):
                    if await conn.get_queue(queue.name) is not None:
                        await queue.delete(force=True)


async def _tutorial(conn: SQSConnection, prefix: str, created: list[Queue], steps: _Steps) -> None:
    steps.step("Create a queue (visibility timeout 30 s)")
    queue = await conn.create_queue(f"{prefix}-jobs", 30)
    created.append(queue)
    steps.show(f"{queue.name}\n{queue.url}")

    steps.step(f"List the queues whose names start with {prefix!r}")
    queues = await conn.get_all_queues(prefix=prefix)
    steps.show("\n".join(q.name for q in queues))
    _expect(queue in queues, "the new queue is listed")

    steps.step("Get the queue by name")
    found = await conn.get_queue(queue.name)
    missing = await conn.get_queue(f"{prefix}-no-such-queue")
    steps.show(f"get_queue({queue.name!r}) -> {found!r}")
    steps.show(f"get_queue({prefix + '-no-such-queue'!r}) -> {missing!r}")
    _expect(found == queue and missing is None, "get_queue finds it, and only it")

    steps.step("Write messages: one with attributes, then a batch")
    sent = await queue.write(
        queue.new_message("Hello from sqs_async"),
        message_attributes={"author": "demo", "priority": 1},
    )
    steps.show(f"write -> id {sent.id}, MD5 {sent.md5} (verified)")
    batch = await queue.write_batch([f"batch message {n}" for n in range(1, 6)])
    steps.show(f"write_batch -> {len(batch.successful)} sent, {len(batch.failed)} failed")
    _expect(bool(batch) and len(batch.successful) == 5, "the whole batch is sent")

    steps.step("A custom format: JSONMessage on a second queue")
    json_queue = await conn.create_queue(f"{prefix}-json")
    created.append(json_queue)
    json_queue.set_message_class(JSONMessage)
    await json_queue.write(json_queue.new_message({"order": 42, "items": ["tea", "scones"]}))
    received = _received(await json_queue.read(wait_time_seconds=5))
    steps.show(f"wire text: {received.get_body_encoded()}")
    steps.show(f"body:      {received.get_body()!r}")
    await received.delete()
    await json_queue.delete()
    created.remove(json_queue)

    steps.step("Read one message with long polling (wait up to 5 s)")
    message = _received(await queue.read(wait_time_seconds=5))
    steps.show(_describe(message))

    steps.step("Change its visibility to 0: visible again at once")
    await message.change_visibility(0)
    again = await queue.get_messages(10, wait_time_seconds=2, visibility_timeout=30)
    steps.show(
        f"received {len(again)} messages again, ours among them: "
        f"{any(m.id == message.id for m in again)}"
    )
    await queue.change_message_visibility_batch(again, 0)

    steps.step("Read and delete one message")
    doomed = _received(await queue.read(wait_time_seconds=5))
    await doomed.delete()
    steps.show(f"deleted {doomed.get_body()!r}")

    steps.step("Count the messages")
    count = await queue.count()
    in_flight = await queue.count(include_in_flight=True)
    steps.show(f"count() -> {count}; count(include_in_flight=True) -> {in_flight}")
    _expect(in_flight == 5, f"5 messages left, not {in_flight}")

    steps.step("Dump the queue to a file (nothing is deleted)")
    with tempfile.TemporaryDirectory(prefix="sqs-async-demo-") as tmp:
        path = Path(tmp) / "dump.txt"
        written = await queue.dump(str(path))
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    steps.show(f"dump() wrote {written} messages; the file holds:")
    steps.show("\n".join(f"  | {line}" for line in text.split("\n")))
    _expect(written == 5, f"5 messages dumped, not {written}")

    steps.step("Try to delete the queue while it holds messages")
    try:
        await conn.delete_queue(queue)
    except QueueNotEmpty as exc:
        steps.show(f"refused: {exc}")
    else:
        raise DemoError("delete_queue accepted a non-empty queue")

    steps.step("Clear the queue")
    removed = await queue.clear()
    steps.show(f"clear() removed {removed} messages; count() -> {await queue.count()}")
    _expect(removed == 5, f"5 messages cleared, not {removed}")

    steps.step("Delete the queue")
    await conn.delete_queue(queue)
    created.remove(queue)
    steps.show(f"deleted; get_queue({queue.name!r}) -> {await conn.get_queue(queue.name)!r}")


def _describe(message: Message) -> str:
    attributes = {
        name: value.get("StringValue", value.get("BinaryValue"))
        for name, value in message.message_attributes.items()
    }
    return (
        f"body:        {message.get_body()!r}\n"
        f"id:          {message.id}\n"
        f"attributes:  {attributes or '(none)'}\n"
        f"received:    {message.attributes.get('ApproximateReceiveCount', '?')} time(s)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sqs_async demo [--endpoint-url URL]``; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m sqs_async demo",
        description=(
            "Run the sqs_async tutorial end to end: against an embedded local SQS server "
            "(moto), or against the SQS-compatible server at --endpoint-url."
        ),
    )
    parser.add_argument(
        "--endpoint-url",
        help="an SQS-compatible server that accepts dummy credentials (LocalStack, ElasticMQ)",
    )
    args = parser.parse_args(argv)
    try:
        asyncio.run(run_demo(args.endpoint_url))
    except KeyboardInterrupt:
        print("demo interrupted", file=sys.stderr)
        return 130
    except ImportError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    except (DemoError, SQSError, RuntimeError) as exc:
        print(f"demo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0

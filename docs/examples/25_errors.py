"""Errors: one tree under SQSError, raised for bad input, service errors and broken wires."""

from __future__ import annotations

import asyncio
import io
import socket
import uuid

from sqs_async import (
    Base64Message,
    ConnectError,
    MessageDecodeError,
    PartialBatchFailure,
    QueueDoesNotExist,
    QueueNotEmpty,
    RetryPolicy,
    ServiceError,
    SQSConnection,
    SQSError,
    TransportError,
    ValidationError,
    errors,
)
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, local_sqs


def closed_port() -> int:
    """A loopback port nothing listens on (it was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def main(endpoint_url: str) -> None:
    async with SQSConnection(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
    ) as conn:
        suffix = uuid.uuid4().hex[:8]
        queue = await conn.create_queue(f"errors-{suffix}")
        fifo = await conn.create_queue(f"errors-{suffix}.fifo")
        try:
            # ValidationError: input SQS would reject, caught before any request is sent.
            # It is a ValueError too; the message names the field and the limit.
            refused: list[ValueError] = []
            for bad_call in (
                lambda: queue.write("x" * 1_048_577),
                lambda: queue.write("a\x00b"),
                lambda: queue.write("hi", message_attributes={f"a{n}": n for n in range(11)}),
                lambda: queue.write("hi", delay_seconds=901),
                lambda: queue.read(wait_time_seconds=30),
                lambda: conn.create_queue("no spaces allowed"),
            ):
                try:
                    await bad_call()
                except ValueError as exc:
                    print(f"{type(exc).__name__}: {exc}")
                    refused.append(exc)
            assert len(refused) == 6
            assert all(isinstance(exc, ValidationError) for exc in refused)

            # ServiceError: SQS answered with an error; the class says which one.
            ghost = conn.queue(queue.url.replace(queue.name, f"no-such-queue-{suffix}"))
            try:
                await ghost.count()
            except ServiceError as exc:  # catch a whole family, or one class
                print(f"{type(exc).__name__}: code={exc.code} status={exc.status}")
                print(f"  operation={exc.operation} request_id={exc.request_id}")
                missing: ServiceError = exc
            assert isinstance(missing, QueueDoesNotExist)
            assert await conn.get_queue(f"no-such-queue-{suffix}") is None  # no raise here

            # The client-side safeguard of delete_queue().
            await queue.write("still here")
            try:
                await queue.delete()
            except QueueNotEmpty as exc:
                print(f"{type(exc).__name__}: {exc}")

            # A body the queue's message class cannot decode fails on get_body(), for
            # that message only; .raw holds the wire text.
            queue.set_message_class(Base64Message)
            message = await queue.read()
            assert message is not None
            try:
                message.get_body()
            except MessageDecodeError as exc:
                print(f"{type(exc).__name__}: raw={exc.raw!r}")

            # PartialBatchFailure: load_from_file() sent some messages and not others
            # (a FIFO queue refuses messages without a group id).
            try:
                await fifo.load_from_file(io.StringIO("one\ntwo\n"))
            except PartialBatchFailure as exc:
                print(f"{type(exc).__name__}: succeeded={exc.succeeded}")
                for entry_id, error in exc.failed:
                    print(f"  entry {entry_id}: {error.code}")
                partial = exc
            assert len(partial.failed) == 2

            # Legacy query codes and JSON __type values map to the same classes.
            assert errors.for_code("AWS.SimpleQueueService.NonExistentQueue") is QueueDoesNotExist
            assert errors.for_code("com.amazonaws.sqs#QueueDoesNotExist") is QueueDoesNotExist
            assert errors.for_code("SomethingNew", 503) is errors.ServiceUnavailable
        finally:
            await queue.delete(force=True)
            await fifo.delete(force=True)

    # TransportError: no valid response at all. Retried (here: twice in all), then raised
    # with the aiohttp exception chained as __cause__.
    async with SQSConnection(
        TEST_ACCESS_KEY,
        TEST_SECRET_KEY,
        region=TEST_REGION,
        endpoint_url=f"http://127.0.0.1:{closed_port()}",
        retry=RetryPolicy(max_attempts=2, base_delay=0.01),
    ) as unreachable:
        try:
            await unreachable.get_all_queues()
        except TransportError as exc:
            print(f"{type(exc).__name__}: {exc}; cause: {type(exc.__cause__).__name__}")
            broken: SQSError = exc
        assert isinstance(broken, ConnectError)


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())

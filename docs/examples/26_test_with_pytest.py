"""Testing your own code with the sqs_async pytest plugin: a test file of your own.

Run it with pytest (it needs the ``local`` extra and pytest-asyncio)::

    pytest docs/examples/26_test_with_pytest.py

The plugin starts one local SQS server for the session. With SQS_ASYNC_TEST_ENDPOINT set,
the same tests run against that server instead (LocalStack, ElasticMQ, AWS...), which is
what ``main()`` below does with the server it is given.
"""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from sqs_async import JSONMessage, Message, Queue, SQSConnection
from sqs_async.local import TEST_ENDPOINT_ENV, QueueNameFactory, local_sqs

# -- the code under test (yours) ----------------------------------------------------------


async def submit_order(queue: Queue, order_id: int, amount: float) -> str:
    """Put an order on the queue; return its message id."""
    message = await queue.write(JSONMessage({"order": order_id, "amount": amount}))
    assert message.id is not None
    return message.id


async def process_orders(queue: Queue) -> float:
    """Handle every queued order (a worker); return the total amount."""
    total = 0.0

    async def handle(message: Message) -> None:
        nonlocal total
        total += message.get_body()["amount"]

    queue.set_message_class(JSONMessage)
    await queue.consume(handle, wait_time_seconds=1, stop_when_empty=True)
    return total


# -- the tests ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_submit_order(
    sqs_connection: SQSConnection, sqs_queue_name: QueueNameFactory
) -> None:
    queue = await sqs_connection.create_queue(sqs_queue_name())
    try:
        await submit_order(queue, 7, 9.5)
        queue.set_message_class(JSONMessage)
        message = await queue.read(wait_time_seconds=1)
        assert message is not None
        assert message.get_body() == {"order": 7, "amount": 9.5}
    finally:
        await queue.delete(force=True)


@pytest.mark.asyncio
async def test_process_orders(
    sqs_connection: SQSConnection, sqs_queue_name: QueueNameFactory
) -> None:
    queue = await sqs_connection.create_queue(sqs_queue_name())
    try:
        for order_id in range(5):
            await submit_order(queue, order_id, 10.0)
        assert await process_orders(queue) == 50.0
        assert await queue.count(include_in_flight=True) == 0  # all handled, all deleted
    finally:
        await queue.delete(force=True)


@pytest.mark.asyncio
async def test_fifo_names(sqs_connection: SQSConnection, sqs_queue_name: QueueNameFactory) -> None:
    name = sqs_queue_name(fifo=True)  # unique per call, derived from the test's name
    assert name.endswith(".fifo")
    queue = await sqs_connection.create_queue(name)
    try:
        assert queue.fifo
    finally:
        await queue.delete(force=True)


def test_endpoint(sqs_endpoint: str) -> None:
    assert sqs_endpoint.startswith(("http://", "https://"))


# -- run this file's tests against a given server ---------------------------------------------


async def main(endpoint_url: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pytest",
        __file__,
        "-q",
        "-p",
        "no:cacheprovider",
        env={**os.environ, TEST_ENDPOINT_ENV: endpoint_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    report = output.decode()
    print(report)
    assert process.returncode == 0, report
    assert "4 passed" in report


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())

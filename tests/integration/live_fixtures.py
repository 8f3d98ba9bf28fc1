"""Fixtures shared by the ``test_live_*`` integration tests.

Each test module loads this with ``pytest_plugins = ["live_fixtures"]``. A ``conftest.py`` in
this directory would clash with ``tests/conftest.py`` under mypy (both are the top-level module
``conftest``: the tests are not packages). The server, the connection and unique queue names
come from the ``sqs_async.local`` plugin: ``sqs_endpoint``, ``sqs_connection``,
``sqs_queue_name``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from live_support import QueueFactory

from sqs_async import Queue, QueueDoesNotExist, SQSConnection
from sqs_async.local import QueueNameFactory


@pytest_asyncio.fixture
async def new_queue(
    sqs_connection: SQSConnection, sqs_queue_name: QueueNameFactory
) -> AsyncIterator[QueueFactory]:
    """Factory of fresh queues on ``sqs_connection``; each is deleted (forced) at teardown."""
    created: list[Queue] = []

    async def make(
        *,
        fifo: bool = False,
        visibility_timeout: int | None = None,
        attributes: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
    ) -> Queue:
        queue = await sqs_connection.create_queue(
            sqs_queue_name(fifo=fifo),
            visibility_timeout,
            attributes=attributes,
            tags=tags,
        )
        created.append(queue)
        return queue

    yield make
    if sqs_connection.closed:
        return
    for queue in created:
        with contextlib.suppress(QueueDoesNotExist):
            await sqs_connection.delete_queue_raw(QueueUrl=queue.url)

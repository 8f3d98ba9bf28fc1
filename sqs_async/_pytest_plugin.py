"""The pytest plugin of ``sqs_async.local``: fixtures for a real local SQS server.

Registered as the ``pytest11`` entry point ``sqs_async``, so the fixtures are there in any
project that installs sqs_async (see :mod:`sqs_async.local` for what each one gives).
Layer: above ``local``, whose servers it starts; imports pytest only if it is installed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from .local import (
    TEST_ACCESS_KEY,
    TEST_ENDPOINT_ENV,
    TEST_REGION,
    TEST_SECRET_KEY,
    ExternalSQSServer,
    LocalSQSServer,
    QueueNameFactory,
)

if TYPE_CHECKING:
    from sqs_async import SQSConnection

__all__: list[str] = []


def _sanitize(name: str, limit: int) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")
    return cleaned[:limit].rstrip("-") or "test"


def _session_server(
    log_file: Path, environ: Mapping[str, str] | None = None
) -> LocalSQSServer | ExternalSQSServer:
    """The server the ``sqs_server`` fixture uses: the external one named by the environment
    variable ``SQS_ASYNC_TEST_ENDPOINT`` when it is set, else a local one in subprocess mode.
    Nothing is started here.
    """
    env = os.environ if environ is None else environ
    external = env.get(TEST_ENDPOINT_ENV, "").strip()
    if external:
        return ExternalSQSServer(external)
    return LocalSQSServer(mode="subprocess", log_file=log_file)


def _queue_name_factory(test_name: str) -> QueueNameFactory:
    stem = f"t-{_sanitize(test_name, 40)}"

    def make(*, fifo: bool = False) -> str:
        return f"{stem}-{uuid.uuid4().hex[:8]}{'.fifo' if fifo else ''}"

    return make


if importlib.util.find_spec("pytest") is not None:
    import pytest

    @pytest.fixture(scope="session")
    def sqs_server(
        tmp_path_factory: pytest.TempPathFactory,
    ) -> Iterator[LocalSQSServer | ExternalSQSServer]:
        """A local SQS server (moto, subprocess) shared by the session; see the module docs.

        Set ``SQS_ASYNC_TEST_ENDPOINT`` to use an external server instead (``reset()`` then
        does nothing).
        """
        log_file = tmp_path_factory.mktemp("sqs_server") / "moto.log"
        server = _session_server(log_file)
        server.start()
        try:
            yield server
        finally:
            server.stop()

    @pytest.fixture(scope="session")
    def sqs_endpoint(sqs_server: LocalSQSServer | ExternalSQSServer) -> str:
        """The endpoint URL of `sqs_server`."""
        return sqs_server.endpoint_url

    @pytest.fixture
    def sqs_queue_name(request: pytest.FixtureRequest) -> QueueNameFactory:
        """A factory of unique queue names: ``t-<test name>-<8 hex>`` (``fifo=True`` adds
        ``.fifo``)."""
        return _queue_name_factory(request.node.name)

    if importlib.util.find_spec("pytest_asyncio") is not None:
        import pytest_asyncio

        @pytest_asyncio.fixture
        async def sqs_connection(sqs_endpoint: str) -> AsyncIterator[SQSConnection]:
            """An open ``sqs_async.SQSConnection`` to `sqs_endpoint`, closed after the test."""
            # Imported when used: nothing else in this module needs the client.
            from sqs_async import SQSConnection

            async with SQSConnection(
                TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=sqs_endpoint
            ) as connection:
                yield connection

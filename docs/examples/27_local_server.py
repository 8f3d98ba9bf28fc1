"""sqs_async.local: a real SQS-compatible server (moto) on a free loopback port."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from sqs_async import SQSConnection
from sqs_async.local import (
    TEST_ACCESS_KEY,
    TEST_REGION,
    TEST_SECRET_KEY,
    ExternalSQSServer,
    LocalSQSServer,
    local_sqs,
)


async def count_queues(endpoint_url: str) -> int:
    async with SQSConnection(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
    ) as conn:
        return len(await conn.get_all_queues())


def synchronous_setup(log_dir: Path) -> None:
    """LocalSQSServer is synchronous: for session fixtures, unittest set-ups and scripts."""
    with LocalSQSServer(mode="subprocess", log_file=log_dir / "moto.log") as server:
        print("started:", server)
        endpoint_url = server.endpoint_url  # http://127.0.0.1:<free port>

        async def fill() -> None:
            async with SQSConnection(
                TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
            ) as conn:
                await conn.create_queue("scratch")

        asyncio.run(fill())  # this thread has no event loop of its own yet
        assert asyncio.run(count_queues(endpoint_url)) == 1
        server.reset()  # forget every queue and message, in about 10 ms
        assert asyncio.run(count_queues(endpoint_url)) == 0
    assert not server.running
    print("stopped:", server)
    assert "POST" in (log_dir / "moto.log").read_text(encoding="utf-8")  # moto's request log


async def main(endpoint_url: str) -> None:
    # local_sqs(): a server for the duration of an async with block, started and stopped
    # in a worker thread. mode="subprocess" keeps moto's work out of this process.
    async with local_sqs(mode="subprocess") as own_endpoint:
        print("local_sqs() serves", own_endpoint)
        assert await count_queues(own_endpoint) == 0  # a fresh server: no queues

    with tempfile.TemporaryDirectory() as tmp:
        await asyncio.to_thread(synchronous_setup, Path(tmp))

    # ExternalSQSServer: the same interface for a server someone else runs; start(),
    # stop() and reset() do nothing. (The pytest plugin uses it for SQS_ASYNC_TEST_ENDPOINT.)
    with ExternalSQSServer(endpoint_url) as external:
        print("external:", external, external.host, external.port)
        assert external.endpoint_url == endpoint_url.rstrip("/")
        await count_queues(external.endpoint_url)


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:  # mode="thread", the default: the quickest start
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())

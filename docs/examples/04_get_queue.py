"""Getting a queue by name: get_queue() (alias lookup()) returns None when there is none."""

from __future__ import annotations

import asyncio
import uuid

from sqs_async import SQSConnection
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, local_sqs


async def main(endpoint_url: str) -> None:
    name = f"tutorial-get-{uuid.uuid4().hex[:8]}"
    async with SQSConnection(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
    ) as conn:
        created = await conn.create_queue(name)
        try:
            queue = await conn.get_queue(name)
            print("get_queue found", queue)
            assert queue == created

            # lookup() is the boto name for the same call.
            assert await conn.lookup(name) == created

            # A queue that does not exist is None; other errors (access denied,
            # throttling...) raise instead of pretending the queue is missing.
            missing = await conn.get_queue(f"{name}-missing")
            print("a missing queue:", missing)
            assert missing is None

            # Already hold the URL? conn.queue(url) makes a Queue without any I/O.
            same = conn.queue(created.url)
            assert same.name == name
        finally:
            await created.delete()


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())

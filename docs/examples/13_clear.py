"""Clearing a queue: clear() deletes and counts; purge() is SQS's PurgeQueue."""

from __future__ import annotations

import asyncio
import uuid

from sqs_async import SQSConnection
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, local_sqs


async def main(endpoint_url: str) -> None:
    async with SQSConnection(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
    ) as conn:
        queue = await conn.create_queue(f"tutorial-clear-{uuid.uuid4().hex[:8]}")
        try:
            await queue.write_batch([f"message {n}" for n in range(15)])

            # clear(): receives and deletes until the queue is empty, and says how many
            # it removed. Messages another consumer holds in flight are left alone.
            removed = await queue.clear()
            print("clear() removed", removed, "messages")
            assert removed == 15
            assert await queue.count() == 0

            # purge(): one PurgeQueue call. It also drops in-flight messages, but returns no
            # count, may take up to 60 s on AWS, and allows one purge per queue per 60 s
            # (a second one raises PurgeQueueInProgress).
            await queue.write_batch(["x", "y", "z"])
            assert await queue.purge()
            print("purge() done")
        finally:
            await queue.delete(force=True)


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())

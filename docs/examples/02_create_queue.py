"""Creating a queue: create_queue() returns a Queue, or the existing one of that name."""

from __future__ import annotations

import asyncio
import uuid

from sqs_async import SQSConnection
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, local_sqs


async def main(endpoint_url: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    async with SQSConnection(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
    ) as conn:
        # The second argument is the queue's default visibility timeout, in seconds.
        queue = await conn.create_queue(f"tutorial-create-{suffix}", 60)
        fifo = None
        try:
            print("created", queue.name, "at", queue.url)
            timeout = await queue.get_timeout()
            print("its visibility timeout is", timeout, "seconds")
            assert timeout == 60

            # Creating it again returns the same queue (SQS's CreateQueue is idempotent).
            again = await conn.create_queue(f"tutorial-create-{suffix}", 60)
            assert again == queue

            # Any other queue attribute, and tags, by their SQS names.
            await queue.set_attributes(MessageRetentionPeriod=3600)
            attributes = await queue.get_attributes("MessageRetentionPeriod")
            print("retention:", attributes["MessageRetentionPeriod"], "seconds")
            assert attributes["MessageRetentionPeriod"] == "3600"

            # A name ending in .fifo makes a FIFO queue.
            fifo = await conn.create_queue(
                f"tutorial-create-{suffix}.fifo",
                attributes={"ContentBasedDeduplication": True},
            )
            print("created FIFO queue", fifo.name, "fifo =", fifo.fifo)
            assert fifo.fifo
        finally:
            await queue.delete(force=True)
            if fifo is not None:
                await fifo.delete(force=True)


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())

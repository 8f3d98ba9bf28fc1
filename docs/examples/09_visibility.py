"""Changing visibility: how long a received message stays hidden from other readers."""

from __future__ import annotations

import asyncio
import uuid

from sqs_async import SQSConnection
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, local_sqs


async def main(endpoint_url: str) -> None:
    async with SQSConnection(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
    ) as conn:
        queue = await conn.create_queue(f"tutorial-visibility-{uuid.uuid4().hex[:8]}")
        try:
            # The queue's default visibility timeout (30 s unless set otherwise).
            await queue.set_timeout(45)
            print("queue visibility timeout:", await queue.get_timeout(), "seconds")

            await queue.write("a job")
            message = await queue.read(visibility_timeout=60)
            assert message is not None
            # While it is in flight, nobody else receives it.
            assert await queue.read() is None
            print("in flight: hidden from other readers")

            # Need more time? Extend it (counted from now, up to 12 hours in total).
            await message.change_visibility(120)
            # Giving up on it? Make it visible again at once.
            await message.change_visibility(0)
            again = await queue.read(wait_time_seconds=2)
            assert again is not None
            print("visible again after change_visibility(0):", again.get_body())
            print("receive count:", again.attributes.get("ApproximateReceiveCount"))
            assert again.id == message.id

            # Many at once (batched by 10): the same timeout for all, or (message, seconds)
            # pairs. queue.change_message_visibility(message, seconds) does one.
            await queue.write_batch(["b", "c", "d"])
            more = await queue.get_messages(10, wait_time_seconds=1)
            results = await queue.change_message_visibility_batch([again, *more], 0)
            print(f"released {len(results.successful)} messages")
            assert results
            assert await queue.count() == 1 + len(more)
        finally:
            await queue.delete(force=True)


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())

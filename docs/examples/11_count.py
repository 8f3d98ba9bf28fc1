"""Counting messages: count() is SQS's approximate number of visible messages."""

from __future__ import annotations

import asyncio
import uuid

from sqs_async import SQSConnection
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, local_sqs


async def main(endpoint_url: str) -> None:
    async with SQSConnection(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
    ) as conn:
        queue = await conn.create_queue(f"tutorial-count-{uuid.uuid4().hex[:8]}")
        try:
            await queue.write_batch([f"message {n}" for n in range(5)])
            visible = await queue.count()
            print("visible:", visible)
            assert visible == 5

            # Receive two: they are in flight, no longer counted as visible...
            in_flight = await queue.get_messages(2, visibility_timeout=60)
            assert len(in_flight) == 2
            visible = await queue.count()
            # ...unless you ask for in-flight (and delayed) messages too.
            everything = await queue.count(include_in_flight=True)
            print("visible:", visible, "with in-flight:", everything)
            assert (visible, everything) == (3, 5)

            # The raw figures, if you need them separately:
            attributes = await queue.get_attributes(
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"
            )
            print(attributes)
        finally:
            await queue.delete(force=True)


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())

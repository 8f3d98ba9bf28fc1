"""Writing messages in batches: write_batch() takes any number and splits them for you."""

from __future__ import annotations

import asyncio
import uuid

from sqs_async import SQSConnection
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, local_sqs


async def main(endpoint_url: str) -> None:
    async with SQSConnection(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
    ) as conn:
        queue = await conn.create_queue(f"tutorial-batch-{uuid.uuid4().hex[:8]}")
        try:
            # 25 messages: sent as SendMessageBatch calls of at most 10 entries (and at
            # most the 1 MiB payload limit each), in order.
            bodies = [f"message {n}" for n in range(25)]
            results = await queue.write_batch(bodies)
            print(f"{len(results.successful)} sent, {len(results.failed)} failed")
            assert results  # truthy when nothing failed
            assert len(results.successful) == 25

            # Each entry tells you which message it was, with its new id.
            first = results.successful[0]
            print("first:", first.message.get_body(), "->", first.message_id)

            # boto-style tuples work too: (id, body, delay_seconds[, attributes]).
            # The first item is ignored: entry ids are positions, never MessageIds.
            results = await queue.write_batch(
                [("a", "tuple one", 0), ("b", "tuple two", 0, {"kind": "tuple"})]
            )
            assert len(results.successful) == 2

            for failure in results.failed:  # what a refused entry looks like
                print("failed:", failure.message, failure.code, failure.error)

            count = await queue.count()
            print("the queue holds", count, "messages")
            assert count == 27
        finally:
            await queue.delete(force=True)


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())

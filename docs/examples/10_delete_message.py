"""Deleting a message: once processed, delete it with its receipt handle."""

from __future__ import annotations

import asyncio
import uuid

from sqs_async import SQSConnection
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, local_sqs


async def main(endpoint_url: str) -> None:
    async with SQSConnection(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
    ) as conn:
        queue = await conn.create_queue(f"tutorial-delete-msg-{uuid.uuid4().hex[:8]}")
        try:
            await queue.write_batch([f"message {n}" for n in range(12)])

            # A message knows its queue, so it can delete itself...
            message = await queue.read(wait_time_seconds=1)
            assert message is not None
            await message.delete()
            print("deleted", message.get_body())

            # ...or ask the queue to.
            message = await queue.read(wait_time_seconds=1)
            assert message is not None
            await queue.delete_message(message)
            print("deleted", message.get_body())

            # Many at once: DeleteMessageBatch calls of 10, entry ids by position, so even
            # the same message received twice in one batch is deleted without an error.
            rest = await queue.get_messages(10, wait_time_seconds=1)
            results = await queue.delete_message_batch(rest)
            print(f"batch: {len(results.successful)} deleted, {len(results.failed)} failed")
            assert results

            remaining = await queue.count(include_in_flight=True)
            print("messages left:", remaining)
            assert remaining == 0
        finally:
            await queue.delete(force=True)


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())

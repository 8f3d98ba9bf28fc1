"""Reading messages: read(), get_messages(), long polling and ``async for``."""

from __future__ import annotations

import asyncio
import time
import uuid

from sqs_async import SQSConnection
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, local_sqs


async def main(endpoint_url: str) -> None:
    async with SQSConnection(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
    ) as conn:
        queue = await conn.create_queue(f"tutorial-read-{uuid.uuid4().hex[:8]}")
        try:
            await queue.write_batch([f"message {n}" for n in range(15)])

            # read(): one message, or None. Without wait_time_seconds it is a short poll.
            message = await queue.read()
            assert message is not None
            print("read:", message.get_body(), "id", message.id)
            await message.delete()

            # get_messages(): up to num_messages (more than 10 takes several requests).
            # visibility_timeout: how long they stay hidden from other readers.
            messages = await queue.get_messages(10, visibility_timeout=60)
            print("get_messages:", [m.get_body() for m in messages])
            # System attributes come with them (ApproximateReceiveCount, SentTimestamp...).
            print(
                "first one received", messages[0].attributes["ApproximateReceiveCount"], "time(s)"
            )
            await queue.delete_message_batch(messages)

            # async for: long-polls in the background and yields messages one by one, forever
            # (or until the queue is empty, with stop_when_empty=True). It does not delete.
            seen = []
            async for message in queue.messages(wait_time_seconds=1, stop_when_empty=True):
                seen.append(message.get_body())
                await message.delete()
            print("async for:", seen)
            assert len(messages) + len(seen) == 14

            # Long polling: wait up to wait_time_seconds (0 to 20) for a message to arrive,
            # and return as soon as one does. A writer sends one half a second from now.
            async def write_later() -> None:
                await asyncio.sleep(0.5)
                await queue.write("worth the wait")

            writer = asyncio.create_task(write_later())
            started = time.monotonic()
            message = await queue.read(wait_time_seconds=10)
            waited = time.monotonic() - started
            await writer
            assert message is not None
            print(f"long poll got {message.get_body()!r} after {waited:.1f} s")
            assert message.get_body() == "worth the wait"
            assert waited < 10
            await message.delete()
        finally:
            await queue.delete(force=True)


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())

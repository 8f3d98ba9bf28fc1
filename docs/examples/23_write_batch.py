"""Batch calls: write_batch() of any size, batched deletes and visibility changes."""

from __future__ import annotations

import asyncio
import uuid

from sqs_async import Message, SQSConnection, ValidationError
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, local_sqs


async def main(endpoint_url: str) -> None:
    async with SQSConnection(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
    ) as conn:
        suffix = uuid.uuid4().hex[:8]
        queue = await conn.create_queue(f"batching-{suffix}")
        fifo = await conn.create_queue(f"batching-{suffix}.fifo")
        try:
            # Any number of messages. They are split, in order, into SendMessageBatch
            # calls of at most 10 entries and at most 1 MiB: three of these 300 KB
            # messages fill a call, so the 7 big and 25 small ones below take 5 calls.
            bodies = ["x" * 300_000 for _ in range(7)] + [f"small {n}" for n in range(25)]
            results = await queue.write_batch(bodies)
            print(f"write_batch: {len(results.successful)} sent, {len(results.failed)} failed")
            assert results  # truthy when nothing failed
            assert len(results.successful) == 32

            # Each result holds the message object it is about, with its new id.
            entry = results.successful[-1]
            assert entry.message.get_body() == "small 24"
            assert entry.message.id == entry.message_id

            # Per-message attributes ride on Message objects; delay_seconds= applies
            # to every message of the call.
            messages = [Message(f"order {n}", message_attributes={"n": n}) for n in range(3)]
            results = await queue.write_batch(messages, delay_seconds=0)
            assert [e.message for e in results.successful] == messages

            # One invalid message and nothing is sent: the check runs before any request.
            try:
                await queue.write_batch(["fine", "not \x00 fine"])
            except ValidationError as exc:
                print("refused:", exc)
            assert await queue.count() == 35

            # Failures are per message. This FIFO queue wants a deduplication id (it has
            # no content-based deduplication), so every entry comes back failed.
            results = await fifo.write_batch(["a", "b"], group_id="orders")
            for failure in results.failed:
                print("failed:", failure.message.get_body(), failure.code, failure.sender_fault)
            assert not results
            assert len(results.failed) == 2

            # Deletes and visibility changes take any number too, 10 per call.
            received = await queue.get_messages(20, visibility_timeout=60)
            assert len(received) == 20
            released = await queue.change_message_visibility_batch(received[:5], 0)
            extended = await queue.change_message_visibility_batch(
                [(m, 120) for m in received[5:10]]  # boto-style (message, seconds) pairs
            )
            deleted = await queue.delete_message_batch(received[10:])
            assert released  # truthy: no entry failed
            assert extended
            assert deleted
            print(
                f"released {len(released.successful)}, extended {len(extended.successful)}, "
                f"deleted {len(deleted.successful)}"
            )
            assert await queue.count(include_in_flight=True) == 25
        finally:
            await queue.delete(force=True)
            await fifo.delete(force=True)


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())

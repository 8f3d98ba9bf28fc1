"""Deleting a queue: refused while it holds messages, unless you pass force=True."""

from __future__ import annotations

import asyncio
import uuid

from sqs_async import QueueNotEmpty, SQSConnection
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, local_sqs


async def main(endpoint_url: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    async with SQSConnection(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
    ) as conn:
        # An empty queue is deleted at once.
        empty = await conn.create_queue(f"tutorial-delete-empty-{suffix}")
        assert await conn.delete_queue(empty)
        print("deleted the empty queue", empty.name)

        # One that holds messages (visible, in flight or delayed) is refused:
        # SQS itself would delete it with everything in it.
        full = await conn.create_queue(f"tutorial-delete-full-{suffix}")
        await full.write("still here")
        try:
            await conn.delete_queue(full)
        except QueueNotEmpty as exc:
            print("refused:", exc)
        else:
            raise AssertionError("expected QueueNotEmpty")

        # force=True deletes it anyway. queue.delete() is the same call.
        assert await full.delete(force=True)
        print("deleted", full.name, "with force=True")


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())

"""Listing all queues: get_all_queues() follows pagination to the end."""

from __future__ import annotations

import asyncio
import uuid

from sqs_async import SQSConnection
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, local_sqs


async def main(endpoint_url: str) -> None:
    prefix = f"tutorial-list-{uuid.uuid4().hex[:8]}"
    async with SQSConnection(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
    ) as conn:
        created = [await conn.create_queue(f"{prefix}-{n}") for n in ("a", "b", "c")]
        try:
            every = await conn.get_all_queues()
            print(f"{len(every)} queue(s) in all")

            # Only the queues whose names start with a prefix:
            mine = await conn.get_all_queues(prefix=prefix)
            for queue in mine:
                print(" ", queue.name)
            assert sorted(q.name for q in mine) == sorted(q.name for q in created)
        finally:
            for queue in created:
                await queue.delete()


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())

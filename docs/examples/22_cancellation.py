"""Cancellation at each level: a call, a consumer, and a connection closing behind them."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from sqs_async import Message, SQSConnection
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, local_sqs


async def main(endpoint_url: str) -> None:
    def connect() -> SQSConnection:
        return SQSConnection(
            TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
        )

    suffix = uuid.uuid4().hex[:8]
    async with connect() as conn:
        idle = await conn.create_queue(f"cancel-idle-{suffix}")
        jobs = await conn.create_queue(f"cancel-jobs-{suffix}", visibility_timeout=60)
        late = await conn.create_queue(f"cancel-late-{suffix}", visibility_timeout=60)
        try:
            # 1. A call is cancelled like any coroutine. The deadline is yours to set.
            try:
                async with asyncio.timeout(0.5):
                    await idle.read(wait_time_seconds=20)  # an empty queue: waits 20 s
            except TimeoutError:
                print("the long poll was given up after 0.5 s")
            assert await idle.count() == 0  # the connection is still fine

            # 2. A consumer: cancelling it shuts it down in order. Nothing it received
            #    is deleted unless its handler succeeded, and everything else is made
            #    visible again at once (not after the 60 s visibility timeout).
            await jobs.write_batch([f"job {n}" for n in range(20)])
            started = asyncio.Event()

            async def slow(message: Message) -> None:
                started.set()
                await asyncio.sleep(60)  # never finishes in time

            consumer = jobs.consumer(slow, concurrency=2, wait_time_seconds=1, drain_timeout=0.5)
            task = asyncio.create_task(consumer.run())
            await started.wait()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task  # run() re-raises the cancellation once it has shut down
            stats = consumer.statistics()
            print(f"consumer cancelled: received {stats.received}, released {stats.released}")
            assert stats.deleted == 0
            assert stats.released == stats.received
            assert await jobs.count() == 20  # all visible again

            # 3. A consumer stopped while its long poll is parked: the poll is abandoned,
            #    so stop() (and closing the connection) does not wait out its 5 s. It asked
            #    for a short visibility, so what the server may still hand it comes back
            #    within seconds, not after the queue's 60 s.
            consumer = late.consumer(slow, wait_time_seconds=5, pollers=1)
            task = asyncio.create_task(consumer.run())
            await asyncio.sleep(0.5)  # its first long poll is waiting on an empty queue
            consumer.stop()
            await task  # returns at once...
            await late.write("arrived late")  # ...and the abandoned poll may still take this
        finally:
            await idle.delete(force=True)
            await jobs.delete(force=True)
    stats = consumer.statistics()
    print(f"after close: {stats.abandoned_polls} poll abandoned, {stats.received} received")
    assert (stats.abandoned_polls, stats.received) == (1, 0)

    async with connect() as conn:
        late = conn.queue(late.url)
        message = None
        for _ in range(20):  # visible within seconds, whoever took it
            message = await late.read(wait_time_seconds=1)
            if message is not None:
                break
        assert message is not None
        print("visible again within seconds:", message.get_body())
        await late.delete(force=True)


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())

"""The batch writer: concurrent write() calls coalesced into SendMessageBatch calls."""

from __future__ import annotations

import asyncio
import uuid

from sqs_async import ClientClosedError, Message, MessageTooLarge, SQSConnection
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, local_sqs


async def main(endpoint_url: str) -> None:
    async with SQSConnection(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
    ) as conn:
        suffix = uuid.uuid4().hex[:8]
        queue = await conn.create_queue(f"writer-{suffix}")
        fifo = await conn.create_queue(f"writer-{suffix}.fifo")
        try:
            # Many tasks writing one message each, as request handlers of a web service
            # would. Each awaits its own message back, with its id; the writer sends
            # them together, 10 per SendMessageBatch call.
            async with queue.batch_writer() as writer:

                async def handle_request(n: int) -> str:
                    message = await writer.write(f"job {n}", message_attributes={"n": n})
                    assert message.id is not None
                    return message.id

                ids = await asyncio.gather(*(handle_request(n) for n in range(100)))
            print(f"{len(set(ids))} messages sent in {writer.calls} SendMessageBatch calls")
            assert len(set(ids)) == 100
            assert writer.calls < 100

            # Each caller gets its own outcome: one bad message fails alone.
            async with queue.batch_writer() as writer:
                outcomes = await asyncio.gather(
                    writer.write("fine"),
                    writer.write("x" * 1_048_577),  # over 1 MiB: refused before sending
                    writer.write(Message("also fine")),
                    return_exceptions=True,
                )
            assert isinstance(outcomes[0], Message)
            assert isinstance(outcomes[1], MessageTooLarge)
            assert isinstance(outcomes[2], Message)
            print("outcomes:", [type(o).__name__ for o in outcomes])

            # Leaving the block flushed the writer; it takes no more writes.
            try:
                await writer.write("too late")
            except ClientClosedError as exc:
                print("after the block:", exc)
            assert await queue.count() == 102

            # FIFO: the group and deduplication ids are per write.
            async with fifo.batch_writer() as writer:
                await asyncio.gather(
                    *(
                        writer.write(f"step {n}", group_id="order-7", deduplication_id=f"7-{n}")
                        for n in range(5)
                    )
                )
            steps = await fifo.get_messages(10)
            print("FIFO order kept:", [m.get_body() for m in steps])
            assert [m.get_body() for m in steps] == [f"step {n}" for n in range(5)]
        finally:
            await queue.delete(force=True)
            await fifo.delete(force=True)


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())

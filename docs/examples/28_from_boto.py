"""Migrating from boto 2: the same calls, awaited, and the traps that are gone."""

from __future__ import annotations

import asyncio
import base64
import tempfile
import uuid
from pathlib import Path

import sqs_async
from sqs_async import Base64Message, QueueNotEmpty
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, local_sqs


async def main(endpoint_url: str) -> None:
    # boto: conn = boto.sqs.connect_to_region("us-east-1")
    async with sqs_async.connect_sqs(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
    ) as conn:
        name = f"from-boto-{uuid.uuid4().hex[:8]}"
        # boto: q = conn.create_queue("myqueue", 120)
        queue = await conn.create_queue(name, 120)
        try:
            # A queue shared with boto 2 programs: their default Message class wrote
            # base64. This is what such a program puts on the wire...
            boto_wire_text = base64.b64encode(b"written by boto 2").decode("ascii")
            await queue.write(boto_wire_text)

            # ...and Base64Message (alias EncodedMessage) reads and writes that format.
            # boto: q.set_message_class(Message)  (the base64 one was boto's default)
            queue.set_message_class(Base64Message)
            message = await queue.read(wait_time_seconds=1)
            assert message is not None
            print("read boto's message:", message.get_body())
            assert message.get_body() == "written by boto 2"
            await message.delete()
            # boto: q.write(q.new_message("hello")), readable by boto 2 programs
            written = await queue.write(queue.new_message("for boto 2 readers"))
            assert written.get_body_encoded() == base64.b64encode(b"for boto 2 readers").decode()

            # boto: conn.get_queue(name) returned None on any error; here, only when the
            # queue does not exist (access denied or throttling raise).
            assert await conn.get_queue(f"{name}-missing") is None
            found = await conn.lookup(name)
            assert found == queue

            # boto: q.count() -- the same approximate count
            await queue.write_batch([queue.new_message(f"job {n}") for n in range(5)])
            assert await queue.count() == 6

            # boto: q.dump("file") could write a message twice; here each once, and the
            # messages are visible again when it returns.
            with tempfile.TemporaryDirectory() as tmp:
                dumped = await queue.dump(str(Path(tmp) / "dump.txt"))
            assert dumped == 6
            assert await queue.count() == 6

            # boto: conn.delete_queue(q) deleted a non-empty queue; here it refuses.
            try:
                await conn.delete_queue(queue)
            except QueueNotEmpty:
                print("delete_queue refused a non-empty queue")

            # boto: q.clear() had become a purge returning a bool; here it counts.
            removed = await queue.clear()
            print("clear() removed", removed, "messages")
            assert removed == 6
            assert await conn.delete_queue(queue)  # empty now: no force needed
        except BaseException:
            await queue.delete(force=True)
            raise


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())

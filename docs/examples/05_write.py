"""Writing messages: write() sends one message, with optional attributes and delay."""

from __future__ import annotations

import asyncio
import uuid

from sqs_async import Message, SQSConnection
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, local_sqs


async def main(endpoint_url: str) -> None:
    async with SQSConnection(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
    ) as conn:
        queue = await conn.create_queue(f"tutorial-write-{uuid.uuid4().hex[:8]}")
        try:
            # new_message() builds a message of the queue's class (Message: the raw text).
            message = queue.new_message("This is my first message.")
            sent = await queue.write(message)
            # write() returns the message with the id SQS gave it and the MD5 of the body,
            # which the library has already checked against what it sent.
            print("sent", sent.id, "md5", sent.md5)
            assert sent.id is not None

            # A plain string is wrapped in the queue's message class.
            await queue.write("A second message.")

            # Message attributes: str -> String, int/float/Decimal -> Number, bytes -> Binary.
            await queue.write(
                Message("A message with attributes."),
                message_attributes={"author": "tutorial", "priority": 5, "blob": b"\x00\x01"},
            )

            # delay_seconds (0 to 900): not receivable until the delay has passed.
            await queue.write("A delayed message.", delay_seconds=2)

            total = await queue.count(include_in_flight=True)  # delayed ones included
            print(f"the queue holds {total} messages")
            assert total == 4

            # Attributes come back with the message, in the SQS wire shape.
            received: list[Message] = []
            while len(received) < 3:
                received += await queue.get_messages(10, wait_time_seconds=1)
            with_attributes = next(m for m in received if m.message_attributes)
            priority = with_attributes.message_attributes["priority"]
            print("priority attribute:", priority)
            assert priority == {"DataType": "Number", "StringValue": "5"}
        finally:
            await queue.delete(force=True)


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())

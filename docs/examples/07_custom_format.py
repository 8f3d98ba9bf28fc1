"""Using a custom message format: choose how bodies become the text on the wire."""

from __future__ import annotations

import asyncio
import base64
import uuid
import zlib
from typing import Any

from sqs_async import (
    Base64Message,
    JSONMessage,
    Message,
    MessageDecodeError,
    MHMessage,
    Queue,
    SQSConnection,
)
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, local_sqs


class CompressedMessage(Message):
    """A custom format: the body is zlib-compressed text, base64-encoded on the wire."""

    __slots__ = ()

    def encode(self, body: Any) -> str:
        return base64.b64encode(zlib.compress(str(body).encode("utf-8"))).decode("ascii")

    def decode(self, text: str) -> Any:
        return zlib.decompress(base64.b64decode(text)).decode("utf-8")


async def one_message(queue: Queue) -> Message:
    message = await queue.read(wait_time_seconds=2)
    assert message is not None
    await message.delete()
    return message


async def main(endpoint_url: str) -> None:
    async with SQSConnection(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
    ) as conn:
        queue = await conn.create_queue(f"tutorial-format-{uuid.uuid4().hex[:8]}")
        try:
            # Base64Message: classic boto's default encoding, to share a queue with boto 2.
            queue.set_message_class(Base64Message)
            await queue.write(queue.new_message("hello, boto"))
            message = await one_message(queue)
            print("Base64Message wire text:", message.get_body_encoded())
            print("Base64Message body:     ", message.get_body())
            assert message.get_body() == "hello, boto"

            # JSONMessage: the body is any JSON value.
            queue.set_message_class(JSONMessage)
            await queue.write(queue.new_message({"order": 42, "items": ["tea", "scones"]}))
            message = await one_message(queue)
            print("JSONMessage body:", message.get_body())
            assert message.get_body()["order"] == 42

            # MHMessage: "Key: value" lines, used like a dict.
            queue.set_message_class(MHMessage)
            outgoing = MHMessage({"Name": "report"})
            outgoing["Priority"] = "high"
            await queue.write(outgoing)
            received = await one_message(queue)
            assert isinstance(received, MHMessage)
            print("MHMessage wire text:", repr(received.get_body_encoded()))
            print("MHMessage Priority: ", received["Priority"])
            assert received["Name"] == "report"

            # A custom subclass: override encode() and decode(), then register it.
            queue.set_message_class(CompressedMessage)
            await queue.write(queue.new_message("spam " * 100))
            message = await one_message(queue)
            print(
                f"CompressedMessage: {len(message.get_body_encoded())} characters on the wire "
                f"for a {len(message.get_body())}-character body"
            )
            assert message.get_body() == "spam " * 100

            # A body the class cannot decode raises MessageDecodeError for that message
            # alone, when you ask for its body; the raw text is still there.
            await queue.write(Message("plain text, not base64"))
            queue.set_message_class(Base64Message)
            message = await one_message(queue)
            try:
                message.get_body()
            except MessageDecodeError as exc:
                print("undecodable body:", repr(exc.raw))
            else:
                raise AssertionError("expected MessageDecodeError")
        finally:
            await queue.delete(force=True)


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())

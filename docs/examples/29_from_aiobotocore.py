"""Migrating from aiobotocore: the low-level calls keep botocore's names and shapes."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqs_async import Message, QueueDoesNotExist, SQSConnection
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, local_sqs


async def main(endpoint_url: str) -> None:
    # aiobotocore:
    #   session = aiobotocore.session.get_session()
    #   async with session.create_client("sqs", region_name=..., endpoint_url=...) as client:
    async with SQSConnection(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
    ) as client:
        # CreateQueue and DeleteQueue are create_queue_raw / delete_queue_raw here
        # (create_queue / delete_queue are the boto-style calls that return a Queue).
        created = await client.create_queue_raw(
            QueueName=f"from-aiobotocore-{uuid.uuid4().hex[:8]}"
        )
        url = created["QueueUrl"]
        try:
            # The same parameters, the same response dicts.
            sent = await client.send_message(
                QueueUrl=url,
                MessageBody="hello",
                MessageAttributes={"kind": {"DataType": "String", "StringValue": "greeting"}},
            )
            print("send_message ->", sorted(sent))
            assert {"MessageId", "MD5OfMessageBody"} <= sent.keys()  # both MD5s were checked

            response: dict[str, Any] = await client.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
                MessageAttributeNames=["All"],
            )
            for wire in response.get("Messages", []):
                print("received", wire["Body"], wire["MessageAttributes"])
                await client.delete_message(QueueUrl=url, ReceiptHandle=wire["ReceiptHandle"])

            # Errors are typed: no ClientError to unpack, but the code is still there.
            try:
                await client.get_queue_url(QueueName=f"missing-{uuid.uuid4().hex[:8]}")
            except QueueDoesNotExist as exc:  # client.exceptions.QueueDoesNotExist
                print("get_queue_url ->", type(exc).__name__, exc.code)

            # The receive / process / delete loop you wrote by hand becomes consume():
            # long polling, bounded concurrency, deletes batched, visibility extended.
            queue = client.queue(url)
            await queue.write_batch([f"job {n}" for n in range(20)])
            done: list[str] = []

            async def handle(message: Message) -> None:
                done.append(message.get_body())  # return: deleted; raise: retried later

            await queue.consume(handle, concurrency=5, wait_time_seconds=1, stop_when_empty=True)
            print(f"consume() handled {len(done)} messages")
            assert sorted(done) == sorted(f"job {n}" for n in range(20))
            assert await queue.count(include_in_flight=True) == 0
        finally:
            await client.delete_queue_raw(QueueUrl=url)


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())

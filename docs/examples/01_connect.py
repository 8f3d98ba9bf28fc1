"""Creating a connection: an SQSConnection owns one pooled HTTP stack."""

from __future__ import annotations

import asyncio

import sqs_async
from sqs_async import SQSConnection
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, local_sqs


async def main(endpoint_url: str) -> None:
    # Construction does no I/O: the pool starts on first use, inside the running loop.
    # Against AWS you would write SQSConnection() (the credential chain) or pass your keys.
    conn = SQSConnection(
        TEST_ACCESS_KEY,
        TEST_SECRET_KEY,
        region=TEST_REGION,
        endpoint_url=endpoint_url,
    )
    print("created", conn)
    queues = await conn.get_all_queues()  # the first call opens the pool
    print(f"the server answered: {len(queues)} queue(s) so far")
    await conn.close()
    await conn.close()  # idempotent
    assert conn.closed

    # The usual form: an async context manager that closes the connection for you.
    # connect_sqs() is the boto-style shortcut and returns the same type.
    async with sqs_async.connect_sqs(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
    ) as conn2:
        assert isinstance(conn2, SQSConnection)
        print("connect_sqs() gave", conn2)
        await conn2.get_all_queues()
    assert conn2.closed
    print("both connections closed")


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:  # an embedded SQS server on a free port
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())

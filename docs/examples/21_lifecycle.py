"""A connection's life: unopened, opened, closed; and what each state allows."""

from __future__ import annotations

import asyncio
import contextlib

from sqs_async import ClientClosedError, SQSConnection
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, local_sqs


async def main(endpoint_url: str) -> None:
    def connect() -> SQSConnection:
        return SQSConnection(
            TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
        )

    # Creating a connection opens nothing: no session, no socket, no event loop needed.
    conn = connect()
    print(conn)
    assert conn.state.name == "UNOPENED"

    async with conn:  # opens the pools (inside the running loop)...
        assert conn.state.name == "OPENED"
        try:
            async with conn:  # ...once: entering it twice is a bug
                pass
        except RuntimeError as exc:
            print("entered twice:", exc)
        await conn.get_all_queues()
    # ...and closes them on the way out, even when the block raises.
    print(conn)
    assert conn.closed

    await conn.close()  # closing again does nothing
    try:
        await conn.get_all_queues()
    except ClientClosedError as exc:  # also a RuntimeError
        print("used after close:", exc)
    else:
        raise AssertionError("a closed connection was used")

    # Without async with, the first call opens the connection; close it yourself.
    conn = connect()
    try:
        await conn.get_all_queues()
        assert conn.state.name == "OPENED"
    finally:
        await conn.close()

    # aclose() is an alias of close(), so contextlib.aclosing() works too.
    async with contextlib.aclosing(connect()) as conn:
        await conn.get_all_queues()
    assert conn.closed
    print("all connections closed")


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())

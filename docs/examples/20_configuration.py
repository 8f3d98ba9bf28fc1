"""Configuring a connection: credentials, region, endpoint, timeouts, retries and limits."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqs_async import Limits, MessageTooLarge, RetryPolicy, SQSConnection, Timeouts
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, local_sqs


@contextlib.contextmanager
def environment(**variables: str | None) -> Iterator[None]:
    """Set (or, with None, unset) environment variables for a block, then restore them."""
    saved = {name: os.environ.get(name) for name in variables}
    try:
        for name, value in variables.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


async def main(endpoint_url: str) -> None:
    # 1. Everything explicit. Construction does no I/O and needs no running loop.
    conn = SQSConnection(
        TEST_ACCESS_KEY,
        TEST_SECRET_KEY,
        region=TEST_REGION,
        endpoint_url=endpoint_url,
        timeouts=Timeouts(connect=5, read=30, pool=10),  # seconds, per attempt
        retry=RetryPolicy(mode="adaptive", max_attempts=5),
        limits=Limits(max_message_bytes=256 * 1024),  # for a server that caps at 256 KiB
        max_connections=32,  # the pool for sends, deletes, visibility changes...
        max_poll_connections=8,  # a separate pool for long polls
    )
    print("config:", conn.config)
    async with conn:
        queue = await conn.create_queue(f"config-{uuid.uuid4().hex[:8]}")
        try:
            try:
                await queue.write("x" * 300_000)
            except MessageTooLarge as exc:  # the client-side limit, before anything is sent
                print("refused:", exc)
            else:
                raise AssertionError("the 256 KiB limit was not applied")
            assert await queue.count() == 0
        finally:
            await queue.delete(force=True)

    # 2. From the environment, as every AWS SDK does it: keys, region and endpoint.
    #    (AWS_ENDPOINT_URL_SQS wins over AWS_ENDPOINT_URL, which applies to all services.)
    with environment(
        AWS_ACCESS_KEY_ID=TEST_ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=TEST_SECRET_KEY,
        AWS_REGION=TEST_REGION,
        AWS_ENDPOINT_URL_SQS=endpoint_url,
    ):
        async with SQSConnection() as env_conn:
            await env_conn.get_all_queues()
            print("from the environment:", env_conn.region, env_conn.endpoint_url)
            assert env_conn.region == TEST_REGION
            assert env_conn.endpoint_url == endpoint_url

    # 3. A named profile from the shared credentials and config files. Its region is read
    #    from the config file when the connection opens (in a worker thread, not at once).
    with tempfile.TemporaryDirectory() as tmp:
        credentials_file = Path(tmp) / "credentials"
        credentials_file.write_text(
            f"[ci]\naws_access_key_id = {TEST_ACCESS_KEY}\n"
            f"aws_secret_access_key = {TEST_SECRET_KEY}\n",
            encoding="utf-8",
        )
        config_file = Path(tmp) / "config"
        config_file.write_text("[profile ci]\nregion = eu-west-1\n", encoding="utf-8")
        with environment(
            AWS_SHARED_CREDENTIALS_FILE=str(credentials_file),
            AWS_CONFIG_FILE=str(config_file),
            AWS_ENDPOINT_URL=endpoint_url,
            AWS_REGION=None,  # an environment region would win over the profile's
            AWS_DEFAULT_REGION=None,
        ):
            profile_conn = SQSConnection(profile="ci")
            print("before opening, region:", profile_conn.region)
            assert profile_conn.region is None  # not known without reading a file
            async with profile_conn:
                await profile_conn.get_all_queues()
                print("profile ci: region", profile_conn.region)
                assert profile_conn.region == "eu-west-1"


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())

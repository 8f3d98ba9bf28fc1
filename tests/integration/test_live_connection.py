"""SQSConnection and connect_sqs against the real local server: lifecycle, endpoint, credentials."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import socket
from pathlib import Path
from typing import Any

import pytest
from compat import LOCAL_FRESH_MESSAGE_DELAYED, LOCAL_LISTS_DELETED_QUEUES, known_divergent
from live_support import connection_to

import sqs_async
from sqs_async import AuthError, ClientClosedError, Queue, SQSConnection
from sqs_async._client import ClientState
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, QueueNameFactory

pytest_plugins = ["live_fixtures"]
pytestmark = pytest.mark.integration


async def test_sqs_connection_in_async_with(
    sqs_endpoint: str, sqs_queue_name: QueueNameFactory
) -> None:
    name = sqs_queue_name()
    conn = SQSConnection(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=sqs_endpoint
    )
    async with conn as entered:
        assert entered is conn
        assert not conn.closed
        queue = await conn.create_queue(name)
        assert queue.name == name
        assert queue.connection is conn
        assert await conn.get_queue(name) == queue
        await conn.delete_queue(queue)
    assert conn.closed


@known_divergent("local-aws-sqs", LOCAL_FRESH_MESSAGE_DELAYED)
async def test_connect_sqs_in_async_with(
    sqs_endpoint: str, sqs_queue_name: QueueNameFactory
) -> None:
    name = sqs_queue_name()
    conn = sqs_async.connect_sqs(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=sqs_endpoint
    )
    assert type(conn) is SQSConnection
    async with conn:
        queue = await conn.create_queue(name)
        await queue.write(queue.new_message("via connect_sqs"))
        assert await queue.count() == 1
        assert await queue.delete(force=True) is True
    assert conn.closed


@known_divergent("local-aws-sqs", LOCAL_FRESH_MESSAGE_DELAYED)
@pytest.mark.parametrize("transport", ["http11", "aiohttp"])
async def test_both_http_transports_do_the_whole_round_trip(
    sqs_endpoint: str, sqs_queue_name: QueueNameFactory, transport: Any
) -> None:
    async with sqs_async.connect_sqs(
        TEST_ACCESS_KEY,
        TEST_SECRET_KEY,
        region=TEST_REGION,
        endpoint_url=sqs_endpoint,
        transport=transport,
    ) as conn:
        queue = await conn.create_queue(sqs_queue_name())
        body = "é" * 70_000  # a multi-read request and response (UTF-8: 140,000 bytes)
        await queue.write(queue.new_message(body))
        await queue.write_batch([queue.new_message(f"m{i}") for i in range(12)])
        received = await queue.get_messages(10, wait_time_seconds=1)
        assert received
        assert await queue.delete_message_batch(received)
        got = {m.get_body() for m in received}
        while len(got) < 13:
            more = await queue.get_messages(10, wait_time_seconds=1)
            assert more, f"only {len(got)} of 13 messages came back"
            got |= {m.get_body() for m in more}
            await queue.delete_message_batch(more)
        assert got == {body} | {f"m{i}" for i in range(12)}
        assert await queue.count() == 0
        with pytest.raises(sqs_async.QueueDoesNotExist):
            await conn.get_queue_url(QueueName=sqs_queue_name())
        await conn.delete_queue(queue)


def test_an_unknown_transport_name_is_refused_before_any_io() -> None:
    with pytest.raises(ValueError, match="transport must be 'http11', 'aiohttp' or a Transport"):
        SQSConnection("a", "b", region="us-east-1", transport="requests")  # type: ignore[arg-type]


async def test_first_call_opens_the_connection_without_async_with(sqs_endpoint: str) -> None:
    conn = connection_to(sqs_endpoint)
    try:
        before = conn.state
        assert isinstance(await conn.get_all_queues(), list)
        assert (before, conn.state) == (ClientState.UNOPENED, ClientState.OPENED)
    finally:
        await conn.close()


async def test_close_is_idempotent_and_aclose_is_its_alias(sqs_endpoint: str) -> None:
    conn = connection_to(sqs_endpoint)
    async with conn:
        await conn.get_all_queues()
        await conn.close()
        assert conn.closed
        await conn.close()  # a second close, then the one of the async with block: no error
        await conn.aclose()
    assert conn.closed

    other = connection_to(sqs_endpoint)
    async with contextlib.aclosing(other):
        await other.get_all_queues()
    assert other.closed
    await other.aclose()


async def test_a_closed_connection_refuses_every_use(
    sqs_endpoint: str, sqs_queue_name: QueueNameFactory
) -> None:
    conn = connection_to(sqs_endpoint)
    async with conn:
        queue = await conn.create_queue(sqs_queue_name())
    assert conn.closed
    with pytest.raises(ClientClosedError):
        await conn.get_all_queues()
    with pytest.raises(ClientClosedError):
        await conn.create_queue("anything")
    with pytest.raises(ClientClosedError):
        await queue.count()
    with pytest.raises(ClientClosedError):
        await queue.write(queue.new_message("late"))
    with pytest.raises(ClientClosedError):
        await conn.list_queues()
    with pytest.raises(ClientClosedError):
        await conn.__aenter__()
    assert isinstance(ClientClosedError("x"), RuntimeError)
    # Clean up with a fresh connection (the queue outlives the closed one).
    async with connection_to(sqs_endpoint) as cleaner:
        assert await cleaner.delete_queue(queue.url) is True


async def test_a_connection_closed_without_being_used_refuses_use(sqs_endpoint: str) -> None:
    conn = connection_to(sqs_endpoint)
    await conn.close()
    with pytest.raises(ClientClosedError):
        await conn.get_all_queues()


async def test_endpoint_from_aws_endpoint_url_sqs(
    monkeypatch: pytest.MonkeyPatch, sqs_endpoint: str, sqs_queue_name: QueueNameFactory
) -> None:
    # The service-specific variable wins over the general one (here unusable on purpose).
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", sqs_endpoint)
    async with SQSConnection(TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION) as conn:
        queue = await conn.create_queue(sqs_queue_name())
        assert conn.endpoint_url == sqs_endpoint
        assert await conn.get_queue(queue.name) == queue
        await queue.delete()


async def test_endpoint_from_aws_endpoint_url(
    monkeypatch: pytest.MonkeyPatch, sqs_endpoint: str, sqs_queue_name: QueueNameFactory
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", sqs_endpoint)
    async with sqs_async.connect_sqs(TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION) as conn:
        queue = await conn.create_queue(sqs_queue_name())
        assert conn.endpoint_url == sqs_endpoint
        assert await conn.lookup(queue.name) == queue
        await queue.delete()


async def test_explicit_endpoint_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, sqs_endpoint: str
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    async with connection_to(sqs_endpoint) as conn:
        await conn.get_all_queues()
        assert conn.endpoint_url == sqs_endpoint


@known_divergent("local-aws-sqs", LOCAL_FRESH_MESSAGE_DELAYED)
async def test_credentials_and_region_from_environment_variables(
    monkeypatch: pytest.MonkeyPatch, sqs_endpoint: str, sqs_queue_name: QueueNameFactory
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token")
    monkeypatch.setenv("AWS_REGION", TEST_REGION)
    async with SQSConnection(endpoint_url=sqs_endpoint) as conn:
        assert conn.region == TEST_REGION
        queue = await conn.create_queue(sqs_queue_name())
        await queue.write(queue.new_message("signed with the environment's keys"))
        assert await queue.count() == 1
        await queue.delete(force=True)


async def test_no_credentials_anywhere_is_an_auth_error_at_first_use(sqs_endpoint: str) -> None:
    # tests/conftest.py cleared AWS_* and pointed the config files at nothing.
    conn = SQSConnection(region=TEST_REGION, endpoint_url=sqs_endpoint)  # no I/O: no error yet
    async with contextlib.aclosing(conn):
        with pytest.raises(AuthError):
            await conn.get_all_queues()


@known_divergent("local-aws-sqs", LOCAL_LISTS_DELETED_QUEUES)
def test_construction_outside_a_loop_does_no_io_and_works_in_a_loop_later(
    monkeypatch: pytest.MonkeyPatch, sqs_endpoint: str, sqs_queue_name: QueueNameFactory
) -> None:
    name = sqs_queue_name()
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()  # really no loop here

    def no_io(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"I/O during construction: {args!r}")

    with monkeypatch.context() as patched:
        patched.setattr(socket, "socket", no_io)
        patched.setattr(socket, "create_connection", no_io)
        patched.setattr(socket, "getaddrinfo", no_io)
        patched.setattr(builtins, "open", no_io)
        conn = connection_to(sqs_endpoint)
        shortcut = sqs_async.connect_sqs(endpoint_url=sqs_endpoint)  # credential chain, later
        handle = Queue(conn, f"{sqs_endpoint}/000000000000/{name}")
    assert conn.state is ClientState.UNOPENED
    assert handle.name == name

    async def use() -> list[str]:
        async with conn:
            created = await conn.create_queue(name)
            await created.write(created.new_message("made outside the loop"))
            message = await created.read(wait_time_seconds=1)
            assert message is not None
            assert message.get_body() == "made outside the loop"
            await created.delete(force=True)
            return [q.name for q in await conn.get_all_queues(name)]

    assert asyncio.run(use()) == []
    assert conn.closed
    asyncio.run(shortcut.close())  # never used: closing it does no I/O either


@known_divergent("local-aws-sqs", LOCAL_FRESH_MESSAGE_DELAYED)
async def test_credentials_and_region_from_a_profile_in_the_shared_files(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    sqs_endpoint: str,
    sqs_queue_name: QueueNameFactory,
) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[work]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n",
        encoding="utf-8",
    )
    config = tmp_path / "config"
    config.write_text("[profile work]\nregion = eu-west-3\n", encoding="utf-8")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    async with SQSConnection(profile="work", endpoint_url=sqs_endpoint) as conn:
        queue = await conn.create_queue(sqs_queue_name())
        assert conn.region == "eu-west-3"
        await queue.write(queue.new_message("signed with the profile's keys"))
        assert await queue.count() == 1
        await queue.delete(force=True)


async def test_secrets_never_show_in_repr(sqs_endpoint: str) -> None:
    conn = SQSConnection(
        "AKIDEXAMPLEKEY",
        "wJalrXUtnFEMI-very-secret",
        aws_session_token="session-token-secret",
        region=TEST_REGION,
        endpoint_url=sqs_endpoint,
    )
    async with conn:
        await conn.get_all_queues()
        for text in (repr(conn), str(conn), repr(conn.config)):
            assert "very-secret" not in text
            assert "session-token-secret" not in text


async def test_entering_a_connection_twice_is_refused(sqs_endpoint: str) -> None:
    async with connection_to(sqs_endpoint) as conn:
        with pytest.raises(RuntimeError):
            await conn.__aenter__()
        await conn.get_all_queues()  # still usable

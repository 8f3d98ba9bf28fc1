"""Connection lifecycle: no I/O on construction, enter once, close idempotently, warn if leaked."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import gc
import socket
import warnings
from typing import Any

import botocore.session
import pytest
from _core_support import ACCESS_KEY, ENDPOINT, QUEUE_URL, SECRET_KEY, connect, default_handler

from sqs_async import AuthError, ClientClosedError, SQSConnection, connect_sqs
from sqs_async._client import ClientState
from sqs_async._transport.mock import RecordedCall, error_response


def test_constructor_does_no_io_and_needs_no_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("I/O or event loop use in the constructor")

    monkeypatch.setattr(socket, "socket", forbidden)
    monkeypatch.setattr(socket, "getaddrinfo", forbidden)
    monkeypatch.setattr(builtins, "open", forbidden)
    monkeypatch.setattr(botocore.session, "Session", forbidden)
    monkeypatch.setattr(botocore.session, "get_session", forbidden)
    monkeypatch.setattr(asyncio, "get_event_loop", forbidden)
    monkeypatch.setattr(asyncio, "get_running_loop", forbidden)
    # No keys, no region: everything that needs files or the network is left for later.
    conn = SQSConnection()
    assert conn.state is ClientState.UNOPENED
    conn2 = connect_sqs(ACCESS_KEY, SECRET_KEY, region="eu-west-1", endpoint_url=ENDPOINT)
    assert conn2.state is ClientState.UNOPENED
    assert conn2.endpoint_url is None  # resolved on open


async def test_construction_sends_nothing() -> None:
    conn, mock = connect(default_handler)
    assert mock.calls == []
    async with conn:
        assert conn.state is ClientState.OPENED
        assert mock.calls == []
    assert conn.closed


async def test_first_call_opens_the_connection() -> None:
    conn, mock = connect(default_handler)
    try:
        await conn.list_queues()
        assert conn.state is ClientState.OPENED
        assert mock.operations() == ["ListQueues"]
    finally:
        await conn.close()


async def test_entering_twice_raises() -> None:
    conn, _ = connect(default_handler)
    async with conn:
        with pytest.raises(RuntimeError):
            async with conn:
                pass  # pragma: no cover
    with pytest.raises(ClientClosedError):
        async with conn:
            pass  # pragma: no cover


async def test_use_after_close_raises_client_closed() -> None:
    conn, mock = connect(default_handler)
    async with conn:
        queue = conn.queue(QUEUE_URL)
        await queue.write("before")
    with pytest.raises(ClientClosedError):
        await queue.write("after")
    with pytest.raises(ClientClosedError):
        await conn.list_queues()
    with pytest.raises(ClientClosedError):
        await conn.open()
    assert mock.operations() == ["SendMessage"]
    assert conn.closed


async def test_close_before_open_then_use_raises() -> None:
    conn, mock = connect(default_handler)
    await conn.close()
    with pytest.raises(ClientClosedError):
        await conn.list_queues()
    assert mock.calls == []


async def test_close_is_idempotent_and_aclose_is_an_alias() -> None:
    conn, _ = connect(default_handler)
    await conn.open()
    await conn.close()
    await conn.close()
    await conn.aclose()
    assert conn.closed
    assert SQSConnection.aclose is SQSConnection.close


async def test_contextlib_aclosing_works() -> None:
    conn, _ = connect(default_handler)
    async with contextlib.aclosing(conn):
        await conn.list_queues()
    assert conn.closed


async def test_injected_transport_is_not_closed_by_the_connection() -> None:
    conn, mock = connect(default_handler)
    async with conn:
        await conn.list_queues()
    assert not mock.closed


async def test_owned_transport_is_closed() -> None:
    conn = SQSConnection(ACCESS_KEY, SECRET_KEY, region="us-east-1", endpoint_url=ENDPOINT)
    await conn.open()
    transport = conn._transport
    assert transport is not None
    await conn.close()
    assert conn._transport is None
    assert getattr(transport, "_closed", None) is True


def drop(holder: list[object]) -> None:
    """Drop the last reference to what ``holder`` holds, and collect it."""
    holder.clear()
    gc.collect()


async def test_unclosed_connection_warns_when_collected() -> None:
    conn = SQSConnection(ACCESS_KEY, SECRET_KEY, region="us-east-1", endpoint_url=ENDPOINT)
    await conn.open()
    holder: list[object] = [conn]
    del conn
    with pytest.warns(ResourceWarning, match="unclosed"):
        drop(holder)


async def test_closed_connection_does_not_warn() -> None:
    conn = SQSConnection(ACCESS_KEY, SECRET_KEY, region="us-east-1", endpoint_url=ENDPOINT)
    await conn.open()
    await conn.close()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del conn
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


def test_never_opened_connection_does_not_warn() -> None:
    conn = SQSConnection(ACCESS_KEY, SECRET_KEY, region="us-east-1", endpoint_url=ENDPOINT)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del conn
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


async def test_repr_never_shows_the_secret() -> None:
    conn, _ = connect(default_handler)
    texts = [repr(conn), str(conn)]
    async with conn:
        texts += [repr(conn), str(conn), repr(conn.queue(QUEUE_URL))]
    texts += [repr(conn)]
    for text in texts:
        assert SECRET_KEY not in text
        assert SECRET_KEY[:10] not in text
    assert ENDPOINT in texts[2]


async def test_errors_never_show_the_secret() -> None:
    def handler(call: RecordedCall) -> Any:
        return error_response(403, "SignatureDoesNotMatch", "The signature does not match")

    conn, _ = connect(handler)
    async with conn:
        with pytest.raises(AuthError) as info:
            await conn.list_queues()
    assert SECRET_KEY not in str(info.value)
    assert SECRET_KEY not in repr(info.value)


async def test_connection_works_as_async_context_manager_returning_itself() -> None:
    conn, _ = connect(default_handler)
    async with conn as entered:
        assert entered is conn


async def test_bad_endpoint_is_rejected_on_open() -> None:
    conn, mock = connect(default_handler, endpoint_url="ftp://example.com")
    with pytest.raises(ValueError, match="endpoint_url"):
        await conn.open()
    await conn.close()
    assert mock.calls == []

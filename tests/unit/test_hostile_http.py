"""Both transports against hostile or broken servers on loopback (issue 11).

Every case runs on the default transport (``http11``) and on aiohttp's: chunking that
would blow up memory, replies that are not HTTP, failures whose text is empty, a client
dropped without ``close()``, input HTTP cannot carry (a bad endpoint, a line break in a
header, a session token outside latin-1: typed errors, no secret anywhere in the error),
TLS options, a server that keeps sending, bytes on an idle pooled connection, and a server
trickling bytes against ``Timeouts(total=...)``. Each test failed on the code before the
fix. Waits are on conditions with deadlines; a long read timeout shows "at once" without
timing anything: a failure that waited would be a ``ReadTimeout``, not the error asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ssl
import tracemalloc
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from http_support import CA, HEADERS, Reply, Request, Server, response

from sqs_async import RetryPolicy, SQSConnection, Timeouts
from sqs_async._transport import aiohttp_transport, h11parse
from sqs_async._transport.aiohttp_transport import AiohttpTransport, _map_error
from sqs_async._transport.base import Transport
from sqs_async._transport.http11 import Http11Transport
from sqs_async.errors import (
    ConnectError,
    ReadTimeout,
    ResponseError,
    SQSError,
    TransportError,
    ValidationError,
)

KINDS = ["http11", "aiohttp"]
LONG = 60.0  # a read timeout no test should reach
LIST_QUEUES = b'{"QueueUrls":[]}'


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def make(kind: str, timeouts: Timeouts | None = None, **options: Any) -> Http11Transport:
    cls = Http11Transport if kind == "http11" else AiohttpTransport
    return cls(timeouts or Timeouts(), 4, 2, **options)  # type: ignore[return-value]


@contextlib.asynccontextmanager
async def scripted(
    kind: str, reply: Reply, *, tls: ssl.SSLContext | None = None, **options: Any
) -> AsyncIterator[tuple[Server, Transport]]:
    server = await Server(reply).start(tls)
    t = make(kind, **options)
    try:
        yield server, t
    finally:
        await t.aclose()
        await server.stop()


def https(server: Server) -> str:
    return f"https://127.0.0.1:{server.port}/"


def connect(url: str, kind: Any, **kwargs: Any) -> SQSConnection:
    return SQSConnection(
        "AKIDEXAMPLE", "wJalrXUtnFEMI/SECRET", region="us-east-1", endpoint_url=url,
        transport=kind, **kwargs,
    )  # fmt: skip


async def answer_list_queues(request: Request, writer: asyncio.StreamWriter) -> bool:
    writer.write(response(LIST_QUEUES))
    return True


# -- memory ----------------------------------------------------------------------------------


async def test_two_byte_chunks_keep_memory_near_the_body_size(kind: str) -> None:
    size = 1 << 18 if kind == "http11" else 1 << 19  # tracemalloc slows Python parsing down
    body = bytes(range(256)) * (size // 256)
    wire = bytearray(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    for i in range(0, size, 2):
        wire += b"2\r\n" + body[i : i + 2] + b"\r\n"
    wire += b"0\r\n\r\n"
    view = memoryview(bytes(wire))
    del wire

    async def reply(request: Request, writer: asyncio.StreamWriter) -> bool:
        for i in range(0, len(view), 65536):
            writer.write(view[i : i + 65536])
            await writer.drain()
        return True

    async with scripted(kind, reply) as (server, t):
        tracemalloc.start()
        try:
            got = await t.request(server.url, HEADERS, b"{}", read_timeout=LONG)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert got.body == body
    # One object per 2-byte chunk took ~20x the body. Now: the body, its copy, and buffers
    # bounded by what a few socket reads hold (aiohttp keeps those chunks apart until read).
    budget = 3 * size + (512 << 10 if kind == "http11" else 4 << 20)
    assert peak < budget, f"peak {peak / size:.1f}x the body"


# -- not HTTP: fail at once --------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply_bytes",
    [
        pytest.param(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", id="ssh-banner"),
        pytest.param(b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok", id="bare-lf-head"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 2\n\nok", id="bare-lf-end"),
        pytest.param(b"HTTP/1.1 2000 OK\r\n", id="bad-status-line"),
    ],
)
async def test_a_reply_that_is_not_http_fails_at_once(kind: str, reply_bytes: bytes) -> None:
    async def reply(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(reply_bytes)
        return True  # and keep the connection open: no EOF to end the wait

    async with scripted(kind, reply) as (server, t):
        if kind == "aiohttp" and b"\n\n" in reply_bytes:
            # aiohttp's parser takes a bare LF as a line end (RFC 9112 §2.2 allows it): an
            # answer at once is just as good as a refusal at once
            got = await t.request(server.url, HEADERS, b"{}", read_timeout=LONG)
            assert (got.status, got.body) == (200, b"ok")
            return
        with pytest.raises(ResponseError, match="malformed HTTP response") as caught:
            await t.request(server.url, HEADERS, b"{}", read_timeout=LONG)
        await server.until(lambda: server.eofs == 1)  # the connection was closed, not pooled
    assert str(caught.value)


# -- error text --------------------------------------------------------------------------------


async def test_an_exception_without_text_still_makes_a_message(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if kind == "aiohttp":
        for exc in (
            aiohttp.ClientConnectionError(),
            aiohttp.ClientOSError(),
            aiohttp.ClientError(),
        ):
            mapped = _map_error(exc)
            assert isinstance(mapped, TransportError)
            assert str(mapped) == type(exc).__name__
        return
    loop = asyncio.get_running_loop()

    errors = iter([ssl.SSLError(), ConnectionResetError()])  # str(): "()" and ""

    async def refused(*args: object, **kwargs: object) -> None:
        raise next(errors)

    monkeypatch.setattr(loop, "create_connection", refused)
    t = make(kind)
    try:
        for name in ("SSLError", "ConnectionResetError"):
            with pytest.raises(ConnectError) as caught:
                await t.request("http://127.0.0.1:9/", HEADERS, b"{}", read_timeout=1)
            assert str(caught.value) == f"could not connect to 127.0.0.1:9: {name}"
    finally:
        await t.aclose()


async def test_a_tls_version_refusal_has_a_message(kind: str, tmp_path: Path) -> None:
    ca = CA(tmp_path)
    context = ca.issue("127.0.0.1").server_context()
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
    client_verify = str(ca.cert)

    async with scripted(kind, answer_list_queues, tls=context, verify=client_verify) as (s, t):
        # the client offers TLS 1.2 and 1.3: this works...
        assert (await t.request(https(s), HEADERS, b"{}", read_timeout=5)).body == LIST_QUEUES
    strict = ca.issue("127.0.0.1").server_context()
    strict.minimum_version = ssl.TLSVersion.TLSv1_3
    async with scripted(kind, answer_list_queues, tls=strict, verify=client_verify) as (s, t):
        assert (await t.request(https(s), HEADERS, b"{}", read_timeout=5)).status == 200
    # ...and a server that only speaks a version the client refuses fails with words
    old = ca.issue("127.0.0.1").server_context()
    with warnings.catch_warnings(), contextlib.suppress(ValueError, ssl.SSLError):
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0/1.1: the point here
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
        old.set_ciphers("ALL:@SECLEVEL=0")
    async with scripted(kind, answer_list_queues, tls=old, verify=client_verify) as (s, t):
        with pytest.raises(ConnectError) as caught:
            await t.request(https(s), HEADERS, b"{}", read_timeout=5)
    text = str(caught.value)
    assert not text.rstrip().endswith(":"), text
    assert len(text.rpartition(": ")[2].strip()) > 3, text


# -- a client dropped without close() ---------------------------------------------------------


async def test_a_collected_client_closes_its_sockets_and_still_warns(kind: str) -> None:
    server = await Server(answer_list_queues).start()
    try:
        conn = connect(server.url, kind)
        assert await conn.list_queues() == {"QueueUrls": []}
        assert server.connections == 1
        assert server.eofs == 0  # kept alive in the pool
        dropped = [conn]
        del conn
        warned = _collect(dropped)
        assert "ResourceWarning: unclosed SQSConnection" in "\n".join(warned)
        await server.until(lambda: server.eofs == 1)  # the socket was closed on collection
    finally:
        await server.stop()


def _collect(objects: list[Any]) -> list[str]:
    """Drop ``objects`` and collect them; the warnings their finalizers emitted.

    A recorded ResourceWarning keeps its ``source`` (the dying object) alive: the records
    are dropped inside the block, so that what those objects own dies inside it too.
    """
    seen: list[str] = []
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        objects.clear()
        for _ in range(3):
            gc.collect()
            seen += [f"{w.category.__name__}: {w.message}" for w in records]
            records.clear()
    return seen


# -- input HTTP cannot carry: typed errors before any I/O --------------------------------------


@pytest.mark.parametrize(
    "url",
    ["http://[::1", "http://127.0.0.1:99999/", "http://host:port/", "ftp://127.0.0.1/",
     "127.0.0.1:4566", "http:///path", "http://exa mple.com/"],
)  # fmt: skip
async def test_a_bad_endpoint_url_is_a_validation_error(kind: str, url: str) -> None:
    conn = connect(url, kind)
    with pytest.raises(ValidationError, match=r"endpoint_url .* is not an http"):
        await conn.open()
    await conn.close()


async def test_a_line_break_in_a_header_is_a_validation_error(kind: str) -> None:
    async with scripted(kind, answer_list_queues) as (server, t):
        for evil in ({"X-Evil": "a\r\nX-Injected: 1"}, {"X-Evil": "a\nb"}, {"X\r\nY": "v"}):
            with pytest.raises(ValidationError, match="line break"):
                await t.request(server.url, {**HEADERS, **evil}, b"{}", read_timeout=1)
    assert server.connections == 0


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        todo += [current.__cause__, current.__context__]
    return seen


async def test_a_session_token_outside_latin1_is_a_typed_error_without_secrets(
    kind: Any,
) -> None:
    token = "FwoGZXIvYXdzE\u2019SESSION-TOKEN-SECRET"  # a typographic quote pasted in
    server = await Server(answer_list_queues).start()
    try:
        async with SQSConnection(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/SECRET-KEY",
            aws_session_token=token,
            region="us-east-1",
            endpoint_url=server.url,
            transport=kind,
        ) as conn:
            with pytest.raises(ValidationError) as caught:
                await conn.list_queues()
    finally:
        await server.stop()
    assert server.connections == 0
    assert "X-Amz-Security-Token" in str(caught.value)
    chain = _chain(caught.value)
    assert all(isinstance(e, SQSError) for e in chain), chain  # nothing chained
    for exc in chain:
        for text in (str(exc), repr(exc), repr(exc.args), repr(vars(exc))):
            for secret in ("SESSION-TOKEN-SECRET", "SECRET-KEY", "Signature=", "Credential="):
                assert secret not in text


# -- TLS options, the same in both transports --------------------------------------------------


async def test_verify_and_ca_bundles(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = CA(tmp_path)
    context = ca.issue("127.0.0.1").server_context()
    server = await Server(answer_list_queues).start(context)
    url = https(server)

    async def call(**options: Any) -> bytes:
        t = make(kind, **options)
        try:
            return (await t.request(url, HEADERS, b"{}", read_timeout=5)).body
        finally:
            await t.aclose()

    try:
        with pytest.raises(ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify"):
            await call()  # the system store does not know the throwaway CA
        assert await call(verify=str(ca.cert)) == LIST_QUEUES
        assert await call(verify=False) == LIST_QUEUES
        monkeypatch.setenv("AWS_CA_BUNDLE", str(ca.cert))
        assert await call() == LIST_QUEUES  # aiohttp ignored AWS_CA_BUNDLE before
        other = CA(tmp_path, "another CA")
        with pytest.raises(ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify"):
            await call(verify=str(other.cert))  # verify= wins over AWS_CA_BUNDLE
        with pytest.raises(ConnectError, match="cannot load the CA bundle"):
            await call(verify=str(tmp_path / "missing.pem"))
    finally:
        await server.stop()


async def test_the_config_files_ca_bundle_is_trusted(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ca_bundle`` in the shared config file verifies the endpoint, as in botocore."""
    ca = CA(tmp_path)
    server = await Server(answer_list_queues).start(ca.issue("127.0.0.1").server_context())
    config = tmp_path / "config"
    try:
        config.write_text("[default]\nregion = us-east-1\n")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
        async with connect(https(server), kind) as conn:
            with pytest.raises(ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify"):
                await conn.list_queues()
        config.write_text(f"[default]\nregion = us-east-1\nca_bundle = {ca.cert}\n")
        async with connect(https(server), kind) as conn:
            assert await conn.list_queues() == {"QueueUrls": []}
    finally:
        await server.stop()


async def test_client_certificates(kind: str, tmp_path: Path) -> None:
    ca = CA(tmp_path)
    client = ca.issue(client=True)
    combined = tmp_path / "client-combined.pem"
    combined.write_bytes(client.cert.read_bytes() + client.key.read_bytes())
    context = ca.issue("127.0.0.1").server_context(client_ca=ca.cert)
    server = await Server(answer_list_queues).start(context)
    url = https(server)

    async def call(**options: Any) -> bytes:
        t = make(kind, verify=str(ca.cert), **options)
        try:
            return (await t.request(url, HEADERS, b"{}", read_timeout=5)).body
        finally:
            await t.aclose()

    try:
        assert await call(client_cert=(str(client.cert), str(client.key))) == LIST_QUEUES
        assert await call(client_cert=str(combined)) == LIST_QUEUES
        with pytest.raises((ConnectError, ResponseError)):  # TLS 1.3: refused after the handshake
            await call()
        with pytest.raises(ConnectError, match="cannot load the client certificate"):
            await call(client_cert=str(tmp_path / "missing.pem"))
    finally:
        await server.stop()


async def test_tls_options_reach_the_transport_through_the_connection(
    kind: str, tmp_path: Path
) -> None:
    ca = CA(tmp_path)
    client = ca.issue(client=True)
    context = ca.issue("127.0.0.1").server_context(client_ca=ca.cert)
    server = await Server(answer_list_queues).start(context)
    try:
        async with connect(
            https(server),
            kind,
            verify=str(ca.cert),
            client_cert=(str(client.cert), str(client.key)),
        ) as conn:
            assert await conn.list_queues() == {"QueueUrls": []}
    finally:
        await server.stop()
    with pytest.raises(ValidationError, match="verify"):
        connect("https://127.0.0.1/", kind, verify=1)
    with pytest.raises(ValidationError, match="client_cert"):
        connect("https://127.0.0.1/", kind, client_cert=("a", "b", "c"))


# -- a server that keeps sending ----------------------------------------------------------------


@pytest.mark.parametrize("framing", ["to-eof", "chunked", "declared"])
async def test_a_response_over_the_size_cap_is_refused(
    kind: str, framing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cap = 1 << 20
    monkeypatch.setattr(h11parse, "MAX_BODY_BYTES", cap)
    monkeypatch.setattr(aiohttp_transport, "MAX_BODY_BYTES", cap)
    piece = b"x" * 65536
    sent = 0

    async def reply(request: Request, writer: asyncio.StreamWriter) -> bool:
        nonlocal sent
        if framing == "declared":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (cap + 1))
            return True
        head = b"Transfer-Encoding: chunked\r\n" if framing == "chunked" else b""
        writer.write(b"HTTP/1.1 200 OK\r\n" + head + b"\r\n")
        while sent < 8 * cap:  # bounded: "forever" is 8 times the cap
            data = b"%x\r\n%s\r\n" % (len(piece), piece) if framing == "chunked" else piece
            writer.write(data)
            sent += len(piece)
            await writer.drain()
        return False

    async with scripted(kind, reply) as (server, t):
        with pytest.raises(ResponseError, match="over"):
            await t.request(server.url, HEADERS, b"{}", read_timeout=LONG)
    assert sent < 8 * cap  # the client stopped reading and closed


# -- bytes on an idle pooled connection -------------------------------------------------------


@pytest.mark.parametrize("when", ["same-read", "while-idle", "not-yet-seen"])
async def test_an_unrequested_response_is_never_handed_to_the_next_request(
    kind: str, when: str
) -> None:
    """A server sends a response nobody asked for after the first one.

    ``same-read``: in the same segment as the first response; ``while-idle``: once the
    connection sits in the pool; ``not-yet-seen``: it reaches the client's socket in the
    loop turn just before the next request takes the pooled connection, so no protocol
    callback has seen it (both transports used to answer the next request with it).
    """
    go = asyncio.Event()
    stale_sent = asyncio.Event()

    async def reply(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(response(request.body))
        if request.connection == 1:
            if when != "same-read":
                await writer.drain()
                await go.wait()
            writer.write(response(b'"STALE"'))
            stale_sent.set()
        return True

    async with scripted(kind, reply) as (server, t):
        first = await t.request(server.url, HEADERS, b'"first"', read_timeout=5)
        assert first.body == b'"first"'
        go.set()
        if when == "while-idle":
            await stale_sent.wait()
            await server.until(lambda: server.eofs == 1)  # closed as the bytes came in
        else:
            await asyncio.sleep(0)  # one loop turn: the server writes, the client reads nothing
        second = await t.request(server.url, HEADERS, b'"second"', read_timeout=5)
        assert second.body == b'"second"'
        await server.until(lambda: server.eofs == 1)
    assert server.connections == 2


# -- Timeouts(total=...) ----------------------------------------------------------------------


async def test_total_bounds_a_call_that_trickles_a_byte_per_read_timeout(kind: str) -> None:
    async def reply(request: Request, writer: asyncio.StreamWriter) -> bool:
        data = response(LIST_QUEUES)
        for i in range(len(data) - 1):  # never the last byte
            writer.write(data[i : i + 1])
            await writer.drain()
            await asyncio.sleep(0.1)  # the trickle under test, well inside the read timeout
        return False

    server = await Server(reply).start()
    try:
        async with connect(
            server.url,
            kind,
            timeouts=Timeouts(read=1.0, total=0.5),
            retry=RetryPolicy(max_attempts=3),
        ) as conn:
            with pytest.raises(ReadTimeout, match=r"Timeouts\.total=0\.5s") as caught:
                await conn.list_queues()
    finally:
        await server.stop()
    assert caught.value.operation == "ListQueues"
    assert len(server.requests) == 1  # the deadline ended the call, no retry after it


async def test_total_is_off_by_default_and_leaves_long_polls_their_wait() -> None:
    from sqs_async._transport.mock import MockTransport

    assert Timeouts().total is None
    assert "_call" not in vars(SQSConnection(transport=MockTransport(lambda call: {})))

    async def slow(call: Any) -> dict[str, Any]:
        await asyncio.sleep(0.3)  # longer than total, shorter than the poll's wait
        return {"Messages": []}

    conn = SQSConnection(
        "AK", "SK", region="us-east-1", endpoint_url="http://127.0.0.1:1/",
        transport=MockTransport(slow), timeouts=Timeouts(total=0.1),
    )  # fmt: skip
    async with conn:
        got = await conn.receive_message(QueueUrl="http://q/1", WaitTimeSeconds=1)
        assert got == {"Messages": []}
        with pytest.raises(ReadTimeout, match=r"Timeouts\.total"):
            await conn.list_queues()
    with pytest.raises(ValueError, match="total"):
        Timeouts(total=0)


# -- a proxy that will not tunnel --------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n", "502"),
        (b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n", "407"),
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "CONNECT|malformed"),
        (b"", "closed|disconnected"),
    ],
)
async def test_a_proxy_that_will_not_tunnel_is_a_transport_error(
    kind: str, answer: bytes, match: str
) -> None:
    async def reply(request: Request, writer: asyncio.StreamWriter) -> bool:
        assert request.head.startswith(b"CONNECT 127.0.0.1:9 HTTP/1.1\r\n")
        writer.write(answer)
        return False

    proxy = await Server(reply).start()
    t = make(kind, proxies={"https": proxy.url})
    try:
        with pytest.raises(TransportError, match=match) as caught:
            await t.request("https://127.0.0.1:9/", HEADERS, b"{}", read_timeout=LONG)
    finally:
        await t.aclose()
        await proxy.stop()
    assert len(proxy.requests) == 1
    assert str(caught.value).strip()

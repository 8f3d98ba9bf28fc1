"""The lean HTTP/1.1 transport against scripted servers on loopback.

Each test starts an ``asyncio`` server whose connection handler reads requests (head plus
``Content-Length`` body) and answers as the test scripts it: keep-alive, ``Connection:
close``, chunked, silence, garbage, a close before or in the middle of a response, TLS.
The server records what it saw (connections, requests, EOFs), and the tests assert on both
ends. Waits are on conditions with deadlines, never bare sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from http_support import (
    HEADERS,
    OK_BODY,
    SOON,
    Reply,
    Request,
    Server,
    response,
    self_signed,
)

from sqs_async import Timeouts
from sqs_async._transport.http11 import Http11Transport
from sqs_async.errors import (
    ClientClosedError,
    ConnectError,
    ConnectTimeout,
    PoolTimeout,
    ReadTimeout,
    ResponseError,
)


def one_connection(pool: float) -> Http11Transport:
    """A transport whose lanes hold one connection each."""
    return Http11Transport(Timeouts(pool=pool), max_connections=1, max_poll_connections=1)


def transport(**timeouts: float) -> Http11Transport:
    return Http11Transport(Timeouts(**timeouts), max_connections=4, max_poll_connections=2)


@contextlib.asynccontextmanager
async def scripted(
    reply: Reply, t: Http11Transport | None = None
) -> AsyncIterator[tuple[Server, Http11Transport]]:
    """A scripted server and a transport (default: ``transport()``), both closed after."""
    server = await Server(reply).start()
    t = t or transport()
    try:
        yield server, t
    finally:
        await t.aclose()
        await server.stop()


async def post(t: Http11Transport, server: Server, body: bytes = b"{}", **kw: float) -> bytes:
    reply = await t.request(server.url, HEADERS, body, read_timeout=kw.get("read", 5.0))
    assert reply.status == 200
    return reply.body


@pytest.fixture
async def echo() -> AsyncIterator[Server]:
    s = await Server().start()
    yield s
    await s.stop()


async def test_requests_reuse_one_keep_alive_connection(echo: Server) -> None:
    t = transport()
    try:
        for i in range(3):
            assert await post(t, echo, b'{"n":%d}' % i) == b'{"n":%d}' % i
    finally:
        await t.aclose()
    assert echo.connections == 1
    assert [r.body for r in echo.requests] == [b'{"n":0}', b'{"n":1}', b'{"n":2}']
    head = echo.requests[0].head
    assert head.startswith(b"POST / HTTP/1.1\r\n")
    assert b"Content-Length: 7\r\n" in head
    assert b"Content-Type: application/x-amz-json-1.0\r\n" in head
    await echo.until(lambda: echo.eofs == 1)  # aclose() closed the idle connection


async def test_response_headers_come_back_lowercased() -> None:
    async def reply(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(response(status=400, extra="X-Amzn-Query-Error: Code;Sender\r\n"))
        return True

    async with scripted(reply) as (server, t):
        got = await t.request(server.url, HEADERS, b"{}", read_timeout=5)
    assert got.status == 400
    assert got.headers["x-amzn-query-error"] == "Code;Sender"
    assert got.headers["x-amzn-requestid"] == "rid-1"


async def test_connection_close_retires_the_connection() -> None:
    async def reply(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(response(extra="Connection: close\r\n"))
        return False

    async with scripted(reply) as (server, t):
        for _ in range(3):
            assert await post(t, server) == OK_BODY
    assert server.connections == 3


async def test_a_request_that_dies_on_a_reused_connection_is_not_resent_here() -> None:
    async def reply(request: Request, writer: asyncio.StreamWriter) -> bool:
        if len(server.requests) == 2:
            return False  # took the second request, then closed without a byte of answer
        writer.write(response())
        return True

    async with scripted(reply) as (server, t):
        assert await post(t, server) == OK_BODY
        # The server may have acted on it: the transport must not resend it on its own
        # (the client's retry policy decides, counted and with backoff).
        with pytest.raises(ConnectError, match="before a response arrived"):
            await post(t, server)
    assert len(server.requests) == 2
    assert server.connections == 1


async def test_a_read_timer_re_armed_for_one_request_never_judges_the_next() -> None:
    async def reply(request: Request, writer: asyncio.StreamWriter) -> bool:
        data = response(request.body)
        # Timeline (s): A starts at 0 with a 1.0 read timeout; its first bytes come at 0.6,
        # so its timer, firing at 1.0, re-arms for 1.6; the rest comes at 1.1. B starts at
        # 1.1 with a 3.0 timeout and is answered at 2.3. A leftover timer of A's would have
        # judged B by A's timeout at 1.6 and failed it at 2.1. Gaps stay 0.4 s or more
        # inside each timeout, so a slow machine does not fail A.
        if request.body == b"A":
            await asyncio.sleep(0.6)  # the pacing under test
            writer.write(data[:10])
            await writer.drain()
            await asyncio.sleep(0.5)
            writer.write(data[10:])
        else:
            await asyncio.sleep(1.2)
            writer.write(data)
        return True

    async with scripted(reply) as (server, t):
        assert await post(t, server, b"A", read=1.0) == b"A"
        assert await post(t, server, b"B", read=3.0) == b"B"
    assert server.connections == 1


async def test_a_failing_write_is_a_connect_error_and_leaves_nothing_behind(
    echo: Server,
) -> None:
    t = transport()
    try:
        assert await post(t, echo, b"[1]") == b"[1]"
        (connection,) = t._connections

        def broken(data: bytes) -> None:
            raise RuntimeError("handle is closed")

        connection.transport.write = broken  # type: ignore[method-assign,union-attr]
        with pytest.raises(ConnectError, match="could not send the request"):
            await post(t, echo)
        assert connection.waiter is None
        assert connection.timer is None
        assert connection not in t._connections
    finally:
        await t.aclose()


async def test_a_fresh_connection_closed_before_any_answer_is_a_connect_error() -> None:
    async def reply(request: Request, writer: asyncio.StreamWriter) -> bool:
        return False

    async with scripted(reply) as (server, t):
        with pytest.raises(ConnectError, match="before a response arrived"):
            await post(t, server)
    assert server.connections == 1  # no silent second try on a connection that was new


async def test_a_close_in_the_middle_of_a_response_is_a_response_error() -> None:
    async def reply(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(response()[:-5])
        await writer.drain()
        return False

    async with scripted(reply) as (server, t):
        with pytest.raises(ResponseError, match="middle of a response"):
            await post(t, server)
    assert server.connections == 1


async def test_garbage_is_a_response_error_and_closes_the_connection() -> None:
    async def reply(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
        return True

    async with scripted(reply) as (server, t):
        with pytest.raises(ResponseError, match="malformed HTTP response"):
            await post(t, server)
        await server.until(lambda: server.eofs == 1)


async def test_chunked_bodies_and_interim_responses_are_decoded() -> None:
    async def reply(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for piece in (b'{"Mess', b'ageId"', b':"m-1"}'):
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        return True

    async with scripted(reply) as (server, t):
        assert await post(t, server) == OK_BODY
        assert await post(t, server) == OK_BODY
    assert server.connections == 1  # a chunked response leaves the connection reusable


async def test_a_body_without_framing_runs_to_the_end_of_the_connection() -> None:
    async def reply(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + OK_BODY)
        return False

    async with scripted(reply) as (server, t):
        assert await post(t, server) == OK_BODY
        assert await post(t, server) == OK_BODY
    assert server.connections == 2


async def test_silence_is_a_read_timeout_and_the_connection_is_closed() -> None:
    async def reply(request: Request, writer: asyncio.StreamWriter) -> bool:
        return True  # never answers, keeps reading

    async with scripted(reply) as (server, t):
        with pytest.raises(ReadTimeout, match=r"no response within 0\.2s"):
            await post(t, server, read=0.2)
        await server.until(lambda: server.eofs == 1)


async def test_a_shorter_read_timeout_on_a_reused_connection_rearms_the_timer() -> None:
    # The read timer is armed lazily, once per connection: a request whose timeout ends
    # before the armed timer fires must bring the timer forward, or it would wait too long.
    async def reply(request: Request, writer: asyncio.StreamWriter) -> bool:
        if request.body == b"fast":
            writer.write(response())
        return True  # anything else: never answered

    async with scripted(reply) as (server, t):
        assert await post(t, server, b"fast", read=30.0) == OK_BODY
        (connection,) = t._connections
        armed_for_long = connection.timer_at
        call = asyncio.create_task(post(t, server, b"slow", read=0.2))
        await server.until(lambda: len(server.requests) == 2)
        assert connection.timer_at < armed_for_long - 20  # brought forward to ~0.2 s
        with pytest.raises(ReadTimeout, match=r"no response within 0\.2s"):
            await call
        assert connection.timer is None  # closed: no timer left behind


async def test_the_read_timeout_restarts_whenever_bytes_arrive() -> None:
    gaps = asyncio.Queue[None]()

    async def reply(request: Request, writer: asyncio.StreamWriter) -> bool:
        data = response()
        for i in range(len(data)):  # one byte per step; the client paces the steps
            writer.write(data[i : i + 1])
            await writer.drain()
            await gaps.get()
        return True

    async with scripted(reply) as (server, t):
        call = asyncio.create_task(post(t, server, read=2.0))
        # Dribble the response over ~1.5 timeouts: each gap is far inside the read timeout.
        steps = len(response())
        loop = asyncio.get_running_loop()
        started = loop.time()
        for _ in range(steps):
            await asyncio.sleep(3.0 / steps)  # the pacing under test, not a race wait
            gaps.put_nowait(None)
        assert await call == OK_BODY
        assert loop.time() - started > 2.0  # the whole answer took longer than the timeout


async def test_a_full_pool_raises_pool_timeout_and_a_freed_slot_is_reused() -> None:
    release = asyncio.Event()

    async def reply(request: Request, writer: asyncio.StreamWriter) -> bool:
        if request.body == b"hold":
            await release.wait()
        writer.write(response())
        return True

    async with scripted(reply, one_connection(pool=0.2)) as (server, t):
        held = asyncio.create_task(post(t, server, b"hold"))
        await server.until(lambda: len(server.requests) == 1)
        with pytest.raises(PoolTimeout, match=r"\(1 in use\)"):
            await post(t, server)
        release.set()
        assert await held == OK_BODY
        assert await post(t, server) == OK_BODY
    assert server.connections == 1


async def test_long_polls_have_their_own_pool() -> None:
    release = asyncio.Event()

    async def reply(request: Request, writer: asyncio.StreamWriter) -> bool:
        if request.body == b"poll":
            await release.wait()
        writer.write(response())
        return True

    async with scripted(reply, one_connection(pool=0.2)) as (server, t):
        poll = asyncio.create_task(
            t.request(server.url, HEADERS, b"poll", read_timeout=5, long_poll=True)
        )
        await server.until(lambda: len(server.requests) == 1)
        assert await post(t, server) == OK_BODY  # the ordinary lane is free
        release.set()
        assert (await poll).status == 200


async def test_cancelling_a_request_closes_its_connection_and_frees_its_slot() -> None:
    async def reply(request: Request, writer: asyncio.StreamWriter) -> bool:
        if request.body == b"hang":
            return True
        writer.write(response())
        return True

    async with scripted(reply, one_connection(pool=1.0)) as (server, t):
        call = asyncio.create_task(post(t, server, b"hang"))
        await server.until(lambda: len(server.requests) == 1)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await server.until(lambda: server.eofs == 1)  # never reused half-way through
        assert await post(t, server) == OK_BODY
    assert server.connections == 2


async def test_a_refused_connection_is_a_connect_error() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    t = transport()
    try:
        with pytest.raises(ConnectError, match=f"127.0.0.1:{port}"):
            await t.request(f"http://127.0.0.1:{port}/", HEADERS, b"{}", read_timeout=1)
    finally:
        await t.aclose()


async def test_a_connect_that_hangs_is_a_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()

    async def hang(*args: object, **kwargs: object) -> None:
        await asyncio.Event().wait()

    monkeypatch.setattr(loop, "create_connection", hang)
    t = transport(connect=0.1)
    try:
        with pytest.raises(ConnectTimeout, match=r"within 0\.1s"):
            await t.request("http://127.0.0.1:9/", HEADERS, b"{}", read_timeout=1)
    finally:
        await t.aclose()


async def test_a_line_break_in_a_header_is_refused_before_any_io(echo: Server) -> None:
    t = transport()
    try:
        with pytest.raises(ValueError, match="line break"):
            await t.request(
                echo.url, {**HEADERS, "X-Evil": "a\r\nX-Injected: 1"}, b"{}", read_timeout=1
            )
    finally:
        await t.aclose()
    assert echo.connections == 0


async def test_a_closed_transport_refuses_requests(echo: Server) -> None:
    t = transport()
    await post(t, echo)
    await t.aclose()
    with pytest.raises(ClientClosedError):
        await post(t, echo)
    await echo.until(lambda: echo.eofs == 1)


async def test_close_fails_requests_in_flight(echo: Server) -> None:
    async def reply(request: Request, writer: asyncio.StreamWriter) -> bool:
        return True  # never answers

    echo.reply = reply
    t = transport()
    call = asyncio.create_task(post(t, echo))
    await echo.until(lambda: len(echo.requests) == 1)
    await t.aclose()
    with pytest.raises(ConnectError):
        await call


def test_works_on_uvloop() -> None:
    uvloop = pytest.importorskip("uvloop")  # the speedups extra; installed by scripts/test

    async def main() -> None:
        echo = await Server().start()
        t = transport()
        try:
            for i in range(3):
                assert await post(t, echo, b"[%d]" % i) == b"[%d]" % i
        finally:
            await t.aclose()
            await echo.stop()
        assert echo.connections == 1

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())


# -- TLS ----------------------------------------------------------------------------------------


async def test_tls_is_verified_against_aws_ca_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = await Server().start(context)
    url = f"https://127.0.0.1:{server.port}/"
    try:
        monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
        untrusting = transport()
        try:
            with pytest.raises(ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await untrusting.request(url, HEADERS, b"{}", read_timeout=5)
        finally:
            await untrusting.aclose()

        monkeypatch.setenv("AWS_CA_BUNDLE", str(cert))
        trusting = transport()
        try:
            for _ in range(2):
                got = await trusting.request(url, HEADERS, b'{"tls":1}', read_timeout=5)
                assert got.body == b'{"tls":1}'
        finally:
            await trusting.aclose()
    finally:
        await server.stop()
    assert server.requests[-1].connection == server.connections  # reused over TLS too


async def test_connections_the_server_closes_while_idle_are_forgotten() -> None:
    async def reply(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(response())  # keep-alive promised...
        await writer.drain()
        return False  # ...but the server closes the connection right after

    async with scripted(reply) as (server, t):
        for _ in range(5):
            assert await post(t, server) == OK_BODY
            # once the client has seen the close, the connection is gone from the
            # transport (a long-lived client must not accumulate dead ones), and the
            # next request goes out on a new one without an error
            if t._connections:
                await asyncio.wait([c.lost for c in list(t._connections)], timeout=SOON)
            assert not t._connections
    assert server.connections == 5  # each request needed a connection of its own


async def test_an_unreadable_aws_ca_bundle_is_a_clear_connect_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    t = transport()
    try:
        with pytest.raises(ConnectError, match=r"cannot load the CA bundle .*AWS_CA_BUNDLE"):
            await t.request("https://127.0.0.1:9/", HEADERS, b"{}", read_timeout=1)
    finally:
        await t.aclose()

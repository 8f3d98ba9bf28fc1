"""The default transport: a lean HTTP/1.1 client on asyncio protocols, with keep-alive pools.

Why not aiohttp's ``ClientSession`` (still available, see ``aiohttp_transport``): profiled on
the benchmark server, its per-request path (request and response objects, header
multidicts, payload writers, stream readers, timers) costs about 250 µs of CPU per
SendMessage, five times what the socket work itself takes. SQS needs one thing from HTTP:
POST a small body with fixed headers to one origin and read back one response. So this
module writes the request bytes itself and parses the response with ``h11parse``; measured
the same way, a request costs about 55 µs here.

What it does, per request: take a slot in the lane's pool (waiting at most the pool
timeout), reuse the most recently used idle connection to the origin (or open a new one
within the connect timeout, TLS verified with the system's CA store or ``AWS_CA_BUNDLE``),
write the head and body in one go, and wait for the complete response with a read timeout
that restarts whenever bytes arrive. A connection is reused only after a complete response
that allows it (``Connection: close``, HTTP/1.0, a body read to EOF, or stray bytes retire
it); a cancelled or failed exchange closes its connection. An idle connection that the
server closed while we were about to reuse it (the classic keep-alive race: no byte of a
response came back) is replaced by a new connection once, at once.

No proxies and no HTTP/2: the aiohttp transport (``transport="aiohttp"``) is the way to
those.
"""

from __future__ import annotations

import asyncio
import functools
import os
import ssl
from asyncio.base_events import BaseEventLoop
from collections.abc import Callable, Mapping
from typing import Final, cast

import yarl

from .._config import Timeouts
from ..errors import (
    ClientClosedError,
    ConnectError,
    ConnectTimeout,
    ReadTimeout,
    ResponseError,
    TransportError,
)
from .base import Response
from .h11parse import ProtocolViolation, ResponseParser
from .slots import Laned

__all__ = ["Http11Transport"]

# An idle connection older than this is closed rather than reused (servers drop idle
# connections after a while; reusing one that is about to go costs a failed attempt).
KEEPALIVE_SECONDS: Final = 30.0


class _Origin:
    """Where requests for one URL go, parsed once."""

    __slots__ = ("host", "key", "port", "target", "tls")

    def __init__(self, url: str) -> None:
        parsed = yarl.URL(url, encoded=True)  # path and query as given, like botocore
        if parsed.scheme not in ("http", "https") or not parsed.raw_host:
            raise ConnectError(f"cannot send to {url!r}: not an http(s) URL")
        self.tls = parsed.scheme == "https"
        self.host = parsed.raw_host
        self.port = parsed.port or (443 if self.tls else 80)
        self.target = (parsed.raw_path_qs or "/").encode("ascii")
        self.key = (self.tls, self.host, self.port)


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: at most one exchange in flight."""

    __slots__ = (
        "closed",
        "idle_since",
        "last_read",
        "lost",
        "on_lost",
        "parser",
        "timer",
        "transport",
        "waiter",
    )

    def __init__(self, on_lost: Callable[[_Connection], None]) -> None:
        self.on_lost = on_lost  # the transport forgets the connection
        self.transport: asyncio.Transport | None = None
        self.parser = ResponseParser()
        self.waiter: asyncio.Future[Response] | None = None
        self.timer: asyncio.TimerHandle | None = None  # the read timeout of the exchange
        self.closed = False
        self.idle_since = 0.0
        self.last_read = 0.0
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            self.close()  # bytes nobody asked for: the peer is out of step
            return
        self.last_read = waiter.get_loop().time()
        try:
            response = self.parser.feed(data)
        except ProtocolViolation as exc:
            self.waiter = None
            waiter.set_exception(ResponseError(f"malformed HTTP response: {exc}"))
            self.close()
            return
        if response is not None:
            self.waiter = None
            waiter.set_result(response)

    def eof_received(self) -> bool:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            self.waiter = None
            try:
                waiter.set_result(self.parser.feed_eof())
            except ProtocolViolation:
                waiter.set_exception(self._lost_error("the server closed the connection"))
        self.closed = True
        return False  # let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            self.waiter = None
            reason = (
                f"the connection was lost ({exc})" if exc else "the server closed the connection"
            )
            waiter.set_exception(self._lost_error(reason))
        if not self.lost.done():
            self.lost.set_result(None)
        self.on_lost(self)

    # -- used by the transport ------------------------------------------------------------------

    def _lost_error(self, reason: str) -> TransportError:
        if self.parser.started:
            return ResponseError(f"{reason} in the middle of a response")
        return ConnectError(f"{reason} before a response arrived")

    async def exchange(self, request: bytes, read_timeout: float) -> Response:
        transport = self.transport
        if transport is None or self.closed:
            raise ConnectError("the connection is closed")
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Response] = loop.create_future()
        self.waiter = waiter
        self.parser.reset()
        self.last_read = loop.time()
        self.timer = loop.call_at(
            self.last_read + read_timeout, self._check_read, waiter, read_timeout
        )
        try:
            try:
                transport.write(request)
            except (OSError, RuntimeError) as exc:  # uvloop raises once its handle is closed
                raise ConnectError(f"could not send the request: {exc}") from exc
            return await waiter
        finally:
            if self.timer is not None:
                self.timer.cancel()  # the current one: _check_read may have re-armed it
                self.timer = None
            self.waiter = None

    def _check_read(self, waiter: asyncio.Future[Response], read_timeout: float) -> None:
        if waiter is not self.waiter or waiter.done():
            return  # a timer of an earlier exchange: not ours to judge
        loop = waiter.get_loop()
        deadline = self.last_read + read_timeout
        if loop.time() < deadline:  # bytes came in meanwhile: wait out the rest
            self.timer = loop.call_at(deadline, self._check_read, waiter, read_timeout)
            return
        self.waiter = None
        waiter.set_exception(ReadTimeout(f"no response within {read_timeout}s"))
        self.close()

    def reusable(self) -> bool:
        return not self.closed and self.parser.keep_alive and not self.parser.leftover

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class _Lane:
    """One pool: at most ``limit`` connections busy at a time, idle ones kept per origin."""

    __slots__ = ("idle", "limit", "semaphore")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.semaphore = asyncio.Semaphore(limit)
        self.idle: dict[tuple[bool, str, int], list[_Connection]] = {}

    def take_idle(self, key: tuple[bool, str, int], now: float) -> _Connection | None:
        idle = self.idle.get(key)
        while idle:
            connection = idle.pop()  # the most recently used: the least likely to be stale
            transport = connection.transport
            if (
                not connection.closed
                and transport is not None
                and not transport.is_closing()
                and now - connection.idle_since < KEEPALIVE_SECONDS
            ):
                return connection
            connection.close()
        return None

    def put_idle(self, key: tuple[bool, str, int], connection: _Connection, now: float) -> None:
        connection.idle_since = now
        idle = self.idle.get(key)
        if idle is None:
            idle = self.idle[key] = []
        idle.append(connection)


class Http11Transport(Laned[_Lane]):
    """The default transport (arguments: see :class:`~sqs_async._transport.slots.Laned`)."""

    def __init__(self, timeouts: Timeouts, max_connections: int, max_poll_connections: int) -> None:
        super().__init__(timeouts, max_connections, max_poll_connections)
        self._origins: dict[str, _Origin] = {}
        self._connections: set[_Connection] = set()
        self._ssl: ssl.SSLContext | None = None

    def _new_lane(self, limit: int) -> _Lane:
        return _Lane(limit)

    async def request(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        read_timeout: float,
        long_poll: bool = False,
    ) -> Response:
        origin = self._origins.get(url)
        if origin is None:
            origin = self._origins[url] = _Origin(url)
        request = _request_bytes(origin.target, headers, body)
        lane = await self._take_lane(long_poll)
        try:
            loop = asyncio.get_running_loop()
            connection = lane.take_idle(origin.key, loop.time())
            if connection is None:
                connection = await self._connect(origin)
            # A failure after the write is never resent here, even with no byte of answer:
            # the server may have acted on the request. The client's retry policy decides
            # (counted, with backoff), as botocore does.
            return await self._exchange(lane, origin, connection, request, read_timeout)
        finally:
            lane.semaphore.release()

    async def _exchange(
        self,
        lane: _Lane,
        origin: _Origin,
        connection: _Connection,
        request: bytes,
        read_timeout: float,
    ) -> Response:
        try:
            response = await connection.exchange(request, read_timeout)
        except BaseException:
            connection.close()
            self._connections.discard(connection)
            raise
        if connection.reusable() and not self._closed:
            lane.put_idle(origin.key, connection, asyncio.get_running_loop().time())
        else:
            connection.close()
            self._connections.discard(connection)
        return response

    async def _connect(self, origin: _Origin) -> _Connection:
        if self._closed:
            raise ClientClosedError("the transport is closed")
        loop = asyncio.get_running_loop()
        context = await self._ssl_context() if origin.tls else None
        # Happy eyeballs (RFC 8305) on the standard loop: a dual-stack endpoint on a host
        # with broken IPv6 must not spend the whole connect timeout on the first address.
        # uvloop's create_connection does not take the argument.
        connect = functools.partial(
            loop.create_connection,
            lambda: _Connection(self._connections.discard),
            origin.host,
            origin.port,
            ssl=context,
            server_hostname=origin.host if context is not None else None,
        )
        made: tuple[asyncio.BaseTransport, _Connection]
        try:
            async with asyncio.timeout(self._timeouts.connect):
                if isinstance(loop, BaseEventLoop):
                    made = await connect(happy_eyeballs_delay=0.25)
                else:
                    made = await connect()
        except TimeoutError as exc:
            raise ConnectTimeout(
                f"could not connect to {origin.host}:{origin.port} within {self._timeouts.connect}s"
            ) from exc
        except (OSError, UnicodeError) as exc:  # refused, DNS, TLS (SSLError), IDNA
            raise ConnectError(
                f"could not connect to {origin.host}:{origin.port}: {exc or type(exc).__name__}"
            ) from exc
        connection = made[1]
        if self._closed:  # closed while we were connecting
            connection.close()
            raise ClientClosedError("the transport is closed")
        self._connections.add(connection)
        return connection

    async def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            # loading the CA store reads files: off the event loop
            cafile = os.environ.get("AWS_CA_BUNDLE") or None
            try:
                self._ssl = await asyncio.to_thread(ssl.create_default_context, cafile=cafile)
            except (OSError, ValueError) as exc:
                where = f"the CA bundle {cafile!r} (AWS_CA_BUNDLE)" if cafile else "CA store"
                raise ConnectError(f"cannot load {where}: {exc}") from exc
        return self._ssl

    async def aclose(self) -> None:
        self._closed = True
        self._lanes = None
        connections, self._connections = self._connections, set()
        for connection in connections:
            connection.close()
        if connections:
            # connection_lost runs on the next loop turns; wait for it so that no transport
            # outlives the client (and no ResourceWarning fires when the loop closes)
            await asyncio.wait([c.lost for c in connections], timeout=1.0)


def _request_bytes(target: bytes, headers: Mapping[str, str], body: bytes) -> bytes:
    """The request head and body, ready to write."""
    lines = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
    if lines.count("\n") != len(headers) or lines.count("\r") != len(headers):
        raise ValueError("an HTTP header name or value contains a line break")
    head = f"{lines}Content-Length: {len(body)}\r\n\r\n"
    return b"POST " + target + b" HTTP/1.1\r\n" + head.encode("latin-1") + body

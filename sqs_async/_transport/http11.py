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
within the connect timeout, TLS verified as ``verify=`` says: see ``tls``), write the head
and body in one go, and wait for the complete response with a read timeout that restarts
whenever bytes arrive. A connection is reused only after a complete response that allows it
(``Connection: close``, HTTP/1.0, a body read to EOF, or stray bytes retire it); a
cancelled or failed exchange closes its connection, and so do bytes that arrive while it is
idle. An idle connection that the server closed is dropped when the close is seen; one
whose close races with the next request fails that attempt with ``ConnectError`` ("before a
response arrived"), which this module does not resend itself: the server may have acted on
the request, so the client's retry policy decides (counted, with backoff), as in botocore.

Proxies (see ``proxy``): an http endpoint is reached through its proxy with absolute-form
requests (``POST http://host/ HTTP/1.1``, plus ``Proxy-Authorization``); an https one
through a ``CONNECT`` tunnel, with TLS to the endpoint inside it (and TLS to the proxy
too for an ``https://`` proxy). The choice is made once per endpoint URL: with no proxy
the request path is what it was. No HTTP/2.

A transport dropped without :meth:`~Http11Transport.aclose` (its client was collected)
closes its sockets from ``__del__``; the client's own ``ResourceWarning`` still says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
from asyncio.base_events import BaseEventLoop
from collections.abc import Callable, Mapping
from typing import Final, TypeVar, cast

from ..errors import (
    ClientClosedError,
    ConnectError,
    ConnectTimeout,
    ReadTimeout,
    ResponseError,
    TransportError,
)
from .base import Response, check_url, describe, encode_head, input_check
from .h11parse import MAX_HEAD_BYTES, ProtocolViolation, ResponseParser
from .proxy import Proxies, Proxy, proxy_refused
from .slots import Laned, Slots
from .tls import ssl_context

__all__ = ["Http11Transport"]

# An idle connection older than this is closed rather than reused (servers drop idle
# connections after a while; reusing one that is about to go costs a failed attempt).
KEEPALIVE_SECONDS: Final = 30.0


_Key = tuple[bool, str, int, str]


class _Origin:
    """Where requests for one URL go, parsed once (the proxy decided once, too)."""

    __slots__ = ("host", "key", "port", "prefix", "proxy", "tls")

    def __init__(self, url: str, proxies: Proxies | None) -> None:
        parsed = check_url(url)
        self.tls = parsed.scheme == "https"
        self.host = parsed.raw_host or ""
        self.port = parsed.port or (443 if self.tls else 80)
        target = parsed.raw_path_qs or "/"
        self.proxy = proxy = proxies.for_url(parsed) if proxies else None
        extra = ""
        if proxy is not None and not self.tls:  # absolute form, through the proxy
            target = f"http://{self.authority}{target}"
            if proxy.authorization:
                extra = f"Proxy-Authorization: {proxy.authorization}\r\n"
        # the request line (and proxy header): the part of each request's bytes that is fixed
        self.prefix = f"POST {target} HTTP/1.1\r\n{extra}".encode("latin-1")
        self.key: _Key = (self.tls, self.host, self.port, proxy.url if proxy else "")

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def where(self) -> str:
        """For messages: the endpoint, and the proxy in between."""
        if self.proxy is None:
            return self.authority
        return f"{self.authority} through the proxy {self.proxy.url}"


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: at most one exchange in flight.

    The read timeout is a *lazy* timer: :meth:`start` arms one only when none is armed
    (or the armed one would fire too late), and when it fires, :meth:`_check_read` judges
    the exchange in flight by its last read, re-arming for the rest if bytes came in or a
    newer exchange started meanwhile. So a busy connection sees about one timer per read
    timeout, not one armed and cancelled per request (a heap push and pop each, ~5 µs).
    """

    __slots__ = (
        "closed",
        "has_input",
        "idle_since",
        "last_read",
        "loop",
        "lost",
        "on_lost",
        "parser",
        "read_timeout",
        "timer",
        "timer_at",
        "transport",
        "waiter",
    )

    def __init__(self, on_lost: Callable[[_Connection], None]) -> None:
        self.on_lost = on_lost  # the transport forgets the connection
        self.transport: asyncio.Transport | None = None
        self.parser = ResponseParser()
        self.waiter: asyncio.Future[Response] | None = None
        self.timer: asyncio.TimerHandle | None = None  # the read timeout, armed lazily
        self.timer_at = 0.0  # when it fires
        self.read_timeout = 0.0  # of the exchange in flight
        self.closed = False
        self.idle_since = 0.0
        self.last_read = 0.0
        self.loop = loop = asyncio.get_running_loop()
        self.lost: asyncio.Future[None] = loop.create_future()
        self.has_input: Callable[[], object] = bool  # replaced once connected

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it
        self.transport = cast(asyncio.Transport, transport)
        self.has_input = input_check(transport)

    def data_received(self, data: bytes) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            self.close()  # bytes nobody asked for: the peer is out of step
            return
        try:
            response = self.parser.feed(data)
        except ProtocolViolation as exc:  # not HTTP, or not a response we can take
            self.waiter = None
            waiter.set_exception(ResponseError(f"malformed HTTP response: {exc}"))
            self.close()
            return
        if response is None:
            self.last_read = self.loop.time()  # the read timeout restarts
        else:
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
        self._disarm()
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            self.waiter = None
            reason = (
                f"the connection was lost ({describe(exc)})"
                if exc
                else "the server closed the connection"
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

    def start(self, request: bytes, read_timeout: float, now: float) -> asyncio.Future[Response]:
        """Write ``request`` (at loop time ``now``); return the future of its response (read
        timeout included).

        On an exception from the future (cancellation too) the caller closes the connection.

        Raises:
            ConnectError: The connection is closed, or the write failed.
        """
        transport = self.transport
        if transport is None or self.closed:
            raise ConnectError("the connection is closed")
        loop = self.loop
        waiter: asyncio.Future[Response] = loop.create_future()
        self.parser.reset()
        self.last_read = now
        self.read_timeout = read_timeout
        deadline = now + read_timeout
        if self.timer is None or self.timer_at > deadline:
            self._arm(deadline)
        try:
            transport.write(request)
        except (OSError, RuntimeError) as exc:  # uvloop raises once its handle is closed
            raise ConnectError(f"could not send the request: {describe(exc)}") from exc
        self.waiter = waiter
        return waiter

    def _arm(self, when: float) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.loop.call_at(when, self._check_read)
        self.timer_at = when

    def _disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _check_read(self) -> None:
        self.timer = None
        waiter = self.waiter
        if waiter is None or waiter.done():
            return  # idle: the next exchange arms a timer again
        deadline = self.last_read + self.read_timeout
        if self.loop.time() < deadline:  # bytes came in, or a newer exchange: the rest
            self._arm(deadline)
            return
        self.waiter = None
        waiter.set_exception(ReadTimeout(f"no response within {self.read_timeout}s"))
        self.close()

    def reusable(self) -> bool:
        return not self.closed and self.parser.keep_alive and not self.parser.leftover

    def close(self) -> None:
        self.closed = True
        self._disarm()
        if self.transport is not None:
            self.transport.abort()


class _Lane:
    """One pool: at most ``limit`` connections busy at a time, idle ones kept per origin."""

    __slots__ = ("idle", "slots")

    def __init__(self, limit: int) -> None:
        self.slots = Slots(limit)
        self.idle: dict[_Key, list[_Connection]] = {}

    def take_idle(self, key: _Key, now: float) -> _Connection | None:
        idle = self.idle.get(key)
        while idle:
            connection = idle.pop()  # the most recently used: the least likely to be stale
            transport = connection.transport
            if (
                not connection.closed
                and transport is not None
                and not transport.is_closing()
                and now - connection.idle_since < KEEPALIVE_SECONDS
                and not connection.has_input()  # bytes (or a close) came in while idle
            ):
                return connection
            connection.close()
        return None

    def put_idle(self, key: _Key, connection: _Connection, now: float) -> None:
        connection.idle_since = now
        idle = self.idle.get(key)
        if idle is None:
            idle = self.idle[key] = []
        idle.append(connection)


class _TunnelSetup(asyncio.Protocol):
    """Reads the proxy's answer to ``CONNECT`` (its head; a tunnel's 2xx has no body)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.head: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.head.done():
            return
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end >= 0:
            self.head.set_result(bytes(self.buffer[:end]))
        elif len(self.buffer) > MAX_HEAD_BYTES:
            self.head.set_exception(ConnectError("the proxy's answer to CONNECT is too long"))

    def eof_received(self) -> bool:
        self.connection_lost(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.head.done():
            why = f" ({describe(exc)})" if exc else ""
            self.head.set_exception(
                ConnectError(f"the proxy closed the connection before answering CONNECT{why}")
            )


P = TypeVar("P", bound=asyncio.Protocol)


class Http11Transport(Laned[_Lane]):
    """The default transport (arguments: see :class:`~sqs_async._transport.slots.Laned`)."""

    def _setup(self) -> None:
        self._origins: dict[str, _Origin] = {}
        self._connections: set[_Connection] = set()
        self._ssl: ssl.SSLContext | None = None
        self._proxy_ssl: ssl.SSLContext | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

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
            origin = self._origins[url] = _Origin(url, self._proxies)
        request = origin.prefix + encode_head(headers, len(body)) + body
        lane = self._lane(long_poll)
        slots = lane.slots
        if not slots.take_now():
            await slots.wait(self._timeouts.pool)
        try:
            loop = asyncio.get_running_loop()
            now = loop.time()
            connection = lane.take_idle(origin.key, now)
            if connection is None:
                connection = await self._connect(origin)
                now = loop.time()
            # A failure after the write is never resent here, even with no byte of answer:
            # the server may have acted on the request. The client's retry policy decides
            # (counted, with backoff), as botocore does.
            try:
                response = await connection.start(request, read_timeout, now)
            except BaseException:
                connection.close()
                self._connections.discard(connection)
                raise
            if connection.reusable() and not self._closed:
                lane.put_idle(origin.key, connection, now)  # idle since about now
            else:
                connection.close()
                self._connections.discard(connection)
        finally:
            slots.release()
        if response.status == 407 and origin.proxy is not None:
            raise ConnectError(proxy_refused(origin.proxy))
        return response

    async def _connect(self, origin: _Origin) -> _Connection:
        if self._closed:
            raise ClientClosedError("the transport is closed")
        loop = asyncio.get_running_loop()
        self._loop = loop
        context = await self._ssl_context() if origin.tls else None
        made: tuple[asyncio.BaseTransport, _Connection]
        try:
            async with asyncio.timeout(self._timeouts.connect):
                if origin.proxy is None:
                    made = await self._open(self._new_connection, origin.host, origin.port, context)
                else:
                    made = await self._through_proxy(origin, origin.proxy, context)
        except TimeoutError as exc:
            raise ConnectTimeout(
                f"could not connect to {origin.where()} within {self._timeouts.connect}s"
            ) from exc
        except (OSError, UnicodeError) as exc:  # refused, DNS, TLS (SSLError), IDNA
            raise ConnectError(f"could not connect to {origin.where()}: {describe(exc)}") from exc
        connection = made[1]
        if self._closed:  # closed while we were connecting
            connection.close()
            raise ClientClosedError("the transport is closed")
        self._connections.add(connection)
        return connection

    def _new_connection(self) -> _Connection:
        return _Connection(self._connections.discard)

    async def _open(
        self,
        factory: Callable[[], P],
        host: str,
        port: int,
        context: ssl.SSLContext | None,
    ) -> tuple[asyncio.BaseTransport, P]:
        loop = asyncio.get_running_loop()
        connect = functools.partial(
            loop.create_connection,
            factory,
            host,
            port,
            ssl=context,
            server_hostname=host if context is not None else None,
        )
        # Happy eyeballs (RFC 8305) on the standard loop: a dual-stack endpoint on a host
        # with broken IPv6 must not spend the whole connect timeout on the first address.
        # uvloop's create_connection does not take the argument.
        if isinstance(loop, BaseEventLoop):
            return await connect(happy_eyeballs_delay=0.25)
        return await connect()

    async def _through_proxy(
        self, origin: _Origin, proxy: Proxy, context: ssl.SSLContext | None
    ) -> tuple[asyncio.BaseTransport, _Connection]:
        proxy_context = await self._proxy_ssl_context() if proxy.tls else None
        if context is None:  # http endpoint: absolute-form requests on a proxy connection
            return await self._open(self._new_connection, proxy.host, proxy.port, proxy_context)
        transport, setup = await self._open(_TunnelSetup, proxy.host, proxy.port, proxy_context)
        raw = cast(asyncio.Transport, transport)
        try:
            authority = origin.authority
            auth = f"Proxy-Authorization: {proxy.authorization}\r\n" if proxy.authorization else ""
            request = f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n{auth}\r\n"
            raw.write(request.encode("latin-1"))
            _check_tunnel(await setup.head, setup.buffer, proxy, authority)
            connection = self._new_connection()
            loop = asyncio.get_running_loop()
            tunnel = await loop.start_tls(raw, connection, context, server_hostname=origin.host)
        except BaseException:
            raw.abort()
            raise
        if tunnel is None:  # pragma: no cover - only for a transport closed meanwhile
            raw.abort()
            raise ConnectError(f"the proxy {proxy.url} closed the tunnel during the TLS handshake")
        connection.connection_made(tunnel)
        return tunnel, connection

    async def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            # loading the CA store reads files: off the event loop
            self._ssl = await asyncio.to_thread(ssl_context, self._verify, self._client_cert)
        return self._ssl

    async def _proxy_ssl_context(self) -> ssl.SSLContext:
        if self._proxy_ssl is None:
            verify = self._proxy_ca_bundle or self._verify
            self._proxy_ssl = await asyncio.to_thread(ssl_context, verify, what="the proxy")
        return self._proxy_ssl

    def __del__(self) -> None:
        # Dropped without aclose() (its client was collected): the loop still holds the
        # sockets through their protocols, so close them there; no I/O here.
        connections, loop = getattr(self, "_connections", None), getattr(self, "_loop", None)
        if connections and loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(_close_all, list(connections))

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


def _check_tunnel(head: bytes, received: bytearray, proxy: Proxy, authority: str) -> None:
    """Check the proxy's answer to ``CONNECT`` (``head``, of all the bytes ``received``).

    Raises:
        ConnectError: Not HTTP, not a 2xx (407: the proxy wants credentials), or bytes
            beyond the head before our TLS handshake.
    """
    status_line = head.split(b"\r\n", 1)[0]
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise ConnectError(f"the proxy {proxy.url} answered CONNECT with {status_line[:80]!r}")
    status = int(parts[1])
    if not 200 <= status < 300:
        if status == 407:
            raise ConnectError(proxy_refused(proxy))
        raise ConnectError(
            f"the proxy {proxy.url} refused the tunnel to {authority}: "
            f"{status_line.decode('latin-1')[:120]}"
        )
    if len(received) > len(head) + 4:
        raise ConnectError(f"the proxy {proxy.url} sent bytes before the TLS handshake")


def _close_all(connections: list[_Connection]) -> None:
    for connection in connections:
        connection.close()

"""The aiohttp transport: two bounded keep-alive pools (ordinary calls, long polls).

Every aiohttp/OS exception is translated here, once, to our TransportError tree with the
original chained as ``__cause__`` (the httpx ``map_httpcore_exceptions`` pattern): the most
specific match wins.

It keeps the promises of the default transport (issue 11), whatever aiohttp version is
installed: TLS verified as ``verify=`` says (``AWS_CA_BUNDLE`` included) with an optional
client certificate; the same proxy choice (``proxy``), given to aiohttp per request; the
same response size cap; header values checked before any I/O; and no reuse of a pooled
connection that received bytes while idle. aiohttp 3.14.5 handed such an unrequested
response to the next request on that connection, after which every response answered the
previous request. Here, as in the default transport, the connection is closed as soon as
its protocol sees such bytes, and a pooled connection is handed out only if nothing is
buffered in it and its socket has no unread input (bytes that arrived since the loop last
looked). The hooks are aiohttp's connector ``connect()`` and its protocol class; an aiohttp
without the protocol hook gets ``force_close`` (no reuse at all) instead.
"""

from __future__ import annotations

import asyncio
import functools
import io
import ssl
from collections.abc import Callable, Mapping
from typing import Any, cast

import aiohttp
import yarl
from aiohttp.client_proto import ResponseHandler

from .._config import Timeouts
from ..errors import (
    ConnectError,
    ConnectTimeout,
    ReadTimeout,
    ResponseError,
    TransportError,
)
from .base import Response, check_url, describe, encode_head, input_check
from .h11parse import MAX_BODY_BYTES
from .proxy import Proxy, proxy_refused
from .slots import Laned, Slots
from .tls import ClientCert, ssl_context

__all__ = ["AiohttpTransport"]

_RAW_BODY_LIMIT = 1 << 20
_READ_SIZE = 1 << 16

# where a connection is, as _GuardedHandler sees it
_IDLE, _WAITING, _READING = range(3)


class _GuardedHandler(ResponseHandler):
    """aiohttp's connection protocol, refusing bytes that no request is waiting for.

    A connection is waiting from the moment a request sets up its response parser until
    its final (non-1xx) response head is parsed, and reading until that response's body
    ends. Any byte that arrives while it is idle, or a second response, closes it.
    """

    _sqs_state = _IDLE
    _sqs_used = False
    _sqs_input: Callable[[], object] | None = None

    def reusable(self) -> bool:
        """Whether this idle pooled connection may carry another request."""
        transport = self.transport
        if transport is None or self._sqs_state != _IDLE or self.should_close:
            return False
        if self._sqs_input is None:
            self._sqs_input = input_check(transport)
        return not self._sqs_input()

    def set_response_params(self, *args: Any, **kwargs: Any) -> None:
        self._sqs_state = _WAITING
        super().set_response_params(*args, **kwargs)

    def feed_data(self, data: Any, *args: Any) -> None:
        if self._sqs_state != _WAITING:
            self._sqs_refuse()
            return
        message, payload = data
        code = getattr(message, "code", 200)
        if not 100 <= code < 200 or code == 101:
            self._sqs_state = _READING
            payload.on_eof(self._sqs_done)
        super().feed_data(data, *args)

    def _sqs_done(self) -> None:
        if self._sqs_state == _READING:
            self._sqs_state = _IDLE

    def data_received(self, data: bytes) -> None:
        if data and self._sqs_state == _IDLE:
            self._sqs_refuse()
            return
        super().data_received(data)

    def _sqs_refuse(self) -> None:
        self.force_close()
        self.abort()


class _GuardedConnector(aiohttp.TCPConnector):
    """A connector that hands out a pooled connection only if nothing came in on it."""

    async def connect(  # the names aiohttp passes by keyword
        self,
        req: Any,
        traces: Any,
        timeout: Any,  # noqa: ASYNC109
    ) -> aiohttp.connector.Connection:
        while True:
            connection = await super().connect(req, traces, timeout)
            protocol = connection.protocol
            if not isinstance(protocol, _GuardedHandler):  # pragma: no cover - not ours
                return connection
            if not protocol._sqs_used:
                protocol._sqs_used = True
                return connection
            if protocol.reusable():
                return connection
            connection.close()  # and take the next one, or a new one


class _Lane:
    """One pool: a session over a bounded connector, plus slots for pool timeouts."""

    __slots__ = ("session", "slots")

    def __init__(self, limit: int, timeouts: Timeouts, context: ssl.SSLContext) -> None:
        connector: aiohttp.TCPConnector = _GuardedConnector(
            limit=limit,
            limit_per_host=0,
            ttl_dns_cache=300,
            keepalive_timeout=30.0,
            ssl=context,
        )
        if hasattr(connector, "_factory"):
            factory = functools.partial(_GuardedHandler, loop=asyncio.get_running_loop())
            connector._factory = cast("functools.partial[ResponseHandler]", factory)
        else:  # pragma: no cover - an aiohttp without the hook: never reuse a connection
            connector = aiohttp.TCPConnector(limit=limit, force_close=True, ssl=context)
        self.session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=None, connect=None, sock_connect=timeouts.connect),
        )
        self.slots = Slots(limit)


class AiohttpTransport(Laned[_Lane]):
    """aiohttp's ``ClientSession`` (arguments: see :class:`~sqs_async._transport.slots.Laned`).

    aiohttp verifies an ``https://`` proxy with the same context as the endpoint, so a
    ``proxy_ca_bundle`` is trusted for both here.
    """

    def _setup(self) -> None:
        self._read_timeouts: dict[float, aiohttp.ClientTimeout] = {}
        self._routes: dict[str, str | None] = {}  # url -> the proxy URL to pass, or None
        self._ssl: ssl.SSLContext | None = None

    def _new_lane(self, limit: int) -> _Lane:
        assert self._ssl is not None  # made in request() before the first lane
        return _Lane(limit, self._timeouts, self._ssl)

    def _timeout(self, read: float) -> aiohttp.ClientTimeout:
        timeout = self._read_timeouts.get(read)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(
                total=None, connect=None, sock_connect=self._timeouts.connect, sock_read=read
            )
            self._read_timeouts[read] = timeout
        return timeout

    def _proxy_of(self, url: str) -> Proxy | None:
        return self._proxies.for_url(check_url(url)) if self._proxies else None

    def _route(self, url: str) -> str | None:
        """The proxy URL (credentials included: aiohttp sends them) for ``url``, or None."""
        proxy = self._proxy_of(url)
        return proxy.raw_url if proxy is not None else None

    async def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = await asyncio.to_thread(
                _context, self._verify, self._client_cert, self._proxy_ca_bundle
            )
        return self._ssl

    async def request(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        read_timeout: float,
        long_poll: bool = False,
    ) -> Response:
        if url in self._routes:
            proxy = self._routes[url]
        else:
            proxy = self._routes[url] = self._route(url)
        encode_head(headers)  # a typed error for what HTTP cannot carry, before any I/O
        if self._ssl is None:
            await self._context()
        lane = await self._take_lane(long_poll)
        try:
            # aiohttp warns on raw bytes bodies over 1 MiB; a BytesIO keeps Content-Length.
            data: bytes | io.BytesIO = body if len(body) <= _RAW_BODY_LIMIT else io.BytesIO(body)
            async with lane.session.post(
                _as_given(url),
                data=data,
                headers=headers,
                timeout=self._timeout(read_timeout),
                proxy=proxy,
            ) as resp:
                if resp.status == 407 and proxy is not None:
                    raise ConnectError(proxy_refused(self._proxy_of(url) or Proxy.parse(proxy)))
                return Response(resp.status, resp.headers, await _read_body(resp))
        except aiohttp.ClientError as exc:
            raise _map_error(exc) from exc
        except TimeoutError as exc:
            raise ReadTimeout(f"no response within {read_timeout}s") from exc
        except OSError as exc:  # pragma: no cover - aiohttp wraps most of these
            raise ConnectError(describe(exc)) from exc
        finally:
            lane.slots.release()

    async def aclose(self) -> None:
        self._closed = True
        lanes, self._lanes = self._lanes, None
        if lanes is not None:
            for lane in lanes:
                await lane.session.close()


@functools.lru_cache(maxsize=16)
def _as_given(url: str) -> yarl.URL:
    """The URL exactly as written: aiohttp would otherwise normalise its path and query."""
    return yarl.URL(url, encoded=True)


def _context(
    verify: bool | str, client_cert: ClientCert | None, proxy_ca_bundle: str | None
) -> ssl.SSLContext:
    context = ssl_context(verify, client_cert)
    if proxy_ca_bundle:
        try:
            context.load_verify_locations(proxy_ca_bundle)
        except (OSError, ValueError, ssl.SSLError) as exc:
            raise ConnectError(
                f"cannot load the proxy CA bundle {proxy_ca_bundle!r}: {describe(exc)}"
            ) from exc
    return context


async def _read_body(resp: aiohttp.ClientResponse) -> bytes:
    """The whole body, refused past ``MAX_BODY_BYTES`` (a server that keeps sending)."""
    length = resp.content_length
    if length is not None:
        if length > MAX_BODY_BYTES:
            raise ResponseError(f"response body over {MAX_BODY_BYTES} bytes")
        return await resp.read()  # aiohttp stops at Content-Length
    body = bytearray()
    while chunk := await resp.content.read(_READ_SIZE):
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            resp.close()
            raise ResponseError(f"response body over {MAX_BODY_BYTES} bytes")
    return bytes(body)


def _map_error(exc: aiohttp.ClientError) -> TransportError:
    text = describe(exc)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return ConnectTimeout(text)
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return ReadTimeout(text)
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        # a refused CONNECT; its 407 reads like the default transport's
        if exc.status == 407:
            return ConnectError(
                "the proxy answered 407 Proxy Authentication Required: check the credentials "
                "in the proxy URL (http://user:password@host:port)"
            )
        return ConnectError(f"the proxy refused the tunnel: {exc.status} {exc.message}")
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ServerDisconnectedError):
        return ConnectError(text)
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return ResponseError(f"malformed HTTP response: {text}")
    if isinstance(exc, aiohttp.ClientOSError | aiohttp.ClientConnectionError):
        return ConnectError(text)
    return TransportError(text)

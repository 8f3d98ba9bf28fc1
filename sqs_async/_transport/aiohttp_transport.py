"""The aiohttp transport: two bounded keep-alive pools (ordinary calls, long polls).

Every aiohttp/OS exception is translated here, once, to our TransportError tree with the
original chained as ``__cause__`` (the httpx ``map_httpcore_exceptions`` pattern): the most
specific match wins.
"""

from __future__ import annotations

import asyncio
import functools
import io
from collections.abc import Mapping

import aiohttp
import yarl

from .._config import Timeouts
from ..errors import (
    ConnectError,
    ConnectTimeout,
    ReadTimeout,
    ResponseError,
    TransportError,
)
from .base import Response
from .slots import Laned

__all__ = ["AiohttpTransport"]

_RAW_BODY_LIMIT = 1 << 20


class _Lane:
    """One pool: a session over a bounded connector, plus a semaphore for pool timeouts."""

    __slots__ = ("limit", "semaphore", "session")

    def __init__(self, limit: int, timeouts: Timeouts) -> None:
        connector = aiohttp.TCPConnector(
            limit=limit,
            limit_per_host=0,
            ttl_dns_cache=300,
            keepalive_timeout=30.0,
        )
        self.session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=None, connect=None, sock_connect=timeouts.connect),
        )
        self.semaphore = asyncio.Semaphore(limit)
        self.limit = limit


class AiohttpTransport(Laned[_Lane]):
    """aiohttp's ``ClientSession`` (arguments: see :class:`~sqs_async._transport.slots.Laned`)."""

    def __init__(self, timeouts: Timeouts, max_connections: int, max_poll_connections: int) -> None:
        super().__init__(timeouts, max_connections, max_poll_connections)
        self._read_timeouts: dict[float, aiohttp.ClientTimeout] = {}

    def _new_lane(self, limit: int) -> _Lane:
        return _Lane(limit, self._timeouts)

    def _timeout(self, read: float) -> aiohttp.ClientTimeout:
        timeout = self._read_timeouts.get(read)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(
                total=None, connect=None, sock_connect=self._timeouts.connect, sock_read=read
            )
            self._read_timeouts[read] = timeout
        return timeout

    async def request(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        read_timeout: float,
        long_poll: bool = False,
    ) -> Response:
        lane = await self._take_lane(long_poll)
        try:
            # aiohttp warns on raw bytes bodies over 1 MiB; a BytesIO keeps Content-Length.
            data: bytes | io.BytesIO = body if len(body) <= _RAW_BODY_LIMIT else io.BytesIO(body)
            async with lane.session.post(
                _as_given(url), data=data, headers=headers, timeout=self._timeout(read_timeout)
            ) as resp:
                data = await resp.read()
                return Response(resp.status, resp.headers, data)
        except aiohttp.ClientError as exc:
            raise _map_error(exc) from exc
        except TimeoutError as exc:
            raise ReadTimeout(f"no response within {read_timeout}s") from exc
        except OSError as exc:  # pragma: no cover - aiohttp wraps most of these
            raise ConnectError(str(exc) or type(exc).__name__) from exc
        finally:
            lane.semaphore.release()

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


def _map_error(exc: aiohttp.ClientError) -> TransportError:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return ConnectTimeout(text)
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return ReadTimeout(text)
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ServerDisconnectedError):
        return ConnectError(text)
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return ResponseError(text)
    if isinstance(exc, aiohttp.ClientOSError | aiohttp.ClientConnectionError):
        return ConnectError(text)
    return TransportError(text)

"""Lanes and slots: how both transports keep two bounded pools (ordinary calls, long polls)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Generic, Protocol, TypeVar

from .._config import Timeouts
from ..errors import ClientClosedError, PoolTimeout
from .proxy import Proxies
from .tls import ClientCert, resolve_verify

__all__ = ["Laned", "take_slot"]


class _Lane(Protocol):
    semaphore: asyncio.Semaphore
    limit: int


L = TypeVar("L", bound=_Lane)


async def take_slot(semaphore: asyncio.Semaphore, patience: float, limit: int) -> None:
    """Take one of a pool's ``limit`` slots, waiting at most ``patience`` s when all are busy.

    Raises:
        PoolTimeout: No slot came free in time.
    """
    if not semaphore.locked():
        await semaphore.acquire()
        return
    try:
        async with asyncio.timeout(patience):
            await semaphore.acquire()
    except TimeoutError as exc:
        raise PoolTimeout(f"no free connection within {patience}s ({limit} in use)") from exc


class Laned(Generic[L]):
    """A transport's two lanes, created lazily inside the running loop, and its settings.

    Args:
        timeouts: Connect and pool timeouts (the read timeout comes per request).
        max_connections: Size of the pool for ordinary calls.
        max_poll_connections: Size of the separate pool for long polls.
        verify: ``False``, ``True`` or a CA bundle path; ``None``: :func:`resolve_verify`.
        client_cert: A client certificate to show to servers (see ``tls``).
        proxies: scheme → proxy URL; ``None``: from the environment (see ``proxy``).
        proxy_ca_bundle: The CA bundle to verify an ``https://`` proxy with (default:
            the same as the endpoint's).

    Raises:
        ValidationError: A proxy URL is malformed.
    """

    def __init__(
        self,
        timeouts: Timeouts,
        max_connections: int,
        max_poll_connections: int,
        *,
        verify: bool | str | None = None,
        client_cert: ClientCert | None = None,
        proxies: Mapping[str, str] | None = None,
        proxy_ca_bundle: str | None = None,
    ) -> None:
        self._timeouts = timeouts
        self._sizes = (max_connections, max_poll_connections)
        self._lanes: tuple[L, L] | None = None
        self._closed = False
        self._verify = resolve_verify(verify)
        self._client_cert = client_cert
        self._proxies: Proxies | None = Proxies(proxies) or None
        self._proxy_ca_bundle = proxy_ca_bundle
        self._setup()

    def _setup(self) -> None:
        """Set up what the transport itself keeps (called at the end of ``__init__``)."""

    def _new_lane(self, limit: int) -> L:
        raise NotImplementedError

    async def _take_lane(self, long_poll: bool) -> L:
        """The lane for this request, with one of its slots taken (release it after)."""
        lanes = self._lanes
        if lanes is None:
            if self._closed:
                raise ClientClosedError("the transport is closed")
            lanes = self._lanes = (self._new_lane(self._sizes[0]), self._new_lane(self._sizes[1]))
        lane = lanes[1] if long_poll else lanes[0]
        await take_slot(lane.semaphore, self._timeouts.pool, lane.limit)
        return lane

"""Lanes and slots: how both transports keep two bounded pools (ordinary calls, long polls)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Mapping
from typing import Generic, Protocol, TypeVar

from .._config import Timeouts
from ..errors import ClientClosedError, PoolTimeout
from .proxy import Proxies
from .tls import ClientCert, resolve_verify

__all__ = ["Laned", "Slots"]


class Slots:
    """A pool's ``limit`` slots: taken without awaiting while one is free, FIFO when not.

    An ``asyncio.Semaphore`` would do, but every request pays for its coroutine and its
    checks (about 2 µs); here a free slot is a counter decrement. A slot that comes free is
    handed to the longest waiter directly, so a waiter is never overtaken by a newcomer.
    """

    __slots__ = ("_waiters", "free", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.free = limit
        self._waiters: deque[asyncio.Future[None]] = deque()

    def take_now(self) -> bool:
        """Take a slot if one is free (and nobody waits for one); say whether it was taken."""
        if self.free > 0 and not self._waiters:
            self.free -= 1
            return True
        return False

    async def wait(self, patience: float) -> None:
        """Wait for a slot, at most ``patience`` s (after :meth:`take_now` said no).

        Raises:
            PoolTimeout: No slot came free in time.
        """
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(patience):
                await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot just as we gave up: pass it on
            else:
                waiter.cancel()
                with contextlib.suppress(ValueError):  # release() may have dropped it
                    self._waiters.remove(waiter)
            if isinstance(exc, TimeoutError):
                raise PoolTimeout(
                    f"no free connection within {patience}s ({self.limit} in use)"
                ) from exc
            raise

    def release(self) -> None:
        """Give a slot back: to the longest waiter, or to the pool."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.free += 1


class _Lane(Protocol):
    slots: Slots


L = TypeVar("L", bound=_Lane)


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

    def _lane(self, long_poll: bool) -> L:
        """The lane for this request (created on first use, inside the running loop)."""
        lanes = self._lanes
        if lanes is None:
            if self._closed:
                raise ClientClosedError("the transport is closed")
            lanes = self._lanes = (self._new_lane(self._sizes[0]), self._new_lane(self._sizes[1]))
        return lanes[1] if long_poll else lanes[0]

    async def _take_lane(self, long_poll: bool) -> L:
        """The lane for this request, with one of its slots taken (release it after)."""
        lane = self._lane(long_poll)
        if not lane.slots.take_now():
            await lane.slots.wait(self._timeouts.pool)
        return lane

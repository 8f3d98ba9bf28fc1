"""Connection slots: how both transports bound the requests in flight per pool."""

from __future__ import annotations

import asyncio

from ..errors import PoolTimeout

__all__ = ["take_slot"]


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

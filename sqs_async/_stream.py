"""The message stream: ``async for message in queue`` and ``queue.messages()``.

Layer: above the fetcher, beside the consumer; the queue hands it out. It yields messages one
by one from a prefetching fetcher and deletes nothing itself; leaving the loop early releases
what was buffered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ._fetcher import Fetcher

if TYPE_CHECKING:
    from ._hooks import ConsumerStatistics
    from ._message import Message
    from ._queue import Queue

__all__ = ["MessageStream"]


class MessageStream:
    """``async for message in queue``: messages one by one from a prefetching fetcher.

    It does not delete: call ``await message.delete()`` (batched behind the scenes).
    Leaving the loop early (``break``, an exception) releases every buffered message; so
    does ``async with queue.messages() as stream:`` on exit, deterministically.
    A yielded message has at least half of its visibility timeout left; call
    ``message.change_visibility()`` for long work, or use ``consume()``, which renews.
    """

    def __init__(self, queue: Queue, **options: Any) -> None:
        self._fetcher = Fetcher(queue, **options)
        self._iterator: AsyncIterator[Message] | None = None

    def statistics(self) -> ConsumerStatistics:
        """A snapshot of the counters."""
        return self._fetcher.statistics()

    def __aiter__(self) -> AsyncIterator[Message]:
        if self._iterator is None:
            self._iterator = _iterate(self._fetcher)
        return self._iterator

    async def __anext__(self) -> Message:
        return await self.__aiter__().__anext__()

    def stop(self) -> None:
        """End the iteration after the current message; buffered messages are released."""
        self._fetcher.stop()

    async def __aenter__(self) -> MessageStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop and release everything buffered. Idempotent."""
        self._fetcher.stop()
        await self._fetcher.aclose()


async def _iterate(fetcher: Fetcher) -> AsyncIterator[Message]:
    """The stream's generator. Module-level on purpose: its frame must not reference the
    stream, or stream and generator would form a cycle, and a loop left early (``break``)
    would release nothing until the cycle collector ran."""
    try:
        while True:
            try:
                message = await fetcher.get()
            except StopAsyncIteration:
                return
            yield message
    finally:
        await fetcher.aclose()

"""Leases: keeping received messages invisible while we hold them (the heartbeat).

Layer: above the batchers. One :class:`LeaseManager` per consumer renews every message it
holds (buffered or being handled) shortly before its visibility timeout runs out, packing
the renewals into ChangeMessageVisibilityBatch calls through a
:class:`~sqs_async._batching.VisibilityBatcher`. SQS caps a message's total invisibility at
12 hours from its receipt; a lease that reaches the cap, or whose renewal the service
refuses (the receipt handle went stale), is *lost*: ``on_lost`` is called so the consumer
can cancel the handler instead of letting it finish side effects for a message that
another consumer may now hold.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ._batching import VisibilityBatcher
from ._config import MAX_VISIBILITY_TIMEOUT
from ._message import Message
from .errors import SQSError

__all__ = ["Lease", "LeaseManager"]

log = logging.getLogger("sqs_async")

# Renew when less than this share of the visibility timeout is left (and at least MIN_MARGIN s).
RENEW_FRACTION = 0.5
MIN_MARGIN = 1.0
MAX_RENEW_FRACTION = 0.75


@dataclass(slots=True, eq=False)
class Lease:
    """One received message we hold, and until when."""

    message: Message
    received_at: float
    expires_at: float
    lost: bool = False


class LeaseManager:
    """Renews held messages before they become visible again.

    Args:
        batcher: Sends the ChangeMessageVisibilityBatch calls.
        visibility_timeout: Seconds each renewal extends a lease by.
        on_lost: Called with a lease that could not be renewed.
        clock: The monotonic clock (replaceable in tests).
    """

    def __init__(
        self,
        batcher: VisibilityBatcher,
        visibility_timeout: int,
        on_lost: Callable[[Lease], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._batcher = batcher
        self.visibility_timeout = visibility_timeout
        self._on_lost = on_lost
        self._clock = clock
        # the leases held, by receipt handle (read-only outside: per-message paths pop from
        # it directly, as remove() does)
        self.held: dict[str, Lease] = {}
        self._changed = asyncio.Event()
        # When the renewal loop will next look (monotonic seconds): -inf while it is busy,
        # +inf while it sleeps with nothing held. Only a lease due before then wakes it,
        # so the common case (a new lease, due after all the others) costs no wake-up.
        self._wake_at = -math.inf
        self.renewals = 0
        self.lost = 0

    def __len__(self) -> int:
        return len(self.held)

    def add(
        self, message: Message, received_at: float | None = None, visibility: int | None = None
    ) -> Lease:
        """Start holding a message just received.

        Args:
            message: The message.
            received_at: When it was received (monotonic; default now).
            visibility: The visibility it was received with, when not the lease's timeout
                (a receive that may park asks for less; such a lease is due at once).
        """
        now = self._clock() if received_at is None else received_at
        lease = Lease(message, now, now + (visibility or self.visibility_timeout))
        self.held[message.receipt_handle or ""] = lease
        self._wake_if_due_before(lease.expires_at)
        return lease

    def add_many(
        self, messages: Sequence[Message], received_at: float, visibility: int | None = None
    ) -> None:
        """:meth:`add` for the messages of one receive: one expiry, one wake-up check."""
        expires_at = received_at + (visibility or self.visibility_timeout)
        leases = self.held
        for message in messages:
            leases[message.receipt_handle or ""] = Lease(message, received_at, expires_at)
        self._wake_if_due_before(expires_at)

    def wake(self) -> None:
        """Look at the leases now rather than at the planned time (e.g. after a clock jump)."""
        self._changed.set()

    def _wake_if_due_before(self, expires_at: float) -> None:
        if expires_at - self._margin() < self._wake_at:
            self._changed.set()

    def get(self, message: Message) -> Lease | None:
        """The lease of a message, if we hold it."""
        return self.held.get(message.receipt_handle or "")

    def remove(self, message: Message) -> Lease | None:
        """Stop holding a message (deleted, released, or handed away)."""
        return self.held.pop(message.receipt_handle or "", None)

    def extend(self, message: Message, seconds: int) -> None:
        """Record a visibility change made by someone else (e.g. the user)."""
        lease = self.get(message)
        if lease is not None:
            lease.expires_at = self._clock() + seconds
            self._wake_if_due_before(lease.expires_at)  # shortened: renew it in time

    def headroom(self) -> float | None:
        """Seconds until the earliest lease runs out (``None`` when none is held)."""
        if not self.held:
            return None
        return min(lease.expires_at for lease in self.held.values()) - self._clock()

    def _margin(self) -> float:
        # Renew with half the timeout left (at least MIN_MARGIN s), but always strictly
        # before it runs out: with a 1 s timeout, renew at 0.75 s left, not at once.
        timeout = self.visibility_timeout
        return min(max(MIN_MARGIN, timeout * RENEW_FRACTION), timeout * MAX_RENEW_FRACTION)

    async def run(self) -> None:
        """Renew leases forever (until cancelled)."""
        if self.visibility_timeout <= 0:
            await asyncio.Event().wait()  # nothing to renew: a 0 s lease is no lease
        while True:
            now = self._clock()
            margin = self._margin()
            due = [lease for lease in self.held.values() if lease.expires_at - now <= margin]
            if due:
                if await self._renew(due):
                    # a transient failure (throttled, network): try again shortly
                    await asyncio.sleep(min(1.0, margin / 4))
                continue
            self._changed.clear()
            if self.held:
                earliest = min(lease.expires_at for lease in self.held.values())
                delay = max(0.01, earliest - margin - now)
                self._wake_at = now + delay
            else:
                delay = None
                self._wake_at = math.inf
            try:
                async with asyncio.timeout(delay):
                    await self._changed.wait()
            except TimeoutError:
                pass
            finally:
                self._wake_at = -math.inf

    async def renew_now(self, lease: Lease) -> bool:
        """Renew one lease now, unless it has at least half its timeout left; return
        whether it is still held (the stream hands a message over only with half its
        timeout left)."""
        if lease.expires_at - self._clock() >= self.visibility_timeout * RENEW_FRACTION:
            return True
        await self._renew([lease])
        return not lease.lost

    async def _renew(self, due: list[Lease]) -> bool:
        """Renew the given leases; return whether any renewal failed transiently."""
        now = self._clock()
        transient = False
        futures: list[tuple[Lease, int, asyncio.Future[dict[str, Any]]]] = []
        for lease in due:
            seconds = self.visibility_timeout
            remaining_cap = MAX_VISIBILITY_TIMEOUT - (now - lease.received_at)
            if remaining_cap < seconds:  # the 12-hour cap, not the timeout, limits this one
                seconds = int(remaining_cap)
                if seconds <= lease.expires_at - now:
                    self._lose(lease, "the 12-hour visibility cap was reached")
                    continue
            handle = lease.message.receipt_handle or ""
            futures.append((lease, seconds, self._batcher.submit_nowait((handle, seconds))))
        for lease, seconds, future in futures:
            try:
                await future
            except SQSError as exc:
                if type(exc).retriable:
                    transient = True
                elif self.held.get(lease.message.receipt_handle or "") is lease:
                    self._lose(lease, f"renewal refused: {exc}")
                continue
            self.renewals += 1
            lease.expires_at = now + seconds  # counted from before the call: conservative
        return transient

    def _lose(self, lease: Lease, why: str) -> None:
        self.held.pop(lease.message.receipt_handle or "", None)
        lease.lost = True
        self.lost += 1
        message = lease.message
        queue = message.queue.name if message.queue is not None else None
        log.warning(
            "lease lost on message %s from %s: %s",
            message.id,
            queue,
            why,
            extra={"message_id": message.id, "queue": queue},
        )
        self._on_lost(lease)

"""The fetcher: background long polls into a bounded prefetch buffer, loss-free.

Layer: above its holdings (deletes, visibility, releases), the leases and the batchers; below
the consumer. What it guarantees:

* **Prefetch sized by the visibility budget.** Pollers receive only while the buffer has
  room. The room is ``prefetch`` messages at most, and no more than the consumer takes in
  ``max_buffer_age`` x visibility timeout seconds (its measured rate x that time, Little's
  law), so a buffered message does not sit until its lease is in danger; buffered messages
  are also renewed by the lease manager.
* **Prompt stop, nothing held hostage.** A receive runs as a task of its own. One that may
  park (the last came back short) asks for ``PARKED_VISIBILITY`` seconds and is abandoned
  at once on stop; what it brings otherwise is extended to the real timeout by the lease
  manager straight away. The others land within ``ABANDON_GRACE`` seconds and what they
  return is released at once (visibility 0), or are abandoned too. Nothing is left for
  the connection to wait for.
* **Self-healing pollers.** A failing receive is retried with capped, jittered backoff;
  a receive stuck past its hard deadline is abandoned and retried. Only errors that cannot
  heal (the queue is gone, the credentials are refused) end the fetcher, and they are
  raised to whoever reads from it, never swallowed.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from ._config import LONG_POLL_READ_MARGIN, MAX_BATCH_ENTRIES, MAX_VISIBILITY_TIMEOUT
from ._deadlines import Deadlines
from ._holdings import Holdings
from ._hooks import ConsumerHooks, ConsumerStatistics, call_hook
from ._leases import Lease, LeaseManager
from ._message import Message
from .errors import (
    AuthError,
    ClientClosedError,
    QueueDoesNotExist,
    SQSError,
    ValidationError,
)

if TYPE_CHECKING:
    from ._handled import HandledDeletes
    from ._queue import Queue

__all__ = ["Fetcher", "check_lease", "receive_attributes"]

log = logging.getLogger("sqs_async")

# The system attributes the consumer itself reads (retry backoff, FIFO groups).
NEEDED_ATTRIBUTES = ("ApproximateReceiveCount", "MessageGroupId", "SequenceNumber")
FATAL_ERRORS = (QueueDoesNotExist, AuthError, ValidationError, ClientClosedError)
MAX_POLL_BACKOFF = 20.0
SHUTDOWN_TIMEOUT = 30.0
# A poll that may park asks for this visibility (when the lease is longer), so that what it
# takes after we abandoned it comes back within seconds; the lease manager extends what it
# brings to the real timeout (issue 9: prompt stop, nothing held hostage). 10 s, not less:
# the extension must get through a loaded server or a busy event loop in time.
PARKED_VISIBILITY = 10
# At shutdown, how long a poll expected to return at once gets before it is abandoned too.
ABANDON_GRACE = 1.0
EMPTY_SHORT_POLL_PAUSE = 0.05  # seconds between empty short polls while waiting to end


def _always() -> bool:
    return True


def check_lease(visibility_timeout: int) -> None:
    """Refuse a visibility timeout the lease manager cannot keep (before any receive).

    Leases are renewed with a quarter of the timeout to spare, so 1 s works (renewed
    every 0.25 s); 0 would be no lease at all: every message would be visible to other
    consumers while its handler runs.

    Raises:
        ValidationError: It is below 1 or above 43,200 seconds.
    """
    if not 1 <= visibility_timeout <= MAX_VISIBILITY_TIMEOUT:
        raise ValidationError(
            f"visibility_timeout is {visibility_timeout!r}; a consumer's lease must be 1 to"
            f" {MAX_VISIBILITY_TIMEOUT} seconds (0 would leave messages visible to other"
            " consumers while they are handled)"
        )


def receive_attributes(attributes: Sequence[str] | None) -> list[str]:
    """The system attributes to ask for: ``None`` is all of them; an explicit list gets the
    ones the consumer needs itself (retry backoff, FIFO groups) added."""
    if attributes is None:
        return ["All"]
    names = list(attributes)
    if "All" not in names:
        names += [name for name in NEEDED_ATTRIBUTES if name not in names]
    return names


class Fetcher:
    """Long-polls one queue in the background into a bounded buffer.

    Args:
        queue: The queue.
        batch_size: Messages per receive (1 to 10).
        wait_time_seconds: Long-poll wait (0 to 20).
        visibility_timeout: The lease length; ``None`` uses the queue's setting.
        prefetch: The most messages buffered at once.
        pollers: Receives in flight at once.
        stop_when_empty: End once a receive comes back empty and the buffer is drained.
        max_buffer_age: The share of the visibility timeout a message may wait in the
            buffer, used to size the prefetch from the measured consumption rate.
        attributes: System attributes to receive (``None``: all; see :func:`receive_attributes`).
        message_attributes: Message attributes to receive (``None``: all).
        hooks: Callbacks for metrics.
        on_lease_lost: Called when a held message's lease is lost.
        idle: With ``stop_when_empty``: whether the owner holds nothing (no message being
            handled, none waiting for a retry); the end is an empty receive made while idle.
        check_timeout: Checks the queue's visibility timeout when it is the one used
            (before any receive).
    """

    def __init__(
        self,
        queue: Queue,
        *,
        batch_size: int = MAX_BATCH_ENTRIES,
        wait_time_seconds: int = 20,
        visibility_timeout: int | None = None,
        prefetch: int | None = None,
        pollers: int | None = None,
        stop_when_empty: bool = False,
        max_buffer_age: float = 0.5,
        attributes: Sequence[str] | None = None,
        message_attributes: Sequence[str] | None = None,
        hooks: ConsumerHooks | None = None,
        on_lease_lost: Callable[[Lease], None] | None = None,
        idle: Callable[[], bool] | None = None,
        check_timeout: Callable[[int], None] | None = None,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH_ENTRIES:
            raise ValidationError(f"batch_size is {batch_size}; it must be between 1 and 10")
        if not 0 <= wait_time_seconds <= 20:
            raise ValidationError(f"wait_time_seconds is {wait_time_seconds}; use 0 to 20")
        if not 0 < max_buffer_age <= 1:
            raise ValidationError("max_buffer_age must be in (0, 1]")
        self.queue = queue
        self.batch_size = batch_size
        self.wait_time_seconds = wait_time_seconds
        self.visibility_timeout = visibility_timeout
        self.prefetch = max(prefetch if prefetch is not None else 2 * batch_size, batch_size)
        default_pollers = max(1, min(self.prefetch // batch_size, 4))
        self.pollers = 1 if stop_when_empty else (pollers or default_pollers)
        self.stop_when_empty = stop_when_empty
        self.max_buffer_age = max_buffer_age
        self.hooks = hooks or ConsumerHooks()
        self._on_lease_lost = on_lease_lost
        self._idle = idle or _always
        self._check_timeout = check_timeout
        self._params: dict[str, Any] = {
            "QueueUrl": queue.url,
            "WaitTimeSeconds": wait_time_seconds,
            "MessageSystemAttributeNames": receive_attributes(attributes),
            "MessageAttributeNames": (
                list(message_attributes) if message_attributes is not None else ["All"]
            ),
        }
        self._buffer: collections.deque[tuple[Message, float]] = collections.deque()
        self._available = asyncio.Event()
        self._room = asyncio.Event()
        self._room_wanted = False  # a poller waits for _room
        self._reserved = 0
        self._receives: set[asyncio.Task[BaseException | None]] = set()
        # receives waiting for their answer, and whether each may park (short visibility)
        self._requests: dict[asyncio.Task[Any], bool] = {}
        self._abandoned: set[asyncio.Task[Any]] = set()
        # receives in flight by hard deadline; those past it are cancelled
        self._deadlines = Deadlines(spare=self._abandoned)
        self._may_park = True  # the last receive came back short: the next one may park
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self._stopping = False
        self._closed = False
        self._exhausted = False
        self._saw_empty = False
        self._fatal: BaseException | None = None
        self._shutdown: asyncio.Task[None] | None = None
        self.holdings = Holdings(queue, self.hooks)  # the MessageOwner of what is received
        self.leases: LeaseManager | None = None  # the holdings' (once started)
        # consumption rate (messages/s), an exponentially weighted moving average
        self._rate = 0.0
        self._cap = self.prefetch  # what _target() returns; follows the rate (_retarget)
        self._window_start = time.monotonic()
        self._window_count = 0
        # counters
        self.received = 0
        self.receive_errors = 0
        self.pollers_alive = 0  # poll loops running (not ended by a fatal error or a stop)
        self.abandoned_polls = 0

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Resolve the visibility timeout and start polling. Idempotent."""
        if self._started:
            return
        if self._closed:
            raise ClientClosedError("this consumer is closed")
        self._started = True
        if self.visibility_timeout is None:
            self.visibility_timeout = await self.queue.get_timeout()
            if self._check_timeout is not None:
                self._check_timeout(self.visibility_timeout)
        self._params["VisibilityTimeout"] = self.visibility_timeout
        self._retarget()
        self.leases = self.holdings.open(self.visibility_timeout, self._lease_lost)
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self.leases.run(), name="sqs-async-leases"))
        for index in range(self.pollers):
            self._tasks.append(loop.create_task(self._poll_loop(), name=f"sqs-async-poll-{index}"))

    def stop(self) -> None:
        """Stop polling (synchronous).

        Receives that may be parked (asked for a short visibility) are abandoned at once;
        the others (expected back at once) land and what they bring is released, or are
        abandoned when the fetcher closes, ``ABANDON_GRACE`` seconds later at most.
        """
        if self._stopping:
            return
        self._stopping = True
        self._room.set()
        self._available.set()
        self._abandon(parked_only=True)

    def _abandon(self, *, parked_only: bool) -> None:
        for task, may_park in list(self._requests.items()):
            if (may_park or not parked_only) and task not in self._abandoned:
                self._abandoned.add(task)
                task.cancel()

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called (or the fetcher ended)."""
        return self._stopping

    async def aclose(self) -> None:
        """Stop, release every buffered message, flush deletes and visibility changes.

        Idempotent, and safe to call while being cancelled: the work runs shielded, bounded
        by a timeout.
        """
        self.stop()
        if self._shutdown is None:
            self.holdings.close()
            self._shutdown = asyncio.get_running_loop().create_task(self._close())
        await asyncio.shield(self._shutdown)

    async def _close(self) -> None:
        try:
            async with asyncio.timeout(SHUTDOWN_TIMEOUT):
                pollers = [t for t in self._tasks if t.get_name() != "sqs-async-leases"]
                for task in pollers:
                    task.cancel()
                await asyncio.gather(*pollers, return_exceptions=True)
                await self.release(self.take_buffered())
                await self._end_receives()
                await self.holdings.flush()
        finally:
            self._deadlines.close()
            for task in self._tasks:
                task.cancel()
            self._abandon(parked_only=False)
            await asyncio.gather(*self._tasks, *self._receives, return_exceptions=True)
            self._closed = True

    async def _end_receives(self) -> None:
        """Let receives expected back at once land, then abandon what is still waiting."""
        if self._requests:
            await asyncio.wait(set(self._requests), timeout=ABANDON_GRACE)
        self._abandon(parked_only=False)
        if self._receives:
            await asyncio.gather(*self._receives, return_exceptions=True)

    # -- polling --------------------------------------------------------------------------

    def _target(self) -> int:
        """How many messages may be buffered or on their way (see the module docs)."""
        return self._cap

    def _retarget(self) -> None:
        if self._rate <= 0 or self.visibility_timeout is None:
            self._cap = self.prefetch
            return
        by_age = int(self._rate * self.visibility_timeout * self.max_buffer_age)
        self._cap = max(self.batch_size, min(self.prefetch, by_age))

    def _has_room(self) -> bool:
        return len(self._buffer) + self._reserved + self.batch_size <= self._target()

    async def _poll_loop(self) -> None:
        self.pollers_alive += 1
        try:
            await self._polls()
        finally:
            self.pollers_alive -= 1

    async def _polls(self) -> None:
        failures = 0
        loop = asyncio.get_running_loop()
        while not self._stopping:
            if not self._has_room():
                self._room_wanted = True  # get_nowait() sets _room once there is
                self._room.clear()
                await self._room.wait()
                continue
            self._reserved += self.batch_size
            landed: asyncio.Future[BaseException | None] = loop.create_future()
            receive = loop.create_task(self._receive(self.batch_size, landed))
            self._receives.add(receive)
            receive.add_done_callback(self._receives.discard)
            # Not the task itself: a poller cancelled meanwhile leaves its receive running
            # (as asyncio.shield() would, which cost more than the rest of the bookkeeping).
            error = await landed
            if error is None:
                failures = 0
                continue
            if isinstance(error, FATAL_ERRORS):
                self._fatal = error
                self.stop()
                return
            failures += 1
            delay = random.random() * min(MAX_POLL_BACKOFF, 0.1 * 2**failures)
            log.warning(
                "receive from %s failed (%s); retrying in %.2fs", self.queue.name, error, delay
            )
            await asyncio.sleep(delay)

    def _deadline(self) -> float:
        attempts = self.queue.connection.config.retry.max_attempts
        return attempts * (self.wait_time_seconds + LONG_POLL_READ_MARGIN) + 5.0

    def _parked_visibility(self) -> int | None:
        """The short visibility for the next receive, if it may park (``None``: it need not)."""
        timeout = self.visibility_timeout or 0
        if self._may_park and self.wait_time_seconds and timeout > PARKED_VISIBILITY:
            return PARKED_VISIBILITY
        return None

    async def _receive(
        self, count: int, landed: asyncio.Future[BaseException | None]
    ) -> BaseException | None:
        """:meth:`_receive_once`, whose outcome also goes to ``landed`` (the poller's)."""
        try:
            error = await self._receive_once(count)
        except BaseException as exc:
            if not landed.done():
                if isinstance(exc, asyncio.CancelledError):
                    landed.cancel()
                else:
                    landed.set_exception(exc)
            raise
        if not landed.done():
            landed.set_result(error)
        return error

    async def _receive_once(self, count: int) -> BaseException | None:
        """One receive; delivers or releases what it gets. Returns its error, never raises.

        A receive that may park (the last one came back short, so the queue may be empty)
        asks for ``PARKED_VISIBILITY`` seconds only, and can be abandoned at once on stop:
        what the service hands it after that comes back within those seconds. What it
        brings is leased for that long and the lease manager extends it to the real
        timeout straight away (one coalesced ChangeMessageVisibilityBatch). A busy queue's
        receives come back full, so the next asks for the real timeout and costs nothing.
        """
        params = dict(self._params, MaxNumberOfMessages=count)
        parked = self._parked_visibility()
        if parked is not None:
            params["VisibilityTimeout"] = parked
        task = cast("asyncio.Task[Any]", asyncio.current_task())
        # SQS starts a message's visibility timeout when it picks the message, somewhere
        # during the long poll: date the leases from the request's start, to be safe.
        started = time.monotonic()
        idle_at_start = self.stop_when_empty and self._idle()
        self._requests[task] = parked is not None
        self._deadlines.watch(task, self._deadline())
        try:
            messages = await self.queue.receive_raw(params)
        except asyncio.CancelledError:
            if self._deadlines.expired(task):  # past its hard deadline
                self.receive_errors += 1
                return TimeoutError(f"no answer to a receive within {self._deadline():.0f} s")
            if task not in self._abandoned:
                raise
            # Abandoned at shutdown (our own cancel, nobody else holds this task): what the
            # service may still hand it is visible again after its visibility timeout.
            self.abandoned_polls += 1
            return None
        except (SQSError, TimeoutError) as exc:
            self.receive_errors += 1
            return exc
        except Exception as exc:  # a bug, or something we do not know: keep polling, loudly
            log.exception("unexpected error in a receive")
            self.receive_errors += 1
            return exc
        finally:
            self._reserved -= count
            del self._requests[task]
            self._deadlines.forget(task)
        self._may_park = len(messages) < count
        now = started
        self.received += len(messages)
        if messages:
            call_hook(self.hooks.on_received, messages)
        if self._stopping or self.leases is None:
            await self.release(messages)
            return None
        if not messages:
            self._saw_empty = True
            if self.stop_when_empty:
                if idle_at_start and self._idle() and not self._buffer and len(self._receives) <= 1:
                    self._exhausted = True
                    self.stop()
                elif not self.wait_time_seconds:
                    await asyncio.sleep(EMPTY_SHORT_POLL_PAUSE)  # short polls: do not spin
            return None
        self._saw_empty = False
        self.leases.add_many(messages, now, parked)
        buffer = self._buffer
        owner = self.holdings
        for message in messages:
            message._owner = owner
            buffer.append((message, now))
        self._available.set()
        return None

    # -- taking messages ------------------------------------------------------------------

    async def get(self, *, keep_lease: bool = False) -> Message:
        """The next buffered message.

        Args:
            keep_lease: Keep renewing it until :meth:`finish` (the consumer's handlers);
                otherwise it is handed over with at least half its lease left.

        Raises:
            StopAsyncIteration: Stopped, or drained with ``stop_when_empty``.
            SQSError: The error that ended polling (queue deleted, credentials refused).
        """
        while True:
            message = self.get_nowait(keep_lease=True)
            if message is not None:
                if keep_lease or await self._hand_over(message):
                    return message
                continue
            if self._fatal is not None:
                raise self._fatal
            if self._stopping or self._exhausted:
                raise StopAsyncIteration
            if not self._started:
                await self.start()
                continue
            self._available.clear()
            await self._available.wait()

    def get_nowait(self, *, keep_lease: bool = False) -> Message | None:
        """The next buffered message if there is one (and not stopping), else ``None``."""
        buffer = self._buffer
        if not buffer or self._stopping:
            return None
        message = buffer.popleft()[0]
        # _tick(), inline: this runs once per message
        self._window_count += 1
        now = time.monotonic()
        if now - self._window_start >= 1.0:
            self._tick(now)
        if self._room_wanted and len(buffer) + self._reserved + self.batch_size <= self._cap:
            self._room_wanted = False
            self._room.set()
        if not keep_lease and self.leases is not None:
            self.leases.remove(message)
        return message

    async def _hand_over(self, message: Message) -> bool:
        """Stop holding a message given away, with at least half its timeout left (renewed
        now if it came from a receive that parked); False if its lease was lost."""
        leases = self.leases
        lease = leases.get(message) if leases is not None else None
        if leases is None or lease is None:
            return True
        try:
            return await leases.renew_now(lease)
        finally:
            leases.remove(message)

    def _tick(self, now: float) -> None:
        """A window of at least a second is over: update the consumption rate."""
        elapsed = now - self._window_start
        rate = self._window_count / elapsed
        self._rate = rate if self._rate == 0 else 0.5 * self._rate + 0.5 * rate
        self._retarget()
        self._window_start = now
        self._window_count = 0

    def take_buffered(self) -> list[Message]:
        """Empty the buffer and return what it held (to release at shutdown)."""
        messages = [m for m, _ in self._buffer]
        self._buffer.clear()
        return messages

    def statistics(
        self,
        in_flight: int = 0,
        *,
        handled: int = 0,
        failed: int = 0,
        retried: int = 0,
        rejected: int = 0,
    ) -> ConsumerStatistics:
        """A snapshot of this fetcher's counters, with a consumer's own (``consume()``)."""
        leases = self.leases
        return ConsumerStatistics(
            received=self.received,
            handled=handled,
            deleted=self.deleted,
            failed=failed,
            released=self.released,
            in_flight=in_flight,
            buffered=len(self._buffer),
            oldest_buffer_age=self.oldest_buffer_age(),
            lease_headroom=leases.headroom() if leases is not None else None,
            leases_lost=leases.lost if leases is not None else 0,
            receive_errors=self.receive_errors,
            pollers=self.pollers,
            pollers_alive=self.pollers_alive,
            abandoned_polls=self.abandoned_polls,
            retried=retried,
            rejected=rejected,
        )

    @property
    def buffered(self) -> int:
        """Messages waiting in the buffer."""
        return len(self._buffer)

    def oldest_buffer_age(self) -> float:
        """Seconds the oldest buffered message has waited (0 when empty)."""
        return time.monotonic() - self._buffer[0][1] if self._buffer else 0.0

    def _lease_lost(self, lease: Lease) -> None:
        call_hook(self.hooks.on_lease_lost, lease.message)
        if self._on_lease_lost is not None:
            self._on_lease_lost(lease)

    # -- acting on messages (Holdings) ----------------------------------------------------

    @property
    def handled(self) -> HandledDeletes | None:
        """The consumers' batched deletes of handled messages (once started)."""
        return self.holdings.handled

    @property
    def deleted(self) -> int:
        """Messages deleted through this fetcher."""
        return self.holdings.deleted

    @property
    def released(self) -> int:
        """Messages made visible again by this fetcher."""
        return self.holdings.released

    def finish(self, message: Message) -> Lease | None:
        """Stop renewing a message taken with ``keep_lease``."""
        return self.holdings.finish(message)

    async def delete(self, message: Message) -> bool:
        """Delete a message, batched with other deletes."""
        return await self.holdings.delete(message)

    async def change_visibility(self, message: Message, visibility_timeout: int) -> bool:
        """Change a message's visibility, batched; 0 releases it from our hold."""
        return await self.holdings.change_visibility(message, visibility_timeout)

    async def release(self, messages: Sequence[Message]) -> None:
        """Make messages visible again at once (best effort), and stop holding them."""
        await self.holdings.release(messages)

"""The pool slots both transports share: FIFO hand-over, timeouts, cancellation without leaks."""

from __future__ import annotations

import asyncio

import pytest

from sqs_async._transport.slots import Slots
from sqs_async.errors import PoolTimeout


async def queued(slots: Slots, count: int) -> None:
    """Let the loop turn until ``count`` tasks wait in ``slots`` (bounded: fails if never)."""
    for _ in range(100):
        if len(slots._waiters) == count:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{len(slots._waiters)} waiters, expected {count}")


async def test_free_slots_are_taken_without_waiting_and_come_back() -> None:
    slots = Slots(2)
    assert slots.take_now()
    assert slots.take_now()
    assert not slots.take_now()
    assert slots.free == 0
    slots.release()
    slots.release()
    assert slots.free == 2


async def test_a_freed_slot_goes_to_the_longest_waiter_not_to_a_newcomer() -> None:
    slots = Slots(1)
    assert slots.take_now()
    order: list[str] = []

    async def waiter(name: str) -> None:
        await slots.wait(5)
        order.append(name)

    first = asyncio.create_task(waiter("first"))
    await queued(slots, 1)
    second = asyncio.create_task(waiter("second"))
    await queued(slots, 2)
    slots.release()  # handed to "first" directly
    assert not slots.take_now()  # a newcomer does not overtake the waiters
    await first
    assert order == ["first"]
    slots.release()
    await second
    assert order == ["first", "second"]
    slots.release()
    assert slots.free == 1


async def test_no_slot_in_time_is_a_pool_timeout_and_leaves_no_waiter_behind() -> None:
    slots = Slots(1)
    assert slots.take_now()
    with pytest.raises(PoolTimeout, match=r"no free connection within 0\.05s \(1 in use\)"):
        await slots.wait(0.05)
    slots.release()
    assert slots.free == 1  # the timed-out waiter did not swallow the slot
    assert slots.take_now()


async def test_a_waiter_cancelled_as_it_is_handed_a_slot_passes_the_slot_on() -> None:
    slots = Slots(1)
    assert slots.take_now()
    task = asyncio.create_task(slots.wait(5))
    await queued(slots, 1)
    slots.release()  # hands the slot to the task's future...
    task.cancel()  # ...which is cancelled before it could run
    with pytest.raises(asyncio.CancelledError):
        await task
    assert slots.free == 1  # passed back, not leaked
    assert slots.take_now()


async def test_a_cancelled_waiter_is_skipped_by_release() -> None:
    slots = Slots(1)
    assert slots.take_now()
    gone = asyncio.create_task(slots.wait(5))
    await queued(slots, 1)
    stays = asyncio.create_task(slots.wait(5))
    await queued(slots, 2)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    slots.release()
    await stays  # got the slot although the cancelled one was queued first
    slots.release()
    assert slots.free == 1

"""Hard deadlines of tasks with one timer: what passes its deadline is cancelled, once."""

from __future__ import annotations

import asyncio
from typing import Any

from sqs_async._deadlines import Deadlines


async def _forever() -> None:
    await asyncio.get_running_loop().create_future()


async def _outcome(task: asyncio.Task[Any]) -> str:
    """``cancelled`` or ``pending`` once the task ended or 5 s passed (no test sleeps on it)."""
    done, _ = await asyncio.wait({task}, timeout=5.0)
    return "cancelled" if done and task.cancelled() else "pending"


async def test_tasks_past_their_deadline_are_cancelled_in_deadline_order() -> None:
    deadlines = Deadlines()
    late = asyncio.create_task(_forever())
    early = asyncio.create_task(_forever())
    deadlines.watch(late, 0.05)
    deadlines.watch(early, 0.01)  # earlier than the armed timer: still caught
    assert await _outcome(early) == "cancelled"
    assert deadlines.expired(early)
    assert await _outcome(late) == "cancelled"  # the timer re-armed itself for it
    assert deadlines.expired(late)
    deadlines.close()


async def test_a_spared_or_forgotten_task_is_not_cancelled() -> None:
    spare: set[asyncio.Task[Any]] = set()
    deadlines = Deadlines(spare=spare)
    spared = asyncio.create_task(_forever())
    forgotten = asyncio.create_task(_forever())
    witness = asyncio.create_task(_forever())
    spare.add(spared)
    deadlines.watch(spared, 0.01)
    deadlines.watch(forgotten, 0.01)
    deadlines.forget(forgotten)
    deadlines.watch(witness, 0.02)
    assert await _outcome(witness) == "cancelled"  # the timer ran past the others' deadlines
    assert not spared.done()
    assert not forgotten.done()
    assert not deadlines.expired(spared)
    assert not deadlines.expired(forgotten)
    deadlines.forget(witness)
    assert not deadlines.expired(witness)  # forgetting clears the verdict too
    for task in (spared, forgotten):
        task.cancel()
    await asyncio.gather(spared, forgotten, return_exceptions=True)
    deadlines.close()


async def test_closing_disarms_the_timer() -> None:
    deadlines = Deadlines()
    task = asyncio.create_task(_forever())
    deadlines.watch(task, 0.01)
    deadlines.close()
    witness = Deadlines()
    other = asyncio.create_task(_forever())
    witness.watch(other, 0.02)
    assert await _outcome(other) == "cancelled"  # time passed beyond the closed deadline
    assert not task.done()
    assert not deadlines.expired(task)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

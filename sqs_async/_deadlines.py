"""Hard deadlines for tasks, kept with one timer for all of them.

Layer: a leaf used by the fetcher (its receives' deadlines); asyncio only. One timer per
task was a tenth of a busy consumer's own work: :class:`Deadlines` keeps one ``call_at``
armed for the earliest deadline of the tasks it watches. When it fires it cancels every
task past its deadline (but those the owner spares, such as receives abandoned on purpose)
and re-arms itself for the next one. The owner tells a cancel of ours from any other with
:meth:`Deadlines.expired`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Container
from typing import Any

__all__ = ["Deadlines"]


class Deadlines:
    """The deadlines of tasks in flight.

    Args:
        spare: Tasks never cancelled for their deadline (checked when it passes).
    """

    __slots__ = ("_at", "_expired", "_spare", "_timer")

    def __init__(self, spare: Container[asyncio.Task[Any]] = ()) -> None:
        self._at: dict[asyncio.Task[Any], float] = {}  # loop time
        self._expired: set[asyncio.Task[Any]] = set()  # cancelled past their deadline
        self._spare = spare
        self._timer: asyncio.TimerHandle | None = None

    def watch(self, task: asyncio.Task[Any], seconds: float) -> None:
        """Cancel ``task`` if it is still watched ``seconds`` from now."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        self._at[task] = deadline
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._check)

    def forget(self, task: asyncio.Task[Any]) -> None:
        """Stop watching ``task`` (it is done, one way or another)."""
        del self._at[task]
        self._expired.discard(task)

    def expired(self, task: asyncio.Task[Any]) -> bool:
        """Whether ``task`` was cancelled by us, for its deadline."""
        return task in self._expired

    def close(self) -> None:
        """Disarm the timer; nothing more is cancelled."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        earliest = None
        for task, deadline in self._at.items():
            if deadline > now:
                earliest = deadline if earliest is None else min(earliest, deadline)
            elif task not in self._expired and task not in self._spare:
                self._expired.add(task)
                task.cancel()
        if earliest is not None:
            self._timer = loop.call_at(earliest, self._check)

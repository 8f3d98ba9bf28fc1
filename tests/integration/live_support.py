"""Helpers shared by the integration tests against a real SQS-compatible server.

Fixtures live in ``live_fixtures`` (see there why not in a ``conftest.py``).

Rules these tests keep (PEERS.md §6): no assertion on moto's infidelities (exact counts of a
short poll, strict order, instant purge...), waits on conditions with deadlines rather than fixed
sleeps, and queues kept shallow (moto slows with depth).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import pytest

from sqs_async import Message, Queue, SQSConnection
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY

__all__ = [
    "DEADLINE",
    "CallSpy",
    "QueueFactory",
    "WireSpy",
    "bodies_of",
    "connection_to",
    "eventually",
    "fill",
    "read_eventually",
    "receive_all",
]

DEADLINE = 15.0
"""Seconds to wait for anything that must happen "soon" (visibility expiry, a long poll...)."""

T = TypeVar("T")


def connection_to(endpoint_url: str, **kwargs: Any) -> SQSConnection:
    """A new (unopened) connection to the test server with the test credentials."""
    return SQSConnection(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url, **kwargs
    )


async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    until: Callable[[T], bool] = bool,
    within: float = DEADLINE,
    interval: float = 0.05,
) -> T:
    """Call ``probe`` until ``until(result)`` holds; return that result.

    Raises:
        AssertionError: The condition did not hold within ``within`` seconds (the message
            shows the last result).
    """
    deadline = time.monotonic() + within
    while True:
        result = await probe()
        if until(result):
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {within} s; last result {result!r}")
        await asyncio.sleep(interval)


async def fill(queue: Queue, bodies: Iterable[str]) -> list[str]:
    """Send ``bodies`` with batched sends; return the MessageIds (all must succeed)."""
    result = await queue.write_batch(list(bodies))
    assert not result.failed, result.failed
    return [entry.message_id or "" for entry in result.successful]


async def receive_all(
    queue: Queue,
    expected: int,
    *,
    visibility_timeout: int | None = None,
    within: float = DEADLINE,
) -> list[Message]:
    """Receive until ``expected`` distinct messages arrived (a server may return fewer per call).

    Raises:
        AssertionError: Fewer arrived before the deadline, or more than ``expected``.
    """
    seen: dict[str, Message] = {}
    deadline = time.monotonic() + within
    while len(seen) < expected:
        assert time.monotonic() < deadline, f"received {len(seen)} of {expected} messages"
        batch = await queue.get_messages(
            min(10, expected - len(seen)), visibility_timeout, wait_time_seconds=1
        )
        for message in batch:
            assert message.id is not None
            seen.setdefault(message.id, message)
    assert len(seen) == expected
    return list(seen.values())


def bodies_of(messages: Iterable[Message]) -> list[Any]:
    """The decoded bodies, in order."""
    return [m.get_body() for m in messages]


@dataclass
class CallSpy:
    """Records every operation a connection sends (wraps its request pipeline, passes through).

    Install with :meth:`install`; ``calls`` holds ``(operation, params)`` in order, ``results``
    ``(operation, response)`` of the calls that succeeded.
    """

    connection: SQSConnection
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    results: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    rewrite: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None
    started: dict[str, asyncio.Event] = field(default_factory=dict)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> CallSpy:
        real = self.connection._call

        async def spy(operation: str, params: Any, **options: Any) -> dict[str, Any]:
            sent = dict(params)
            if self.rewrite is not None:
                sent = self.rewrite(operation, sent)
            self.calls.append((operation, sent))
            self.event(operation).set()
            result = await real(operation, sent, **options)
            self.results.append((operation, result))
            return result

        monkeypatch.setattr(self.connection, "_call", spy)
        return self

    def event(self, operation: str) -> asyncio.Event:
        """Set once ``operation`` has been sent (its request has started)."""
        return self.started.setdefault(operation, asyncio.Event())

    def operations(self) -> list[str]:
        return [operation for operation, _ in self.calls]

    def params(self, operation: str) -> list[dict[str, Any]]:
        return [params for op, params in self.calls if op == operation]


class QueueFactory(Protocol):
    """The ``new_queue`` fixture: creates a uniquely named queue, deleted after the test."""

    async def __call__(
        self,
        *,
        fifo: bool = False,
        visibility_timeout: int | None = None,
        attributes: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
    ) -> Queue: ...


@dataclass
class WireSpy:
    """Records the operations that really went out on the wire (wraps the open transport).

    Install on an opened connection with :meth:`install`; ``sent`` holds the operation names.
    """

    connection: SQSConnection
    sent: list[str] = field(default_factory=list)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> WireSpy:
        transport = self.connection._transport
        assert transport is not None, "open the connection first"
        real = transport.request

        async def spy(url: str, headers: Mapping[str, str], body: bytes, **kwargs: Any) -> Any:
            self.sent.append(headers["X-Amz-Target"].rpartition(".")[2])
            return await real(url, headers, body, **kwargs)

        monkeypatch.setattr(transport, "request", spy)
        return self


async def read_eventually(
    queue: Queue, *, visibility_timeout: int | None = None, within: float = DEADLINE
) -> Message:
    """Long-poll ``queue.read`` until a message arrives (e.g. once its visibility ran out).

    Raises:
        AssertionError: Nothing arrived within ``within`` seconds.
    """

    async def read() -> Message | None:
        return await queue.read(visibility_timeout, wait_time_seconds=1)

    message = await eventually(read, until=lambda m: m is not None, within=within)
    assert message is not None
    return message
